/**
 * A node killed with SIGKILL under traffic (no drain, no close frames: its sockets just die).
 * Its clients reconnect to the other node and, resubscribing with `since`, miss nothing: every
 * notification a node answered 202 for reaches every subscriber of its channel exactly once,
 * in seq order, without the app ever being told to refetch.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { uniquePrefix } from '../support/app.js';
import { eventually } from '../support/http-client.js';
import { CanaryWatch, PHI_CANARY, PHI_CANARY_TEXT } from '../support/phi-canary.js';
import { type ProcessNode, startProcessNode } from '../support/process-node.js';
import { publish } from '../support/publisher.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { patient } from '../support/tokens.js';
import { TEST_ORIGIN } from '../support/ws-client.js';
import { FollowingClient } from './support/following-client.js';
import { untilReady } from '../support/readiness.js';
import { PublishLoop } from './support/publish-loop.js';

const PATIENTS = ['pt-crash0a1', 'pt-crash0b2', 'pt-crash0c3'];

describe('a node killed with SIGKILL under traffic', () => {
  let redis: RedisServerHandle;
  let doomed: ProcessNode;
  let survivor: ProcessNode;
  const watch = new CanaryWatch();
  const clients: FollowingClient[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    const env = {
      ALLOWED_ORIGINS: TEST_ORIGIN,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix('crash'),
      HISTORY_SIZE: '1000',
      RATE_PUBLISH_PER_KEY: '100000/1s',
      LOG_LEVEL: 'info',
    };
    [doomed, survivor] = await Promise.all([startProcessNode(env), startProcessNode(env)]);
    await untilReady([doomed, survivor], { timeoutMs: 15_000 });
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) c.close();
    await doomed?.stop();
    await survivor?.stop();
    await redis?.stop();
  });

  it('loses and repeats nothing for the clients that move to the other node', async () => {
    // Each channel has one subscriber on each node; the doomed node's move when it dies.
    for (const id of PATIENTS) {
      for (const nodes of [
        [doomed, survivor],
        [survivor, doomed],
      ]) {
        clients.push(new FollowingClient(nodes, () => patient(id), `patient:${id}`, watch));
      }
    }
    for (const c of clients) c.connect();
    await eventually(async () => clients.every((c) => c.subscribed), { timeoutMs: 15_000 });

    // Publishes go to both nodes in turn; one that fails is resent to the other, same ids.
    const publisher = new PublishLoop({
      nodes: [doomed, survivor],
      channels: PATIENTS.map((id) => `patient:${id}`),
      idPrefix: 'evt-crash',
      batch: 6,
      pauseMs: 10,
      senders: 2,
      retry: true,
    });
    publisher.start();
    await eventually(async () => clients.every((c) => c.received.length >= 10), {
      timeoutMs: 15_000,
    });

    const moved = clients.filter((c) => c.lastNode === doomed.publicUrl);
    expect(moved).toHaveLength(PATIENTS.length);
    doomed.signal('SIGKILL');
    expect(await doomed.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // Traffic goes on while they reconnect, and for a while after.
    await eventually(async () => moved.every((c) => c.lastNode === survivor.publicUrl), {
      timeoutMs: 15_000,
    });
    await eventually(async () => clients.every((c) => c.connected), { timeoutMs: 15_000 });
    const afterMove = publisher.accepted.size;
    await eventually(async () => publisher.accepted.size >= afterMove + 120, { timeoutMs: 15_000 });
    await publisher.stop();

    for (const c of clients) {
      const expected = publisher.acceptedOn(c.channel);
      await eventually(async () => c.counts().size >= expected.length, { timeoutMs: 15_000 });
    }
    for (const c of clients) {
      const expected = publisher.acceptedOn(c.channel).sort();
      const counts = c.counts();
      expect([...counts.keys()].sort()).toEqual(expected);
      expect([...counts].filter(([, n]) => n !== 1)).toEqual([]);
      // One epoch, no gap: seq runs 1, 2, 3, ... on every channel (nothing was published
      // before the clients subscribed).
      expect(c.received.map((n) => n.seq)).toEqual(expected.map((_, i) => i + 1));
      expect(c.recoveryFailures).toEqual([]);
    }
    // Once connected, the moved clients first lost their connection abnormally, to the kill
    // (1006: no close frame), not to anything before it.
    for (const c of moved) {
      const since = c.states.findIndex((s) => s.state === 'connected');
      const lost = c.states.slice(since).filter((s) => s.state === 'disconnected');
      expect(lost[0]).toMatchObject({ cause: 'closed', closeCode: 1006 });
    }
  }, 90_000);

  it('keeps PHI fed into the surviving node out of every output', async () => {
    const res = await publish(survivor, {
      id: 'evt-crashphi1',
      channel: `patient:${PATIENTS[0]}`,
      kind: 'message.received',
      ref: PHI_CANARY.mrn,
      note: PHI_CANARY_TEXT,
    });
    expect(res.status).toBe(422);
    watch.response(res);
    await watch.expectClean(survivor, doomed);
  });
});
