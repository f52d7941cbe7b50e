import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { AuditService } from '../audit/audit.service.js';
import { Metrics } from '../metrics/metrics.js';
import { rejectTicket } from './ticket-rejection.js';

/**
 * The ticket request's body is empty or `{}` (contract §3); anything else is 400
 * `bad_request`, audited as `ticket.rejected`. A guard, not a pipe: pipes run after every
 * guard, and the body is checked before the access token (OriginGuard, this, then
 * AccessTokenGuard), so a malformed request is refused without verifying its token.
 */
@Injectable()
export class EmptyBodyGuard implements CanActivate {
  constructor(
    private readonly audit: AuditService,
    private readonly metrics: Metrics,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (!emptyBody(context.switchToHttp().getRequest<Request>())) {
      throw rejectTicket(this.audit, this.metrics, 'bad_request');
    }
    return true;
  }
}

/**
 * A JSON body arrives parsed; any other body is left unparsed by express, so its mere
 * presence (length or chunked) refuses the request.
 */
function emptyBody(req: Request): boolean {
  const body: unknown = req.body;
  if (body !== undefined) {
    return (
      typeof body === 'object' &&
      body !== null &&
      !Array.isArray(body) &&
      Object.keys(body).length === 0
    );
  }
  const length = Number(req.headers['content-length'] ?? 0);
  return length === 0 && req.headers['transfer-encoding'] === undefined;
}
