/**
 * When to send the in-band `refresh`, as a pure function: `remainingMs` before the session
 * lease ends, refresh `marginMs` plus up to `jitterMs` early (the jitter keeps a user's tabs
 * from asking for tickets in the same second), but never later than halfway through a lease
 * shorter than that, so a short lease still gets its refresh and a retry.
 */
export interface RefreshOptions {
  readonly marginMs: number;
  readonly jitterMs: number;
}

export const DEFAULT_REFRESH: RefreshOptions = { marginMs: 60_000, jitterMs: 30_000 };

export function refreshDelayMs(
  remainingMs: number,
  options: RefreshOptions,
  random: number,
): number {
  if (remainingMs <= 0) return 0;
  const lead = Math.min(options.marginMs + random * options.jitterMs, remainingMs / 2);
  return Math.max(0, Math.floor(remainingMs - lead));
}

/**
 * A refresh is worth repeating only when it moved the lease: an access token that did not
 * get younger gives the same end again, and spending tickets on it would only burn the
 * user's ticket rate. The session then ends with 4001 and the client reconnects.
 */
export function leaseExtended(previousEnd: number, newEnd: number): boolean {
  return newEnd > previousEnd + 1000;
}
