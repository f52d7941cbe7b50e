import { Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import { derivePrincipal, userKey } from '../core/principal.js';
import { PROTOCOL } from '../core/protocol.js';
import { AuditService } from '../audit/audit.service.js';
import { Metrics } from '../metrics/metrics.js';
import { RateLimiter } from '../rate-limit/rate-limiter.js';
import { UserBlocks } from '../users/user-blocks.js';
import { AccessTokenVerifier } from './access-token-verifier.js';
import { TicketSigner } from './ticket-signer.js';
import { TicketStore } from './ticket-store.js';

export interface TicketResponse {
  readonly ticket: string;
  readonly expiresIn: number;
  readonly url: string;
  readonly protocol: typeof PROTOCOL;
}

export type TicketRefusal =
  'invalid_token' | 'unsupported_principal' | 'user_blocked' | 'rate_limited' | 'unavailable';

export type TicketOutcome =
  | { ok: true; body: TicketResponse }
  | { ok: false; error: TicketRefusal; retryAfterSeconds?: number };

const UNAVAILABLE_RETRY_SECONDS = 1;

/**
 * Issues one-time tickets: verify the access token, derive the principal, refuse blocked or
 * over-limit users, sign, record the jti for single redemption. Every outcome is audited.
 */
@Injectable()
export class TicketIssuer {
  private readonly wsUrl: string;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly verifier: AccessTokenVerifier,
    private readonly signer: TicketSigner,
    private readonly store: TicketStore,
    private readonly limiter: RateLimiter,
    private readonly blocks: UserBlocks,
    private readonly audit: AuditService,
    private readonly metrics: Metrics,
  ) {
    this.wsUrl = `${config.publicListener.publicUrl.replace(/^https:/, 'wss:')}/v1/ws`;
  }

  async issue(accessToken: string | undefined): Promise<TicketOutcome> {
    const verified = accessToken ? await this.verifier.verify(accessToken) : null;
    if (!verified || !verified.ok)
      return this.refuse(verified?.error ?? 'invalid_token', 'anonymous');
    const derived = derivePrincipal(verified.claims);
    if (!derived.ok) return this.refuse('unsupported_principal', 'anonymous');
    const principal = derived.principal;
    const actor = userKey(principal);
    const now = Date.now();
    try {
      if (await this.blocks.isBlocked(actor, now)) return this.refuse('user_blocked', actor);
      const rate = await this.limiter.hit(`tickets:${actor}`, this.config.tickets.ratePerUser, now);
      if (!rate.allowed) return this.refuse('rate_limited', actor, rate.retryAfterSeconds);
      const signed = await this.signer.sign(principal, Math.floor(verified.expiresAt / 1000), now);
      if (signed.expiresIn <= 0) return this.refuse('invalid_token', actor);
      await this.store.issue(signed.jti, signed.expiresIn, now);
      this.audit.record({
        event: 'ticket.issued',
        outcome: 'allow',
        reason: 'issued',
        actor,
        jti: signed.jti,
      });
      this.metrics.ticketsIssued.inc();
      return {
        ok: true,
        body: {
          ticket: signed.token,
          expiresIn: signed.expiresIn,
          url: this.wsUrl,
          protocol: PROTOCOL,
        },
      };
    } catch {
      // Stores fail fast (StoreUnavailableError); anything else is equally a reason to refuse.
      return this.refuse('unavailable', actor, UNAVAILABLE_RETRY_SECONDS);
    }
  }

  /** For refusals decided before the access token is looked at (CORS, body shape). */
  refuseEarly(reason: 'origin_not_allowed' | 'bad_request'): void {
    this.audit.record({ event: 'ticket.rejected', outcome: 'deny', reason, actor: 'anonymous' });
    this.metrics.ticketsRejected.inc({ reason });
  }

  private refuse(error: TicketRefusal, actor: string, retryAfterSeconds?: number): TicketOutcome {
    this.audit.record({ event: 'ticket.rejected', outcome: 'deny', reason: error, actor });
    this.metrics.ticketsRejected.inc({ reason: error });
    if (error === 'unavailable') retryAfterSeconds ??= UNAVAILABLE_RETRY_SECONDS;
    return retryAfterSeconds === undefined
      ? { ok: false, error }
      : { ok: false, error, retryAfterSeconds };
  }
}
