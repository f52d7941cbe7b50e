/**
 * Counts each user's open WebSocket connections across the cluster, for
 * MAX_CONNECTIONS_PER_USER. Each slot is a lease that the owning node renews on every
 * heartbeat round, so the slots of a node that died expire by themselves and counts heal.
 */
export abstract class ConnectionCounter {
  /** Takes a slot for `connectionKey` unless the user already holds `limit` live ones. */
  abstract acquire(
    userKey: string,
    connectionKey: string,
    limit: number,
    leaseMs: number,
    nowMs: number,
  ): Promise<boolean>;
  abstract release(userKey: string, connectionKey: string): Promise<void>;
  /**
   * Renews, and restores where the store lost them, the leases of this node's live
   * connections. Only live connections are passed: the gateway drops a session from its
   * registry before releasing its slot, and the store sees the two in that order.
   */
  abstract renew(
    slots: readonly { userKey: string; connectionKey: string }[],
    leaseMs: number,
    nowMs: number,
  ): Promise<void>;
}

/**
 * A slot's lease: three heartbeat rounds. Live sessions renew it every round, so only a node
 * that stopped renewing (crashed, partitioned) loses its slots, within three rounds.
 */
export function slotLeaseMs(heartbeatSeconds: number): number {
  return heartbeatSeconds * 3000;
}
