import type { WebSocket } from 'ws';
import type { BusMessage } from '../core/bus-message.js';
import { type CloseReason, closeCodeOf } from '../core/close-codes.js';
import type { IdpSession } from '../core/idp-session.js';
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
import type { TicketContext } from '../core/ticket.js';
import type { Subscriber } from '../channels/subscriber.js';
import type { Admission } from './upgrade-authenticator.js';

/** What the sweep gets from a session without grants: shared, so it allocates nothing. */
const NO_GRANTS: readonly string[] = Object.freeze([]);

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
  private subscribeWindow: SubscribeWindow = FRESH_WINDOW;
  /** Rate-limit errors answered in a row; a client that keeps going is closed 4008. */
  private rateLimitStrikes = 0;
  /** When the close handshake began; the sweeper terminates sessions stuck in it. */
  private closingAt: number | null = null;
  private reason: CloseReason | null = null;
  /** Channels being caught up (subscribe): live messages kept until the ack is out. */
  private holds: Map<string, { messages: BusMessage[]; bytes: number }> | null = null;

  constructor(
    private readonly socket: WebSocket,
    admission: Admission,
    nowMs: number,
    expiresAt: number,
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
