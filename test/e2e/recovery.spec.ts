import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { inspect } from 'node:util';
import type { Redis } from 'ioredis';
import { RedisService } from '../../src/redis/redis.service.js';
import { ChannelLog } from '../../src/stores/channel-log/channel-log.js';
import { startNode, type TestNode, uniquePrefix } from '../support/app.js';
import { eventually, request } from '../support/http-client.js';
import {
  CanaryWatch,
  canaryFragmentsIn,
  PHI_CANARY,
  PHI_CANARY_TEXT,
} from '../support/phi-canary.js';
import { addToCareTeam, publish, removeFromCareTeam } from '../support/publisher.js';
import {
  type RedisServerHandle,
  startRedisCluster,
  startRedisServer,
} from '../support/redis-server.js';
import { doctor, patient, ticketFor } from '../support/tokens.js';
import { connectOk, TEST_ORIGIN, type TestClient } from '../support/ws-client.js';
import { untilReady } from '../support/readiness.js';

type Frame = Record<string, unknown> & { type: string };
interface Position {
  epoch: string;
  seq: number;
}
interface Answer {
  /** The frame answering the subscribe: its ack or error. */
  answer: Frame;
  /** Notification frames that came before the answer: the replay. */
  before: Frame[];
}

const HISTORY_SIZE = 5;

/** A Redis value of any type, as text to search. */
async function valueOf(client: Redis, key: string): Promise<unknown> {
  switch (await client.type(key)) {
    case 'list':
      return client.lrange(key, 0, -1);
    case 'hash':
      return client.hgetall(key);
    case 'set':
      return client.smembers(key);
    case 'zset':
      return client.zrange(key, 0, -1, 'WITHSCORES');
    default:
      return client.get(key);
  }
}

/** Where the nodes keep state: the two Redis deployments, and embedded mode (one node). */
const TOPOLOGIES: {
  name: string;
  /** The store is one redis-server this test can restart empty. */
  restartable: boolean;
  start(): Promise<{
    env: Record<string, string>;
    redis?: RedisServerHandle;
    stop(): Promise<void>;
  }>;
}[] = [
  {
    name: 'two nodes on standalone Redis',
    restartable: true,
    start: async () => {
      const redis = await startRedisServer();
      return { env: { REDIS_URL: redis.url }, redis, stop: () => redis.stop() };
    },
  },
  {
    name: 'two nodes on Redis Cluster',
    restartable: false,
    start: async () => {
      const cluster = await startRedisCluster();
      return { env: { REDIS_CLUSTER_NODES: cluster.nodesEnv }, stop: () => cluster.stop() };
    },
  },
  {
    name: 'embedded mode',
    restartable: false,
    start: async () => ({ env: {}, stop: async () => undefined }),
  },
];

/*
 * Clients subscribe on node A, drop, and come back with `since` to node B (the same node in
 * embedded mode) while services publish through B. "Nothing replayed" is proven by the ack
 * being the very next frame after the subscribe.
 */
describe.each(TOPOLOGIES)('history and recovery, $name', (topology) => {
  let stopStore: () => Promise<void>;
  let redis: RedisServerHandle | undefined;
  let env: Record<string, string>;
  let a: TestNode;
  let b: TestNode;
  const started: TestNode[] = [];
  const watch = new CanaryWatch();
  let counter = 0;
  const nextId = (label = 'evt') => `${label}-${String(++counter).padStart(6, '0')}x`;

  beforeAll(async () => {
    const store = await topology.start();
    stopStore = store.stop;
    redis = store.redis;
    env = {
      ...store.env,
      ALLOWED_ORIGINS: TEST_ORIGIN,
      REDIS_KEY_PREFIX: uniquePrefix('recovery'),
      HISTORY_SIZE: String(HISTORY_SIZE),
      RATE_SUBSCRIBE_PER_CONNECTION: '1000/10s',
      RATE_SUBSCRIBE_PER_USER: '1000/10s',
    };
    a = await node({ NODE_ID: 'node-a' });
    b =
      store.env.REDIS_URL || store.env.REDIS_CLUSTER_NODES ? await node({ NODE_ID: 'node-b' }) : a;
  });
  afterAll(async () => {
    for (const n of started) await n.stop();
    await stopStore?.();
  });

  async function node(extra: Record<string, string>): Promise<TestNode> {
    const n = await startNode({ ...env, ...extra });
    started.push(n);
    await untilReady(n, { timeoutMs: 10_000 });
    return n;
  }

  async function client(on: TestNode, token: string): Promise<TestClient> {
    const c = await connectOk(on, { ticket: await ticketFor(on, token) });
    c.ws.on('message', (data) => watch.frame(data as Buffer));
    await c.next('welcome');
    return c;
  }

  async function subscribe(c: TestClient, channel: string, since?: Position): Promise<Answer> {
    const id = `s${++counter}`;
    c.send({ type: 'subscribe', id, channel, ...(since ? { since } : {}) });
    const before: Frame[] = [];
    for (;;) {
      const frame = await c.next();
      if (frame.id === id && (frame.type === 'ack' || frame.type === 'error')) {
        return { answer: frame, before };
      }
      before.push(frame);
    }
  }

  async function send(via: TestNode, channel: string, count: number): Promise<string[]> {
    const ids = Array.from({ length: count }, () => nextId());
    if (count === 0) return ids;
    const body = { notifications: ids.map((id) => notification(channel, id)) };
    const res = watch.response(await publish(via, body));
    expect(res.status).toBe(202);
    return ids;
  }

  function notification(channel: string, id = nextId(), ref = 'apt-9x8c7v6b') {
    return { id, channel, kind: 'appointment.updated', ref };
  }

  /** Subscribed on A: its position, then notifications up to `count` received live. */
  async function following(channel: string, token: string, count = 2) {
    const c = await client(a, token);
    const { answer } = await subscribe(c, channel);
    expect(answer).toEqual({
      type: 'ack',
      id: answer.id,
      epoch: expect.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
      seq: expect.any(Number),
    });
    let position = { epoch: answer.epoch as string, seq: answer.seq as number };
    await send(b, channel, count);
    for (let i = 1; i <= count; i++) {
      const frame = await c.next('notification');
      expect(frame.seq).toBe(position.seq + 1);
      position = { ...position, seq: frame.seq as number };
    }
    return { c, position };
  }

  it('replays exactly the missed notifications, in order, on reconnecting to another node', async () => {
    const channel = 'patient:pt-recover01';
    const token = await patient('pt-recover01');
    const { c, position } = await following(channel, token);
    c.close();
    await c.closedWithin(5000);
    const missed = await send(b, channel, 3);
    const back = await client(b, token);
    const { answer, before } = await subscribe(back, channel, position);
    expect(before.map((f) => [f.type, f.id, f.seq])).toEqual(
      missed.map((id, i) => ['notification', id, position.seq + 1 + i]),
    );
    expect(before[0]).toEqual({
      type: 'notification',
      ...notification(channel, missed[0]),
      ts: expect.any(Number),
      seq: position.seq + 1,
    });
    expect(answer).toEqual({
      type: 'ack',
      id: answer.id,
      epoch: position.epoch,
      seq: position.seq + 3,
      recovered: true,
    });
    const after = await send(b, channel, 1);
    expect(await back.next()).toMatchObject({ id: after[0], seq: position.seq + 4 });
    back.close();
  });

  it('sees every seq once, in order, when a client drops and recovers under a steady stream', async () => {
    const channel = 'patient:pt-stream001';
    const token = await patient('pt-stream001');
    const { c, position: start } = await following(channel, token, 1);
    const seqs: number[] = [start.seq];
    const total = 40;
    let published = 0;
    const stream = (async () => {
      while (published < total) {
        await send(b, channel, 1);
        published += 1;
      }
    })();
    const collect = async (from: TestClient, until: number) => {
      while (seqs.at(-1)! < until) seqs.push((await from.next('notification')).seq as number);
    };
    await collect(c, start.seq + 5);
    c.close();
    await c.closedWithin(5000);
    const back = await client(b, token);
    const { answer, before } = await subscribe(back, channel, {
      epoch: start.epoch,
      seq: seqs.at(-1)!,
    });
    expect(answer.recovered).toBe(true);
    seqs.push(...before.map((f) => f.seq as number));
    await stream;
    await collect(back, start.seq + total);
    expect(seqs).toEqual(Array.from({ length: total + 1 }, (_, i) => start.seq + i));
    back.close();
  });

  it('replays nothing and says recovered:false for a gap beyond HISTORY_SIZE', async () => {
    const channel = 'patient:pt-gap00001';
    const token = await patient('pt-gap00001');
    const { c, position } = await following(channel, token);
    c.close();
    await send(b, channel, HISTORY_SIZE + 1);
    const back = await client(b, token);
    const { answer, before } = await subscribe(back, channel, position);
    expect(before).toEqual([]);
    expect(answer).toMatchObject({
      type: 'ack',
      epoch: position.epoch,
      seq: position.seq + HISTORY_SIZE + 1,
      recovered: false,
    });
    back.close();
  });

  it('replays nothing and says recovered:false for an unknown epoch', async () => {
    const channel = 'patient:pt-unknown01';
    const token = await patient('pt-unknown01');
    const { c, position } = await following(channel, token);
    c.close();
    const back = await client(b, token);
    const { answer, before } = await subscribe(back, channel, { epoch: 'unknown-epoch', seq: 1 });
    expect(before).toEqual([]);
    expect(answer).toMatchObject({ epoch: position.epoch, seq: position.seq, recovered: false });
    back.close();
  });

  it('starts a new epoch and says recovered:false once the history expired', async () => {
    const short = await node({ NODE_ID: 'node-short-ttl', HISTORY_TTL_SECONDS: '1' });
    const channel = 'patient:pt-expire01';
    const token = await patient('pt-expire01');
    const c = await client(short, token);
    const { answer: first } = await subscribe(c, channel);
    await send(short, channel, 1);
    const seen = await c.next('notification');
    const position = { epoch: first.epoch as string, seq: seen.seq as number };
    c.close();
    const back = await client(short, token);
    // Waits for the expiry itself: each probe is a recovering subscribe on the same socket.
    let last: Answer | undefined;
    await eventually(
      async () => {
        last = await subscribe(back, channel, position);
        return last.answer.recovered === false;
      },
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    expect(last!.before).toEqual([]);
    expect(last!.answer).toMatchObject({ seq: 0, recovered: false });
    expect(last!.answer.epoch).not.toBe(position.epoch);
    back.close();
  });

  it('answers forbidden and replays nothing to a doctor removed from the care team while away', async () => {
    const channel = 'patient:pt-team0001';
    expect((await addToCareTeam(b, 'pt-team0001', 'dr-away0001')).status).toBe(204);
    const token = await doctor('dr-away0001');
    const { c, position } = await following(channel, token);
    c.close();
    await c.closedWithin(5000);
    expect((await removeFromCareTeam(b, 'pt-team0001', 'dr-away0001')).status).toBe(204);
    await send(b, channel, 2);
    const back = await client(b, token);
    const { answer, before } = await subscribe(back, channel, position);
    expect(before).toEqual([]);
    expect(answer).toEqual({ type: 'error', id: answer.id, code: 'forbidden' });
    back.close();
  });

  it('gives a duplicate publish id no new seq', async () => {
    const channel = 'patient:pt-dupes001';
    const { c, position } = await following(channel, await patient('pt-dupes001'), 0);
    const first = notification(channel);
    expect((await publish(b, first)).json()).toEqual({
      accepted: [{ id: first.id, duplicate: false }],
    });
    expect((await publish(a, first)).json()).toEqual({
      accepted: [{ id: first.id, duplicate: true }],
    });
    const [next] = await send(b, channel, 1);
    expect(await c.next('notification')).toMatchObject({ id: first.id, seq: position.seq + 1 });
    expect(await c.next('notification')).toMatchObject({ id: next, seq: position.seq + 2 });
    c.close();
  });

  it('refuses a malformed since with bad_request and keeps PHI out of frames, outputs and history', async () => {
    const channel = 'patient:pt-canary01';
    const token = await patient('pt-canary01');
    const { c } = await following(channel, token);
    for (const since of [
      { epoch: PHI_CANARY_TEXT, seq: 1 },
      { epoch: 'e', seq: PHI_CANARY.mrn },
      { epoch: 'e', seq: 1, note: PHI_CANARY.email },
    ]) {
      const { answer } = await subscribe(c, channel, since as unknown as Position);
      expect(answer).toEqual({ type: 'error', id: answer.id, code: 'bad_request' });
    }
    watch.response(await publish(b, notification(channel, nextId(), PHI_CANARY.email)));
    watch.response(await publish(b, notification(`patient:${PHI_CANARY_TEXT}`)));
    watch.response(await publish(b, { ...notification(channel), patientName: PHI_CANARY.name }));
    c.close();
    await watch.expectClean(...started);
    const history = await historyText(a);
    // The scan saw the history itself, not an empty store.
    expect(history).toContain('appointment.updated');
    expect(canaryFragmentsIn(history)).toEqual([]);
  });

  it('counts recoveries by outcome and replayed frames', async () => {
    const channel = 'patient:pt-metrics01';
    const token = await patient('pt-metrics01');
    const { c, position } = await following(channel, token, 1);
    c.close();
    await send(b, channel, 1);
    const back = await client(b, token);
    expect((await subscribe(back, channel, position)).answer.recovered).toBe(true);
    expect((await subscribe(back, channel, { ...position, epoch: 'gone' })).answer.recovered).toBe(
      false,
    );
    back.close();
    const metrics = (await request(`${b.internalUrl}/metrics`)).body;
    expect(metrics).toMatch(/^carecast_recoveries_total\{outcome="recovered"\} [1-9]/m);
    expect(metrics).toMatch(/^carecast_recoveries_total\{outcome="not_recovered"\} [1-9]/m);
    expect(metrics).toMatch(/^carecast_replayed_frames_total [1-9]/m);
  });

  const itRestarting = topology.restartable ? it : () => undefined;
  itRestarting('starts a new epoch when Redis restarts empty', async () => {
    if (redis === undefined) throw new Error('no restartable Redis');
    const channel = 'patient:pt-restart1';
    const token = await patient('pt-restart1');
    const { c, position } = await following(channel, token);
    c.close();
    await redis.stop();
    await redis.start();
    for (const n of [a, b]) {
      await untilReady(n, { timeoutMs: 10_000 });
    }
    const back = await client(b, token);
    const { answer, before } = await subscribe(back, channel, position);
    expect(before).toEqual([]);
    expect(answer).toMatchObject({ type: 'ack', seq: 0, recovered: false });
    expect(answer.epoch).not.toBe(position.epoch);
    back.close();
  });

  /** Every history key and value in Redis, or the embedded node's channel log as it is held. */
  async function historyText(on: TestNode): Promise<string> {
    const service = on.app.nest.get(RedisService);
    const client = service.client;
    if (client === null) return inspect(on.app.nest.get(ChannelLog), { depth: 6 });
    const masters = 'nodes' in client ? client.nodes('master') : [client];
    const texts: string[] = [];
    for (const master of masters) {
      const keys = await master.keys(`${env.REDIS_KEY_PREFIX}*`);
      for (const key of keys) {
        texts.push(key, JSON.stringify(await valueOf(master, key)));
      }
    }
    return texts.join('\n');
  }
});
