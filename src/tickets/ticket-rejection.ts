import type { AuditService } from '../audit/audit.service.js';
import { ticketRejected } from '../core/audit-entries.js';
import type { TicketRejection } from '../core/audit-vocabulary.js';
import type { UserKey } from '../core/principal.js';
import { ApiError } from '../http/api-error.js';
import type { Metrics } from '../metrics/metrics.js';

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
  actor: UserKey | 'anonymous' = 'anonymous',
  retryAfterSeconds?: number,
): ApiError {
  audit.record(ticketRejected(reason, actor));
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
