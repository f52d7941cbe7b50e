import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { AuditService } from '../audit/audit.service.js';
import type { UserKey } from '../core/principal.js';
import { Metrics } from '../metrics/metrics.js';
import { standingOf } from './request-standing.js';
import { rejectTicket } from './ticket-rejection.js';
import { verifiedAccessOf } from './verified-access.js';

/**
 * 403 `user_blocked` on `POST /v1/tickets` while the internal API's disconnect block on the
 * verified user lasts; 503 `unavailable` when the block store cannot answer (fail closed: a
 * blocked user must never get a ticket because Redis blinked). Runs after AccessTokenGuard
 * and before TicketThrottlerGuard, so a blocked user's requests never count towards the
 * user's rate limit. The block was read with the logout watermarks by NotLoggedOutGuard, which
 * runs just before it (one round trip for both). The upgrade has its own UserBlockGuard (src/gateway/upgrade-ticket.guards.ts),
 * which checks the same store after the ticket is redeemed.
 */
@Injectable()
export class UnblockedUserGuard implements CanActivate {
  constructor(
    private readonly audit: AuditService,
    private readonly metrics: Metrics,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request>();
    const access = verifiedAccessOf(req);
    const standing = standingOf(req);
    if (access === undefined || standing === undefined) {
      throw new Error('UnblockedUserGuard must run after AccessTokenGuard and NotLoggedOutGuard');
    }
    const { blocked } = standing;
    if (blocked === null) throw this.reject('unavailable', access.userKey);
    if (blocked) throw this.reject('user_blocked', access.userKey);
    return true;
  }

  private reject(reason: 'user_blocked' | 'unavailable', actor: UserKey) {
    return rejectTicket(this.audit, this.metrics, reason, actor);
  }
}
