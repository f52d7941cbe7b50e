import { Cluster } from 'ioredis';
import type { RedisTopology } from '../config/config.types.js';
import { clusterOptions, subscriberConnectionOptions } from '../redis/redis-options.js';
import type { RedisClient, RedisService } from '../redis/redis.service.js';

/** The fan-out bus's dedicated subscriber connection. */
export interface BusSubscriber {
  readonly client: RedisClient;
  /**
   * True on Redis Cluster: channel messages then use sharded pub/sub (SSUBSCRIBE, SPUBLISH),
   * so each message travels only to the shard that owns its channel's slot instead of being
   * broadcast over the cluster bus to every node. Control stays on plain pub/sub everywhere.
   */
  readonly sharded: boolean;
  close(): Promise<void>;
}

/**
 * Standalone: RedisService's own subscriber connection (it closes it with the app), whose
 * autoResubscribe restores every channel after a reconnect.
 *
 * Cluster: ioredis routes SSUBSCRIBE only through a Cluster built with `shardedSubscribers`
 * (one subscriber connection per master, each resubscribing its slots' channels when slots
 * move or a node comes back). RedisService.createSubscriber() does not set that option, so
 * the bus builds this Cluster itself, from the same options, and closes it itself.
 */
export function openBusSubscriber(redis: RedisService, topology: RedisTopology): BusSubscriber {
  if (topology.kind !== 'cluster') {
    return { client: redis.createSubscriber(), sharded: false, close: () => Promise.resolve() };
  }
  const client = new Cluster(
    topology.nodes.map((n) => ({ host: n.host, port: n.port })),
    {
      ...clusterOptions(
        { ...subscriberConnectionOptions, connectionName: 'carecast-subscriber' },
        true,
      ),
      shardedSubscribers: true,
    },
  );
  // Errors surface as reconnects; an unhandled 'error' event would crash the process.
  client.on('error', () => undefined);
  client.connect().catch(() => undefined);
  return { client, sharded: true, close: () => close(client) };
}

/** QUIT when possible so replies in flight arrive; otherwise drop the sockets at once. */
async function close(client: Cluster): Promise<void> {
  if (client.status === 'ready') await client.quit().catch(() => undefined);
  client.disconnect();
}
