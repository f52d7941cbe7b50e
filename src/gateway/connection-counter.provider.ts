import type { Provider } from '@nestjs/common';
import { ConnectionCounter } from '../stores/connection-counter/connection-counter.js';
import { MemoryConnectionCounter } from '../stores/connection-counter/memory-connection-counter.js';
import { RedisConnectionCounter } from '../stores/connection-counter/redis-connection-counter.js';
import { redisOrMemory } from '../stores/redis-or-memory.js';

/**
 * Redis whenever the node has one, so MAX_CONNECTIONS_PER_USER holds across the cluster;
 * memory only in embedded single-node mode, where this node holds every connection.
 */
export const connectionCounterProvider: Provider = redisOrMemory(ConnectionCounter, {
  redis: (redis) => new RedisConnectionCounter(redis),
  memory: () => new MemoryConnectionCounter(),
});
