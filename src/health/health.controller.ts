import { Controller, Get, Header, HttpStatus, Res } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { HEALTH_SCHEMA, NOT_READY_SCHEMA, READY_SCHEMA } from '../api-docs/json-schemas.js';
import { jsonBody } from '../http/response-shape.js';
import { ResponseShape } from '../http/response-shape.interceptor.js';
import { ReadinessService } from './readiness.service.js';

@Controller()
@ApiTags('health')
export class HealthController {
  constructor(private readonly readiness: ReadinessService) {}

  /** Liveness: the process runs and its event loop answers. */
  @Get('healthz')
  @ApiOperation({ summary: 'Liveness: 200 while the process runs' })
  @ApiOkResponse({
    description: 'The process runs.',
    content: { 'application/json': { schema: HEALTH_SCHEMA } },
  })
  @ResponseShape(jsonBody({ status: 'string' }))
  @Header('Cache-Control', 'no-store')
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('readyz')
  @ApiOperation({
    summary: 'Readiness: 503 while draining, or Redis or the audit log is unavailable',
  })
  @ApiOkResponse({
    description: 'Ready for traffic.',
    content: { 'application/json': { schema: READY_SCHEMA } },
  })
  @ApiServiceUnavailableResponse({
    description: 'Not ready; `reasons` says why.',
    content: { 'application/json': { schema: NOT_READY_SCHEMA } },
  })
  @ResponseShape(jsonBody({ status: 'string', reasons: ['string'] }))
  @Header('Cache-Control', 'no-store')
  readyz(@Res({ passthrough: true }) res: Response): object {
    const state = this.readiness.check();
    if (state.ready) return { status: 'ready' };
    res.status(HttpStatus.SERVICE_UNAVAILABLE);
    return { status: 'not_ready', reasons: state.reasons };
  }
}
