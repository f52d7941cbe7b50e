import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { uniquePrefix } from '../support/app.js';
import { eventually } from '../support/http-client.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { expectUnavailableFast } from '../stores/store-fixtures.js';
import { type BusNode, BusNodes, metricValue, numsub, frameOnly } from './bus-fixtures.js';

/**
 * The Redis adapter for horizontal fan-out, across nodes sharing one standalone Redis: what
 * only a real Redis can show.
 */
const nodes = new BusNodes();
let server: RedisServerHandle;

beforeAll(async () => {
  server = await startRedisServer();
});

afterEach(() => nodes.closeAll());

afterAll(async () => {
  await nodes.closeAll();
  await server.stop();
});

/** Nodes of one cluster: same Redis, same key prefix, fresh for each test. */
async function startNodes(count: number): Promise<BusNode[]> {
  const env = { REDIS_URL: server.url, REDIS_KEY_PREFIX: uniquePrefix('redis-bus') };
  return Promise.all(Array.from({ length: count }, () => nodes.start(env)));
}

async function twoNodes(): Promise<[BusNode, BusNode]> {
  return (await startNodes(2)) as [BusNode, BusNode];
}

async function oneNode(): Promise<BusNode> {
  return (await startNodes(1))[0]!;
}

/** How many times Redis has run `command` (INFO commandstats), from the node's connection. */
async function commandCalls(node: BusNode, command: string): Promise<number> {
  const info = await node.redis.client!.info('commandstats');
  const match = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info);
  return match ? Number(match[1]) : 0;
}

/** Nodes whose subscriber Redis holds on the control channel of `node`'s cluster. */
async function controlSubscribers(node: BusNode): Promise<number> {
  const reply = (await node.redis.client!.call('PUBSUB', 'NUMSUB', node.redis.key('control'))) as [
    string,
    number,
  ];
  return Number(reply[1]);
}

describe('RedisFanoutAdapter on standalone Redis', () => {
  it('sends each node only the channels its own clients follow', async () => {
    const [a, b] = await twoNodes();
    a.bus.follow('patient:pa');
    b.bus.follow('patient:pb');
    await Promise.all([a.bus.flushed(), b.bus.flushed()]);

    // Published through the other node, so it crosses Redis.
    await b.bus.publish('patient:pa', frameOnly('for a'));
    await a.bus.publish('patient:pb', frameOnly('for b'));

    expect(await a.deliveries.next()).toEqual({ channel: 'patient:pa', payload: 'for a' });
    expect(await b.deliveries.next()).toEqual({ channel: 'patient:pb', payload: 'for b' });
    // Redis itself holds one subscriber per channel: the other node is never sent it.
    expect(await numsub(a, ['patient:pa', 'patient:pb'])).toEqual([1, 1]);
  });

  it('delivers a control message to every node, the sender included', async () => {
    const [a, b] = await twoNodes();

    await a.bus.publishControl('disconnect:patient:pt-9');

    expect(await a.controls.next()).toBe('disconnect:patient:pt-9');
    expect(await b.controls.next()).toBe('disconnect:patient:pt-9');
    expect(await metricValue(b, 'carecast_bus_messages_received_total{kind="control"}')).toBe(1);
  });

  it('batches: 200 follows in one tick are one SUBSCRIBE, 200 unfollows one UNSUBSCRIBE', async () => {
    const node = await oneNode();
    const channels = Array.from({ length: 200 }, (_, i) => `patient:pt-${i}`);
    const subscribesBefore = await commandCalls(node, 'subscribe');

    for (const channel of channels) node.bus.follow(channel);
    await node.bus.flushed();

    expect((await commandCalls(node, 'subscribe')) - subscribesBefore).toBe(1);
    expect(await numsub(node, channels)).toEqual(channels.map(() => 1));
    expect(await metricValue(node, 'carecast_bus_followed_channels')).toBe(200);
    await node.bus.publish('patient:pt-199', frameOnly('last one'));
    expect(await node.deliveries.next()).toEqual({
      channel: 'patient:pt-199',
      payload: 'last one',
    });

    const unsubscribesBefore = await commandCalls(node, 'unsubscribe');
    for (const channel of channels) node.bus.unfollow(channel);
    await node.bus.flushed();

    expect((await commandCalls(node, 'unsubscribe')) - unsubscribesBefore).toBe(1);
    expect(await numsub(node, channels)).toEqual(channels.map(() => 0));
  });

  it('sends nothing for a follow and unfollow in the same tick, and keeps followed ones', async () => {
    const node = await oneNode();
    node.bus.follow('patient:kept');
    await node.bus.flushed();
    const before =
      (await commandCalls(node, 'subscribe')) + (await commandCalls(node, 'unsubscribe'));

    node.bus.follow('patient:brief');
    node.bus.unfollow('patient:brief');
    node.bus.unfollow('patient:kept');
    node.bus.follow('patient:kept');
    await node.bus.flushed();

    const after =
      (await commandCalls(node, 'subscribe')) + (await commandCalls(node, 'unsubscribe'));
    expect(after - before).toBe(0);
    expect(await numsub(node, ['patient:brief', 'patient:kept'])).toEqual([0, 1]);
  });

  it('subscribes once for a double follow and unsubscribes once for a double unfollow', async () => {
    const node = await oneNode();
    const subscribesBefore = await commandCalls(node, 'subscribe');
    node.bus.follow('patient:twice');
    await node.bus.flushed();
    node.bus.follow('patient:twice');
    await node.bus.flushed();
    expect((await commandCalls(node, 'subscribe')) - subscribesBefore).toBe(1);
    expect(await numsub(node, ['patient:twice'])).toEqual([1]);

    const unsubscribesBefore = await commandCalls(node, 'unsubscribe');
    node.bus.unfollow('patient:twice');
    await node.bus.flushed();
    expect(await numsub(node, ['patient:twice'])).toEqual([1]);
    node.bus.unfollow('patient:twice');
    await node.bus.flushed();
    node.bus.unfollow('patient:twice'); // one more than followed: sends nothing
    await node.bus.flushed();
    expect((await commandCalls(node, 'unsubscribe')) - unsubscribesBefore).toBe(1);
    expect(await numsub(node, ['patient:twice'])).toEqual([0]);
  });

  it('rejects a publish within a second while Redis is down, and counts it', async () => {
    const node = await oneNode();
    await server.stop();
    try {
      await expectUnavailableFast(() => node.bus.publish('patient:p', frameOnly('x')));
      await expectUnavailableFast(() => node.bus.publishControl('x'));
    } finally {
      await server.start();
    }
    expect(await metricValue(node, 'carecast_bus_publish_failures_total{kind="channel"}')).toBe(1);
    expect(await metricValue(node, 'carecast_bus_publish_failures_total{kind="control"}')).toBe(1);
    // Wait for the subscriber to be back: closing it mid-reconnect leaves a timer behind.
    await eventually(async () => node.redis.isReady() && (await controlSubscribers(node)) === 1, {
      timeoutMs: 10_000,
    });
  });

  it('resubscribes every followed channel after Redis restarts, with no new follow', async () => {
    const [a, b] = await twoNodes();
    a.bus.follow('patient:survivor');
    await a.bus.flushed();

    await server.stop();
    await server.start();
    // A restarted Redis has no subscriptions: seeing ours again means the node restored them.
    await eventually(
      async () =>
        a.redis.isReady() &&
        b.redis.isReady() &&
        (await numsub(a, ['patient:survivor']))[0] === 1 &&
        (await controlSubscribers(a)) === 2,
      { timeoutMs: 10_000 },
    );

    await b.bus.publish('patient:survivor', frameOnly('after restart'));
    await b.bus.publishControl('control after restart');

    expect(await a.deliveries.next()).toEqual({
      channel: 'patient:survivor',
      payload: 'after restart',
    });
    expect(await a.controls.next()).toBe('control after restart');
  });
});
