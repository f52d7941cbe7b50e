import { ExpiringKeys } from '../../memory/expiring-keys.js';
import { IDEMPOTENCY_WINDOW_SECONDS, IdempotencyStore } from './idempotency-store.js';

/**
 * Notification ids of an embedded single node, with the expiry and memory bound of
 * ExpiringKeys: a repeat within the window is refused, like `SET NX` on a live key.
 */
export class MemoryIdempotencyStore extends IdempotencyStore {
  private readonly seen = new ExpiringKeys();

  claim(id: string, nowMs: number): Promise<boolean> {
    if (this.seen.live(id, nowMs)) return Promise.resolve(false);
    this.seen.set(id, nowMs + IDEMPOTENCY_WINDOW_SECONDS * 1000, nowMs);
    return Promise.resolve(true);
  }

  release(id: string): Promise<void> {
    this.seen.delete(id);
    return Promise.resolve();
  }
}
