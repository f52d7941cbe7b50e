import type { Provider } from '@nestjs/common';
import { redisOrMemory } from '../stores/redis-or-memory.js';
import { ConnectionCounter } from './connection-counter.js';
import { MemoryConnectionCounter } from './memory-connection-counter.js';
import { RedisConnectionCounter } from './redis-connection-counter.js';

/**
 * Redis whenever the node has one, so MAX_CONNECTIONS_PER_USER holds across the cluster;
 * memory only in embedded single-node mode, where this node holds every connection.
 */
export const connectionCounterProvider: Provider = redisOrMemory(ConnectionCounter, {
  redis: (redis) => new RedisConnectionCounter(redis),
  memory: () => new MemoryConnectionCounter(),
});
