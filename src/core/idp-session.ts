/**
 * The identity provider's view of a session (OpenID Connect Back-Channel Logout 1.0): the
 * access token's `sub` and `sid`, which a logout token names. carecast never keeps either as
 * given: tickets, sessions, control messages and Redis keys carry a digest of each, so a
 * provider identifier (which may be an e-mail address or a record number) never reaches a
 * log, an audit record, a key name or the bus, and every digest has the same bounded size.
 */
import { createHash } from 'node:crypto';

/** base64url SHA-256 of a provider identifier: 43 characters. */
export type IdpDigest = string;

export const IDP_DIGEST = /^[A-Za-z0-9_-]{43}$/;

/** The digests of an access token's `sub` and `sid`; either may be absent from the token. */
export interface IdpSession {
  readonly sub: IdpDigest | null;
  readonly sid: IdpDigest | null;
}

export const NO_IDP_SESSION: IdpSession = { sub: null, sid: null };

/** Domain-separated, so a `sub` and a `sid` with the same text never share a digest. */
export function idpDigest(kind: 'sub' | 'sid', value: string): IdpDigest {
  return createHash('sha256').update(`carecast.idp.${kind}\u0000${value}`).digest('base64url');
}

/** The digests of the string `sub` and `sid` claims of verified claims; others are ignored. */
export function idpSessionOf(claims: Readonly<Record<string, unknown>>): IdpSession {
  const sub = Object.hasOwn(claims, 'sub') ? claims.sub : undefined;
  const sid = Object.hasOwn(claims, 'sid') ? claims.sid : undefined;
  return {
    sub: typeof sub === 'string' && sub.length > 0 ? idpDigest('sub', sub) : null,
    sid: typeof sid === 'string' && sid.length > 0 ? idpDigest('sid', sid) : null,
  };
}

/**
 * Whom a logout names: a `sub`, a `sid`, or both (then only sessions with both match, as
 * §2.6 of the specification reads). At least one is present.
 */
export type LogoutTarget =
  | { readonly sub: IdpDigest; readonly sid: IdpDigest | null }
  | { readonly sub: null; readonly sid: IdpDigest };

/** Whether a session whose access token had `session` is one the logout names. */
export function logoutMatches(target: LogoutTarget, session: IdpSession): boolean {
  if (target.sub !== null && target.sub !== session.sub) return false;
  if (target.sid !== null && target.sid !== session.sid) return false;
  return true;
}

/**
 * The watermark keys a logout sets and the keys a token must be checked against: one per
 * shape of target (`sub`, `sid`, or the pair). A token (sub S, sid I) is refused by a logout
 * of S, of I, or of (S, I); never by a logout of (S, another sid).
 */
export function watermarkKeyOf(target: LogoutTarget): string {
  if (target.sub === null) return `sid.${target.sid}`;
  return target.sid === null ? `sub.${target.sub}` : `pair.${target.sub}.${target.sid}`;
}

export function watermarkKeysFor(session: IdpSession): string[] {
  const keys: string[] = [];
  if (session.sub !== null) keys.push(`sub.${session.sub}`);
  if (session.sid !== null) keys.push(`sid.${session.sid}`);
  if (session.sub !== null && session.sid !== null) keys.push(`pair.${session.sub}.${session.sid}`);
  return keys;
}

/**
 * True when a token (or a ticket minted from one) issued at `issuedAt` (epoch seconds; null
 * when the token has no `iat`) falls under a logout at `loggedOutAt`: issued at or before it.
 * A token without `iat` cannot show it is newer, so it is refused while the watermark lasts.
 */
export function loggedOutBy(issuedAt: number | null, loggedOutAt: number | null): boolean {
  if (loggedOutAt === null) return false;
  return issuedAt === null || issuedAt <= loggedOutAt;
}
