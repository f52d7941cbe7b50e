import { Module } from '@nestjs/common';
import { RedisModule } from '../redis/redis.module.js';
import { RedisService } from '../redis/redis.service.js';
import { CareTeamStore } from './care-team-store.js';
import { MemoryCareTeamStore } from './memory-care-team-store.js';
import { RedisCareTeamStore } from './redis-care-team-store.js';

@Module({
  imports: [RedisModule],
  providers: [
    {
      provide: CareTeamStore,
      useFactory: (redis: RedisService) =>
        redis.embedded ? new MemoryCareTeamStore() : new RedisCareTeamStore(redis),
      inject: [RedisService],
    },
  ],
  exports: [CareTeamStore],
})
export class CareTeamsModule {}
