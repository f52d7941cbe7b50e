import { Module } from '@nestjs/common';
import { RedisModule } from '../redis/redis.module.js';
import { redisOrMemory } from '../stores/redis-or-memory.js';
import { MemoryUserBlocks } from './memory-user-blocks.js';
import { RedisUserBlocks } from './redis-user-blocks.js';
import { UserBlocks } from './user-blocks.js';

/**
 * UserBlocks: Redis whenever the node has one, so a block set through any node's internal API
 * holds on every node; memory only in embedded single-node mode.
 */
@Module({
  imports: [RedisModule],
  providers: [
    redisOrMemory(UserBlocks, {
      redis: (redis) => new RedisUserBlocks(redis),
      memory: () => new MemoryUserBlocks(),
    }),
  ],
  exports: [UserBlocks],
})
export class UsersModule {}
