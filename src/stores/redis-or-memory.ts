import type { Provider } from '@nestjs/common';
import { RedisService } from '../redis/redis.service.js';

/** How to build a store of type T in each mode. */
export interface StoreFactories<T> {
  readonly redis: (redis: RedisService) => T;
  readonly memory: () => T;
}

/**
 * The provider of the store `abstract`: its Redis implementation whenever the node has Redis
 * (standalone or cluster), so every node reads and writes the same state and a decision taken
 * on one node holds on all of them; its memory implementation only in embedded single-node
 * mode, where this node is the whole cluster. No other choice exists: a node with Redis never
 * falls back to memory (an outage rejects with StoreUnavailableError instead), because
 * per-node state would silently split cluster-wide limits, tickets and blocks.
 */
export function redisOrMemory<T>(
  abstract: abstract new (...args: never[]) => T,
  factories: StoreFactories<T>,
): Provider {
  return {
    provide: abstract,
    useFactory: (redis: RedisService): T =>
      redis.embedded ? factories.memory() : factories.redis(redis),
    inject: [RedisService],
  };
}
