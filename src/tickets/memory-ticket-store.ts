import { TicketStore } from './ticket-store.js';

/** How often, at most, every entry is checked for expiry. */
const SWEEP_INTERVAL_MS = 1000;

/** A ticket lives whole positive seconds (as `EX` takes); anything else is a caller bug. */
export function assertTtl(ttlSeconds: number): void {
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new RangeError('ticket ttl must be a positive whole number of seconds');
  }
}

/**
 * Tickets of an embedded single node: jti to expiry time, in this process only. Time comes
 * only from `nowMs`, so tests move the clock instead of waiting.
 *
 * Invariants:
 * - A ticket redeems at most once: redemption deletes the entry before answering.
 * - A ticket is redeemable while `nowMs < expiresAt`, like a Redis key with a TTL.
 * - Bounded memory: at most one full sweep per SWEEP_INTERVAL_MS drops every expired entry,
 *   so the map holds the live tickets plus those issued since the last sweep, however many
 *   tickets are issued and never redeemed.
 */
export class MemoryTicketStore extends TicketStore {
  private readonly expiries = new Map<string, number>();
  private lastSweepMs = Number.NEGATIVE_INFINITY;

  /** Entries held, live or not yet swept; for tests of the memory bound. */
  get size(): number {
    return this.expiries.size;
  }

  async issue(jti: string, ttlSeconds: number, nowMs: number): Promise<void> {
    assertTtl(ttlSeconds);
    this.sweep(nowMs);
    const existing = this.expiries.get(jti);
    if (existing !== undefined && existing > nowMs) {
      throw new Error('ticket id collision: refusing to issue it twice');
    }
    this.expiries.set(jti, nowMs + ttlSeconds * 1000);
  }

  async redeem(jti: string, nowMs: number): Promise<boolean> {
    this.sweep(nowMs);
    const expiresAt = this.expiries.get(jti);
    this.expiries.delete(jti);
    return expiresAt !== undefined && expiresAt > nowMs;
  }

  private sweep(nowMs: number): void {
    // A clock that moved backwards also sweeps, so a bad `nowMs` cannot stop pruning for good.
    if (nowMs - this.lastSweepMs < SWEEP_INTERVAL_MS && nowMs >= this.lastSweepMs) return;
    this.lastSweepMs = nowMs;
    for (const [jti, expiresAt] of this.expiries) {
      if (expiresAt <= nowMs) this.expiries.delete(jti);
    }
  }
}
