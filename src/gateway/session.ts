import type { WebSocket } from 'ws';
import type { BusMessage } from '../core/bus-message.js';
import { type CloseReason, closeCodeOf } from '../core/close-codes.js';
import type { IdpSession } from '../core/idp-session.js';
import { type Principal, type UserKey, userKey } from '../core/principal.js';
import { encodeServerFrame, type ServerFrame } from '../core/protocol.js';
import {
  countBadFrame,
  countInWindow,
  countStrike,
  FRESH_WINDOW,
  type RateWindow,
  type SubscribeAnswer,
  type WindowRate,
} from '../core/session-counters.js';
import type { TicketContext } from '../core/ticket.js';
import type { Subscriber } from '../channels/subscriber.js';
import type { Admission } from './upgrade-authenticator.js';
import { CatchUpState } from './catch-up-state.js';

/** What the sweep gets from a session without grants: shared, so it allocates nothing. */
const NO_GRANTS: readonly string[] = Object.freeze([]);

/** Options of every write: a text frame. Shared, so a write allocates none. */
const TEXT_FRAME = { binary: false } as const;

/** The per-connection limits a session enforces itself, from the validated config. */
export interface SessionLimits {
  /** WS_MAX_BUFFERED_BYTES: past it the session is closed 4009 instead of written to. */
  readonly maxBufferedBytes: number;
  /** RATE_FRAMES_PER_CONNECTION: every client frame counts. */
  readonly frameRate: WindowRate;
}

/**
 * Told when a session was closed 4009 instead of written to; the gateway audits and counts
 * it. `channel` and `notification` name the frame that did not fit when it was a
 * notification; both null for an ack, error, pong or welcome.
 */
export type SlowConsumerReport = (
  session: Session,
  channel: string | null,
  notification: string | null,
) => void;

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
  /** Digests of the access token's `sub` and `sid`, and its carecast scopes; never the token. */
  private context: TicketContext;
  /** Break-glass grants: channel to the epoch ms it ends; null while there are none. */
  private grants: Map<string, number> | null = null;
  /** Epoch ms at which the lease ends unless a refresh extends it. */
  private leaseEnd: number;
  /** A ping went out and no pong has come back yet. */
  private awaitingPong = false;
  /** Frames answered with an error since the session began; too many ends it. */
  private badFrames = 0;
  private subscribeWindow: RateWindow = FRESH_WINDOW;
  /** The frame budget's current window: two numbers, no timer. */
  private frameWindow: RateWindow = FRESH_WINDOW;
  /** Rate-limit errors answered in a row; a client that keeps going is closed 4008. */
  private rateLimitStrikes = 0;
  /** When the close handshake began; the sweeper terminates sessions stuck in it. */
  private closingAt: number | null = null;
  private reason: CloseReason | null = null;
  /** Holds and late-copy floors of subscribes catching up; null while there are none. */
  private catchUp: CatchUpState | null = null;

  constructor(
    private readonly socket: WebSocket,
    admission: Admission,
    nowMs: number,
    expiresAt: number,
    private readonly limits: SessionLimits,
    private readonly reportSlowConsumer: SlowConsumerReport,
  ) {
    this.id = admission.connectionId;
    this.slotKey = admission.slotKey;
    this.currentPrincipal = admission.grant.principal;
    const { idp, tokenIssuedAt, scopes } = admission.grant;
    this.context = { idp, tokenIssuedAt, scopes };
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

  /** Who the identity provider knows this session as, for back-channel logout. */
  get idp(): IdpSession {
    return this.context.idp;
  }

  get scopes(): readonly string[] {
    return this.context.scopes;
  }

  breakGlassUntil(channel: string): number | null {
    return this.grants?.get(channel) ?? null;
  }

  grantBreakGlass(channel: string, until: number): void {
    this.grants ??= new Map();
    this.grants.set(channel, until);
  }

  endBreakGlass(channel: string): void {
    this.grants?.delete(channel);
    if (this.grants?.size === 0) this.grants = null;
  }

  /** Ends and returns the grants over at `nowMs`; allocates nothing when there are none. */
  expireGrants(nowMs: number): readonly string[] {
    if (this.grants === null) return NO_GRANTS;
    const ended: string[] = [];
    for (const [channel, until] of this.grants) if (until <= nowMs) ended.push(channel);
    for (const channel of ended) this.endBreakGlass(channel);
    return ended;
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

  /** Writes an ack, error, pong, welcome or revoked frame, under WS_MAX_BUFFERED_BYTES. */
  send(frame: ServerFrame): boolean {
    if (!this.open) return false;
    return this.write(Buffer.from(encodeServerFrame(frame)), null, null);
  }

  /** Writes a notification frame encoded once for every subscriber, under the same limit. */
  sendEncoded(frame: Buffer, channel: string, notification: string | null): boolean {
    if (!this.open) return false;
    return this.write(frame, channel, notification);
  }

  /** Answers a WebSocket-level ping from the client, under the same limit. */
  pong(data: Buffer): void {
    if (!this.open) return;
    if (this.fits(data.length)) this.socket.pong(data);
    else this.shed(null, null);
  }

  /**
   * Every frame to the client passes here: one that would take the bytes waiting on the
   * socket past WS_MAX_BUFFERED_BYTES is not written, the session is closed 4009 instead.
   */
  private write(frame: Buffer, channel: string | null, notification: string | null): boolean {
    if (!this.fits(frame.length)) {
      this.shed(channel, notification);
      return false;
    }
    this.socket.send(frame, TEXT_FRAME);
    return true;
  }

  private fits(bytes: number): boolean {
    return this.socket.bufferedAmount + bytes <= this.limits.maxBufferedBytes;
  }

  /** Closes 4009 instead of writing or keeping more, and reports it once. */
  shed(channel: string | null, notification: string | null): void {
    if (this.closingAt !== null) return;
    this.close('slow_consumer', Date.now());
    this.reportSlowConsumer(this, channel, notification);
  }

  hold(channel: string): void {
    (this.catchUp ??= new CatchUpState()).hold(channel);
  }

  /**
   * Keeps `message` while `channel` is held; true when held (kept, or the session shed for
   * holding more than WS_MAX_BUFFERED_BYTES with what waits on the socket), false when the
   * caller should write it.
   */
  keep(channel: string, message: BusMessage): boolean {
    if (this.catchUp === null) return false;
    const heldBytes = this.catchUp.keep(channel, message);
    if (heldBytes < 0) return false;
    if (!this.fits(heldBytes)) this.shed(channel, message.id);
    return true;
  }

  release(channel: string): readonly BusMessage[] {
    if (this.catchUp === null) return [];
    const kept = this.catchUp.release(channel);
    this.dropIdleCatchUp();
    return kept;
  }

  floor(channel: string, seq: number, untilMs: number): void {
    (this.catchUp ??= new CatchUpState()).floor(channel, seq, untilMs);
    this.dropIdleCatchUp();
  }

  stale(channel: string, seq: number | null, nowMs: number): boolean {
    if (this.catchUp === null) return false;
    if (this.catchUp.stale(channel, seq, nowMs)) return true;
    this.dropIdleCatchUp();
    return false;
  }

  private dropIdleCatchUp(): void {
    if (this.catchUp?.idle === true) this.catchUp = null;
  }

  /**
   * A refresh: the new ticket's principal, lease and (when given) provider session and scopes
   * replace the old ones. Break-glass grants keep their end: a refresh never lengthens one.
   */
  extend(principal: Principal, expiresAt: number, context: TicketContext = this.context): void {
    this.currentPrincipal = principal;
    this.leaseEnd = expiresAt;
    this.context = {
      idp: context.idp,
      tokenIssuedAt: context.tokenIssuedAt,
      scopes: context.scopes,
    };
  }

  /** Counts a client frame against RATE_FRAMES_PER_CONNECTION; false when over it. */
  admitFrame(nowMs: number): boolean {
    const counted = countInWindow(this.frameWindow, this.limits.frameRate, nowMs);
    this.frameWindow = counted.window;
    return counted.admitted;
  }

  /** Counts a subscribe against RATE_SUBSCRIBE_PER_CONNECTION; false when over it. */
  admitSubscribe(rate: WindowRate, nowMs: number): boolean {
    const counted = countInWindow(this.subscribeWindow, rate, nowMs);
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
