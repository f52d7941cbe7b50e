import { Inject, Injectable } from '@nestjs/common';
import type { RawData } from 'ws';
import { AuditService } from '../audit/audit.service.js';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import { frameRateLimited, wsRefreshed, wsRefreshRefused } from '../core/audit-entries.js';
import type { RefreshRefusal } from '../core/audit-vocabulary.js';
import { userKey } from '../core/principal.js';
import { type ClientFrame, parseClientFrame, type WsErrorCode } from '../core/protocol.js';
import { loggedOutBy, watermarkKeysFor } from '../core/idp-session.js';
import { sessionExpiry, type TicketGrant } from '../core/ticket.js';
import type { SubscribeAnswer } from '../core/session-counters.js';
import { Metrics } from '../metrics/metrics.js';
import { LogoutStore } from '../stores/logout-store/logout-store.js';
import { TicketStore } from '../stores/ticket-store/ticket-store.js';
import { TicketSigner } from '../tickets/ticket-signer.js';
import { Delivery } from './delivery.js';
import type { Session } from './session.js';
import {
  type SubscribeOutcome,
  SubscriptionService,
  type UnsubscribeOutcome,
} from '../channels/subscription-service.js';

/**
 * Answers every client frame with exactly one frame: `ack`, `pong` or `error`. Nothing is
 * dropped silently, and nothing from the frame is echoed except a well-formed `id`.
 */
@Injectable()
export class FrameHandler {
  private readonly sessionMaxSeconds: number;

  constructor(
    @Inject(CONFIG) config: Config,
    private readonly signer: TicketSigner,
    private readonly tickets: TicketStore,
    private readonly logouts: LogoutStore,
    private readonly subscriptions: SubscriptionService,
    private readonly delivery: Delivery,
    private readonly audit: AuditService,
    private readonly metrics: Metrics,
  ) {
    this.sessionMaxSeconds = config.websocket.sessionMaxSeconds;
  }

  async handle(session: Session, data: RawData, isBinary: boolean): Promise<void> {
    if (!session.open) return;
    // Every frame counts against the budget first, whatever it holds (RATE_FRAMES_PER_CONNECTION).
    if (!session.admitFrame(Date.now()))
      return this.overBudget(session, isBinary ? undefined : idOf(data));
    if (isBinary) return this.refuse(session, 'bad_request');
    const parsed = parseClientFrame(data.toString());
    if (!parsed.ok) return this.refuse(session, parsed.error.code, parsed.error.id);
    const frame = parsed.frame;
    switch (frame.type) {
      case 'ping':
        session.send({ type: 'pong', id: frame.id });
        return;
      case 'refresh':
        return this.refresh(session, frame);
      case 'subscribe': {
        const since = frame.since ?? null;
        const outcome = await this.subscriptions.subscribe(
          session,
          frame.channel,
          since,
          Date.now(),
          frame.breakGlass ?? null,
        );
        return this.answer(session, frame.id, outcome);
      }
      case 'unsubscribe':
        return this.answer(
          session,
          frame.id,
          this.subscriptions.unsubscribe(session, frame.channel),
        );
    }
  }

  private async refresh(
    session: Session,
    frame: Extract<ClientFrame, { type: 'refresh' }>,
  ): Promise<void> {
    const now = Date.now();
    const verified = await this.signer.verify(frame.ticket, now);
    // A ticket of another user never extends this session, and is not spent on it.
    if (!verified.ok || userKey(verified.grant.principal) !== session.userKey) {
      return this.refreshRefused(session, frame.id, verified.ok ? 'other_user' : verified.reason);
    }
    let redeemed: boolean;
    try {
      // As at the upgrade (LoggedOutTicketGuard): a ticket of a token issued at or before a
      // back-channel logout of its provider session never extends a session. Checked before
      // redemption, so the refused ticket is not spent.
      if (await this.loggedOut(verified.grant, now)) {
        return this.refreshRefused(session, frame.id, 'ticket_invalid', verified.grant.jti);
      }
      redeemed = await this.tickets.redeem(verified.grant.jti, now);
    } catch {
      // The logout or ticket store did not answer: no verdict. The GETDEL may still have run (a frozen
      // Redis executes it when it resumes), so the client retries with a fresh ticket.
      this.audit.record(wsRefreshRefused(session, 'unavailable', verified.grant.jti));
      return this.refuse(session, 'unavailable', frame.id);
    }
    if (!redeemed)
      return this.refreshRefused(session, frame.id, 'ticket_reused', verified.grant.jti);
    session.extend(
      verified.grant.principal,
      sessionExpiry(now, this.sessionMaxSeconds, verified.grant.accessTokenExpiresAt),
      verified.grant,
    );
    // The new ticket may drop a launch context: what it no longer allows is revoked.
    await this.subscriptions.reevaluateAll(session);
    this.audit.record(wsRefreshed(session, verified.grant.jti));
    session.send({ type: 'ack', id: frame.id, sessionExpiresAt: session.expiresAt });
  }

  private async loggedOut(grant: TicketGrant, nowMs: number): Promise<boolean> {
    // No provider session on the ticket: no keys, no round trip, no watermark (the stores).
    const at = await this.logouts.loggedOutAt(watermarkKeysFor(grant.idp), nowMs);
    return loggedOutBy(grant.tokenIssuedAt, at);
  }

  private refreshRefused(session: Session, id: string, reason: RefreshRefusal, jti?: string): void {
    this.audit.record(wsRefreshRefused(session, reason, jti));
    this.refuse(session, 'invalid_ticket', id);
  }

  /** A WebSocket-level ping from the client: a frame like any other, answered with a pong. */
  controlPing(session: Session, data: Buffer): void {
    if (!session.open) return;
    if (session.admitFrame(Date.now())) session.pong(data);
    else this.overBudget(session);
  }

  /** Past the frame budget: `rate_limited`, audited, and a strike towards 4008. */
  private overBudget(session: Session, id?: string): void {
    this.audit.record(frameRateLimited(session));
    this.refuse(session, 'rate_limited', id);
    session.noteSubscribeAnswer('rate_limited', Date.now());
  }

  /** A subscribe's ack (after its replay) or error; an unsubscribe's ack or error. */
  private answer(
    session: Session,
    id: string,
    outcome: SubscribeOutcome | UnsubscribeOutcome,
  ): void {
    if (!outcome.ok) this.refuse(session, outcome.code, id);
    else if ('catchUp' in outcome) this.delivery.catchUp(session, id, outcome.catchUp);
    else session.send({ type: 'ack', id });
    session.noteSubscribeAnswer(answerOf(outcome), Date.now());
  }

  private refuse(session: Session, code: WsErrorCode, id?: string): void {
    this.metrics.wsFrameErrors.inc({ code });
    session.send(id === undefined ? { type: 'error', code } : { type: 'error', id, code });
    if (code === 'bad_request' || code === 'unknown_type') session.noteBadFrame(Date.now());
  }
}

/** The frame's well-formed `id`, to echo on a `rate_limited` answer; the frame is not acted on. */
function idOf(data: RawData): string | undefined {
  const parsed = parseClientFrame(data.toString());
  return parsed.ok ? parsed.frame.id : parsed.error.id;
}

function answerOf(outcome: SubscribeOutcome | UnsubscribeOutcome): SubscribeAnswer {
  if (outcome.ok) return 'ok';
  return outcome.code === 'rate_limited' ? 'rate_limited' : 'refused';
}
