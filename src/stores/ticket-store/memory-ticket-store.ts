import { ExpiringKeys } from '../../memory/expiring-keys.js';
import { TicketStore } from './ticket-store.js';

/** A ticket lives whole positive seconds (as `EX` takes); anything else is a caller bug. */
export function assertTtl(ttlSeconds: number): void {
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new RangeError('ticket ttl must be a positive whole number of seconds');
  }
}

/**
 * Tickets of an embedded single node: jti to expiry time, in this process only, with the
 * expiry and memory bound of ExpiringKeys.
 *
 * Invariants:
 * - A ticket redeems at most once: redemption deletes the entry before answering.
 * - A ticket is redeemable while `nowMs < expiresAt`, like a Redis key with a TTL.
 */
export class MemoryTicketStore extends TicketStore {
  private readonly tickets = new ExpiringKeys();

  /** Entries held, live or not yet swept; for tests of the memory bound. */
  get size(): number {
    return this.tickets.size;
  }

  async issue(jti: string, ttlSeconds: number, nowMs: number): Promise<void> {
    assertTtl(ttlSeconds);
    if (this.tickets.live(jti, nowMs)) {
      throw new Error('ticket id collision: refusing to issue it twice');
    }
    this.tickets.set(jti, nowMs + ttlSeconds * 1000, nowMs);
  }

  async redeem(jti: string, nowMs: number): Promise<boolean> {
    return this.tickets.take(jti, nowMs);
  }
}
