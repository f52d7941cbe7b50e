/**
 * Users blocked through the internal disconnect API: while blocked they get 403
 * `user_blocked` for tickets and upgrades. Redis keys with a TTL, or memory in embedded mode.
 */
export abstract class UserBlocks {
  abstract block(userKey: string, seconds: number, nowMs: number): Promise<void>;
  abstract isBlocked(userKey: string, nowMs: number): Promise<boolean>;
}
