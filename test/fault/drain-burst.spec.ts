/**
 * SIGTERM during a publish burst. The node drains (its sessions close 1001 while publish
 * requests still arrive on the internal listener) and exits 0; every notification it answered
 * 202 is in the channel's history, and every subscriber, the drained node's included once
 * they reconnect elsewhere with `since`, receives it exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { uniquePrefix } from '../support/app.js';
import { eventually } from '../support/http-client.js';
import { CanaryWatch, PHI_CANARY_TEXT } from '../support/phi-canary.js';
import { type ProcessNode, startProcessNode } from '../support/process-node.js';
import { publish } from '../support/publisher.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { patient } from '../support/tokens.js';
import { TEST_ORIGIN } from '../support/ws-client.js';
import { FollowingClient } from './support/following-client.js';
import { PublishLoop } from './support/publish-loop.js';
import { untilReady } from '../support/readiness.js';

const PATIENTS = ['pt-drainbst1', 'pt-drainbst2'];
const CHANNELS = PATIENTS.map((id) => `patient:${id}`);

describe('SIGTERM during a publish burst', () => {
  let redis: RedisServerHandle;
  let observer: Redis;
  let drained: ProcessNode;
  let other: ProcessNode;
  const prefix = uniquePrefix('drainburst');
  const watch = new CanaryWatch();
  const clients: FollowingClient[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    observer = new Redis(redis.url);
    const env = {
      ALLOWED_ORIGINS: TEST_ORIGIN,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: prefix,
      HISTORY_SIZE: '1000',
      RATE_PUBLISH_PER_KEY: '100000/1s',
      LOG_LEVEL: 'info',
    };
    [drained, other] = await Promise.all([startProcessNode(env), startProcessNode(env)]);
    await untilReady([drained, other], { timeoutMs: 15_000 });
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) c.close();
    observer?.disconnect();
    await drained?.stop();
    await other?.stop();
    await redis?.stop();
  });

  /** The ids in a channel's history, oldest first. */
  async function history(channel: string): Promise<string[]> {
    const frames = await observer.lrange(`${prefix}{ch:${channel}}:hist`, 0, -1);
    return frames.map((f) => (JSON.parse(f) as { id: string }).id);
  }

  it('keeps every 202 in history and delivers it exactly once, across the drain', async () => {
    for (const channel of CHANNELS) {
      const id = channel.slice('patient:'.length);
      for (const nodes of [[drained, other], [other]]) {
        clients.push(new FollowingClient(nodes, () => patient(id), channel, watch));
      }
    }
    for (const c of clients) c.connect();
    await eventually(async () => clients.every((c) => c.subscribed), { timeoutMs: 15_000 });
    const moving = clients.filter((c) => c.lastNode === drained.publicUrl);
    expect(moving).toHaveLength(PATIENTS.length);

    // Every request goes to the node being drained, none retried: a request that fails was
    // never accepted, one that got 202 must not be lost.
    const publisher = new PublishLoop({
      nodes: [drained],
      channels: CHANNELS,
      idPrefix: 'evt-drain',
      batch: 10,
      pauseMs: 0,
      senders: 4,
      retry: false,
    });
    publisher.start();
    await eventually(async () => publisher.accepted.size >= 100, { timeoutMs: 15_000 });
    drained.signal('SIGTERM');
    expect(await drained.exited).toEqual({ code: 0, signal: null });
    await publisher.stop();

    const refused = publisher.attempts.filter((a) => a.status !== 202);
    expect(refused.length).toBeGreaterThan(0); // the burst outlived the node
    for (const channel of CHANNELS) {
      expect(await history(channel)).toEqual(expect.arrayContaining(publisher.acceptedOn(channel)));
    }
    for (const c of clients) {
      const expected = publisher.acceptedOn(c.channel).sort();
      await eventually(async () => c.counts().size >= expected.length, { timeoutMs: 15_000 });
      const counts = c.counts();
      expect([...counts.keys()].sort()).toEqual(expected);
      expect([...counts].filter(([, n]) => n !== 1)).toEqual([]);
      expect(c.recoveryFailures).toEqual([]);
    }
    // The drained node's clients were told it was going away, and moved.
    for (const c of moving) {
      expect(c.states.find((s) => s.state === 'disconnected')).toMatchObject({
        cause: 'closed',
        closeCode: 1001,
      });
      expect(c.lastNode).toBe(other.publicUrl);
    }
  }, 90_000);

  it('keeps PHI fed into the nodes out of every output', async () => {
    const res = await publish(other, {
      id: 'evt-drainphi1',
      channel: CHANNELS[0],
      kind: 'message.received',
      ref: PHI_CANARY_TEXT,
    });
    expect(res.status).toBe(422);
    watch.response(res);
    await watch.expectClean(other, drained);
  });
});
