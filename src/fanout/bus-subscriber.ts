import type { RedisTopology } from '../config/config.types.js';
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
 * RedisService's own subscriber connection, which it closes with the app. Standalone: its
 * autoResubscribe restores every channel after a reconnect. Cluster: it is built for sharded
 * subscribers (one connection per master, each resubscribing its slots' channels when slots
 * move or a node comes back).
 */
export function openBusSubscriber(redis: RedisService, topology: RedisTopology): BusSubscriber {
  return {
    client: redis.createSubscriber(),
    sharded: topology.kind === 'cluster',
    close: () => Promise.resolve(),
  };
}
