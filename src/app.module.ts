import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR } from '@nestjs/core';
import { AuditModule } from './audit/audit.module.js';
import { ConfigModule } from './config/config.module.js';
import type { Config } from './config/config.types.js';
import { GatewayModule } from './gateway/gateway.module.js';
import { HealthModule } from './health/health.module.js';
import { ErrorResponseFilter } from './http/error-response.filter.js';
import { ResponseShapeInterceptor } from './http/response-shape.interceptor.js';
import { LifecycleModule } from './lifecycle/lifecycle.module.js';
import { LogoutModule } from './logout/logout.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { PublishModule } from './publish/publish.module.js';
import { RedisModule } from './redis/redis.module.js';
import { ThrottleModule } from './throttle/throttle.module.js';
import { TicketsModule } from './tickets/tickets.module.js';

@Module({})
export class AppModule {
  static forRoot(config: Config): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LifecycleModule,
        MetricsModule,
        RedisModule,
        AuditModule,
        ThrottleModule,
        HealthModule,
        TicketsModule,
        GatewayModule,
        PublishModule,
        LogoutModule,
      ],
      providers: [
        { provide: APP_FILTER, useClass: ErrorResponseFilter },
        { provide: APP_INTERCEPTOR, useClass: ResponseShapeInterceptor },
      ],
    };
  }
}
