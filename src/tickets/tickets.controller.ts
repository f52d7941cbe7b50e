import { Controller, Header, HttpCode, Options, Post, UseGuards } from '@nestjs/common';
import { AccessTokenGuard, Verified } from './access-token.guard.js';
import { PreflightHeaders } from './cors.js';
import { EmptyBodyGuard } from './empty-body.guard.js';
import { OriginGuard } from './origin.guard.js';
import { TicketIssuer, type TicketResponse } from './ticket-issuer.service.js';
import type { VerifiedAccess } from './verified-access.js';

/**
 * `POST /v1/tickets` (contract §3). The guards decide, in this order: Origin (and CORS),
 * body shape, access token. Refusals are thrown as ApiError and leave through
 * ErrorResponseFilter as `{"error":"<code>"}` and nothing else.
 */
@Controller('v1/tickets')
export class TicketsController {
  constructor(private readonly issuer: TicketIssuer) {}

  /** A CORS preflight from a listed origin: 204 with the method and headers allowed. */
  @Options()
  @HttpCode(204)
  @UseGuards(OriginGuard)
  @PreflightHeaders()
  preflight(): void {}

  @Post()
  @HttpCode(201)
  @Header('Cache-Control', 'no-store')
  @UseGuards(OriginGuard, EmptyBodyGuard, AccessTokenGuard)
  issue(@Verified() access: VerifiedAccess): Promise<TicketResponse> {
    return this.issuer.issue(access);
  }
}
