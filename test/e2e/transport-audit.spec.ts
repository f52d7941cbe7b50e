import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import WebSocket, { type ClientOptions } from 'ws';
import { startNode, type TestNode } from '../support/app.js';
import { eventually, request } from '../support/http-client.js';
import { patient, ticketFor } from '../support/tokens.js';
import { TEST_ORIGIN, TestClient } from '../support/ws-client.js';

/**
 * `ws.connected` records the TLS version and cipher suite the connection was accepted with,
 * as closed values, over real TLS sockets; never an address or certificate contents.
 */

async function connectedRecords(node: TestNode): Promise<Record<string, unknown>[]> {
  const file = path.join(node.config.audit.dir, `audit-${node.config.nodeId}.jsonl`);
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.event === 'ws.connected');
}

/** Opens a session with TLS options of the client's choosing; resolves after `welcome`. */
async function open(
  url: string,
  ticket: string,
  tls: ClientOptions = {},
  headers: Record<string, string> = {},
): Promise<TestClient> {
  const ws = new WebSocket(`${url}/v1/ws`, ['carecast.v1', `ticket.${ticket}`], {
    rejectUnauthorized: false,
    origin: TEST_ORIGIN,
    perMessageDeflate: false,
    headers,
    ...tls,
  });
  const client = new TestClient(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  await client.next('welcome');
  return client;
}

describe('transport facts on ws.connected', () => {
  let node: TestNode;
  let wss: string;

  beforeAll(async () => {
    node = await startNode({ ALLOWED_ORIGINS: TEST_ORIGIN });
    wss = node.publicUrl.replace(/^https/, 'wss');
  });
  afterAll(async () => {
    await node?.stop();
  });

  it.each<[string, ClientOptions, string]>([
    [
      'TLS 1.3',
      { minVersion: 'TLSv1.3', ciphers: 'TLS_CHACHA20_POLY1305_SHA256' },
      'tls1.3:TLS_CHACHA20_POLY1305_SHA256',
    ],
    [
      'TLS 1.3, AES',
      { minVersion: 'TLSv1.3', ciphers: 'TLS_AES_128_GCM_SHA256' },
      'tls1.3:TLS_AES_128_GCM_SHA256',
    ],
    [
      'TLS 1.2',
      { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' },
      'tls1.2:TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
    ],
    [
      'TLS 1.2, a suite outside the list',
      { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256' },
      'tls1.2:other',
    ],
  ])('records %s as the negotiated version and suite', async (_label, tls, reason) => {
    const id = `pt-tls${reason.length}${Math.random().toString(36).slice(2, 8)}`;
    const c = await open(wss, await ticketFor(node, await patient(id)), tls);
    await eventually(async () => {
      const mine = (await connectedRecords(node)).filter((r) => r.actor === `patient:${id}`);
      return mine.length === 1 && mine[0]!.reason === reason;
    });
    const [record] = (await connectedRecords(node)).filter((r) => r.actor === `patient:${id}`);
    // The contract's fields only: no address, no certificate, nothing else.
    expect(Object.keys(record!).sort()).toEqual(
      [
        'actor',
        'conn',
        'event',
        'hash',
        'jti',
        'node',
        'outcome',
        'prev',
        'reason',
        'seq',
        'ts',
      ].sort(),
    );
    expect(JSON.stringify(record)).not.toMatch(/127\.0\.0\.1|BEGIN CERTIFICATE/);
    c.close();
  });
});

describe('transport facts behind a TLS-terminating proxy', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startNode({
      ALLOWED_ORIGINS: TEST_ORIGIN,
      TLS_TERMINATED_BY_PROXY: 'true',
      TRUSTED_PROXIES: '127.0.0.0/8,::1',
    });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('records tls_at_proxy: the node never saw the TLS session', async () => {
    const ws = node.publicUrl.replace(/^http/, 'ws');
    const res = await request(`${node.publicUrl}/v1/tickets`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await patient('pt-proxied01')}`,
        'x-forwarded-proto': 'https',
      },
    });
    const { ticket } = res.json() as { ticket: string };
    const c = await open(ws, ticket, {}, { 'x-forwarded-proto': 'https' });
    await eventually(async () =>
      (await connectedRecords(node)).some(
        (r) => r.actor === 'patient:pt-proxied01' && r.reason === 'tls_at_proxy',
      ),
    );
    c.close();
  });
});
