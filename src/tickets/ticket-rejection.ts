import type { AuditService } from '../audit/audit.service.js';
import { ticketRejected } from '../core/audit-entries.js';
import type { TicketRejection } from '../core/audit-vocabulary.js';
import type { UserKey } from '../core/principal.js';
import { ApiError } from '../http/api-error.js';
import { refusalLog } from '../logging/refusal-log.js';
import type { Metrics } from '../metrics/metrics.js';

/** A refusal of a store or the identity provider: the client should retry soon. */
export const UNAVAILABLE_RETRY_SECONDS = 1;

/**
 * Audits (`ticket.rejected`), counts and logs (reason code only, rate-limited) one refused
 * ticket request: the one record of every refusal of `POST /v1/tickets`, whichever guard or
 * service refuses it. `actor` is the user key once a principal is known.
 */
export function recordTicketRejection(
  audit: AuditService,
  metrics: Metrics,
  reason: TicketRejection,
  actor: UserKey | 'anonymous' = 'anonymous',
): void {
  audit.record(ticketRejected(reason, actor));
  metrics.ticketsRejected.inc({ reason });
  refusalLog.refused('ticket', reason);
}

/**
 * Records one refused ticket request (recordTicketRejection) and returns the error to throw;
 * it leaves through ErrorResponseFilter as `{"error":"<reason>"}` with the headers the
 * contract gives that reason. (A 429 is thrown by TicketThrottlerGuard with its window's
 * Retry-After.)
 */
export function rejectTicket(
  audit: AuditService,
  metrics: Metrics,
  reason: TicketRejection,
  actor: UserKey | 'anonymous' = 'anonymous',
): ApiError {
  recordTicketRejection(audit, metrics, reason, actor);
  return new ApiError(reason, rejectionHeaders(reason));
}

function rejectionHeaders(reason: TicketRejection): Record<string, string> {
  switch (reason) {
    case 'invalid_token':
      return { 'WWW-Authenticate': 'Bearer error="invalid_token"' };
    case 'unavailable':
      return { 'Retry-After': String(UNAVAILABLE_RETRY_SECONDS) };
    case 'rate_limited':
    case 'origin_not_allowed':
    case 'bad_request':
    case 'unsupported_principal':
    case 'user_blocked':
      return {};
  }
}
