import { originAllowed } from './origin.js';
import type { UserKey } from './principal.js';
import { PROTOCOL } from './protocol.js';

/**
 * The checks of a WebSocket upgrade request that need no I/O, in the contract's order:
 * transport, Origin, then the handshake (version, a well-formed upgrade with `carecast.v1`,
 * ticket presence). Each upgrade guard runs its own part; ticket verification, redemption,
 * the user block and the connection cap follow in the shell.
 */
export type UpgradeRejection =
  | 'not_tls'
  | 'origin_not_allowed'
  | 'bad_version'
  | 'bad_protocol'
  | 'ticket_missing'
  | 'ticket_invalid'
  | 'ticket_expired'
  | 'ticket_reused'
  | 'too_many_connections'
  | 'user_blocked'
  | 'unavailable'
  | 'draining';

/**
 * The execution-context type under which the upgrade guards run. It is not `http`, `ws` or
 * `rpc`, so a guard written for those never mistakes an upgrade for one of its requests.
 */
export const UPGRADE_CONTEXT = 'ws-upgrade';

/**
 * Thrown by an upgrade guard to refuse the upgrade: a fixed reason, plus the user and the
 * ticket id once the ticket has been verified. Never a request value.
 */
export class UpgradeRefused extends Error {
  constructor(
    readonly reason: UpgradeRejection,
    readonly actor?: UserKey,
    readonly jti?: string,
  ) {
    super(reason);
    this.name = 'UpgradeRefused';
  }
}

export interface HandshakeFacts {
  readonly method: string | undefined;
  /** The `Upgrade` header. */
  readonly upgrade: string | undefined;
  /** The `Sec-WebSocket-Key` header. */
  readonly key: string | undefined;
  readonly version: string | undefined;
  /** The raw `Sec-WebSocket-Protocol` header. */
  readonly protocols: string | undefined;
}

export interface UpgradeRequestFacts extends HandshakeFacts {
  readonly secure: boolean;
  readonly origin: string | undefined;
}

export type HandshakeCheck = { ok: true; ticket: string } | { ok: false; reason: UpgradeRejection };

const TICKET_PREFIX = 'ticket.';
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** RFC 6455: the base64 encoding of 16 bytes. */
const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{21}[AQgw]==$/;

/** Version 13, a well-formed GET upgrade, `carecast.v1` offered, exactly one ticket entry. */
export function checkHandshake(facts: HandshakeFacts): HandshakeCheck {
  if (facts.version !== '13') return { ok: false, reason: 'bad_version' };
  const malformed =
    facts.method !== 'GET' ||
    facts.upgrade?.toLowerCase() !== 'websocket' ||
    facts.key === undefined ||
    !WEBSOCKET_KEY.test(facts.key);
  if (malformed) return { ok: false, reason: 'bad_protocol' };
  const offered = (facts.protocols ?? '').split(',').map((p) => p.trim());
  // Each entry an RFC 7230 token, none repeated: the same rule the WebSocket library enforces
  // later, checked here so a malformed list is refused before the ticket is spent.
  const wellFormed =
    offered.every((p) => TOKEN.test(p)) && new Set(offered).size === offered.length;
  if (!wellFormed || !offered.includes(PROTOCOL)) return { ok: false, reason: 'bad_protocol' };
  const tickets = offered.filter((p) => p.startsWith(TICKET_PREFIX));
  if (tickets.length !== 1 || tickets[0]!.length === TICKET_PREFIX.length) {
    return { ok: false, reason: 'ticket_missing' };
  }
  return { ok: true, ticket: tickets[0]!.slice(TICKET_PREFIX.length) };
}

/** Every request-only check in the order the upgrade guards run them. */
export function checkUpgradeRequest(
  facts: UpgradeRequestFacts,
  allowedOrigins: readonly string[],
): HandshakeCheck {
  if (!facts.secure) return { ok: false, reason: 'not_tls' };
  if (!originAllowed(facts.origin, allowedOrigins, 'required')) {
    return { ok: false, reason: 'origin_not_allowed' };
  }
  return checkHandshake(facts);
}
