import { ExpiringKeys } from '../../memory/expiring-keys.js';
import { assertLogoutTtl, LogoutStore } from './logout-store.js';

/**
 * Logout state of an embedded single node, with the same decisions as RedisLogoutStore. Time
 * comes only from `nowMs`. Bounded memory: both maps drop expired entries (ExpiringKeys
 * sweeps; the watermark values are dropped with their keys).
 */
export class MemoryLogoutStore extends LogoutStore {
  private readonly jtis = new ExpiringKeys();
  private readonly marks = new ExpiringKeys();
  private readonly markValues = new Map<string, number>();

  async claimJti(jtiDigest: string, ttlSeconds: number, nowMs: number): Promise<boolean> {
    assertLogoutTtl(ttlSeconds);
    if (this.jtis.live(jtiDigest, nowMs)) return false;
    this.jtis.set(jtiDigest, nowMs + ttlSeconds * 1000, nowMs);
    return true;
  }

  async markLoggedOut(
    key: string,
    atSeconds: number,
    ttlSeconds: number,
    nowMs: number,
  ): Promise<void> {
    assertLogoutTtl(ttlSeconds);
    const previous = this.value(key, nowMs);
    this.marks.set(key, nowMs + ttlSeconds * 1000, nowMs);
    this.markValues.set(key, Math.max(previous ?? atSeconds, atSeconds));
  }

  async loggedOutAt(keys: readonly string[], nowMs: number): Promise<number | null> {
    let latest: number | null = null;
    for (const key of keys) {
      const at = this.value(key, nowMs);
      if (at !== null && (latest === null || at > latest)) latest = at;
    }
    return latest;
  }

  private value(key: string, nowMs: number): number | null {
    if (this.marks.live(key, nowMs)) return this.markValues.get(key) ?? null;
    this.markValues.delete(key);
    return null;
  }
}
