import { collectDefaultMetrics, Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Every carecast metric, declared once. Labels are bounded enums only: never a user, channel,
 * ticket, origin or path value. One instance per app, on that app's own registry, so two
 * apps in one process never collide.
 */
export class Metrics {
  readonly redisUp: Gauge;
  readonly ready: Gauge;
  readonly httpRequests: Counter<'listener' | 'route' | 'method' | 'status'>;
  readonly httpRequestDuration: Histogram<'listener' | 'route'>;

  private readonly scrapeHooks: (() => void)[] = [];

  constructor(readonly registry: Registry) {
    collectDefaultMetrics({ register: registry, prefix: 'carecast_' });
    const registers = [registry];
    this.redisUp = new Gauge({
      name: 'carecast_redis_up',
      help: '1 while the Redis command connection is ready; always 1 in embedded mode',
      registers,
    });
    this.ready = new Gauge({
      name: 'carecast_ready',
      help: '1 while /readyz answers 200',
      registers,
    });
    this.httpRequests = new Counter({
      name: 'carecast_http_requests_total',
      help: 'HTTP requests answered, by listener, route template, method and status code',
      labelNames: ['listener', 'route', 'method', 'status'],
      registers,
    });
    this.httpRequestDuration = new Histogram({
      name: 'carecast_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by listener and route template',
      labelNames: ['listener', 'route'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
  }

  /** Runs `hook` before every scrape, for gauges that are cheaper to read than to track. */
  onScrape(hook: () => void): void {
    this.scrapeHooks.push(hook);
  }

  async render(): Promise<string> {
    for (const hook of this.scrapeHooks) hook();
    return this.registry.metrics();
  }
}
