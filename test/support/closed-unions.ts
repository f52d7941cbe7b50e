import type { CloseReason } from '../../src/core/close-codes.js';
import type { WsErrorCode } from '../../src/core/protocol.js';
import type { UpgradeRejection } from '../../src/core/upgrade.js';

/**
 * Every member of the code's closed unions that the API documents and the metric labels
 * expose, as lists: each record below fails to compile when its union gains or loses a
 * member, so a spec that compares a document or a dashboard with these lists follows the
 * code. Shared by test/api-docs/ and test/ops/.
 */
export const membersOf = <T extends string>(record: Record<T, 0>): T[] =>
  Object.keys(record) as T[];

export const WS_ERROR_CODES = membersOf<WsErrorCode>({
  bad_request: 0,
  unknown_type: 0,
  invalid_channel: 0,
  forbidden: 0,
  rate_limited: 0,
  too_many_subscriptions: 0,
  invalid_ticket: 0,
  unavailable: 0,
});

export const CLOSE_REASONS = membersOf<CloseReason>({
  going_away: 0,
  internal_error: 0,
  session_expired: 0,
  heartbeat_timeout: 0,
  rate_limited: 0,
  slow_consumer: 0,
  protocol_error: 0,
  access_revoked: 0,
});

export const UPGRADE_REJECTIONS = membersOf<UpgradeRejection>({
  not_tls: 0,
  origin_not_allowed: 0,
  bad_version: 0,
  bad_protocol: 0,
  ticket_missing: 0,
  ticket_invalid: 0,
  ticket_expired: 0,
  ticket_reused: 0,
  too_many_connections: 0,
  user_blocked: 0,
  unavailable: 0,
  draining: 0,
});
