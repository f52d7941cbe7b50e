import { Injectable } from '@nestjs/common';

/**
 * What runs before every scrape of /metrics: gauges that are cheaper to read on demand than
 * to track (open sessions, subscriptions, readiness). One per app; features add to it
 * through `Metrics.onScrape`, the metrics controller runs it.
 */
@Injectable()
export class ScrapeHooks {
  private readonly hooks: (() => void)[] = [];

  add(hook: () => void): void {
    this.hooks.push(hook);
  }

  run(): void {
    for (const hook of this.hooks) hook();
  }
}
