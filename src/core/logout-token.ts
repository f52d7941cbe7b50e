/**
 * The claim checks of an OpenID Connect Back-Channel Logout 1.0 logout token (§2.4, §2.6),
 * after its signature, `iss`, `aud`, algorithm and (when present) `exp` were verified by the
 * shell with the access-token key source. Pure: the clock comes in as `nowSeconds`.
 */
import { createHash } from 'node:crypto';
import { idpDigest, type LogoutTarget } from './idp-session.js';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** How far `iat` may be from now, beyond the clock tolerance (contract §8). */
export const LOGOUT_IAT_WINDOW_SECONDS = 120;

/** A `jti` longer than this is refused: it becomes part of a replay-store key. */
const MAX_JTI_LENGTH = 256;

/** Why a verified token is still not a logout token we act on. Fixed strings, audit reasons. */
export type LogoutClaimProblem =
  'stale_iat' | 'missing_jti' | 'missing_events' | 'missing_subject' | 'nonce_present';

export interface LogoutClaims {
  readonly jti: string;
  readonly iat: number;
  readonly target: LogoutTarget;
}

export type LogoutClaimCheck =
  | { readonly ok: true; readonly claims: LogoutClaims }
  | { readonly ok: false; readonly problem: LogoutClaimProblem };

export function checkLogoutClaims(
  claims: Readonly<Record<string, unknown>>,
  nowSeconds: number,
  toleranceSeconds: number,
): LogoutClaimCheck {
  const own = (name: string): unknown => (Object.hasOwn(claims, name) ? claims[name] : undefined);
  // A nonce means an ID token was sent here: §2.4 forbids it so one cannot pass for the other.
  if (own('nonce') !== undefined) return fail('nonce_present');
  const iat = own('iat');
  const window = toleranceSeconds + LOGOUT_IAT_WINDOW_SECONDS;
  if (typeof iat !== 'number' || !Number.isFinite(iat) || Math.abs(nowSeconds - iat) > window) {
    return fail('stale_iat');
  }
  const jti = own('jti');
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) {
    return fail('missing_jti');
  }
  if (!hasLogoutEvent(own('events'))) return fail('missing_events');
  const sub = nonEmptyString(own('sub'));
  const sid = nonEmptyString(own('sid'));
  if (own('sub') !== undefined && sub === null) return fail('missing_subject');
  if (own('sid') !== undefined && sid === null) return fail('missing_subject');
  const subDigest = sub === null ? null : idpDigest('sub', sub);
  const sidDigest = sid === null ? null : idpDigest('sid', sid);
  let target: LogoutTarget;
  if (subDigest !== null) target = { sub: subDigest, sid: sidDigest };
  else if (sidDigest !== null) target = { sub: null, sid: sidDigest };
  else return fail('missing_subject');
  return { ok: true, claims: { jti, iat, target } };
}

/** `events` is a JSON object with the back-channel logout member, itself a JSON object. */
function hasLogoutEvent(events: unknown): boolean {
  if (typeof events !== 'object' || events === null || Array.isArray(events)) return false;
  if (!Object.hasOwn(events, BACKCHANNEL_LOGOUT_EVENT)) return false;
  const member = (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT];
  return typeof member === 'object' && member !== null && !Array.isArray(member);
}

function nonEmptyString(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

function fail(problem: LogoutClaimProblem): LogoutClaimCheck {
  return { ok: false, problem };
}

/** The replay-store key of a logout token's `jti`: a digest, so the store never holds it. */
export function logoutJtiDigest(jti: string): string {
  return createHash('sha256').update(`carecast.logout.jti\u0000${jti}`).digest('base64url');
}
