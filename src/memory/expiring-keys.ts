/** How often, at most, every key is checked for expiry. */
const SWEEP_INTERVAL_MS = 1000;

/**
 * Keys with an expiry time, for the in-memory stores of an embedded node (tickets, blocks,
 * notification ids): what a Redis key with a TTL is in a cluster. Time comes only from
 * `nowMs`, so tests move the clock instead of waiting.
 *
 * Invariants:
 * - A key is live while `nowMs < expiresAt`.
 * - Bounded memory: at most one full sweep per SWEEP_INTERVAL_MS drops every expired key, so
 *   the map holds the live keys plus those set since the last sweep. A clock that moved
 *   backwards also sweeps, so a bad `nowMs` cannot stop pruning for good.
 */
export class ExpiringKeys {
  private readonly expiries = new Map<string, number>();
  private lastSweepMs = Number.NEGATIVE_INFINITY;

  /** Keys held, live or not yet swept; for tests of the memory bound. */
  get size(): number {
    return this.expiries.size;
  }

  set(key: string, expiresAtMs: number, nowMs: number): void {
    this.sweep(nowMs);
    this.expiries.set(key, expiresAtMs);
  }

  live(key: string, nowMs: number): boolean {
    this.sweep(nowMs);
    const expiresAt = this.expiries.get(key);
    return expiresAt !== undefined && expiresAt > nowMs;
  }

  /** Removes `key`; true when it was live (what `GETDEL` finding a value means). */
  take(key: string, nowMs: number): boolean {
    const wasLive = this.live(key, nowMs);
    this.expiries.delete(key);
    return wasLive;
  }

  delete(key: string): void {
    this.expiries.delete(key);
  }

  private sweep(nowMs: number): void {
    if (nowMs - this.lastSweepMs < SWEEP_INTERVAL_MS && nowMs >= this.lastSweepMs) return;
    this.lastSweepMs = nowMs;
    for (const [key, expiresAt] of this.expiries) {
      if (expiresAt <= nowMs) this.expiries.delete(key);
    }
  }
}
