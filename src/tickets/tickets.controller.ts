import { Controller, Header, HttpCode, Options, Post, UseGuards } from '@nestjs/common';
import { NO_BODY } from '../http/response-shape.js';
import { ResponseShape } from '../http/response-shape.interceptor.js';
import { TicketThrottlerGuard } from '../throttle/ticket-throttler.guard.js';
import { AccessTokenGuard, Verified } from './access-token.guard.js';
import { PreflightHeaders } from './cors.js';
import { EmptyBodyGuard } from './empty-body.guard.js';
import { NotLoggedOutGuard } from './not-logged-out.guard.js';
import { OriginGuard } from './origin.guard.js';
import { TicketIssuer, type TicketResponse } from './ticket-issuer.service.js';
import { TICKET_RESPONSE_SHAPE } from './ticket-response.shape.js';
import { UnblockedUserGuard } from './unblocked-user.guard.js';
import type { VerifiedAccess } from './verified-access.js';

/**
 * `POST /v1/tickets` (contract §3). The guards decide, in this order: Origin (and CORS),
 * body shape, access token, back-channel logout, user block, the user's ticket rate (@nestjs/throttler,
 * cluster-wide); the handler only signs and records. Refusals are thrown as ApiError and leave through
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
  @ResponseShape(NO_BODY)
  preflight(): void {}

  @Post()
  @HttpCode(201)
  @Header('Cache-Control', 'no-store')
  @UseGuards(
    OriginGuard,
    EmptyBodyGuard,
    AccessTokenGuard,
    NotLoggedOutGuard,
    UnblockedUserGuard,
    TicketThrottlerGuard,
  )
  @ResponseShape(TICKET_RESPONSE_SHAPE)
  issue(@Verified() access: VerifiedAccess): Promise<TicketResponse> {
    return this.issuer.issue(access);
  }
}
