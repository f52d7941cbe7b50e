import type { CloseReason } from '../core/close-codes.js';
import type { Principal, UserKey } from '../core/principal.js';
import type { ServerFrame } from '../core/protocol.js';
import type { WindowRate } from '../core/session-counters.js';

/**
 * What the channel side sees of a WebSocket session: who it is, its per-connection subscribe
 * rate, and how a frame reaches it. The gateway's Session implements it; the channel side
 * never imports the gateway, so the gateway can import the channels module without a cycle.
 */
export interface Subscriber {
  /** The connection id, for audit records. */
  readonly id: string;
  readonly userKey: UserKey;
  /** Who the session acts as now; a refresh may replace it. */
  readonly principal: Principal;
  readonly open: boolean;
  /** Bytes queued on the connection and not yet written. */
  readonly bufferedAmount: number;
  /** Counts a subscribe against the per-connection rate; false when over it. */
  admitSubscribe(rate: WindowRate, nowMs: number): boolean;
  send(frame: ServerFrame): void;
  /** Writes a frame encoded once for every subscriber of a channel. */
  sendEncoded(frame: Buffer): void;
  close(reason: CloseReason, nowMs: number): void;
}
