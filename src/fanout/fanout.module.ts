import { Module } from '@nestjs/common';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { Metrics } from '../metrics/metrics.js';
import { RedisModule } from '../redis/redis.module.js';
import { RedisService } from '../redis/redis.service.js';
import { Bus } from './bus.js';
import { DeliveryLag } from './delivery-lag.js';
import { MemoryBus } from './memory-bus.js';
import { RedisFanoutAdapter } from './redis-fanout-adapter.js';

/**
 * The node's one Bus: the Redis adapter for horizontal fan-out whenever the node has Redis,
 * so a notification published on any node reaches the subscribers on every node; memory only
 * in embedded single-node mode, where this node holds every subscriber. Nest runs the
 * lifecycle hooks of the instance the factory returns, so the Redis adapter opens its
 * subscriber at init and stops its timers at shutdown. DeliveryLag is how far this node's
 * delivery is behind, noted by the gateway's Delivery and read by publish admission.
 */
@Module({
  imports: [RedisModule, MetricsModule],
  providers: [
    {
      provide: Bus,
      useFactory: (redis: RedisService, metrics: Metrics, config: Config): Bus =>
        redis.embedded
          ? new MemoryBus(metrics)
          : new RedisFanoutAdapter(redis, metrics, config.redis.topology),
      inject: [RedisService, Metrics, CONFIG],
    },
    DeliveryLag,
  ],
  exports: [Bus, DeliveryLag],
})
export class FanoutModule {}
