import type { Provider } from '@nestjs/common';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import { RedisService } from '../redis/redis.service.js';

/** How to build a store of type T in each mode; a store that needs settings reads `config`. */
export interface StoreFactories<T> {
  readonly redis: (redis: RedisService, config: Config) => T;
  readonly memory: (config: Config) => T;
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
    useFactory: (redis: RedisService, config: Config): T =>
      redis.embedded ? factories.memory(config) : factories.redis(redis, config),
    inject: [RedisService, CONFIG],
  };
}
