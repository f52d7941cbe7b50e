import { Test, type TestingModuleBuilder } from '@nestjs/testing';
import { getToken } from '@willsoto/nestjs-prometheus';
import { Counter, Gauge, Histogram, type Metric, Registry } from 'prom-client';
import { METRIC_DEFINITIONS, type MetricDefinition } from '../../src/metrics/metric-definitions.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { ScrapeHooks } from '../../src/metrics/scrape-hooks.js';

/**
 * Metrics on a registry of the test's own, for parts of a node built in-process side by side
 * (bus nodes, store clients). A whole node keeps prom-client's global registry: one node per
 * process, and tests comparing whole nodes run them as child processes (process-node.ts).
 */
export interface PrivateMetrics {
  readonly registry: Registry;
  /** One override per metric provider, replacing the global metric with a private one. */
  readonly overrides: readonly { readonly token: string; readonly metric: Metric }[];
}

export function privateMetrics(): PrivateMetrics {
  const registry = new Registry();
  return {
    registry,
    overrides: METRIC_DEFINITIONS.map((definition) => ({
      token: getToken(definition.options.name),
      metric: metricOn(registry, definition),
    })),
  };
}

/** `builder` with every metric provider replaced by the private ones. */
export function withPrivateMetrics(
  builder: TestingModuleBuilder,
  metrics: PrivateMetrics,
): TestingModuleBuilder {
  for (const { token, metric } of metrics.overrides)
    builder.overrideProvider(token).useValue(metric);
  return builder;
}

/** A Metrics facade over fresh private metrics, for services built outside an app. */
export async function standaloneMetrics(): Promise<Metrics> {
  const { overrides } = privateMetrics();
  const moduleRef = await Test.createTestingModule({
    providers: [
      Metrics,
      ScrapeHooks,
      ...overrides.map(({ token, metric }) => ({ provide: token, useValue: metric })),
    ],
  }).compile();
  return moduleRef.get(Metrics);
}

function metricOn(registry: Registry, definition: MetricDefinition): Metric {
  const registers = [registry];
  switch (definition.kind) {
    case 'counter':
      return new Counter({ ...definition.options, registers });
    case 'gauge':
      return new Gauge({ ...definition.options, registers });
    case 'histogram':
      return new Histogram({ ...definition.options, registers });
  }
}
