import type { RateLimit } from '../config/config.types.js';

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * Fixed-window counters keyed by a bucket name (`tickets:<userKey>`). Cluster-wide through
 * Redis, per process in embedded mode. Rejects with StoreUnavailableError when Redis cannot
 * answer: callers decide whether that fails open or closed.
 */
export abstract class RateLimiter {
  abstract hit(bucket: string, limit: RateLimit, nowMs: number): Promise<RateDecision>;
}
