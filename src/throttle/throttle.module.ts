import { Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import { RateLimiter } from '../stores/rate-limiter/rate-limiter.js';
import { StoresModule } from '../stores/stores.module.js';
import { FixedWindowThrottlerStorage } from './fixed-window-throttler-storage.js';
import { throttlersOf } from './throttlers.js';

/**
 * The HTTP limits through @nestjs/throttler: named throttlers from the typed Config over the
 * cluster-wide fixed-window storage. No global guard: a route opts in with its own guard
 * (PublisherThrottlerGuard, TicketThrottlerGuard), so health, metrics and the WebSocket
 * upgrade are never throttled. The throttler's `X-RateLimit-*` headers are off: the contract
 * names only `Retry-After`, which the guards set on refusals.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      imports: [StoresModule],
      inject: [CONFIG, RateLimiter],
      useFactory: (config: Config, counter: RateLimiter) => ({
        throttlers: throttlersOf(config),
        storage: new FixedWindowThrottlerStorage(counter),
        setHeaders: false,
      }),
    }),
  ],
  exports: [ThrottlerModule],
})
export class ThrottleModule {}
