import { AUDIT_EVENTS } from '../../src/core/audit-chain.js';
import type { PublishResult, TicketRejection } from '../../src/core/audit-vocabulary.js';
import { closeCodeOf } from '../../src/core/close-codes.js';
import {
  AUDIT_FAILURE_REASONS,
  LOGOUT_OUTCOMES,
  RECOVERY_OUTCOMES,
} from '../../src/metrics/metrics.js';
import {
  CLOSE_REASONS,
  membersOf,
  UPGRADE_REJECTIONS,
  WS_ERROR_CODES,
} from '../support/closed-unions.js';

/**
 * The values each bounded label of a carecast metric can take, from the code's own closed
 * unions (test/support/closed-unions.ts, and the lists below, fail to compile when a union
 * gains or loses a member), so a
 * dashboard or alert that selects a value no node ever exports is caught.
 */

const TICKET_REJECTIONS = membersOf<TicketRejection>({
  origin_not_allowed: 0,
  bad_request: 0,
  invalid_token: 0,
  unsupported_principal: 0,
  user_blocked: 0,
  rate_limited: 0,
  unavailable: 0,
});

/** The node's own close codes, the WebSocket library's (1000, 1005-1009) and `other`. */
const CLOSE_CODE_LABELS = [
  ...CLOSE_REASONS.map((r) => String(closeCodeOf(r))),
  ...['1000', '1005', '1006', '1007', '1009', 'other'],
];

const PUBLISH_RESULTS = [
  ...membersOf<PublishResult>({ published: 0, duplicate: 0 }),
  'rejected',
  'unavailable',
];

export const LABEL_VALUES: Record<string, Record<string, readonly string[]>> = {
  carecast_audit_records_total: { event: AUDIT_EVENTS },
  carecast_audit_write_failures_total: { reason: AUDIT_FAILURE_REASONS },
  carecast_tickets_rejected_total: { reason: TICKET_REJECTIONS },
  carecast_ws_upgrades_rejected_total: { reason: UPGRADE_REJECTIONS },
  carecast_subscribe_denied_total: { code: WS_ERROR_CODES },
  carecast_ws_frame_errors_total: { code: WS_ERROR_CODES },
  carecast_ws_closes_total: { code: CLOSE_CODE_LABELS },
  carecast_notifications_published_total: { result: PUBLISH_RESULTS },
  carecast_delivery_failures_total: { reason: ['slow_consumer'] },
  carecast_recoveries_total: { outcome: RECOVERY_OUTCOMES },
  carecast_backchannel_logouts_total: { outcome: LOGOUT_OUTCOMES },
  // carecast_break_glass_total{reason}: the reasons are configuration (BREAK_GLASS_REASONS),
  // so dashboards and alerts group by reason and never select one.
};

/** `label="v"` and `label=~"a|b"` matchers of carecast selectors whose values no node exports. */
export function unknownLabelValues(expr: string): string[] {
  const wrong: string[] = [];
  for (const m of expr.matchAll(/\b(carecast_[a-z0-9_]+)\{([^}]*)\}/g)) {
    const known = LABEL_VALUES[m[1]!];
    if (known === undefined) continue;
    for (const l of m[2]!.matchAll(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)) {
      const [, label, op, value] = l;
      const allowed = known[label!];
      if (allowed === undefined) continue;
      const regex = op === '=~' || op === '!~';
      // Only plain alternatives are checked; a real pattern (`5..`) is left alone.
      if (regex && !/^[\w.|]+$/.test(value!)) continue;
      const values = regex ? value!.split('|') : [value!];
      for (const v of values) if (!allowed.includes(v)) wrong.push(`${m[1]}{${label}="${v}"}`);
    }
  }
  return wrong;
}
