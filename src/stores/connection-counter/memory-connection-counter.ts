import { ConnectionCounter } from './connection-counter.js';

/** How often, at most, every user's slots are checked for lapsed leases. */
const SWEEP_INTERVAL_MS = 1000;

/**
 * Per-user connection slots of an embedded single node, with the same decisions as
 * RedisConnectionCounter: userKey to (connectionKey to lease expiry). Time comes only from
 * `nowMs`.
 *
 * Invariants:
 * - A slot is live while `nowMs < expiresAt`; acquire counts live slots only.
 * - Acquiring a slot already held extends it and succeeds: it never counts twice.
 * - Renewal only extends slots still held; it never brings back a released or lapsed one.
 * - Bounded memory: at most one sweep per SWEEP_INTERVAL_MS drops lapsed slots and users
 *   left without any, even if their connections were never released.
 */
export class MemoryConnectionCounter extends ConnectionCounter {
  private readonly users = new Map<string, Map<string, number>>();
  private lastSweepMs = Number.NEGATIVE_INFINITY;

  /** Users holding slots, live or not yet swept; for tests of the memory bound. */
  get size(): number {
    return this.users.size;
  }

  async acquire(
    userKey: string,
    connectionKey: string,
    limit: number,
    leaseMs: number,
    nowMs: number,
  ): Promise<boolean> {
    this.sweep(nowMs);
    const slots = this.users.get(userKey) ?? new Map<string, number>();
    dropLapsed(slots, nowMs);
    if (!slots.has(connectionKey) && slots.size >= limit) return false;
    slots.set(connectionKey, nowMs + leaseMs);
    this.users.set(userKey, slots);
    return true;
  }

  async release(userKey: string, connectionKey: string): Promise<void> {
    const slots = this.users.get(userKey);
    if (slots === undefined) return;
    slots.delete(connectionKey);
    if (slots.size === 0) this.users.delete(userKey);
  }

  async renew(
    slots: readonly { userKey: string; connectionKey: string }[],
    leaseMs: number,
    nowMs: number,
  ): Promise<void> {
    this.sweep(nowMs);
    for (const { userKey, connectionKey } of slots) {
      let held = this.users.get(userKey);
      if (held === undefined) this.users.set(userKey, (held = new Map()));
      held.set(connectionKey, nowMs + leaseMs);
    }
  }

  private sweep(nowMs: number): void {
    // A clock that moved backwards also sweeps, so a bad `nowMs` cannot stop pruning for good.
    if (nowMs - this.lastSweepMs < SWEEP_INTERVAL_MS && nowMs >= this.lastSweepMs) return;
    this.lastSweepMs = nowMs;
    for (const [userKey, slots] of this.users) {
      dropLapsed(slots, nowMs);
      if (slots.size === 0) this.users.delete(userKey);
    }
  }
}

function dropLapsed(slots: Map<string, number>, nowMs: number): void {
  for (const [connectionKey, expiresAt] of slots) {
    if (expiresAt <= nowMs) slots.delete(connectionKey);
  }
}
