import type { WebSocket } from 'ws';
import { type CloseReason, closeCodeOf } from '../core/close-codes.js';
import { type Principal, type UserKey, userKey } from '../core/principal.js';
import { encodeServerFrame, type ServerFrame } from '../core/protocol.js';
import type { Admission } from './upgrade-authenticator.js';

/**
 * One authenticated WebSocket session. Everything the sweeper and the frame handler need is
 * plain state here; the socket is only touched through `send` and `close`.
 */
export class Session {
  readonly id: string;
  readonly slotKey: string;
  readonly userKey: UserKey;
  readonly connectedAt: number;
  principal: Principal;
  /** Epoch ms at which the lease ends unless a refresh extends it. */
  expiresAt: number;
  /** A ping went out and no pong has come back yet. */
  awaitingPong = false;
  /** Frames answered with an error since the session began; too many ends it. */
  badFrames = 0;
  /** Channels this session receives (kept in step by ChannelIndex). */
  readonly channels = new Set<string>();
  /** Start of the current per-connection subscribe window, and subscribes in it. */
  subscribeWindowStart = 0;
  subscribesInWindow = 0;
  /** Rate-limit errors answered in a row; a client that keeps going is closed 4008. */
  rateLimitStrikes = 0;
  /** When the close handshake began; the sweeper terminates sessions stuck in it. */
  closingSince: number | null = null;
  closeReason: CloseReason | null = null;

  constructor(
    readonly socket: WebSocket,
    admission: Admission,
    nowMs: number,
    expiresAt: number,
  ) {
    this.id = admission.connectionId;
    this.slotKey = admission.slotKey;
    this.principal = admission.grant.principal;
    this.userKey = userKey(this.principal);
    this.connectedAt = nowMs;
    this.expiresAt = expiresAt;
  }

  get open(): boolean {
    return this.socket.readyState === this.socket.OPEN && this.closingSince === null;
  }

  send(frame: ServerFrame): void {
    if (this.open) this.socket.send(encodeServerFrame(frame));
  }

  /** Starts the close handshake once, with the table's code and fixed reason. */
  close(reason: CloseReason, nowMs: number): void {
    if (this.closingSince !== null) return;
    this.closingSince = nowMs;
    this.closeReason = reason;
    this.socket.close(closeCodeOf(reason), reason);
  }
}
