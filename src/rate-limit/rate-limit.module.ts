import { Module } from '@nestjs/common';
import { RedisModule } from '../redis/redis.module.js';
import { MemoryRateLimiter } from '../stores/rate-limiter/memory-rate-limiter.js';
import { RateLimiter } from '../stores/rate-limiter/rate-limiter.js';
import { RedisRateLimiter } from '../stores/rate-limiter/redis-rate-limiter.js';
import { redisOrMemory } from '../stores/redis-or-memory.js';

/**
 * The RateLimiter: Redis whenever the node has one, so per-user and per-key limits hold across
 * the cluster; memory only in embedded single-node mode, where this node is the whole cluster.
 */
@Module({
  imports: [RedisModule],
  providers: [
    redisOrMemory(RateLimiter, {
      redis: (redis) => new RedisRateLimiter(redis),
      memory: () => new MemoryRateLimiter(),
    }),
  ],
  exports: [RateLimiter],
})
export class RateLimitModule {}
