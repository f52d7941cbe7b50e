import { UserBlocks } from './user-blocks.js';

/** How often, at most, every block is checked for expiry. */
const SWEEP_INTERVAL_MS = 1000;

/** A block lasts whole positive seconds (as `EX` takes); anything else is a caller bug. */
export function assertBlockSeconds(seconds: number): void {
  if (!Number.isSafeInteger(seconds) || seconds < 1) {
    throw new RangeError('a block must last a positive whole number of seconds');
  }
}

/**
 * Blocks of an embedded single node: userKey to block expiry, with the same decisions as
 * RedisUserBlocks. Time comes only from `nowMs`.
 *
 * Invariants:
 * - A user is blocked while `nowMs < expiresAt`; the latest block wins, longer or shorter.
 * - Bounded memory: at most one sweep per SWEEP_INTERVAL_MS drops every expired block.
 */
export class MemoryUserBlocks extends UserBlocks {
  private readonly expiries = new Map<string, number>();
  private lastSweepMs = Number.NEGATIVE_INFINITY;

  /** Blocks held, live or not yet swept; for tests of the memory bound. */
  get size(): number {
    return this.expiries.size;
  }

  async block(userKey: string, seconds: number, nowMs: number): Promise<void> {
    assertBlockSeconds(seconds);
    this.sweep(nowMs);
    this.expiries.set(userKey, nowMs + seconds * 1000);
  }

  async isBlocked(userKey: string, nowMs: number): Promise<boolean> {
    this.sweep(nowMs);
    const expiresAt = this.expiries.get(userKey);
    return expiresAt !== undefined && expiresAt > nowMs;
  }

  private sweep(nowMs: number): void {
    // A clock that moved backwards also sweeps, so a bad `nowMs` cannot stop pruning for good.
    if (nowMs - this.lastSweepMs < SWEEP_INTERVAL_MS && nowMs >= this.lastSweepMs) return;
    this.lastSweepMs = nowMs;
    for (const [userKey, expiresAt] of this.expiries) {
      if (expiresAt <= nowMs) this.expiries.delete(userKey);
    }
  }
}
