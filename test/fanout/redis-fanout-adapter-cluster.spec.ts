import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Cluster } from 'ioredis';
import { channelTopic } from '../../src/redis/channel-keys.js';
import { uniquePrefix } from '../support/app.js';
import { type RedisClusterHandle, startRedisCluster } from '../support/redis-server.js';
import { type BusNode, BusNodes, type Delivery, frameOnly } from './bus-fixtures.js';

/**
 * The Redis adapter for horizontal fan-out on a three-master Redis Cluster: channels use
 * sharded pub/sub, so each channel lives on the master owning its slot, and the nodes'
 * subscriptions must reach every master.
 */
const nodes = new BusNodes();
let cluster: RedisClusterHandle;
let a: BusNode;
let b: BusNode;

beforeAll(async () => {
  cluster = await startRedisCluster();
  const env = { REDIS_CLUSTER_NODES: cluster.nodesEnv, REDIS_KEY_PREFIX: uniquePrefix('bus-c') };
  [a, b] = await Promise.all([nodes.start(env), nodes.start(env)]);
});

afterAll(async () => {
  await nodes.closeAll();
  await cluster.stop();
});

const aChannels = ['patient:c1', 'patient:c2', 'patient:c3', 'doctor:c4', 'doctor:c5'];
const bChannels = ['patient:c6', 'patient:c7', 'patient:c8', 'doctor:c9', 'doctor:c10'];

function commandClient(node: BusNode): Cluster {
  return node.redis.client as Cluster;
}

/** Sharded subscribers of each channel, summed over every master. */
async function shardSubscribers(node: BusNode, channels: string[]): Promise<number[]> {
  const keys = channels.map((c) => channelTopic(node.redis, c));
  const counts = keys.map(() => 0);
  for (const master of commandClient(node).nodes('master')) {
    const reply = (await master.call('PUBSUB', 'SHARDNUMSUB', ...keys)) as unknown[];
    keys.forEach((_, i) => (counts[i]! += Number(reply[2 * i + 1])));
  }
  return counts;
}

const byChannel = (x: Delivery, y: Delivery): number => x.channel.localeCompare(y.channel);

describe('RedisFanoutAdapter on Redis Cluster (sharded pub/sub)', () => {
  it('spreads the test channels over more than one master', async () => {
    const masters = new Set<string>();
    for (const channel of [...aChannels, ...bChannels]) {
      const slot = Number(
        await commandClient(a).call('CLUSTER', 'KEYSLOT', channelTopic(a.redis, channel)),
      );
      masters.add(slot <= 5460 ? 'first' : slot <= 10922 ? 'second' : 'third');
    }
    expect(masters.size).toBeGreaterThan(1);
  });

  it('delivers each channel to the node that follows it, and only there', async () => {
    for (const channel of aChannels) a.bus.follow(channel);
    for (const channel of bChannels) b.bus.follow(channel);
    await Promise.all([a.bus.flushed(), b.bus.flushed()]);

    for (const channel of [...aChannels, ...bChannels]) {
      await a.bus.publish(channel, frameOnly(`to ${channel}`));
    }

    const expected = (channels: string[]): Delivery[] =>
      channels.map((channel) => ({ channel, payload: `to ${channel}` })).sort(byChannel);
    expect((await a.deliveries.take(aChannels.length)).sort(byChannel)).toEqual(
      expected(aChannels),
    );
    expect((await b.deliveries.take(bChannels.length)).sort(byChannel)).toEqual(
      expected(bChannels),
    );
    // One sharded subscriber per channel across the cluster: the other node never gets it.
    expect(await shardSubscribers(a, [...aChannels, ...bChannels])).toEqual(
      [...aChannels, ...bChannels].map(() => 1),
    );
  });

  it('stops a channel on its shard once its last follower leaves', async () => {
    a.bus.unfollow('patient:c1');
    await a.bus.flushed();

    expect(await shardSubscribers(a, ['patient:c1', 'patient:c2'])).toEqual([0, 1]);
    await b.bus.publish('patient:c1', frameOnly('gone'));
    await b.bus.publish('patient:c2', frameOnly('still here'));
    expect(await a.deliveries.next()).toEqual({ channel: 'patient:c2', payload: 'still here' });
  });

  it('delivers control messages to every node over plain pub/sub', async () => {
    await b.bus.publishControl('revoke:doctor:d1');

    expect(await a.controls.next()).toBe('revoke:doctor:d1');
    expect(await b.controls.next()).toBe('revoke:doctor:d1');
  });
});
