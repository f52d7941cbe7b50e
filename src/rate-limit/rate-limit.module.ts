import { Module } from '@nestjs/common';
import { RedisModule } from '../redis/redis.module.js';
import { RedisService } from '../redis/redis.service.js';
import { MemoryRateLimiter } from './memory-rate-limiter.js';
import { RateLimiter } from './rate-limiter.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';

/**
 * The RateLimiter: Redis whenever the node has one, so per-user and per-key limits hold across
 * the cluster; memory only in embedded single-node mode, where this node is the whole cluster.
 */
@Module({
  imports: [RedisModule],
  providers: [
    {
      provide: RateLimiter,
      useFactory: (redis: RedisService): RateLimiter =>
        redis.embedded ? new MemoryRateLimiter() : new RedisRateLimiter(redis),
      inject: [RedisService],
    },
  ],
  exports: [RateLimiter],
})
export class RateLimitModule {}
