import { Module } from '@nestjs/common';
import { RedisModule } from '../redis/redis.module.js';
import { redisOrMemory } from '../stores/redis-or-memory.js';
import { MemoryUserBlocks } from '../stores/user-blocks/memory-user-blocks.js';
import { RedisUserBlocks } from '../stores/user-blocks/redis-user-blocks.js';
import { UserBlocks } from '../stores/user-blocks/user-blocks.js';

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
