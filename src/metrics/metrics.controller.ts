import { Controller, Get, Header, Res } from '@nestjs/common';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { TEXT_BODY } from '../http/response-shape.js';
import { ResponseShape } from '../http/response-shape.interceptor.js';
import { ScrapeHooks } from './scrape-hooks.js';

/**
 * GET /metrics in prom-client's text format, with prom-client's content type. Its path is
 * set by PrometheusModule.register; the listener scope (http-pipeline.ts) serves it on the
 * internal listener only. A scrape is never cached: every value is read at request time.
 */
@Controller()
@ApiTags('metrics')
export class MetricsController extends PrometheusController {
  constructor(private readonly scrapeHooks: ScrapeHooks) {
    super();
  }

  @Get()
  @ApiOperation({ summary: 'Prometheus metrics, names prefixed `carecast_`' })
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: 'Prometheus text format 0.0.4.',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  @Header('Cache-Control', 'no-store')
  @ResponseShape(TEXT_BODY)
  override index(@Res({ passthrough: true }) response: Response): Promise<string> {
    this.scrapeHooks.run();
    return super.index(response);
  }
}
