import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request as httpRequest } from 'node:http';
import { type RunningNode, startNode, type TestNode } from '../support/app.js';
import { request } from '../support/http-client.js';
import { CanaryWatch, PHI_CANARY, PHI_CANARY_TEXT } from '../support/phi-canary.js';
import { startProcessNode } from '../support/process-node.js';

describe('public and internal listeners (embedded mode, self-signed TLS)', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startNode();
  });
  afterAll(async () => {
    await node.stop();
  });

  it('serves the public listener over TLS with a self-signed localhost certificate', async () => {
    const res = await request(`${node.publicUrl}/v1/unknown`);
    expect(res.status).toBe(404);
    expect(res.json()).toEqual({ error: 'not_found' });
    expect(node.logs.text).toContain('self-signed');
  });

  it('refuses plaintext HTTP on the public port', async () => {
    const plain = node.publicUrl.replace('https:', 'http:');
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest(`${plain}/v1/unknown`, { agent: false }, (res) =>
        resolve(`status ${res.statusCode}`),
      );
      req.on('error', () => resolve('connection failed'));
      req.end();
    });
    // An HTTPS server answers plaintext with a TLS alert or a bare 400, never a route.
    expect(['connection failed', 'status 400']).toContain(outcome);
  });

  it('adds security headers to public responses, with connect-src limited to the public URL', async () => {
    const res = await request(`${node.publicUrl}/v1/unknown`);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain('connect-src https://localhost:');
    expect(csp).toContain('wss://localhost:');
    expect(csp).not.toContain('*');
    expect(res.headers['strict-transport-security']).toContain('max-age=31536000');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it.each(['/healthz', '/readyz', '/metrics', '/internal/v1/notifications'])(
    'does not serve %s on the public listener',
    async (path) => {
      const res = await request(`${node.publicUrl}${path}`);
      expect(res.status).toBe(404);
      expect(res.json()).toEqual({ error: 'not_found' });
    },
  );

  it('does not serve public routes on the internal listener', async () => {
    const res = await request(`${node.internalUrl}/v1/tickets`, { method: 'POST' });
    expect(res.status).toBe(404);
    expect(res.json()).toEqual({ error: 'not_found' });
  });

  it('answers /healthz and /readyz on the internal listener', async () => {
    const health = await request(`${node.internalUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });
    const ready = await request(`${node.internalUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready' });
  });

  it('exposes carecast_-prefixed process metrics and the Redis gauge on /metrics', async () => {
    const res = await request(`${node.internalUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toMatch(/^carecast_process_cpu_user_seconds_total \d/m);
    expect(res.body).toMatch(/^carecast_nodejs_eventloop_lag_seconds /m);
    expect(res.body).toMatch(/^carecast_redis_up 1$/m);
    expect(res.body).toMatch(/^carecast_ready 1$/m);
    const unprefixed = res.body
      .split('\n')
      .filter((l) => l && !l.startsWith('#') && !l.startsWith('carecast_'));
    expect(unprefixed).toEqual([]);
  });

  it('logs requests as method, route template, status and duration, never the URL or headers', async () => {
    await request(`${node.publicUrl}/v1/${PHI_CANARY.mrn}?q=${PHI_CANARY.mrn}`, {
      headers: { authorization: `Bearer ${PHI_CANARY.mrn}`, 'x-note': PHI_CANARY.name },
    });
    await request(`${node.internalUrl}/healthz?q=${PHI_CANARY.mrn}`);
    const requestLogs = node.logs.records().filter((r) => r.msg === 'request');
    expect(requestLogs).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          listener: 'public',
          method: 'GET',
          route: 'unmatched',
          status: 404,
        }),
        expect.objectContaining({
          listener: 'internal',
          method: 'GET',
          route: '/healthz',
          status: 200,
        }),
      ]),
    );
    for (const line of requestLogs) {
      expect(Object.keys(line).sort()).toEqual(
        [
          'context',
          'durationMs',
          'level',
          'listener',
          'method',
          'msg',
          'node',
          'route',
          'status',
          'time',
        ].sort(),
      );
    }
  });

  it('never echoes a path, query, header or body value in responses, logs or metrics', async () => {
    const watch = new CanaryWatch();
    const inPath = encodeURIComponent(PHI_CANARY_TEXT);
    watch.response(
      await request(`${node.publicUrl}/v1/${inPath}?q=${inPath}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${PHI_CANARY.mrn}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: PHI_CANARY_TEXT }),
      }),
    );
    const broken = watch.response(
      await request(`${node.internalUrl}/internal/${inPath}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-patient': PHI_CANARY.email },
        body: `{"broken": "${PHI_CANARY_TEXT}"`,
      }),
    );
    expect(broken.json()).toEqual({ error: 'bad_request' });
    await watch.expectClean(node);
  });

  it('counts requests per listener and route template in carecast_http_requests_total', async () => {
    await request(`${node.internalUrl}/healthz`);
    const metrics = await request(`${node.internalUrl}/metrics`);
    expect(metrics.body).toMatch(
      /^carecast_http_requests_total\{listener="internal",route="\/healthz",method="GET",status="200"\} [1-9]/m,
    );
  });
});

// prom-client's global registry holds one node per process: two nodes are two processes.
describe('two nodes, each in its own process', () => {
  it('keep separate metric registries', async () => {
    const [a, b] = await Promise.all([startProcessNode(), startProcessNode()]);
    try {
      await request(`${a.internalUrl}/healthz`);
      await request(`${a.internalUrl}/healthz`);
      const countOf = async (n: RunningNode) =>
        /carecast_http_requests_total\{listener="internal",route="\/healthz",method="GET",status="200"\} (\d+)/.exec(
          (await request(`${n.internalUrl}/metrics`)).body,
        )?.[1];
      expect(await countOf(a)).toBe('2');
      expect(await countOf(b)).toBeUndefined();
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
