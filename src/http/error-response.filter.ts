import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Logger,
} from '@nestjs/common';
import type { Response } from 'express';
import type { HttpErrorCode } from '../core/error-codes.js';
import { ApiError } from './api-error.js';
import { codeForStatus, httpStatusOf } from './http-status.js';

/**
 * Every HTTP error leaves as `{"error":"<code>"}` and nothing else, so no request value (body,
 * header, path) is ever echoed: Nest's own 404 message would repeat the path.
 */
@Catch()
export class ErrorResponseFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') return;
    const res = host.switchToHttp().getResponse<Response>();
    let code: HttpErrorCode;
    let headers: Readonly<Record<string, string>> = {};
    let fields: readonly string[] | undefined;
    if (exception instanceof ApiError) {
      code = exception.code;
      headers = exception.headers;
      fields = exception.fields;
    } else if (exception instanceof HttpException) {
      code = codeForStatus(exception.getStatus());
    } else if (isParserError(exception)) {
      code = codeForStatus(exception.status);
    } else {
      code = 'internal_error';
      // The type only: messages of unexpected errors may carry request values.
      this.logger.error({ errorType: errorType(exception) }, 'unexpected error');
    }
    sendError(res, code, headers, fields);
  }
}

/** The one error body: `{"error":code}`, plus field names (never values) for `invalid_payload`. */
export function sendError(
  res: Response,
  code: HttpErrorCode,
  headers: Readonly<Record<string, string>> = {},
  fields?: readonly string[],
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = fields === undefined ? { error: code } : { error: code, fields };
  res.status(httpStatusOf(code)).set(headers).set('Cache-Control', 'no-store').json(body);
}

function isParserError(e: unknown): e is { status: number } {
  return (
    typeof e === 'object' && e !== null && typeof (e as { status?: unknown }).status === 'number'
  );
}

function errorType(e: unknown): string {
  return e instanceof Error ? e.constructor.name : typeof e;
}
