import { Module } from '@nestjs/common';
import { RedisModule } from '../redis/redis.module.js';
import { CareTeamStore } from '../stores/care-team-store/care-team-store.js';
import { MemoryCareTeamStore } from '../stores/care-team-store/memory-care-team-store.js';
import { RedisCareTeamStore } from '../stores/care-team-store/redis-care-team-store.js';
import { redisOrMemory } from '../stores/redis-or-memory.js';

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
