import type { BusMessage } from '../../core/bus-message.js';
import type { ChannelName } from '../../core/channel.js';
import type { Position } from '../../core/position.js';

/** How long a notification id is remembered per channel: a repeat within it is not delivered. */
export const IDEMPOTENCY_WINDOW_SECONDS = 600;

/** One accepted notification, its frame encoded once without its seq (encodeNotificationHead). */
export interface LogEntry {
  readonly channel: ChannelName;
  readonly id: string;
  /** Publish time in epoch ms, as in the frame. */
  readonly ts: number;
  readonly head: string;
}

/**
 * What became of an entry: published with its seq, a repeat of an id within the window (no
 * seq, not published), or not known because Redis could not be reached (a retry with the
 * same id is delivered unless this one was).
 */
export type Appended =
  | { readonly outcome: 'published'; readonly seq: number }
  | { readonly outcome: 'duplicate' }
  | { readonly outcome: 'unavailable' };

/** A channel's position, and the frames after a `since` when the history holds all of them. */
export interface HistoryRead {
  readonly position: Position;
  /** Every frame after `since`, in seq order; empty when not all are held (see recoveryOf). */
  readonly replay: readonly string[];
}

/** Publishes a notification on a bus without Redis; see `append`. */
export type LocalPublish = (channel: ChannelName, message: BusMessage) => unknown;

/**
 * Each channel's log: positions, history and notification ids, in Redis or (embedded mode) in
 * memory, with the same semantics (contract §4, "Positions and recovery"):
 * - a notification id is claimed per channel for IDEMPOTENCY_WINDOW_SECONDS;
 * - every new notification gets the channel's next seq, is appended to its history (the last
 *   `HISTORY_SIZE` frames) and published, all in one atomic step, so a duplicate never gets a
 *   seq, nothing is published that is not in history, and followers see seq order;
 * - a channel's history and position live `HISTORY_TTL_SECONDS` after its last notification
 *   (or after the first read of a channel without any); once gone, the next read or append
 *   starts a new epoch at seq 0, never one used before.
 */
export abstract class ChannelLog {
  /**
   * Appends each entry in order, each in one atomic step: claim, seq, history, publish. The
   * Redis log publishes inside its script, on the channel's topic (channel-keys.ts); the memory
   * log publishes through `publishLocally`, the embedded node's bus. Never rejects: an entry
   * Redis did not answer for is `unavailable`.
   */
  abstract append(
    entries: readonly LogEntry[],
    nowMs: number,
    publishLocally: LocalPublish,
  ): Promise<Appended[]>;

  /**
   * The channel's position and, given `since`, the frames after it when the history holds
   * every one of them (same epoch, not ahead, not trimmed away). Starts an epoch for a channel
   * that has none, so every subscriber is told one. Rejects with StoreUnavailableError.
   */
  abstract read(channel: ChannelName, since: Position | null, nowMs: number): Promise<HistoryRead>;
}
