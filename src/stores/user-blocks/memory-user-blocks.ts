import { ExpiringKeys } from '../../memory/expiring-keys.js';
import { UserBlocks } from './user-blocks.js';

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
 * - Bounded memory, as ExpiringKeys keeps it.
 */
export class MemoryUserBlocks extends UserBlocks {
  private readonly blocks = new ExpiringKeys();

  /** Blocks held, live or not yet swept; for tests of the memory bound. */
  get size(): number {
    return this.blocks.size;
  }

  async block(userKey: string, seconds: number, nowMs: number): Promise<void> {
    assertBlockSeconds(seconds);
    this.blocks.set(userKey, nowMs + seconds * 1000, nowMs);
  }

  async isBlocked(userKey: string, nowMs: number): Promise<boolean> {
    return this.blocks.live(userKey, nowMs);
  }
}
