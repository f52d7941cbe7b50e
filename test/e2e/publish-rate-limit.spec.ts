import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { type RunningNode, startNode, type TestNode, uniquePrefix } from '../support/app.js';
import { inOneWindow } from '../support/fixed-window.js';
import { eventually, request } from '../support/http-client.js';
import { CanaryWatch, PHI_CANARY } from '../support/phi-canary.js';
import { startProcessNode } from '../support/process-node.js';
import { publish } from '../support/publisher.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { patient, ticketFor } from '../support/tokens.js';
import { connectOk, TEST_ORIGIN, type TestClient } from '../support/ws-client.js';
import { untilReady } from '../support/readiness.js';

/**
 * `RATE_PUBLISH_PER_KEY` through the throttler: one cluster-wide count per key id on nodes
 * sharing one Redis, a refused request publishes nothing, and the limit fails closed (503)
 * while Redis is down. Node B runs as its own process (dist/main.js): metrics live in a
 * process-wide registry, so each node's /metrics shows only its own counts.
 */

const BUSY = { kid: 'svc-busy', secret: 'busy-publisher-secret-0123456789abcdef' };
const CALM = { kid: 'svc-calm', secret: 'calm-publisher-secret-0123456789abcdef' };
const PUBLISHER_KEYS = [BUSY, CALM].map((k) => `${k.kid}:${k.secret}`).join(',');

const CHANNEL = 'patient:pt-ratelim01';
let events = 0;
const notification = (ref = 'apt-9x8c7v6b') => ({
  id: `evt-ratelim${String(++events).padStart(4, '0')}`,
  channel: CHANNEL,
  kind: 'appointment.updated',
  ref,
});

async function metric(node: RunningNode, sample: string): Promise<number> {
  const { body } = await request(`${node.internalUrl}/metrics`);
  const line = body.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? 0 : Number(line.slice(sample.length + 1));
}

async function auditRecords(node: RunningNode): Promise<Record<string, unknown>[]> {
  const file = path.join(node.config.audit.dir, `audit-${node.config.nodeId}.jsonl`);
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Waits for the asynchronous audit writer to append a record matching `expected`. */
async function audited(node: RunningNode, expected: Record<string, unknown>): Promise<void> {
  const matches = (r: Record<string, unknown>) =>
    Object.entries(expected).every(([k, v]) => r[k] === v);
  await eventually(async () => (await auditRecords(node)).some(matches));
}

const REJECTED = 'carecast_notifications_published_total{result="rejected"}';

describe('publish rate limit across two nodes sharing one Redis (RATE_PUBLISH_PER_KEY=3/60s)', () => {
  const WINDOW_MS = 60_000;
  let redis: RedisServerHandle;
  let a: TestNode;
  let b: RunningNode;
  let subscriber: TestClient;

  beforeAll(async () => {
    redis = await startRedisServer();
    const shared = {
      ALLOWED_ORIGINS: TEST_ORIGIN,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix('publish-rate'),
      PUBLISHER_KEYS,
      RATE_PUBLISH_PER_KEY: '3/60s',
    };
    a = await startNode({ ...shared, NODE_ID: 'publish-rate-a' });
    b = await startProcessNode({ ...shared, NODE_ID: 'publish-rate-b' });
    for (const node of [a, b]) {
      await untilReady(node);
    }
    subscriber = await connectOk(a, { ticket: await ticketFor(a, await patient('pt-ratelim01')) });
    await subscriber.next('welcome');
    subscriber.send({ type: 'subscribe', id: 's1', channel: CHANNEL });
    expect(await subscriber.next()).toMatchObject({ type: 'ack' });
  });
  afterAll(async () => {
    subscriber?.close();
    await a?.stop();
    await b?.stop();
    await redis?.stop();
  });

  it('refuses a key past its limit on every node, publishes nothing refused, and serves other keys', async () => {
    const watch = new CanaryWatch();
    const rejected = async () => (await metric(a, REJECTED)) + (await metric(b, REJECTED));
    await inOneWindow(WINDOW_MS, async () => {
      const rejectedBefore = await rejected();
      for (const node of [a, b, a]) {
        const sent = notification();
        expect((await publish(node, sent, BUSY)).status).toBe(202);
        expect(await subscriber.next('notification')).toMatchObject({ id: sent.id });
      }
      // Refused before the body is read: a batch, and a body carrying PHI, are refused alike.
      const batch = watch.response(
        await publish(b, { notifications: [notification(), notification()] }, BUSY),
      );
      expect({ status: batch.status, body: batch.body }).toEqual({
        status: 429,
        body: '{"error":"rate_limited"}',
      });
      const retryAfter = String(batch.headers['retry-after']);
      expect(retryAfter).toMatch(/^[1-9]\d*$/);
      expect(Number(retryAfter)).toBeLessThanOrEqual(60);
      const phi = watch.response(
        await publish(a, { ...notification(PHI_CANARY.email), patientName: PHI_CANARY.name }, BUSY),
      );
      expect({ status: phi.status, body: phi.body }).toEqual({
        status: 429,
        body: '{"error":"rate_limited"}',
      });
      // Another key is counted on its own; its notification is the next thing delivered,
      // so nothing refused above was published.
      const calm = notification();
      expect((await publish(b, calm, CALM)).status).toBe(202);
      expect(await subscriber.next('notification')).toMatchObject({ id: calm.id });
      // The refused batch counts its two notifications, the single refused body one.
      expect(await rejected()).toBe(rejectedBefore + 3);
    });
    await audited(b, {
      event: 'rate.limited',
      outcome: 'deny',
      reason: 'publish_per_key',
      actor: `service:${BUSY.kid}`,
    });
    await audited(a, {
      event: 'notification.rejected',
      outcome: 'deny',
      reason: 'rate_limited',
      actor: `service:${BUSY.kid}`,
    });
    await watch.expectClean(a, b);
  });
});

describe('publish rate limit while Redis is down', () => {
  let redis: RedisServerHandle;
  let node: TestNode;

  beforeAll(async () => {
    redis = await startRedisServer();
    node = await startNode({
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix('publish-rate-down'),
      NODE_ID: 'publish-rate-down',
    });
    await untilReady(node);
  });
  afterAll(async () => {
    await node?.stop();
    await redis?.stop();
  });

  it('answers 503 unavailable with Retry-After: 1 within a second, and accepts again after', async () => {
    await redis.stop();
    const started = performance.now();
    const res = await publish(node, notification());
    expect(performance.now() - started).toBeLessThan(1000);
    expect({ status: res.status, body: res.body, retryAfter: res.headers['retry-after'] }).toEqual({
      status: 503,
      body: '{"error":"unavailable"}',
      retryAfter: '1',
    });
    expect(await metric(node, 'carecast_notifications_published_total{result="unavailable"}')).toBe(
      1,
    );
    await audited(node, { event: 'notification.rejected', reason: 'unavailable' });
    await redis.start();
    await eventually(async () => (await publish(node, notification())).status === 202, {
      timeoutMs: 10_000,
    });
  });
});
