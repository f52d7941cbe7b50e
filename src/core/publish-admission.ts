/**
 * Whether a node takes one more publish request, from how loaded it is (issue 10,
 * "backpressure, not loss"). A node that takes more than it can deliver only grows queues: the
 * Redis output buffer of its subscriber connection (which Redis cuts off past its limit, losing
 * every message in it), its audit queue (which drops records once full) and its latency. So
 * past any of the limits below a publisher is told 503 `unavailable` with `Retry-After` at
 * once, before any Redis round trip, and nothing it sent is accepted.
 */

/** What the node measures before taking a request. */
export interface PublishLoad {
  /** Notifications of requests taken and not yet answered. */
  readonly inFlight: number;
  /** Audit records queued and not yet written. */
  readonly auditBacklog: number;
  /** The standing publish-to-socket lag of this node's deliveries (see DeliveryLag). */
  readonly deliveryLagMs: number;
}

export interface PublishLimits {
  readonly maxInFlight: number;
  readonly maxAuditBacklog: number;
  readonly maxDeliveryLagMs: number;
}

/** Which measure refused a request (logged when shedding starts). */
export type ShedSignal = 'in_flight' | 'audit_backlog' | 'delivery_lag';

export type PublishAdmission =
  { readonly kind: 'admit' } | { readonly kind: 'shed'; readonly signal: ShedSignal };

/** Seconds a shed publisher is asked to wait: the lag and backlog drain within about that. */
export const SHED_RETRY_AFTER_SECONDS = 1;

/**
 * Admits a request of `notifications` unless it would take the node past a limit. A request
 * arriving while nothing is in flight is never refused for its own size.
 */
export function admitPublish(
  notifications: number,
  load: PublishLoad,
  limits: PublishLimits,
): PublishAdmission {
  if (load.deliveryLagMs > limits.maxDeliveryLagMs) return { kind: 'shed', signal: 'delivery_lag' };
  if (load.auditBacklog + notifications > limits.maxAuditBacklog) {
    return { kind: 'shed', signal: 'audit_backlog' };
  }
  if (load.inFlight > 0 && load.inFlight + notifications > limits.maxInFlight) {
    return { kind: 'shed', signal: 'in_flight' };
  }
  return { kind: 'admit' };
}
