import { Module } from '@nestjs/common';
import { RedisModule } from '../redis/redis.module.js';
import { redisOrMemory } from '../stores/redis-or-memory.js';
import { CareTeamStore } from './care-team-store.js';
import { MemoryCareTeamStore } from './memory-care-team-store.js';
import { RedisCareTeamStore } from './redis-care-team-store.js';

@Module({
  imports: [RedisModule],
  providers: [
    redisOrMemory(CareTeamStore, {
      redis: (redis) => new RedisCareTeamStore(redis),
      memory: () => new MemoryCareTeamStore(),
    }),
  ],
  exports: [CareTeamStore],
})
export class CareTeamsModule {}
