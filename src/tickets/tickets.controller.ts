import { Controller, Header, HttpCode, Options, Post, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ACCESS_TOKEN_SCHEME, ApiErrors } from '../api-docs/api-responses.js';
import { EMPTY_OBJECT_SCHEMA, TICKET_SCHEMA } from '../api-docs/json-schemas.js';
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
@ApiTags('tickets')
@ApiHeader({
  name: 'Origin',
  required: false,
  description: 'When present, must be exactly one of `ALLOWED_ORIGINS`, else 403.',
})
export class TicketsController {
  constructor(private readonly issuer: TicketIssuer) {}

  /** A CORS preflight from a listed origin: 204 with the method and headers allowed. */
  @Options()
  @ApiOperation({ summary: 'CORS preflight of the ticket request' })
  @ApiNoContentResponse({ description: 'The origin is allowed; CORS headers attached.' })
  @ApiErrors('origin_not_allowed')
  @HttpCode(204)
  @UseGuards(OriginGuard)
  @PreflightHeaders()
  @ResponseShape(NO_BODY)
  preflight(): void {}

  @Post()
  @ApiOperation({
    summary: 'Get a one-time WebSocket ticket',
    description: 'Redeemed exactly once at the upgrade of `GET /v1/ws` (see asyncapi.yaml).',
  })
  @ApiBearerAuth(ACCESS_TOKEN_SCHEME)
  @ApiBody({ required: false, schema: EMPTY_OBJECT_SCHEMA, description: 'Empty, or `{}`.' })
  @ApiCreatedResponse({
    description: 'A ticket, valid for `expiresIn` seconds.',
    headers: { 'Cache-Control': { schema: { type: 'string', enum: ['no-store'] } } },
    content: { 'application/json': { schema: TICKET_SCHEMA } },
  })
  @ApiErrors(
    'bad_request',
    'invalid_token',
    'origin_not_allowed',
    'unsupported_principal',
    'user_blocked',
    'payload_too_large',
    'rate_limited',
    'unavailable',
  )
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
