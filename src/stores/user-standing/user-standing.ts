import type { UserKey } from '../../core/principal.js';

/**
 * What the shared state says about a user and an access token's provider session at one
 * moment: the disconnect block (UserBlocks) and the latest back-channel logout watermark among
 * the token's keys (LogoutStore). Each fact is read or marked unread on its own, as the guards
 * read them one by one before: a guard that needs an unread fact answers 503 (fail closed),
 * and a guard that refuses first never looks at a fact after it.
 */
export interface Standing {
  /** Whether a block lasts; null when the block store did not answer. */
  readonly blocked: boolean | null;
  /** The latest watermark (epoch s) or null for none; undefined when the store did not answer. */
  readonly loggedOutAt: number | null | undefined;
}

/**
 * Reads a user's Standing in one go: one Redis round trip and one command on a standalone
 * Redis (RedisUserStanding), the two stores' own calls sent together on Redis Cluster, where
 * the keys live in different slots, and in embedded mode (SeparateUserStanding). It reads
 * only: the decisions stay with the guards (tickets: NotLoggedOutGuard, UnblockedUserGuard).
 */
export abstract class UserStanding {
  abstract read(
    userKey: UserKey,
    watermarkKeys: readonly string[],
    nowMs: number,
  ): Promise<Standing>;
}

/** A Standing of which nothing could be read. */
export const UNREAD_STANDING: Standing = { blocked: null, loggedOutAt: undefined };
