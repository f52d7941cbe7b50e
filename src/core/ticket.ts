import { IDP_DIGEST, type IdpDigest, type IdpSession, NO_IDP_SESSION } from './idp-session.js';
import { isOpaqueId, type OpaqueId } from './opaque-id.js';
import type { Principal } from './principal.js';

/**
 * One-time WebSocket tickets (contract §3). The shell signs and verifies the JWT (HS256 with
 * TICKET_SECRET, header `typ`, `aud`, `exp`); this module builds the claims and reads them
 * back into a principal, given `now` and the random `jti`.
 */
export const TICKET_AUDIENCE = 'ws';
export const TICKET_TYPE = 'carecast-ticket+jwt';
/** At least 128 bits of randomness, base64url: 22 characters or more. */
export const TICKET_ID = /^[A-Za-z0-9_-]{22,64}$/;

export interface TicketClaims {
  readonly aud: typeof TICKET_AUDIENCE;
  readonly sub: OpaqueId;
  readonly role: Principal['role'];
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
  /** The access token's `exp` (seconds): no session outlives the token it came from. */
  readonly lease: number;
  /** A doctor's SMART launch patient, carried so the session keeps that context. */
  readonly patient?: OpaqueId;
  /** Digest of the access token's `sub` (idp-session.ts), for back-channel logout. */
  readonly idp_sub?: IdpDigest;
  /** Digest of the access token's `sid`, for back-channel logout. */
  readonly idp_sid?: IdpDigest;
  /** The access token's `iat` (seconds): a ticket of a token issued before a logout is refused. */
  readonly idp_iat?: number;
  /**
   * The access token's scopes that carecast acts on (today only BREAK_GLASS_SCOPE), space
   * separated as in OAuth; absent when it had none of them. Never the token's other scopes.
   */
  readonly scope?: string;
}

export interface TicketGrant {
  readonly principal: Principal;
  readonly jti: string;
  /** Epoch ms at which the access token behind this ticket expires. */
  readonly accessTokenExpiresAt: number;
  /** Digests of the access token's `sub` and `sid`. */
  readonly idp: IdpSession;
  /** The access token's `iat`, epoch seconds; null when it had none. */
  readonly tokenIssuedAt: number | null;
  /** The carecast scopes of the access token (ticket claim `scope`). */
  readonly scopes: readonly string[];
}

/** What the ticket carries beyond the principal, from the verified access token. */
export interface TicketContext {
  readonly idp: IdpSession;
  readonly tokenIssuedAt: number | null;
  readonly scopes: readonly string[];
}

export const NO_TICKET_CONTEXT: TicketContext = {
  idp: NO_IDP_SESSION,
  tokenIssuedAt: null,
  scopes: [],
};

/** A scope token as OAuth defines it (RFC 6749 §3.3). */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;
const MAX_SCOPES = 8;

export function buildTicketClaims(
  principal: Principal,
  opts: { jti: string; nowMs: number; ttlSeconds: number; accessTokenExp: number },
  context: TicketContext = NO_TICKET_CONTEXT,
): TicketClaims {
  const iat = Math.floor(opts.nowMs / 1000);
  const launch = principal.role === 'doctor' ? principal.launchPatient : null;
  const { idp, scopes, tokenIssuedAt } = context;
  return {
    aud: TICKET_AUDIENCE,
    sub: principal.id,
    role: principal.role,
    jti: opts.jti,
    iat,
    // A ticket never outlives the access token it was issued for.
    exp: Math.min(iat + opts.ttlSeconds, opts.accessTokenExp),
    lease: opts.accessTokenExp,
    ...(launch ? { patient: launch } : {}),
    ...(idp.sub !== null ? { idp_sub: idp.sub } : {}),
    ...(idp.sid !== null ? { idp_sid: idp.sid } : {}),
    ...(tokenIssuedAt !== null ? { idp_iat: tokenIssuedAt } : {}),
    ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
  };
}

/** Reads verified claims back; anything off-shape is an invalid ticket, never a guess. */
export function readTicketClaims(
  claims: Readonly<Record<string, unknown>>,
): { ok: true; grant: TicketGrant } | { ok: false; error: 'ticket_invalid' } {
  const { sub, role, jti, lease, patient } = claims;
  if (!isOpaqueId(sub) || typeof jti !== 'string' || !TICKET_ID.test(jti)) {
    return { ok: false, error: 'ticket_invalid' };
  }
  if (typeof lease !== 'number' || !Number.isSafeInteger(lease))
    return { ok: false, error: 'ticket_invalid' };
  const context = readContext(claims);
  if (context === null) return { ok: false, error: 'ticket_invalid' };
  let principal: Principal;
  switch (role) {
    case 'patient':
      if (patient !== undefined) return { ok: false, error: 'ticket_invalid' };
      principal = { role, id: sub };
      break;
    case 'doctor':
      if (patient !== undefined && !isOpaqueId(patient))
        return { ok: false, error: 'ticket_invalid' };
      principal = { role, id: sub, launchPatient: patient ?? null };
      break;
    default:
      return { ok: false, error: 'ticket_invalid' };
  }
  return {
    ok: true,
    grant: { principal, jti, accessTokenExpiresAt: lease * 1000, ...context },
  };
}

/** `idp_sub`, `idp_sid`, `idp_iat` and `scope` when present, each of its shape; else null. */
function readContext(claims: Readonly<Record<string, unknown>>): TicketContext | null {
  const digest = (name: string): IdpDigest | null | undefined => {
    const value = Object.hasOwn(claims, name) ? claims[name] : undefined;
    if (value === undefined) return null;
    return typeof value === 'string' && IDP_DIGEST.test(value) ? value : undefined;
  };
  const sub = digest('idp_sub');
  const sid = digest('idp_sid');
  if (sub === undefined || sid === undefined) return null;
  const iat = Object.hasOwn(claims, 'idp_iat') ? claims.idp_iat : null;
  if (iat !== null && !Number.isSafeInteger(iat)) return null;
  const tokenIssuedAt = iat as number | null;
  const scope = Object.hasOwn(claims, 'scope') ? claims.scope : undefined;
  if (scope === undefined) return { idp: { sub, sid }, tokenIssuedAt, scopes: [] };
  if (typeof scope !== 'string') return null;
  const scopes = scope.split(' ');
  if (scopes.length > MAX_SCOPES || !scopes.every((s) => SCOPE_TOKEN.test(s))) return null;
  return { idp: { sub, sid }, tokenIssuedAt, scopes };
}

/** A session ends at the earlier of SESSION_MAX_SECONDS from now and the access token's expiry. */
export function sessionExpiry(
  nowMs: number,
  sessionMaxSeconds: number,
  accessTokenExpiresAt: number,
): number {
  return Math.min(nowMs + sessionMaxSeconds * 1000, accessTokenExpiresAt);
}
