import { Controller, Inject, Options, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import { sendError } from '../http/error-response.filter.js';
import { corsHeaders, originAllowed, preflightHeaders } from './cors.js';
import { TicketIssuer } from './ticket-issuer.service.js';

const BEARER = /^Bearer ([A-Za-z0-9_.~+/=-]+)$/i;

/** `POST /v1/tickets` (contract §3). Every error body is `{"error":"<code>"}` and nothing else. */
@Controller('v1/tickets')
export class TicketsController {
  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly issuer: TicketIssuer,
  ) {}

  @Options()
  preflight(@Req() req: Request, @Res() res: Response): void {
    const origin = req.headers.origin;
    if (origin === undefined || !originAllowed(origin, this.config.allowedOrigins)) {
      this.issuer.refuseEarly('origin_not_allowed');
      return sendError(res, 'origin_not_allowed');
    }
    res.status(204).set(preflightHeaders(origin)).end();
  }

  @Post()
  async issue(@Req() req: Request, @Res() res: Response): Promise<void> {
    const origin = req.headers.origin;
    if (!originAllowed(origin, this.config.allowedOrigins)) {
      this.issuer.refuseEarly('origin_not_allowed');
      return sendError(res, 'origin_not_allowed');
    }
    const cors = origin === undefined ? {} : corsHeaders(origin);
    if (!emptyBody(req)) {
      this.issuer.refuseEarly('bad_request');
      return sendError(res, 'bad_request', cors);
    }
    const token = BEARER.exec(req.headers.authorization ?? '')?.[1];
    const outcome = await this.issuer.issue(token);
    if (outcome.ok) {
      res
        .status(201)
        .set({ ...cors, 'Cache-Control': 'no-store' })
        .json(outcome.body);
      return;
    }
    const headers: Record<string, string> = { ...cors };
    if (outcome.error === 'invalid_token')
      headers['WWW-Authenticate'] = 'Bearer error="invalid_token"';
    if (outcome.retryAfterSeconds !== undefined)
      headers['Retry-After'] = String(outcome.retryAfterSeconds);
    sendError(res, outcome.error, headers);
  }
}

/**
 * The contract allows an empty body or `{}`. A JSON body arrives parsed; any other body is
 * left unparsed by express, so its mere presence (length or chunked) refuses the request.
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
