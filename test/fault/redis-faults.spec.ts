/**
 * Redis frozen (SIGSTOP: the sockets stay open, nothing answers) and resumed, then restarted
 * empty, under two node processes. Publishers get 503 within a second, live sessions stay
 * open, delivery resumes by itself; a publisher that retries the same ids through the outage
 * gets each delivered exactly once; after the empty restart care teams must be re-established
 * (docs/operations.md, "Behaviour under faults") and connection caps count again.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { uniquePrefix } from '../support/app.js';
import { eventually, type HttpResponse, request } from '../support/http-client.js';
import { CanaryWatch, PHI_CANARY_TEXT } from '../support/phi-canary.js';
import { type ProcessNode, startProcessNode } from '../support/process-node.js';
import { addToCareTeam, publish, removeFromCareTeam } from '../support/publisher.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { doctor, patient, ticketFor } from '../support/tokens.js';
import { connect, connectOk, TEST_ORIGIN, type TestClient } from '../support/ws-client.js';
import { FollowingClient } from './support/following-client.js';
import { PublishLoop } from './support/publish-loop.js';
import { isReady } from '../support/readiness.js';

/** The contract says one second; the margin is for a loaded 2-core machine. */
const FAIL_FAST_MS = 1500;
const PATIENT = 'pt-redisflt1';
const DOCTOR = 'dr-redisflt1';
const CHANNEL = `patient:${PATIENT}`;

/** A publish (or ticket request) timed from send to answer. */
async function timed(call: () => Promise<HttpResponse>): Promise<HttpResponse & { ms: number }> {
  const started = performance.now();
  const res = await call();
  return Object.assign(res, { ms: performance.now() - started });
}

function notification(id: string) {
  return { id, channel: CHANNEL, kind: 'result.available', ref: `res-${id}` };
}

/** Resends until a node answers 202, as a publisher honouring Retry-After does. */
async function publishUntilAccepted(node: ProcessNode, body: unknown): Promise<void> {
  for (;;) {
    const res = await publish(node, body).catch(() => null);
    if (res?.status === 202) return;
    await delay(100);
  }
}

/** Resolves after the server sent `count` more protocol pings (heartbeat rounds) to `client`. */
function heartbeats(client: TestClient, count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const onPing = (): void => {
      if (++seen < count) return;
      client.ws.off('ping', onPing);
      resolve();
    };
    client.ws.on('ping', onPing);
  });
}

async function expectPong(client: TestClient, id: string): Promise<void> {
  client.send({ type: 'ping', id });
  expect(await client.next('pong')).toEqual({ type: 'pong', id });
}

describe('Redis frozen, resumed, then restarted empty', () => {
  let redis: RedisServerHandle;
  let nodeA: ProcessNode;
  let nodeB: ProcessNode;
  let watcher: TestClient;
  const watch = new CanaryWatch();
  const clients: FollowingClient[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    const env = {
      ALLOWED_ORIGINS: TEST_ORIGIN,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix('redisfault'),
      HISTORY_SIZE: '1000',
      RATE_PUBLISH_PER_KEY: '100000/1s',
      // Heartbeat rounds (protocol pings, slot renewal in Redis) run during the outages.
      WS_HEARTBEAT_SECONDS: '2',
      MAX_CONNECTIONS_PER_USER: '3',
      RATE_TICKETS_PER_USER: '1000/60s',
      LOG_LEVEL: 'info',
    };
    [nodeA, nodeB] = await Promise.all([startProcessNode(env), startProcessNode(env)]);
    await eventually(async () => (await isReady(nodeA)) && (await isReady(nodeB)));
    expect((await addToCareTeam(nodeA, PATIENT, DOCTOR)).status).toBe(204);
    // The patient on each node, the doctor on B through the care team: three subscribers.
    clients.push(
      new FollowingClient([nodeA], () => patient(PATIENT), CHANNEL, watch),
      new FollowingClient([nodeB], () => patient(PATIENT), CHANNEL, watch),
      new FollowingClient([nodeB], () => doctor(DOCTOR), CHANNEL, watch),
    );
    for (const c of clients) c.connect();
    await eventually(async () => clients.every((c) => c.subscribed), { timeoutMs: 15_000 });
    // A raw session of the patient's: the third of MAX_CONNECTIONS_PER_USER.
    watcher = await connectOk(nodeA, { ticket: await ticketFor(nodeA, await patient(PATIENT)) });
    await watcher.next('welcome');
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) c.close();
    watcher?.close();
    await nodeA?.stop();
    await nodeB?.stop();
    await redis?.stop();
  });

  it('freeze: 503 within a second, sessions stay, every retried id delivered exactly once', async () => {
    const publisher = new PublishLoop({
      nodes: [nodeA, nodeB],
      channels: [CHANNEL],
      idPrefix: 'evt-freeze',
      batch: 2,
      pauseMs: 20,
      retry: true,
    });
    publisher.start();
    await eventually(async () => clients.every((c) => c.received.length >= 10));

    redis.freeze();
    const probes: (HttpResponse & { ms: number })[] = [];
    for (const [i, node] of [nodeA, nodeB, nodeA].entries()) {
      probes.push(await timed(() => publish(node, notification(`evt-frzprobe${i}`))));
    }
    const token = await patient(PATIENT);
    const ticket = await timed(() =>
      request(`${nodeB.publicUrl}/v1/tickets`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, origin: TEST_ORIGIN },
      }),
    );
    for (const res of [...probes, ticket]) {
      expect({ status: res.status, body: res.body }).toEqual({
        status: 503,
        body: '{"error":"unavailable"}',
      });
      expect(res.headers['retry-after']).toBe('1');
      expect(res.ms).toBeLessThan(FAIL_FAST_MS);
    }
    // The connections look open, but the timed-out commands set a PING probe going: the
    // nodes report not ready (contract section 5) until Redis answers again.
    for (const node of [nodeA, nodeB]) {
      await eventually(async () => {
        const res = await request(`${node.internalUrl}/readyz`);
        return res.status === 503 && res.body.includes('redis_unavailable');
      });
    }
    // Two heartbeat rounds fail to renew their slots in the frozen Redis; nobody is closed.
    await heartbeats(watcher, 2);
    await expectPong(watcher, 'frozen');

    const acceptedAtResume = publisher.accepted.size;
    redis.resume();
    await eventually(async () => (await isReady(nodeA)) && (await isReady(nodeB)));
    // A probe's script may have run when Redis woke; resending it must not deliver it again.
    for (const [i, node] of [nodeB, nodeA, nodeB].entries()) {
      await publishUntilAccepted(node, notification(`evt-frzprobe${i}`));
    }
    await eventually(async () => publisher.accepted.size >= acceptedAtResume + 40, {
      timeoutMs: 15_000,
    });
    await publisher.stop();

    const expected = [
      ...publisher.acceptedOn(CHANNEL),
      ...[0, 1, 2].map((i) => `evt-frzprobe${i}`),
    ];
    for (const c of clients) {
      await eventually(async () => c.counts().size >= expected.length, { timeoutMs: 15_000 });
      const counts = c.counts();
      expect([...counts.keys()].sort()).toEqual(expected.sort());
      expect([...counts].filter(([, n]) => n !== 1)).toEqual([]);
      expect(c.received.map((n) => n.seq)).toEqual(expected.map((_, i) => i + 1));
      expect(c.recoveryFailures).toEqual([]);
      expect(c.states.filter((s) => s.state === 'disconnected')).toEqual([]);
    }
    const refused = publisher.attempts.filter((a) => a.status !== 202);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.filter((a) => a.status !== 503)).toEqual([]);
  }, 90_000);

  it('restart empty: 503 while down, sessions stay, delivery resumes in a new epoch, care teams re-added', async () => {
    await redis.stop();
    const refused = await timed(() => publish(nodeB, notification('evt-downprobe')));
    expect(refused.status).toBe(503);
    expect(refused.ms).toBeLessThan(FAIL_FAST_MS);
    await expectPong(watcher, 'redis-down');

    await redis.start();
    await eventually(async () => (await isReady(nodeA)) && (await isReady(nodeB)), {
      timeoutMs: 10_000,
    });
    // Each node's subscriber connection resubscribed by itself: the live sessions receive.
    await publishUntilAccepted(nodeA, notification('evt-afterrestart'));
    for (const c of clients) {
      await eventually(async () => c.received.at(-1)?.id === 'evt-afterrestart');
      // The history was lost with the data: a new epoch from seq 1, which the SDK reports as
      // a gap so the app refetches.
      expect(c.received.at(-1)!.seq).toBe(1);
      expect(c.recoveryFailures).toEqual([{ channel: CHANNEL, reason: 'sequence_gap' }]);
      expect(c.states.filter((s) => s.state === 'disconnected')).toEqual([]);
    }

    // The care team went with the data: a new subscribe by the doctor is refused until the
    // care-team service puts the membership back.
    const fresh = await connectOk(nodeA, { ticket: await ticketFor(nodeA, await doctor(DOCTOR)) });
    await fresh.next('welcome');
    fresh.send({ type: 'subscribe', id: 'lost', channel: CHANNEL });
    expect(await fresh.next('error')).toEqual({ type: 'error', id: 'lost', code: 'forbidden' });
    // The doctor's live subscription outlived the loss; a removal still ends it.
    const liveDoctor = clients[2]!;
    expect(liveDoctor.revoked).toBe(false);
    expect((await removeFromCareTeam(nodeA, PATIENT, DOCTOR)).status).toBe(204);
    await eventually(async () => liveDoctor.revoked);
    expect((await addToCareTeam(nodeB, PATIENT, DOCTOR)).status).toBe(204);
    fresh.send({ type: 'subscribe', id: 'readded', channel: CHANNEL });
    expect(await fresh.next('ack')).toMatchObject({ type: 'ack', id: 'readded', seq: 1 });
    fresh.close();

    // The patient's three live sessions count towards the cap again from the next heartbeat
    // round, which puts their slots back.
    await eventually(
      async () => {
        const extra = await connect(nodeB, {
          ticket: await ticketFor(nodeB, await patient(PATIENT)),
        });
        if (extra.ok) extra.client.close();
        return !extra.ok && extra.status === 429;
      },
      { timeoutMs: 10_000, intervalMs: 300 },
    );
    await expectPong(watcher, 'after-restart');
  }, 60_000);

  it('keeps PHI fed in during the faults out of every output', async () => {
    watcher.send({ type: 'subscribe', id: 'phi', channel: PHI_CANARY_TEXT });
    watch.frame(JSON.stringify(await watcher.next('error')));
    for (const frame of watcher.frames) watch.frame(frame);
    watch.response(await publish(nodeA, { ...notification('evt-phiprobe'), ref: PHI_CANARY_TEXT }));
    await watch.expectClean(nodeA, nodeB);
  });
});
