import { Controller, Get, Header, HttpStatus, Res } from '@nestjs/common';
import type { Response } from 'express';
import { jsonBody } from '../http/response-shape.js';
import { ResponseShape } from '../http/response-shape.interceptor.js';
import { ReadinessService } from './readiness.service.js';

@Controller()
export class HealthController {
  constructor(private readonly readiness: ReadinessService) {}

  /** Liveness: the process runs and its event loop answers. */
  @Get('healthz')
  @ResponseShape(jsonBody({ status: 'string' }))
  @Header('Cache-Control', 'no-store')
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('readyz')
  @ResponseShape(jsonBody({ status: 'string', reasons: ['string'] }))
  @Header('Cache-Control', 'no-store')
  readyz(@Res({ passthrough: true }) res: Response): object {
    const state = this.readiness.check();
    if (state.ready) return { status: 'ready' };
    res.status(HttpStatus.SERVICE_UNAVAILABLE);
    return { status: 'not_ready', reasons: state.reasons };
  }
}
