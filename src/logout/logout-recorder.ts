import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { logoutRefused, userLoggedOut } from '../core/audit-entries.js';
import type { LogoutProblem } from '../core/audit-vocabulary.js';
import type { UserKey } from '../core/principal.js';
import { type LogoutOutcome, Metrics } from '../metrics/metrics.js';

/**
 * The one record of every back-channel logout request: an audit record (`user.logged_out`,
 * allow or deny with the failed check) and the outcome counter. Never a token or a claim.
 */
@Injectable()
export class LogoutRecorder {
  constructor(
    private readonly audit: AuditService,
    private readonly metrics: Metrics,
  ) {}

  accepted(actor: UserKey | 'anonymous'): void {
    this.audit.record(userLoggedOut(actor, 'allow'));
    this.metrics.backchannelLogouts.inc({ outcome: 'logged_out' });
  }

  refused(problem: LogoutProblem): void {
    this.audit.record(logoutRefused(problem));
    this.metrics.backchannelLogouts.inc({ outcome: outcomeOf(problem) });
  }
}

function outcomeOf(problem: LogoutProblem): LogoutOutcome {
  switch (problem) {
    case 'malformed_request':
    case 'invalid_token':
    case 'stale_iat':
    case 'replayed':
    case 'rate_limited':
    case 'unavailable':
      return problem;
    case 'missing_jti':
    case 'missing_events':
    case 'missing_subject':
    case 'nonce_present':
      return 'not_logout_token';
  }
}
