import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { startNode, type TestNode, uniquePrefix } from '../support/app.js';
import { eventually, type HttpResponse, request } from '../support/http-client.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { doctor, patient, ticketFor } from '../support/tokens.js';
import { connect, connectOk, TEST_ORIGIN, type TestClient } from '../support/ws-client.js';
import { untilReady } from '../support/readiness.js';

/**
 * A node on a real redis-server that is stopped and restarted: the ticket endpoint and the
 * upgrade refuse with 503 within a second instead of hanging, sessions that already exist
 * keep working, and the node serves again once Redis is back.
 */

/** Contract §3/§4: 503 `unavailable` within one second when Redis is down. */
const FAIL_FAST_MS = 1000;

function postTicket(node: TestNode, token: string): Promise<HttpResponse> {
  return request(`${node.publicUrl}/v1/tickets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, origin: TEST_ORIGIN },
  });
}

async function readyStatus(node: TestNode): Promise<number> {
  return (await request(`${node.internalUrl}/readyz`)).status;
}

async function metric(node: TestNode, series: string): Promise<number> {
  const res = await request(`${node.internalUrl}/metrics`);
  const line = res.body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

async function auditLines(node: TestNode): Promise<Record<string, unknown>[]> {
  const file = path.join(node.config.audit.dir, `audit-${node.config.nodeId}.jsonl`);
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Resolves after the server has sent `count` more heartbeat pings to this client. */
function serverPings(client: TestClient, count: number, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    const done = (error?: Error): void => {
      clearTimeout(timer);
      client.ws.off('ping', onPing);
      if (error) reject(error);
      else resolve();
    };
    const onPing = (): void => {
      seen += 1;
      if (seen >= count) done();
    };
    const timer = setTimeout(
      () => done(new Error(`${seen} of ${count} heartbeat pings within ${timeoutMs} ms`)),
      timeoutMs,
    );
    client.ws.on('ping', onPing);
  });
}

async function expectPong(client: TestClient, id: string): Promise<void> {
  client.send({ type: 'ping', id });
  expect(await client.next('pong')).toEqual({ type: 'pong', id });
}

describe('Redis outage', () => {
  let redis: RedisServerHandle;
  let node: TestNode;
  /** Connected before the outage; must survive it. */
  let survivor: TestClient;
  /** Issued before the outage; its redemption needs Redis. */
  let earlyTicket: string;
  let closedDuringTest: { code: number; reason: string } | null = null;

  beforeAll(async () => {
    redis = await startRedisServer();
    node = await startNode({
      ALLOWED_ORIGINS: TEST_ORIGIN,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix('outage'),
      NODE_ID: 'outage-node',
      // Heartbeat rounds (ping plus slot renewal in Redis) run during the outage.
      WS_HEARTBEAT_SECONDS: '1',
    });
    await eventually(async () => (await readyStatus(node)) === 200);
    survivor = await connectOk(node, { ticket: await ticketFor(node, await doctor()) });
    await survivor.next('welcome');
    void survivor.closed.then((c) => (closedDuringTest = c));
    earlyTicket = await ticketFor(node, await patient());
    await redis.stop();
  });
  afterAll(async () => {
    survivor?.close();
    await node?.stop();
    await redis?.stop();
  });

  it('answers POST /v1/tickets with 503 unavailable and Retry-After within a second', async () => {
    const rejectedBefore = await metric(
      node,
      'carecast_tickets_rejected_total{reason="unavailable"}',
    );
    for (const token of [await doctor(), await patient()]) {
      const started = performance.now();
      const res = await postTicket(node, token);
      const elapsedMs = performance.now() - started;
      expect({ status: res.status, body: res.body }).toEqual({
        status: 503,
        body: '{"error":"unavailable"}',
      });
      expect(String(res.headers['retry-after'])).toMatch(/^[1-9]\d*$/);
      expect(res.headers['access-control-allow-origin']).toBe(TEST_ORIGIN);
      expect(elapsedMs).toBeLessThan(FAIL_FAST_MS);
    }
    expect(await metric(node, 'carecast_tickets_rejected_total{reason="unavailable"}')).toBe(
      rejectedBefore + 2,
    );
  });

  it('answers an upgrade with a ticket issued before the outage 503 within a second, never 101', async () => {
    const started = performance.now();
    const result = await connect(node, { ticket: earlyTicket });
    const elapsedMs = performance.now() - started;
    if (result.ok) result.client.close();
    expect(result.ok ? 101 : { status: result.status, body: result.body }).toEqual({
      status: 503,
      body: '{"error":"unavailable"}',
    });
    if (!result.ok) expect(String(result.headers['retry-after'])).toMatch(/^[1-9]\d*$/);
    expect(elapsedMs).toBeLessThan(FAIL_FAST_MS);
    expect(await metric(node, 'carecast_ws_upgrades_rejected_total{reason="unavailable"}')).toBe(1);
    await eventually(async () =>
      (await auditLines(node)).some(
        (r) => r.event === 'ws.upgrade_rejected' && r.reason === 'unavailable' && r.code === 503,
      ),
    );
  });

  it('reports not ready while Redis is down', async () => {
    await eventually(async () => (await readyStatus(node)) === 503);
  });

  it('keeps a client connected before the outage through heartbeat rounds, answering its ping', async () => {
    // Two rounds after the stop: each one pings and fails to renew the slot in Redis.
    await serverPings(survivor, 2);
    await expectPong(survivor, 'during-outage');
    expect(survivor.ws.readyState).toBe(WebSocket.OPEN);
    expect(closedDuringTest).toBeNull();
  });

  it('issues tickets and accepts upgrades again once Redis is back and the node is ready', async () => {
    await redis.start();
    await eventually(async () => (await readyStatus(node)) === 200, { timeoutMs: 10_000 });
    const res = await postTicket(node, await patient());
    expect(res.status === 201 ? 201 : `${res.status} ${res.body}`).toBe(201);
    const { ticket } = res.json() as { ticket: string };
    const fresh = await connectOk(node, { ticket });
    await fresh.next('welcome');
    fresh.close();
    await fresh.closedWithin(5000);
    // The session from before the outage lived through it, and the restart.
    await expectPong(survivor, 'after-outage');
    expect(closedDuringTest).toBeNull();
  });
});

describe('Redis restarted without its data', () => {
  it('counts live sessions towards MAX_CONNECTIONS_PER_USER again after the next heartbeat round', async () => {
    const redis = await startRedisServer();
    const node = await startNode({
      ALLOWED_ORIGINS: TEST_ORIGIN,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix('slots'),
      MAX_CONNECTIONS_PER_USER: '1',
      WS_HEARTBEAT_SECONDS: '1',
    });
    try {
      await untilReady(node);
      const first = await connectOk(node, {
        ticket: await ticketFor(node, await patient('pt-slotheal1')),
      });
      // The test servers keep nothing on disk: a restart forgets every slot.
      await redis.stop();
      await redis.start();
      await untilReady(node, { timeoutMs: 5000 });
      await eventually(
        async () => {
          const second = await connect(node, {
            ticket: await ticketFor(node, await patient('pt-slotheal1')),
          });
          if (second.ok) second.client.close();
          return !second.ok && second.status === 429;
        },
        { timeoutMs: 5000, intervalMs: 300 },
      );
      first.send({ type: 'ping', id: 'alive' });
      expect(await first.next('pong')).toEqual({ type: 'pong', id: 'alive' });
      first.close();
    } finally {
      await node.stop();
      await redis.stop();
    }
  });
});
