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
}

export interface TicketGrant {
  readonly principal: Principal;
  readonly jti: string;
  /** Epoch ms at which the access token behind this ticket expires. */
  readonly accessTokenExpiresAt: number;
}

export function buildTicketClaims(
  principal: Principal,
  opts: { jti: string; nowMs: number; ttlSeconds: number; accessTokenExp: number },
): TicketClaims {
  const iat = Math.floor(opts.nowMs / 1000);
  const launch = principal.role === 'doctor' ? principal.launchPatient : null;
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
  return { ok: true, grant: { principal, jti, accessTokenExpiresAt: lease * 1000 } };
}

/** A session ends at the earlier of SESSION_MAX_SECONDS from now and the access token's expiry. */
export function sessionExpiry(
  nowMs: number,
  sessionMaxSeconds: number,
  accessTokenExpiresAt: number,
): number {
  return Math.min(nowMs + sessionMaxSeconds * 1000, accessTokenExpiresAt);
}
