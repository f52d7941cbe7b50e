import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { startNode, type TestNode, uniquePrefix } from '../support/app.js';
import { eventually } from '../support/http-client.js';
import { CanaryWatch, PHI_CANARY_TEXT } from '../support/phi-canary.js';
import { addToCareTeam, publish } from '../support/publisher.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { doctor, ticketFor } from '../support/tokens.js';
import { connectOk, TEST_ORIGIN, type TestClient } from '../support/ws-client.js';
import { untilReady } from '../support/readiness.js';

/**
 * Contract §4: a subscribe (or a recovery with `since`) whose store is unreachable is answered
 * `unavailable` quickly, audited, never counted towards 4008, and works again on retry once
 * the store is back. Redis here is a real redis-server frozen with SIGSTOP: its connections
 * stay open and commands go unanswered, the hardest case (no connection error to react to).
 */

/** The node's Redis commandTimeout is 500 ms; an answer within a second is "quickly". */
const QUICK_MS = 1000;
const CHANNEL = 'patient:pt-frozen01';

async function pidOf(redis: RedisServerHandle): Promise<number> {
  const client = new Redis(redis.port, '127.0.0.1', { lazyConnect: true });
  try {
    await client.connect();
    const info = await client.info('server');
    return Number(/process_id:(\d+)/.exec(info)![1]);
  } finally {
    client.disconnect();
  }
}

async function auditRecords(node: TestNode): Promise<Record<string, unknown>[]> {
  const file = path.join(node.config.audit.dir, `audit-${node.config.nodeId}.jsonl`);
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('subscribe while Redis is frozen', () => {
  let redis: RedisServerHandle;
  let redisPid: number;
  let frozen = false;
  let node: TestNode;
  let c: TestClient;
  let position: { epoch: string; seq: number };
  const watch = new CanaryWatch();
  let closedDuringTest: { code: number; reason: string } | null = null;

  function freeze(): void {
    process.kill(redisPid, 'SIGSTOP');
    frozen = true;
  }
  function thaw(): void {
    if (frozen) process.kill(redisPid, 'SIGCONT');
    frozen = false;
  }

  /** Sends a subscribe and answers the reply with how long it took. */
  async function subscribe(id: string, since?: { epoch: string; seq: number }) {
    const started = performance.now();
    c.send({ type: 'subscribe', id, channel: CHANNEL, ...(since ? { since } : {}) });
    const answer = await c.next(undefined, 10_000);
    return { answer, elapsedMs: performance.now() - started };
  }

  beforeAll(async () => {
    redis = await startRedisServer();
    redisPid = await pidOf(redis);
    node = await startNode({
      ALLOWED_ORIGINS: TEST_ORIGIN,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix('frozen'),
      NODE_ID: 'frozen-node',
      WS_HEARTBEAT_SECONDS: '300',
    });
    await untilReady(node);
    await addToCareTeam(node, 'pt-frozen01', 'dr-frozen001');
    c = await connectOk(node, { ticket: await ticketFor(node, await doctor('dr-frozen001')) });
    c.ws.on('message', (data: Buffer) => watch.frame(data));
    void c.closed.then((closed) => {
      closedDuringTest = closed;
      watch.closeReason(closed.reason);
    });
    await c.next('welcome');
    await publish(node, {
      id: 'evt-frozen01',
      channel: CHANNEL,
      kind: 'result.available',
      ref: 'res-frozen01',
    });
  });
  afterAll(async () => {
    thaw();
    c?.close();
    await node?.stop();
    await redis?.stop();
  });

  it('answers a subscribe unavailable within a second while Redis hangs, never closing 4008', async () => {
    freeze();
    // More refusals than the 4008 strike limit (5): none of them counts.
    for (let i = 0; i < 7; i++) {
      const { answer, elapsedMs } = await subscribe(`u${i}`);
      expect(answer).toEqual({ type: 'error', id: `u${i}`, code: 'unavailable' });
      expect(elapsedMs).toBeLessThan(QUICK_MS);
    }
    expect(closedDuringTest).toBeNull();
    await eventually(async () =>
      (await auditRecords(node)).some(
        (r) =>
          r.event === 'ws.subscribe' &&
          r.outcome === 'deny' &&
          r.reason === 'rate_store_unavailable' &&
          r.channel === CHANNEL,
      ),
    );
  });

  it('subscribes on retry once Redis answers again', async () => {
    thaw();
    const { answer } = await subscribe('retry');
    expect(answer).toMatchObject({ type: 'ack', id: 'retry', seq: 1 });
    position = { epoch: answer.epoch as string, seq: 0 };
  });

  it('answers a recovery with since unavailable within a second when the history hangs', async () => {
    freeze();
    for (let i = 0; i < 7; i++) {
      const { answer, elapsedMs } = await subscribe(`r${i}`, position);
      expect(answer).toEqual({ type: 'error', id: `r${i}`, code: 'unavailable' });
      expect(elapsedMs).toBeLessThan(QUICK_MS);
    }
    // A frame carrying the canary is refused as malformed; nothing of it goes anywhere.
    c.send({ type: 'subscribe', id: 'canary', channel: CHANNEL, note: PHI_CANARY_TEXT });
    expect(await c.next()).toEqual({ type: 'error', id: 'canary', code: 'bad_request' });
    expect(closedDuringTest).toBeNull();
    await eventually(async () =>
      (await auditRecords(node)).some(
        (r) =>
          r.event === 'ws.subscribe' && r.reason === 'history_unavailable' && r.channel === CHANNEL,
      ),
    );
  });

  it('recovers on retry once Redis answers again, and the subscription lived on', async () => {
    thaw();
    const { answer } = await subscribe('recover', position);
    expect(answer).toMatchObject({ type: 'notification', id: 'evt-frozen01', seq: 1 });
    expect(await c.next()).toMatchObject({ type: 'ack', id: 'recover', seq: 1, recovered: true });
    await publish(node, {
      id: 'evt-frozen02',
      channel: CHANNEL,
      kind: 'result.available',
      ref: 'res-frozen02',
    });
    expect(await c.next('notification')).toMatchObject({ id: 'evt-frozen02', seq: 2 });
    expect(closedDuringTest).toBeNull();
  });

  it('answers a refresh unavailable while the ticket store hangs, and refreshes on retry', async () => {
    const ticket = await ticketFor(node, await doctor('dr-frozen001'));
    freeze();
    const started = performance.now();
    c.send({ type: 'refresh', id: 'refresh1', ticket });
    expect(await c.next(undefined, 10_000)).toEqual({
      type: 'error',
      id: 'refresh1',
      code: 'unavailable',
    });
    expect(performance.now() - started).toBeLessThan(QUICK_MS);
    thaw();
    // The timed-out GETDEL ran when Redis resumed: the retry takes a fresh ticket.
    c.send({
      type: 'refresh',
      id: 'refresh2',
      ticket: await ticketFor(node, await doctor('dr-frozen001')),
    });
    expect(await c.next()).toMatchObject({ type: 'ack', id: 'refresh2' });
    await eventually(async () =>
      (await auditRecords(node)).some(
        (r) => r.event === 'ws.refreshed' && r.outcome === 'deny' && r.reason === 'unavailable',
      ),
    );
  });

  it('answers unavailable when only the care-team facts cannot be read, then allows on retry', async () => {
    await addToCareTeam(node, 'pt-frozen02', 'dr-frozen001');
    // Redis refuses the membership read alone (an ACL without SISMEMBER): the rate store
    // answers, the facts do not.
    const admin = new Redis(redis.port, '127.0.0.1');
    try {
      await admin.call('ACL', 'SETUSER', 'default', '-sismember');
      c.send({ type: 'subscribe', id: 'facts', channel: 'patient:pt-frozen02' });
      expect(await c.next()).toEqual({ type: 'error', id: 'facts', code: 'unavailable' });
      await eventually(async () =>
        (await auditRecords(node)).some(
          (r) =>
            r.event === 'ws.subscribe' &&
            r.reason === 'facts_unavailable' &&
            r.channel === 'patient:pt-frozen02',
        ),
      );
    } finally {
      await admin.call('ACL', 'SETUSER', 'default', '+sismember');
      admin.disconnect();
    }
    c.send({ type: 'subscribe', id: 'facts2', channel: 'patient:pt-frozen02' });
    expect(await c.next()).toMatchObject({ type: 'ack', id: 'facts2' });
    expect(closedDuringTest).toBeNull();
  });

  it('never lets the canary reach frames, close reasons, logs, audit or metrics', async () => {
    await watch.expectClean(node);
  });
});
