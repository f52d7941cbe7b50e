/**
 * Reconnect timing. Pure functions of the attempt number and a random draw in [0, 1), so the
 * tests can pin the draw and check the bounds.
 */
export interface BackoffOptions {
  /** Ceiling of the first retry's delay. */
  readonly initialMs: number;
  /** The ceiling never grows past this. */
  readonly maxMs: number;
  /** A connection that stays up this long resets the attempt count. */
  readonly stableAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  initialMs: 500,
  maxMs: 30_000,
  stableAfterMs: 30_000,
};

/** The exponential ceiling for `attempt` (0 for the first retry), capped at `maxMs`. */
export function backoffCeiling(attempt: number, options: BackoffOptions): number {
  // 2 ** 40 already dwarfs any sensible cap; bounding the exponent keeps the product finite.
  return Math.min(options.maxMs, options.initialMs * 2 ** Math.min(Math.max(attempt, 0), 40));
}

/**
 * "Full jitter": uniform in [0, ceiling). Clients that lost the same node spread out over the
 * whole interval instead of returning together.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: number): number {
  return Math.floor(random * backoffCeiling(attempt, options));
}

/**
 * The wait before the next attempt. With a server `Retry-After` (429, 503) it is never
 * shorter than what the server asked, and the clients it answered spread over at most as
 * long again after it, so they do not all come back in the same second.
 */
export function retryDelay(
  attempt: number,
  options: BackoffOptions,
  random: number,
  retryAfterSeconds: number | null,
): number {
  if (retryAfterSeconds === null) return backoffDelay(attempt, options, random);
  const floorMs = retryAfterSeconds * 1000;
  return floorMs + Math.floor(random * Math.min(backoffCeiling(attempt, options), floorMs));
}
