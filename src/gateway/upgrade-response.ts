import type { Duplex } from 'node:stream';
import type { UpgradeRejection } from '../core/upgrade.js';

/** The one mapping from upgrade rejection to HTTP status (contract §4). */
export function upgradeStatusOf(reason: UpgradeRejection): number {
  switch (reason) {
    case 'bad_protocol':
      return 400;
    case 'ticket_missing':
    case 'ticket_invalid':
    case 'ticket_expired':
    case 'ticket_reused':
      return 401;
    case 'not_tls':
    case 'origin_not_allowed':
    case 'user_blocked':
      return 403;
    case 'bad_version':
      return 426;
    case 'too_many_connections':
      return 429;
    case 'unavailable':
    case 'draining':
      return 503;
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};

/**
 * Answers an upgrade with a plain HTTP response and closes the socket: no 101 is ever sent
 * for a refused session. The body is a fixed code, never request data. `securityHeaders` are
 * the public listener's (publicSecurityHeaderLines), Cache-Control included.
 */
export function rejectUpgrade(
  socket: Duplex,
  securityHeaders: readonly string[],
  status: number,
  code: string,
  retryAfterSeconds?: number,
): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: code });
  const headers = [
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...securityHeaders,
  ];
  if (status === 426) headers.push('Sec-WebSocket-Version: 13');
  if (retryAfterSeconds !== undefined) headers.push(`Retry-After: ${retryAfterSeconds}`);
  socket.end(`${headers.join('\r\n')}\r\n\r\n${body}`);
}

/** Retry-After for refusals a client can retry: cap reached, store down, node draining. */
export function retryAfterOf(reason: UpgradeRejection): number | undefined {
  switch (reason) {
    case 'too_many_connections':
      return 5;
    case 'unavailable':
    case 'draining':
      return 1;
    default:
      return undefined;
  }
}
