import type { HttpErrorCode } from '../core/error-codes.js';

/** The one mapping from error code to HTTP status. */
export function httpStatusOf(code: HttpErrorCode): number {
  switch (code) {
    case 'bad_request':
    case 'invalid_request':
      return 400;
    case 'invalid_token':
    case 'invalid_signature':
      return 401;
    case 'tls_required':
    case 'origin_not_allowed':
    case 'unsupported_principal':
    case 'user_blocked':
      return 403;
    case 'not_found':
      return 404;
    case 'method_not_allowed':
      return 405;
    case 'payload_too_large':
      return 413;
    case 'unsupported_media_type':
      return 415;
    case 'invalid_payload':
      return 422;
    case 'rate_limited':
      return 429;
    case 'internal_error':
      return 500;
    case 'unavailable':
      return 503;
  }
}

/** For errors raised by the framework with only a status (unknown route, body parser). */
export function codeForStatus(status: number): HttpErrorCode {
  switch (status) {
    case 400:
      return 'bad_request';
    case 404:
      return 'not_found';
    case 405:
      return 'method_not_allowed';
    case 413:
      return 'payload_too_large';
    case 415:
      return 'unsupported_media_type';
    case 422:
      return 'invalid_payload';
    case 429:
      return 'rate_limited';
    case 503:
      return 'unavailable';
    default:
      return status >= 400 && status < 500 ? 'bad_request' : 'internal_error';
  }
}
