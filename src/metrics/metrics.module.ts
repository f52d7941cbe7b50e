import { Module } from '@nestjs/common';
import { Registry } from 'prom-client';
import { Metrics } from './metrics.js';
import { MetricsController } from './metrics.controller.js';

@Module({
  controllers: [MetricsController],
  providers: [{ provide: Metrics, useFactory: () => new Metrics(new Registry()) }],
  exports: [Metrics],
})
export class MetricsModule {}
