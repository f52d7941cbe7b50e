import { Module } from '@nestjs/common';
import { CareTeamsModule } from '../care-teams/care-teams.module.js';
import { FanoutModule } from '../fanout/fanout.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { RedisModule } from '../redis/redis.module.js';
import { IdempotencyStore } from '../stores/idempotency-store/idempotency-store.js';
import { MemoryIdempotencyStore } from '../stores/idempotency-store/memory-idempotency-store.js';
import { RedisIdempotencyStore } from '../stores/idempotency-store/redis-idempotency-store.js';
import { redisOrMemory } from '../stores/redis-or-memory.js';
import { ThrottleModule } from '../throttle/throttle.module.js';
import { UsersModule } from '../users/users.module.js';
import { CareTeamsController } from './care-teams.controller.js';
import { NotificationsController } from './notifications.controller.js';
import { Publisher } from './publisher.service.js';
import { PublisherSignatureGuard } from './publisher-signature.guard.js';
import { UsersController } from './users.controller.js';

/** The internal API (`/internal/v1/*`), for signed publishing services only. */
@Module({
  imports: [MetricsModule, RedisModule, ThrottleModule, UsersModule, CareTeamsModule, FanoutModule],
  controllers: [NotificationsController, CareTeamsController, UsersController],
  providers: [
    PublisherSignatureGuard,
    Publisher,
    redisOrMemory(IdempotencyStore, {
      redis: (redis) => new RedisIdempotencyStore(redis),
      memory: () => new MemoryIdempotencyStore(),
    }),
  ],
})
export class PublishModule {}
