import { Module } from '@nestjs/common';
import { LifecycleModule } from '../lifecycle/lifecycle.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { RedisModule } from '../redis/redis.module.js';
import { TicketsModule } from '../tickets/tickets.module.js';
import { UsersModule } from '../users/users.module.js';
import { connectionCounterProvider } from './connection-counter.provider.js';
import { FrameHandler } from './frame-handler.js';
import { Gateway } from './gateway.js';
import { SessionRegistry } from './session-registry.js';
import { UpgradeAuthenticator } from './upgrade-authenticator.js';

@Module({
  imports: [LifecycleModule, MetricsModule, RedisModule, TicketsModule, UsersModule],
  providers: [
    connectionCounterProvider,
    UpgradeAuthenticator,
    SessionRegistry,
    FrameHandler,
    Gateway,
  ],
  exports: [UpgradeAuthenticator, SessionRegistry],
})
export class GatewayModule {}
