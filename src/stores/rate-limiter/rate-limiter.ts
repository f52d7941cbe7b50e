import type { RateLimit } from '../../config/config.types.js';
import { decide, type RateDecision, type WindowCount } from './fixed-window.js';

export type { RateDecision } from './fixed-window.js';

/**
 * Fixed-window counters keyed by a bucket name (`tickets:<userKey>`): the one counter of the
 * codebase, used directly by the WebSocket subscribe limit and through the throttler storage
 * by the HTTP limits. Cluster-wide through Redis, per process in embedded mode. Rejects with
 * StoreUnavailableError when Redis cannot answer: callers decide whether that fails open or
 * closed.
 */
export abstract class RateLimiter {
  /** Counts one hit of `bucket` in the window holding `nowMs`. */
  abstract count(bucket: string, limit: RateLimit, nowMs: number): Promise<WindowCount>;

  /** Counts one hit and decides it against `limit`. */
  async hit(bucket: string, limit: RateLimit, nowMs: number): Promise<RateDecision> {
    return decide(await this.count(bucket, limit, nowMs), limit, nowMs);
  }
}
