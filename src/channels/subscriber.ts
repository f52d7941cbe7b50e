import type { BusMessage } from '../core/bus-message.js';
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
  /** Epoch ms at which the session's lease ends. */
  readonly expiresAt: number;
  /** The carecast scopes of the access token behind the session (BREAK_GLASS_SCOPE). */
  readonly scopes: readonly string[];
  /** When the break-glass grant on `channel` ends (epoch ms), or null without one. */
  breakGlassUntil(channel: string): number | null;
  grantBreakGlass(channel: string, until: number): void;
  endBreakGlass(channel: string): void;
  /** Bytes queued on the connection and not yet written. */
  readonly bufferedAmount: number;
  /** Counts a subscribe against the per-connection rate; false when over it. */
  admitSubscribe(rate: WindowRate, nowMs: number): boolean;
  /**
   * Writes a frame; false when it was not written: the connection is closing, or the frame
   * would pass WS_MAX_BUFFERED_BYTES and the connection was closed 4009 instead.
   */
  send(frame: ServerFrame): boolean;
  /** Writes a notification frame encoded once for every subscriber, as `send` does. */
  sendEncoded(frame: Buffer, channel: string, notification: string | null): boolean;
  /**
   * Starts a catch-up on `channel`: its live messages are kept (`keep`) instead of written,
   * until `release`, so the replay and the ack go out before them.
   */
  hold(channel: string): void;
  /**
   * Keeps `message` when `channel` is held and answers true (past WS_MAX_BUFFERED_BYTES kept,
   * the connection is closed 4009); false when it is not held (then the caller writes it).
   * Called for every delivery: cheap when nothing is held.
   */
  keep(channel: string, message: BusMessage): boolean;
  /** Ends the hold on `channel`: what was kept, in arrival order (empty when not held). */
  release(channel: string): readonly BusMessage[];
  /**
   * After a catch-up acked at `seq`: the channel's messages up to `seq` went out already, in
   * the replay or before the subscribe, yet one may still arrive from the bus, whose Redis
   * connection is not the one the position was read on. Until `untilMs`, or the channel's
   * first message past `seq`, `stale` drops them.
   */
  floor(channel: string, seq: number, untilMs: number): void;
  /** True for a message at or under the channel's floor while it holds; cheap when none. */
  stale(channel: string, seq: number | null, nowMs: number): boolean;
  close(reason: CloseReason, nowMs: number): void;
}
