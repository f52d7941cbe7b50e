import { type DynamicModule, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { METRIC_PROVIDERS } from './metric-definitions.js';
import { Metrics } from './metrics.js';
import { MetricsController } from './metrics.controller.js';
import { ScrapeHooks } from './scrape-hooks.js';

/**
 * @willsoto/nestjs-prometheus, registered once per process (here, when this file loads):
 * register() starts prom-client's default process and Node.js metrics on the global
 * registry, and a second start would fail on the names already taken. Every app built in the
 * process imports this same module value.
 */
const prometheus = PrometheusModule.register({
  controller: MetricsController,
  defaultMetrics: { enabled: true, config: { prefix: 'carecast_' } },
});

/** The metrics controller runs the scrape hooks, so they live in the module that declares it. */
const prometheusWithScrapeHooks: DynamicModule = {
  ...prometheus,
  providers: [...(prometheus.providers ?? []), ScrapeHooks],
  exports: [...(prometheus.exports ?? []), ScrapeHooks],
};

@Module({
  imports: [prometheusWithScrapeHooks],
  providers: [...METRIC_PROVIDERS, Metrics],
  exports: [Metrics],
})
export class MetricsModule {}
