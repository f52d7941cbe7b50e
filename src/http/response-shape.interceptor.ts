import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  Logger,
  type NestInterceptor,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { map, type Observable } from 'rxjs';
import { Metrics } from '../metrics/metrics.js';
import { ApiError } from './api-error.js';
import { routeTemplate } from './http-pipeline.js';
import { type BodyShape, shapeBody } from './response-shape.js';

const RESPONSE_SHAPE = Symbol('carecast.response-shape');

/**
 * Declares the only body a route may send: `@ResponseShape(jsonBody({ status: 'string' }))`,
 * `@ResponseShape(NO_BODY)`, or `@ResponseShape(TEXT_BODY)` for a text format. Every HTTP
 * route needs one; see ResponseShapeInterceptor.
 */
export const ResponseShape = (shape: BodyShape): MethodDecorator =>
  SetMetadata(RESPONSE_SHAPE, shape);

/**
 * The global (APP_INTERCEPTOR) allowlist for successful HTTP bodies: each handler's result
 * leaves only in the shape its route declares. Errors never pass here; they leave through
 * ErrorResponseFilter.
 *
 * Invariants:
 * - Fields the route does not declare, or whose value has another type, are removed before
 *   anything is sent, and counted in `carecast_http_response_fields_removed_total{route}`.
 * - Fail closed: a route with no declared shape, or whose result is not of the declared kind
 *   (an array or string for a JSON route), sends none of it: the client gets 500
 *   `internal_error` and the log names the route template, never a value.
 * - A handler that injects `@Res()` without passthrough writes the response itself, before
 *   this interceptor sees anything, so no route may do that. When it happens anyway the
 *   interceptor can only warn, once per route.
 */
@Injectable()
export class ResponseShapeInterceptor implements NestInterceptor {
  private readonly logger = new Logger('ResponseShape');
  private readonly bypassesWarned = new Set<string>();

  constructor(
    private readonly reflector: Reflector,
    private readonly metrics: Metrics,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const shape = this.reflector.get<BodyShape | undefined>(RESPONSE_SHAPE, context.getHandler());
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    return next.handle().pipe(map((body: unknown) => this.allow(shape, body, req, res)));
  }

  private allow(shape: BodyShape | undefined, body: unknown, req: Request, res: Response): unknown {
    const route = routeTemplate(req);
    if (res.headersSent) {
      this.warnBypass(route);
      return body;
    }
    const shaped = shapeBody(shape, body);
    if (!shaped.ok) {
      this.logger.error({ route, reason: shaped.reason }, 'response body withheld');
      throw new ApiError('internal_error');
    }
    if (shaped.removed > 0) this.metrics.httpResponseFieldsRemoved.inc({ route }, shaped.removed);
    return shaped.body;
  }

  private warnBypass(route: string): void {
    if (this.bypassesWarned.has(route)) return;
    this.bypassesWarned.add(route);
    this.logger.warn({ route }, 'route wrote its own response: body not checked against a shape');
  }
}
