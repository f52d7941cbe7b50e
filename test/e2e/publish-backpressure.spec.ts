import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { startNode, type TestNode, uniquePrefix } from '../support/app.js';
import { type HttpResponse, request } from '../support/http-client.js';
import { CanaryWatch, PHI_CANARY } from '../support/phi-canary.js';
import { publish } from '../support/publisher.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { patient, ticketFor } from '../support/tokens.js';
import { connectOk, TEST_ORIGIN, type TestClient } from '../support/ws-client.js';
import { untilReady } from '../support/readiness.js';

/**
 * Backpressure, not loss (issue 10): offered more than it can take, a node refuses publishes
 * at once with 503 `unavailable` and `Retry-After`, delivers every notification it accepted,
 * and keeps answering probes. Redis is made to hold every write for a moment (CLIENT PAUSE
 * WRITE), so the first requests stay in flight: with PUBLISH_MAX_IN_FLIGHT=300, three batches
 * of 100 fill the node and the rest is shed without waiting on Redis.
 */

const CHANNEL = 'patient:pt-backpr01';
const BATCH = 100;
const REQUESTS = 6;
/** Below the command connection's 500 ms timeout: the held requests complete, not time out. */
const PAUSE_MS = 400;

let events = 0;
const batch = () => ({
  notifications: Array.from({ length: BATCH }, () => ({
    id: `evt-backpr${String(++events).padStart(5, '0')}`,
    channel: CHANNEL,
    kind: 'appointment.updated',
    ref: 'apt-9x8c7v6b',
  })),
});

async function metric(node: TestNode, sample: string): Promise<number> {
  const { body } = await request(`${node.internalUrl}/metrics`);
  const line = body.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? 0 : Number(line.slice(sample.length + 1));
}

describe('publish backpressure (PUBLISH_MAX_IN_FLIGHT=300)', () => {
  let redis: RedisServerHandle;
  let admin: Redis;
  let node: TestNode;
  let subscriber: TestClient;

  beforeAll(async () => {
    redis = await startRedisServer();
    admin = new Redis(redis.url);
    node = await startNode({
      NODE_ID: 'backpressure',
      ALLOWED_ORIGINS: TEST_ORIGIN,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix('backpressure'),
      PUBLISH_MAX_IN_FLIGHT: '300',
    });
    await untilReady(node);
    subscriber = await connectOk(node, {
      ticket: await ticketFor(node, await patient('pt-backpr01')),
    });
    await subscriber.next('welcome');
    subscriber.send({ type: 'subscribe', id: 's1', channel: CHANNEL });
    expect(await subscriber.next()).toMatchObject({ type: 'ack' });
  });
  afterAll(async () => {
    subscriber?.close();
    admin?.disconnect();
    await node?.stop();
    await redis?.stop();
  });

  it('sheds what it cannot take at once, stays responsive, and delivers everything it accepted', async () => {
    const watch = new CanaryWatch();
    const answered: string[] = [];
    const note = (label: string) => (res: HttpResponse) => {
      answered.push(`${label} ${res.status}`);
      return res;
    };
    const bodies = Array.from({ length: REQUESTS }, batch);
    expect(await admin.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE')).toBe('OK');
    const responses = bodies.map((body) => publish(node, body).then(note('publish')));
    // A probe sent behind the flood is answered while the admitted publishes still wait.
    const health = request(`${node.internalUrl}/healthz`).then(note('healthz'));
    const results = await Promise.all(responses);
    expect((await health).status).toBe(200);

    const accepted = results.filter((r) => r.status === 202);
    const shed = results.filter((r) => r.status === 503);
    expect({ accepted: accepted.length, shed: shed.length }).toEqual({ accepted: 3, shed: 3 });
    for (const res of shed) {
      watch.response(res);
      expect(res.body).toBe('{"error":"unavailable"}');
      expect(res.headers['retry-after']).toBe('1');
    }
    // Quickly: every refusal and the probe came back before any admitted publish could finish.
    const firstAccepted = answered.indexOf('publish 202');
    expect(answered.slice(0, firstAccepted).sort()).toEqual([
      'healthz 200',
      'publish 503',
      'publish 503',
      'publish 503',
    ]);
    expect(await metric(node, 'carecast_notifications_published_total{result="unavailable"}')).toBe(
      3 * BATCH,
    );
    expect(node.logs.text).toContain('overloaded: shedding publish requests');

    // Every accepted notification arrives, in order; nothing refused does.
    const acceptedIds = accepted.flatMap((r) =>
      (r.json() as { accepted: { id: string }[] }).accepted.map((a) => a.id),
    );
    const delivered: string[] = [];
    for (let i = 0; i < acceptedIds.length; i += 1) {
      delivered.push((await subscriber.next('notification')).id as string);
    }
    expect(new Set(delivered)).toEqual(new Set(acceptedIds));
    const marker = batch().notifications[0]!;
    const after = watch.response(await publish(node, { ...marker, ref: PHI_CANARY.email }));
    expect(after.status).toBe(422);
    expect((await publish(node, marker)).status).toBe(202);
    expect(await subscriber.next('notification')).toMatchObject({ id: marker.id });
    await watch.expectClean(node);
  });
});
