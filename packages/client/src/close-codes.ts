/**
 * What a WebSocket close code means for reconnecting (the contract's close-code table):
 * - `reconnect`: the client may come back with a new ticket, after a backoff;
 * - `final`: it must not, because the server said so (4500-4999, 4503 `access_revoked`
 *   included) or because the close reports a client bug that a reconnect would only repeat.
 */
export type CloseClass = 'reconnect' | 'final';

/** 1002 framing, 1003 unacceptable data, 1007 invalid UTF-8, 1008 policy, 1009 too big, 1010 extension. */
const CLIENT_BUG_CODES: ReadonlySet<number> = new Set([1002, 1003, 1007, 1008, 1009, 1010]);

export function closeClass(code: number): CloseClass {
  if (code >= 4500 && code <= 4999) return 'final';
  if (CLIENT_BUG_CODES.has(code)) return 'final';
  // 1000/1001 (drain), 1005/1006 (dropped or refused upgrade), 1011-1014, 4000-4499, and
  // anything unknown: a new connection may well succeed.
  return 'reconnect';
}

/** Close codes this client sends itself; 4000-4499 is the range a peer may use freely. */
export const CLIENT_CLOSE = {
  /** The app called close(). */
  normal: 1000,
  /** No frame for two heartbeat intervals: the connection is presumed dead. */
  heartbeatTimeout: 4002,
  /** No welcome within the connect timeout. */
  connectTimeout: 4004,
} as const;
