import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DEV_PUBLISHER_KEY_ID } from '../../src/config/config.types.js';
import { signatureHeader } from '../../src/core/publisher-signature.js';
import { startNode, TEST_DEV_SECRETS, type TestNode } from '../support/app.js';
import { type HttpResponse, request } from '../support/http-client.js';
import { CanaryWatch, PHI_CANARY_TEXT } from '../support/phi-canary.js';
import { connect, TEST_ORIGIN } from '../support/ws-client.js';

/**
 * Every answer of the public listener carries the security headers, whatever the path and
 * whoever refused it; a signed internal request with a body that is not JSON is 415, not 401.
 */

function expectSecurityHeaders(headers: HttpResponse['headers'], where: string): void {
  expect({
    where,
    hsts: headers['strict-transport-security'],
    csp: String(headers['content-security-policy']).includes("default-src 'none'"),
    nosniff: headers['x-content-type-options'],
    cache: headers['cache-control'],
  }).toEqual({
    where,
    hsts: 'max-age=31536000; includeSubDomains',
    csp: true,
    nosniff: 'nosniff',
    cache: 'no-store',
  });
}

describe('security headers on every public answer', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startNode({ ALLOWED_ORIGINS: TEST_ORIGIN });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it.each([
    ['a 404 outside /v1/', 'GET', '/healthz'],
    ['the root', 'GET', '/'],
    ['an unknown path', 'GET', '/no/such/path'],
    ['an unknown /v1/ path', 'GET', '/v1/unknown'],
    ['an unknown method', 'DELETE', '/v1/tickets'],
    ['a refused ticket request', 'POST', '/v1/tickets'],
    ['a CORS preflight', 'OPTIONS', '/v1/tickets'],
  ])('on %s', async (label, method, path) => {
    const res = await request(`${node.publicUrl}${path}`, {
      method,
      headers: {
        origin: TEST_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(res.status).toBeGreaterThanOrEqual(200);
    expectSecurityHeaders(res.headers, label);
  });

  it('on a refused WebSocket upgrade, written outside Express', async () => {
    const refused = await connect(node, {});
    if (refused.ok) refused.client.close();
    expect(refused.ok ? 101 : refused.status).toBe(401);
    if (!refused.ok) expectSecurityHeaders(refused.headers, 'upgrade 401');
    const elsewhere = await connect(node, { url: `${node.publicUrl.replace(/^http/, 'ws')}/ws` });
    expect(elsewhere.ok ? 101 : elsewhere.status).toBe(404);
    if (!elsewhere.ok) expectSecurityHeaders(elsewhere.headers, 'upgrade 404');
  });

  it('not on the internal listener, which is plain HTTP on a private network', async () => {
    const res = await request(`${node.internalUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });
});

describe('security headers behind a TLS-terminating proxy', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startNode({ TLS_TERMINATED_BY_PROXY: 'true', TRUSTED_PROXIES: '10.9.8.7' });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it("on the TLS gate's 403 to an untrusted peer", async () => {
    const res = await request(`${node.publicUrl}/elsewhere`);
    expect(res.status).toBe(403);
    expectSecurityHeaders(res.headers, 'tls gate 403');
  });
});

describe('internal requests whose body is not JSON', () => {
  let node: TestNode;
  const watch = new CanaryWatch();

  beforeAll(async () => {
    node = await startNode({ ALLOWED_ORIGINS: TEST_ORIGIN });
  });
  afterAll(async () => {
    await node?.stop();
  });

  /** A request signed correctly over its raw body, with the given content type. */
  function signed(path: string, body: string, contentType?: string): Promise<HttpResponse> {
    const t = Math.floor(Date.now() / 1000);
    const signature = signatureHeader(
      DEV_PUBLISHER_KEY_ID,
      TEST_DEV_SECRETS.publisherSecret,
      t,
      'POST',
      path,
      body,
    );
    const headers: Record<string, string> = { 'carecast-signature': signature };
    if (contentType !== undefined) headers['content-type'] = contentType;
    return request(`${node.internalUrl}${path}`, { method: 'POST', headers, body }).then((res) =>
      watch.response(res),
    );
  }

  const notification = JSON.stringify({
    id: 'evt-mediatyp1',
    channel: 'patient:pt-mediatyp',
    kind: 'result.available',
    ref: 'res-mediatyp',
  });

  it.each([
    ['text/plain', '/internal/v1/notifications', notification, 'text/plain'],
    [
      'a form',
      '/internal/v1/notifications',
      `note=${PHI_CANARY_TEXT}`,
      'application/x-www-form-urlencoded',
    ],
    ['no content type', '/internal/v1/notifications', notification, undefined],
    [
      'text/plain on disconnect',
      '/internal/v1/users/patient:pt-mediatyp/disconnect',
      '{}',
      'text/plain',
    ],
  ])(
    'answers 415 unsupported_media_type to a signed body of %s',
    async (_label, path, body, type) => {
      const res = await signed(path, body, type);
      expect({ status: res.status, body: res.body }).toEqual({
        status: 415,
        body: '{"error":"unsupported_media_type"}',
      });
    },
  );

  it('checks the content type before the signature: an unsigned text body is 415 too', async () => {
    const res = await request(`${node.internalUrl}/internal/v1/notifications`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'carecast-signature': 't=1,kid=x,v1=00' },
      body: PHI_CANARY_TEXT,
    });
    watch.response(res);
    expect(res.status).toBe(415);
  });

  it('still accepts the same request as application/json', async () => {
    const res = await signed(
      '/internal/v1/notifications',
      notification,
      'application/json; charset=utf-8',
    );
    expect(res.status).toBe(202);
  });

  it('never lets the canary reach responses, logs, audit or metrics', async () => {
    await watch.expectClean(node);
  });
});
