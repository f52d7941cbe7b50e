import {
  type CanActivate,
  createParamDecorator,
  type ExecutionContext,
  Inject,
  Injectable,
} from '@nestjs/common';
import type { Request } from 'express';
import { AuditService } from '../audit/audit.service.js';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import { hasScope } from '../core/break-glass.js';
import { idpSessionOf } from '../core/idp-session.js';
import { derivePrincipal, userKey } from '../core/principal.js';
import { Metrics } from '../metrics/metrics.js';
import { AccessTokenVerifier } from './access-token-verifier.js';
import { rejectTicket } from './ticket-rejection.js';
import { attachVerifiedAccess, type VerifiedAccess, verifiedAccessOf } from './verified-access.js';

/** The scheme is case-insensitive (RFC 9110); the token is RFC 6750's b64token. */
const BEARER = /^Bearer ([A-Za-z0-9_.~+/=-]+)$/i;

/**
 * `Authorization: Bearer <access token>`, verified (AccessTokenVerifier) and turned into a
 * principal (derivePrincipal); on success the request carries a VerifiedAccess for the
 * guards and handler after it. Refusals, each audited as `ticket.rejected` and counted:
 * - 401 `invalid_token` with `WWW-Authenticate: Bearer error="invalid_token"`: no bearer,
 *   another scheme, or a token that does not verify;
 * - 403 `unsupported_principal`: a valid token that names no patient or doctor;
 * - 503 `unavailable` with `Retry-After`: the key set cannot be had, or verification failed
 *   unexpectedly (the token may be fine; the client should retry, not re-login).
 */
@Injectable()
export class AccessTokenGuard implements CanActivate {
  private readonly breakGlassScope: string;

  constructor(
    @Inject(CONFIG) config: Config,
    private readonly verifier: AccessTokenVerifier,
    private readonly audit: AuditService,
    private readonly metrics: Metrics,
  ) {
    this.breakGlassScope = config.breakGlass.scope;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    attachVerifiedAccess(req, await this.verify(req.headers.authorization));
    return true;
  }

  private async verify(authorization: string | undefined): Promise<VerifiedAccess> {
    const token = BEARER.exec(authorization ?? '')?.[1];
    if (token === undefined) throw this.reject('invalid_token');
    const verified = await this.verifier.verify(token).catch(() => null);
    if (verified === null) throw this.reject('unavailable');
    if (!verified.ok) throw this.reject(verified.error);
    const derived = derivePrincipal(verified.claims);
    if (!derived.ok) throw this.reject('unsupported_principal');
    const principal = derived.principal;
    const { claims } = verified;
    const iat = Number.isSafeInteger(claims.iat) ? (claims.iat as number) : null;
    // Only the scopes carecast acts on travel on: the ticket never repeats the token's others.
    const scopes = hasScope(claims, this.breakGlassScope) ? [this.breakGlassScope] : [];
    return {
      principal,
      userKey: userKey(principal),
      expiresAt: verified.expiresAt,
      context: { idp: idpSessionOf(claims), tokenIssuedAt: iat, scopes },
    };
  }

  private reject(reason: 'invalid_token' | 'unsupported_principal' | 'unavailable') {
    return rejectTicket(this.audit, this.metrics, reason);
  }
}

/** The handler parameter AccessTokenGuard verified; a handler without that guard fails. */
export const Verified = createParamDecorator(
  (_data: unknown, context: ExecutionContext): VerifiedAccess => {
    const access = verifiedAccessOf(context.switchToHttp().getRequest<Request>());
    if (access === undefined) throw new Error('Verified used on a route without AccessTokenGuard');
    return access;
  },
);
