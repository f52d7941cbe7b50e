import type { RateLimit } from '../../config/config.types.js';
import { type WindowCount, windowOf } from './fixed-window.js';
import { RateLimiter } from './rate-limiter.js';

/** How often, at most, every counter is checked for a finished window. */
const SWEEP_INTERVAL_MS = 1000;

interface Counter {
  count: number;
  endMs: number;
}

/**
 * Fixed-window counters of an embedded single node, with the same keys and counts as
 * RedisRateLimiter. Time comes only from `nowMs`.
 *
 * Invariant: bounded memory. At most one sweep per SWEEP_INTERVAL_MS drops every counter
 * whose window has ended, so only current windows and those ended since the last sweep stay.
 */
export class MemoryRateLimiter extends RateLimiter {
  private readonly counters = new Map<string, Counter>();
  private lastSweepMs = Number.NEGATIVE_INFINITY;

  /** Counters held, current or not yet swept; for tests of the memory bound. */
  get size(): number {
    return this.counters.size;
  }

  count(bucket: string, limit: RateLimit, nowMs: number): Promise<WindowCount> {
    this.sweep(nowMs);
    const { index, endMs } = windowOf(limit, nowMs);
    // The window index is part of the key, as in Redis: a new window starts a new counter.
    const key = `${bucket}\u0000${index}`;
    const counter = this.counters.get(key) ?? { count: 0, endMs };
    counter.count += 1;
    this.counters.set(key, counter);
    return Promise.resolve({ count: counter.count, endMs });
  }

  private sweep(nowMs: number): void {
    // A clock that moved backwards also sweeps, so a bad `nowMs` cannot stop pruning for good.
    if (nowMs - this.lastSweepMs < SWEEP_INTERVAL_MS && nowMs >= this.lastSweepMs) return;
    this.lastSweepMs = nowMs;
    for (const [key, counter] of this.counters) {
      if (counter.endMs <= nowMs) this.counters.delete(key);
    }
  }
}
