import type { WebSocket } from 'ws';
import type { BusMessage } from '../core/bus-message.js';
import { type CloseReason, closeCodeOf } from '../core/close-codes.js';
import { type Principal, type UserKey, userKey } from '../core/principal.js';
import { encodeServerFrame, type ServerFrame } from '../core/protocol.js';
import {
  countBadFrame,
  countStrike,
  countSubscribe,
  FRESH_WINDOW,
  type SubscribeAnswer,
  type SubscribeWindow,
  type WindowRate,
} from '../core/session-counters.js';
import type { Subscriber } from '../channels/subscriber.js';
import type { Admission } from './upgrade-authenticator.js';

/** Options of every notification write: a text frame. Shared, so a write allocates none. */
const TEXT_FRAME = { binary: false } as const;

/**
 * One authenticated WebSocket session. It owns its state: the lease, the heartbeat flag and
 * its counters change only through the intent methods below (the counting rules are pure
 * functions in core/session-counters), and the socket is touched only here.
 */
export class Session implements Subscriber {
  readonly id: string;
  readonly slotKey: string;
  readonly userKey: UserKey;
  readonly connectedAt: number;
  private currentPrincipal: Principal;
  /** Epoch ms at which the lease ends unless a refresh extends it. */
  private leaseEnd: number;
  /** A ping went out and no pong has come back yet. */
  private awaitingPong = false;
  /** Frames answered with an error since the session began; too many ends it. */
  private badFrames = 0;
  private subscribeWindow: SubscribeWindow = FRESH_WINDOW;
  /** Rate-limit errors answered in a row; a client that keeps going is closed 4008. */
  private rateLimitStrikes = 0;
  /** When the close handshake began; the sweeper terminates sessions stuck in it. */
  private closingAt: number | null = null;
  private reason: CloseReason | null = null;
  /** Channels being caught up (subscribe): live messages kept until the ack is out. */
  private holds: Map<string, { messages: BusMessage[]; bytes: number }> | null = null;
  /** Channels just caught up: bus messages at or under the ack's seq are late copies. */
  private floors: Map<string, { seq: number; untilMs: number }> | null = null;

  constructor(
    private readonly socket: WebSocket,
    admission: Admission,
    nowMs: number,
    expiresAt: number,
  ) {
    this.id = admission.connectionId;
    this.slotKey = admission.slotKey;
    this.currentPrincipal = admission.grant.principal;
    this.userKey = userKey(this.currentPrincipal);
    this.connectedAt = nowMs;
    this.leaseEnd = expiresAt;
  }

  get principal(): Principal {
    return this.currentPrincipal;
  }

  get expiresAt(): number {
    return this.leaseEnd;
  }

  get closingSince(): number | null {
    return this.closingAt;
  }

  get closeReason(): CloseReason | null {
    return this.reason;
  }

  get open(): boolean {
    return this.socket.readyState === this.socket.OPEN && this.closingAt === null;
  }

  /** Bytes queued on the socket and not yet written: what a slow reader leaves behind. */
  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  send(frame: ServerFrame): void {
    if (this.open) this.socket.send(encodeServerFrame(frame));
  }

  /** Writes a frame encoded once for every subscriber; the caller checked `open`. */
  sendEncoded(frame: Buffer): void {
    this.socket.send(frame, TEXT_FRAME);
  }

  hold(channel: string): void {
    this.holds ??= new Map();
    if (!this.holds.has(channel)) this.holds.set(channel, { messages: [], bytes: 0 });
  }

  keep(channel: string, message: BusMessage): number {
    if (this.holds === null) return -1;
    const held = this.holds.get(channel);
    if (held === undefined) return -1;
    held.messages.push(message);
    held.bytes += message.frame.length;
    return held.bytes;
  }

  release(channel: string): readonly BusMessage[] {
    const held = this.holds?.get(channel);
    if (held === undefined) return [];
    this.holds!.delete(channel);
    if (this.holds!.size === 0) this.holds = null;
    return held.messages;
  }

  floor(channel: string, seq: number, untilMs: number): void {
    if (seq <= 0) return;
    this.floors ??= new Map();
    this.floors.set(channel, { seq, untilMs });
  }

  stale(channel: string, seq: number | null, nowMs: number): boolean {
    if (this.floors === null) return false;
    const floor = this.floors.get(channel);
    if (floor === undefined) return false;
    if (seq !== null && seq <= floor.seq && nowMs < floor.untilMs) return true;
    // Past the floor (or a new epoch after it lapsed): every later message is live.
    this.floors.delete(channel);
    if (this.floors.size === 0) this.floors = null;
    return false;
  }

  /** A refresh: the new ticket's principal and lease replace the old ones. */
  extend(principal: Principal, expiresAt: number): void {
    this.currentPrincipal = principal;
    this.leaseEnd = expiresAt;
  }

  /** Counts a subscribe against RATE_SUBSCRIBE_PER_CONNECTION; false when over it. */
  admitSubscribe(rate: WindowRate, nowMs: number): boolean {
    const counted = countSubscribe(this.subscribeWindow, rate, nowMs);
    this.subscribeWindow = counted.window;
    return counted.admitted;
  }

  /** Counts a malformed or unknown frame; past the limit the session closes 4500. */
  noteBadFrame(nowMs: number): void {
    const counted = countBadFrame(this.badFrames);
    this.badFrames = counted.badFrames;
    if (counted.exceeded) this.close('protocol_error', nowMs);
  }

  /** Counts how a (un)subscribe was answered; too many rate limits in a row close it 4008. */
  noteSubscribeAnswer(answer: SubscribeAnswer, nowMs: number): void {
    const counted = countStrike(this.rateLimitStrikes, answer);
    this.rateLimitStrikes = counted.strikes;
    if (counted.exceeded) this.close('rate_limited', nowMs);
  }

  notePong(): void {
    this.awaitingPong = false;
  }

  /** One heartbeat round: pings, or closes 4002 when the last ping went unanswered. */
  heartbeat(nowMs: number): void {
    if (this.awaitingPong) {
      this.close('heartbeat_timeout', nowMs);
      return;
    }
    this.awaitingPong = true;
    this.socket.ping();
  }

  /** Starts the close handshake once, with the table's code and fixed reason. */
  close(reason: CloseReason, nowMs: number): void {
    if (this.closingAt !== null) return;
    this.closingAt = nowMs;
    this.reason = reason;
    this.socket.close(closeCodeOf(reason), reason);
  }

  /** Cuts the connection without a handshake: a peer that never finished closing, shutdown. */
  terminate(): void {
    this.socket.terminate();
  }
}
