import type { AuditService } from '../audit/audit.service.js';
import { ApiError } from '../http/api-error.js';
import type { Metrics } from '../metrics/metrics.js';

/** Every reason `POST /v1/tickets` refuses for, each audited and counted under its name. */
export type TicketRejection =
  | 'origin_not_allowed'
  | 'bad_request'
  | 'invalid_token'
  | 'unsupported_principal'
  | 'user_blocked'
  | 'rate_limited'
  | 'unavailable';

/** A refusal of a store or the identity provider: the client should retry soon. */
export const UNAVAILABLE_RETRY_SECONDS = 1;

/**
 * Audits (`ticket.rejected`) and counts one refused ticket request, and returns the error to
 * throw; it leaves through ErrorResponseFilter as `{"error":"<reason>"}` with the headers
 * the contract gives that reason. `actor` is the user key once a principal is known.
 */
export function rejectTicket(
  audit: AuditService,
  metrics: Metrics,
  reason: TicketRejection,
  actor = 'anonymous',
  retryAfterSeconds?: number,
): ApiError {
  audit.record({ event: 'ticket.rejected', outcome: 'deny', reason, actor });
  metrics.ticketsRejected.inc({ reason });
  return new ApiError(reason, rejectionHeaders(reason, retryAfterSeconds));
}

function rejectionHeaders(
  reason: TicketRejection,
  retryAfterSeconds: number | undefined,
): Record<string, string> {
  switch (reason) {
    case 'invalid_token':
      return { 'WWW-Authenticate': 'Bearer error="invalid_token"' };
    case 'unavailable':
      return { 'Retry-After': String(retryAfterSeconds ?? UNAVAILABLE_RETRY_SECONDS) };
    case 'rate_limited':
      return retryAfterSeconds === undefined ? {} : { 'Retry-After': String(retryAfterSeconds) };
    case 'origin_not_allowed':
    case 'bad_request':
    case 'unsupported_principal':
    case 'user_blocked':
      return {};
  }
}
