import { Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import { ticketIssued } from '../core/audit-entries.js';
import type { TicketRejection } from '../core/audit-vocabulary.js';
import type { UserKey } from '../core/principal.js';
import { PROTOCOL } from '../core/protocol.js';
import { AuditService } from '../audit/audit.service.js';
import { ApiError } from '../http/api-error.js';
import { Metrics } from '../metrics/metrics.js';
import { TicketStore } from '../stores/ticket-store/ticket-store.js';
import { rejectTicket } from './ticket-rejection.js';
import { TicketSigner } from './ticket-signer.js';
import type { VerifiedAccess } from './verified-access.js';

export interface TicketResponse {
  readonly ticket: string;
  readonly expiresIn: number;
  readonly url: string;
  readonly protocol: typeof PROTOCOL;
}

/**
 * Issues one-time tickets for a verified access (the controller's guards verified the token,
 * derived the principal, and refused blocked or over-limit users): sign, record the jti for
 * single redemption. Every outcome is audited; a refusal is thrown as an ApiError.
 */
@Injectable()
export class TicketIssuer {
  private readonly wsUrl: string;

  constructor(
    @Inject(CONFIG) config: Config,
    private readonly signer: TicketSigner,
    private readonly store: TicketStore,
    private readonly audit: AuditService,
    private readonly metrics: Metrics,
  ) {
    this.wsUrl = `${config.publicListener.publicUrl.replace(/^https:/, 'wss:')}/v1/ws`;
  }

  async issue(access: VerifiedAccess): Promise<TicketResponse> {
    const { principal, userKey: actor } = access;
    const now = Date.now();
    try {
      const signed = await this.signer.sign(
        principal,
        Math.floor(access.expiresAt / 1000),
        now,
        access.context,
      );
      if (signed.expiresIn <= 0) throw this.refuse('invalid_token', actor);
      await this.store.issue(signed.jti, signed.expiresIn, now);
      this.audit.record(ticketIssued(actor, signed.jti));
      this.metrics.ticketsIssued.inc();
      return {
        ticket: signed.token,
        expiresIn: signed.expiresIn,
        url: this.wsUrl,
        protocol: PROTOCOL,
      };
    } catch (error) {
      if (error instanceof ApiError) throw error;
      // Stores fail fast (StoreUnavailableError); anything else is equally a reason to refuse.
      throw this.refuse('unavailable', actor);
    }
  }

  private refuse(reason: TicketRejection, actor: UserKey): ApiError {
    return rejectTicket(this.audit, this.metrics, reason, actor);
  }
}
