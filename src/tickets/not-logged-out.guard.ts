import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { AuditService } from '../audit/audit.service.js';
import { loggedOutBy, watermarkKeysFor } from '../core/idp-session.js';
import type { UserKey } from '../core/principal.js';
import { Metrics } from '../metrics/metrics.js';
import { UserStanding } from '../stores/user-standing/user-standing.js';
import { attachStanding } from './request-standing.js';
import { rejectTicket } from './ticket-rejection.js';
import { verifiedAccessOf } from './verified-access.js';

/**
 * 401 `invalid_token` on `POST /v1/tickets` for an access token issued at or before a
 * back-channel logout of its `sub`, its `sid`, or both (contract §8), so a copied old token
 * cannot reconnect; 503 `unavailable` when the logout store cannot answer (fail closed).
 * Runs right after AccessTokenGuard: a logged-out token is an invalid token, refused before
 * the user block and the rate are looked at. It reads the user's block with the watermarks
 * (UserStanding: one round trip) and leaves it on the request for UnblockedUserGuard.
 */
@Injectable()
export class NotLoggedOutGuard implements CanActivate {
  constructor(
    private readonly standing: UserStanding,
    private readonly audit: AuditService,
    private readonly metrics: Metrics,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    const access = verifiedAccessOf(req);
    if (access === undefined) throw new Error('NotLoggedOutGuard must run after AccessTokenGuard');
    const keys = watermarkKeysFor(access.context.idp);
    const standing = await this.standing.read(access.userKey, keys, Date.now());
    attachStanding(req, standing);
    const at = standing.loggedOutAt;
    if (at === undefined) throw this.reject('unavailable', access.userKey);
    if (loggedOutBy(access.context.tokenIssuedAt, at))
      throw this.reject('invalid_token', access.userKey);
    return true;
  }

  private reject(reason: 'invalid_token' | 'unavailable', actor: UserKey) {
    return rejectTicket(this.audit, this.metrics, reason, actor);
  }
}
