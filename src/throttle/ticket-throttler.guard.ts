import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { Request } from 'express';
import { AuditService } from '../audit/audit.service.js';
import { recordTicketRejection } from '../tickets/ticket-rejection.js';
import type { UserKey } from '../core/principal.js';
import { Metrics } from '../metrics/metrics.js';
import { verifiedAccessOf } from '../tickets/verified-access.js';
import { NamedThrottlerGuard, type ThrottleRefusal } from './named-throttler.guard.js';

/**
 * `RATE_TICKETS_PER_USER` on `POST /v1/tickets`, counted per verified user key across the
 * cluster, so all of a user's tabs and devices share one limit. Runs after AccessTokenGuard:
 * without a VerifiedAccess on the request it refuses to guess and fails the request.
 */
@Injectable()
export class TicketThrottlerGuard extends NamedThrottlerGuard {
  protected readonly throttlerName = 'tickets';

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    audit: AuditService,
    private readonly metrics: Metrics,
  ) {
    super(options, storage, reflector, audit);
  }

  protected trackerOf(req: Request): string {
    return this.actorOf(req);
  }

  protected actorOf(req: Request): UserKey {
    const access = verifiedAccessOf(req);
    if (access === undefined)
      throw new Error('TicketThrottlerGuard must run after AccessTokenGuard');
    return access.userKey;
  }

  /** `ticket.rejected` and the rejected-tickets counter, as for every ticket refusal. */
  protected refused(_req: Request, actor: UserKey, refusal: ThrottleRefusal): void {
    recordTicketRejection(this.audit, this.metrics, refusal, actor);
  }
}
