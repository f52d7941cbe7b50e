import { Module } from '@nestjs/common';
import { RedisModule } from '../redis/redis.module.js';
import { RedisService } from '../redis/redis.service.js';
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
    {
      provide: UserBlocks,
      useFactory: (redis: RedisService): UserBlocks =>
        redis.embedded ? new MemoryUserBlocks() : new RedisUserBlocks(redis),
      inject: [RedisService],
    },
  ],
  exports: [UserBlocks],
})
export class UsersModule {}
