/**
 * What the bus carries for one notification: the `notification` frame, encoded once by the
 * publishing node (its seq appended by the channel log) and written unchanged to every
 * subscriber socket, with the notification id, publish time and seq beside it.
 */
import { encodeNotificationFrame, type Notification } from './notification.js';

export interface BusMessage {
  /** The notification id, for audit records; null when the frame carries none. */
  readonly id: string | null;
  /** Publish time in epoch ms, for the delivery latency; null when the frame carries none. */
  readonly ts: number | null;
  /** The notification's seq on its channel; null when the frame carries none. */
  readonly seq: number | null;
  /** The frame text exactly as subscribers receive it. */
  readonly frame: string;
}

/** The bus message of a notification accepted at `ts` as the channel's `seq`. */
export function notificationMessage(n: Notification, ts: number, seq: number): BusMessage {
  return { id: n.id, ts, seq, frame: encodeNotificationFrame(n, ts, seq) };
}

/**
 * A bus message rebuilt from a frame alone, for transports whose wire format is the frame
 * (the frame already holds `id`, `ts` and `seq`). Never throws: a payload that is not a
 * notification frame still travels, with `id`, `ts` and `seq` null.
 */
export function messageOfFrame(frame: string): BusMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(frame);
  } catch {
    return { id: null, ts: null, seq: null, frame };
  }
  const fields = typeof parsed === 'object' && parsed !== null ? parsed : {};
  const id = 'id' in fields && typeof fields.id === 'string' ? fields.id : null;
  const ts = 'ts' in fields && Number.isFinite(fields.ts) ? (fields.ts as number) : null;
  const seq = 'seq' in fields && Number.isSafeInteger(fields.seq) ? (fields.seq as number) : null;
  return { id, ts, seq, frame };
}
