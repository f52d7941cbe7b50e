import type { RateLimit } from '../../config/config.types.js';

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** A window's count after one more hit, and when that window ends (epoch ms). */
export interface WindowCount {
  readonly count: number;
  readonly endMs: number;
}

/** The fixed window holding `nowMs`: windows start at multiples of `windowMs` since the epoch. */
export function windowOf(limit: RateLimit, nowMs: number): { index: number; endMs: number } {
  const index = Math.floor(nowMs / limit.windowMs);
  return { index, endMs: (index + 1) * limit.windowMs };
}

/** Whole seconds until the window ends, rounded up and never 0. */
export function secondsUntil(endMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil((endMs - nowMs) / 1000));
}

/**
 * The decision for the `count`-th hit of a window, shared by every counter so they agree.
 * Denials say when the window ends, rounded up to whole seconds and never 0, so a client
 * that honours Retry-After never retries into the same full window.
 */
export function decide(
  { count, endMs }: WindowCount,
  limit: RateLimit,
  nowMs: number,
): RateDecision {
  if (count <= limit.limit) return { allowed: true };
  return { allowed: false, retryAfterSeconds: secondsUntil(endMs, nowMs) };
}
