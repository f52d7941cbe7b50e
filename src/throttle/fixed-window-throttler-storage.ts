import type { ThrottlerStorage } from '@nestjs/throttler';
import type { RateLimit } from '../config/config.types.js';
import { decide, secondsUntil } from '../stores/rate-limiter/fixed-window.js';
import { RateLimiter } from '../stores/rate-limiter/rate-limiter.js';

/** What `increment` answers (the package does not export the record's type by name). */
export type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * The throttler's storage over the project's one fixed-window counter (RateLimiter): one
 * Redis script on one key per call when the node has Redis, so a limit holds across the
 * cluster and on Redis Cluster; a memory map in embedded mode. The throttler's own memory
 * storage would count per process, and its sliding per-hit expiries would disagree with the
 * fixed windows the WebSocket subscribe limit counts in.
 *
 * `ttl` is the window length in ms. A fixed window blocks until it ends, so `blockDuration`
 * is not used: `timeToBlockExpire` is the window's end in whole seconds, rounded up, never 0.
 * Rejects with StoreUnavailableError when Redis cannot answer.
 */
export class FixedWindowThrottlerStorage implements ThrottlerStorage {
  constructor(
    private readonly counter: RateLimiter,
    private readonly nowMs: () => number = Date.now,
  ) {}

  async increment(key: string, ttl: number, limit: number): Promise<ThrottlerStorageRecord> {
    const now = this.nowMs();
    const window: RateLimit = { limit, windowMs: ttl };
    const counted = await this.counter.count(key, window, now);
    const decision = decide(counted, window, now);
    return {
      totalHits: counted.count,
      timeToExpire: secondsUntil(counted.endMs, now),
      isBlocked: !decision.allowed,
      timeToBlockExpire: decision.allowed ? 0 : decision.retryAfterSeconds,
    };
  }
}
