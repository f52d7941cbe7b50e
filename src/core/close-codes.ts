/**
 * The WebSocket close-code table (contract §4), in one place. Reasons are fixed strings and
 * never carry ids or user input. 4000-4499: the client may reconnect with a new ticket;
 * 4500-4999: it should not.
 */
export type CloseReason =
  | 'going_away'
  | 'internal_error'
  | 'session_expired'
  | 'heartbeat_timeout'
  | 'rate_limited'
  | 'slow_consumer'
  | 'protocol_error'
  | 'access_revoked';

export function closeCodeOf(reason: CloseReason): number {
  switch (reason) {
    case 'going_away':
      return 1001;
    case 'internal_error':
      return 1011;
    case 'session_expired':
      return 4001;
    case 'heartbeat_timeout':
      return 4002;
    case 'rate_limited':
      return 4008;
    case 'slow_consumer':
      return 4009;
    case 'protocol_error':
      return 4500;
    case 'access_revoked':
      return 4503;
  }
}
