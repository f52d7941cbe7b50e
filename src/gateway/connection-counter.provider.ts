import type { Provider } from '@nestjs/common';
import { RedisService } from '../redis/redis.service.js';
import { ConnectionCounter } from './connection-counter.js';
import { MemoryConnectionCounter } from './memory-connection-counter.js';
import { RedisConnectionCounter } from './redis-connection-counter.js';

/**
 * Redis whenever the node has one, so MAX_CONNECTIONS_PER_USER holds across the cluster;
 * memory only in embedded single-node mode, where this node holds every connection.
 */
export const connectionCounterProvider: Provider = {
  provide: ConnectionCounter,
  useFactory: (redis: RedisService): ConnectionCounter =>
    redis.embedded ? new MemoryConnectionCounter() : new RedisConnectionCounter(redis),
  inject: [RedisService],
};
