/**
 * Back-channel logout state (contract §8), shared by every node:
 * - the logout tokens' `jti`s seen in the last LOGOUT_JTI_TTL_SECONDS, so a replayed token is
 *   refused on any node;
 * - per logout target (idp-session.ts `watermarkKeyOf`) the time of the latest logout, kept
 *   as long as a token issued before it could still be valid, so such tokens and the tickets
 *   minted from them are refused on every node.
 *
 * Keys hold digests only (never a provider identifier). Redis with TTLs, or memory in
 * embedded mode. Any Redis failure rejects with StoreUnavailableError: callers fail closed.
 */
export abstract class LogoutStore {
  /** True the first time `jtiDigest` is seen within `ttlSeconds`; false for a replay. */
  abstract claimJti(jtiDigest: string, ttlSeconds: number, nowMs: number): Promise<boolean>;

  /** Records a logout of `key` at `atSeconds`, kept `ttlSeconds`; a later logout wins. */
  abstract markLoggedOut(
    key: string,
    atSeconds: number,
    ttlSeconds: number,
    nowMs: number,
  ): Promise<void>;

  /** The latest logout among `keys` (epoch seconds), or null when none is recorded. */
  abstract loggedOutAt(keys: readonly string[], nowMs: number): Promise<number | null>;
}

/** §8: replays within 10 minutes are refused. */
export const LOGOUT_JTI_TTL_SECONDS = 600;

/** Both stores take whole positive seconds (as `EX` does); anything else is a caller bug. */
export function assertLogoutTtl(seconds: number): void {
  if (!Number.isSafeInteger(seconds) || seconds < 1) {
    throw new RangeError('a logout record must last a positive whole number of seconds');
  }
}
