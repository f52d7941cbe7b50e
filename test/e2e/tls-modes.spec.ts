import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connect } from 'node:tls';
import { selfSignedLocalhost } from '../../src/tls/self-signed-localhost.js';
import { startNode, type TestNode } from '../support/app.js';
import { request } from '../support/http-client.js';

/** The certificate the server presents, as a fingerprint. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false },
      () => {
        resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? '');
        socket.end();
      },
    );
    socket.on('error', reject);
  });
}

/** What the public listener answers to a client offering `protocols` by ALPN. */
function negotiate(port: number, protocols: string[] | undefined): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(
      {
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        rejectUnauthorized: false,
        ALPNProtocols: protocols,
      },
      () => {
        resolve(`selected ${String(socket.alpnProtocol)}`);
        socket.end();
      },
    );
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(`refused ${error.code}`));
  });
}

describe('TLS from certificate files', () => {
  let dir: string;
  let cert: string;
  let node: TestNode;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'carecast-tls-'));
    const pems = await selfSignedLocalhost();
    cert = pems.cert;
    await writeFile(path.join(dir, 'tls.crt'), pems.cert);
    await writeFile(path.join(dir, 'tls.key'), pems.key, { mode: 0o600 });
    node = await startNode({
      TLS_CERT_FILE: path.join(dir, 'tls.crt'),
      TLS_KEY_FILE: path.join(dir, 'tls.key'),
    });
  });
  afterAll(async () => {
    await node?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('presents the configured certificate, which a client can verify', async () => {
    expect(await servedFingerprint(node.app.publicPort)).toBe(
      new X509Certificate(cert).fingerprint256,
    );
    const res = await request(`${node.publicUrl}/v1/unknown`, { ca: cert });
    expect(res.status).toBe(404);
    expect(node.logs.text).not.toContain('self-signed');
  });

  // The listener selects HTTP/1.1 by callback (no per-socket copy of a protocol list, see
  // docs/performance.md), with what the https module's default list negotiates.
  it('negotiates HTTP/1.1 by ALPN, refuses a client that offers only other protocols', async () => {
    const port = node.app.publicPort;
    expect(await negotiate(port, ['h2', 'http/1.1'])).toBe('selected http/1.1');
    expect(await negotiate(port, ['http/1.1'])).toBe('selected http/1.1');
    expect(await negotiate(port, undefined)).toBe('selected false');
    expect(await negotiate(port, ['h2'])).toBe(
      'refused ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL',
    );
  });
});

describe('TLS terminated by a trusted proxy', () => {
  let trusted: TestNode;
  let untrusted: TestNode;

  beforeAll(async () => {
    trusted = await startNode({
      TLS_TERMINATED_BY_PROXY: 'true',
      TRUSTED_PROXIES: '127.0.0.0/8,::1',
    });
    untrusted = await startNode({ TLS_TERMINATED_BY_PROXY: 'true', TRUSTED_PROXIES: '10.9.8.7' });
  });
  afterAll(async () => {
    await trusted?.stop();
    await untrusted?.stop();
  });

  it('accepts a request from a trusted proxy that forwarded https', async () => {
    const res = await request(`${trusted.publicUrl}/v1/unknown`, {
      headers: { 'x-forwarded-proto': 'https' },
    });
    // Past the TLS gate: the unknown route answers 404, not 403.
    expect(res.status).toBe(404);
    expect(res.headers['strict-transport-security']).toBeDefined();
  });

  it.each([
    ['no X-Forwarded-Proto', {}],
    ['X-Forwarded-Proto: http', { 'x-forwarded-proto': 'http' }],
    ['X-Forwarded-Proto: https,http', { 'x-forwarded-proto': 'https,http' }],
  ])('answers 403 tls_required to a trusted proxy with %s', async (_label, headers) => {
    const res = await request(`${trusted.publicUrl}/v1/unknown`, { headers });
    expect(res.status).toBe(403);
    expect(res.json()).toEqual({ error: 'tls_required' });
  });

  it('answers 403 to a peer outside TRUSTED_PROXIES even when it claims https', async () => {
    const res = await request(`${untrusted.publicUrl}/v1/unknown`, {
      headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': '10.9.8.7' },
    });
    expect(res.status).toBe(403);
    expect(res.json()).toEqual({ error: 'tls_required' });
  });

  it('answers 403, not 404, to an untrusted peer on any public path', async () => {
    const res = await request(`${untrusted.publicUrl}/elsewhere`, {
      headers: { 'x-forwarded-proto': 'https' },
    });
    expect(res.status).toBe(403);
    expect(res.json()).toEqual({ error: 'tls_required' });
  });

  it('leaves the internal listener to its own rules', async () => {
    const res = await request(`${untrusted.internalUrl}/healthz`);
    expect(res.status).toBe(200);
  });
});
