import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { DEV_TOKEN_AUDIENCE, DEV_TOKEN_ISSUER } from '../../src/config/config.types.js';
import { BACKCHANNEL_LOGOUT_EVENT } from '../../src/core/logout-token.js';
import type { RunningNode } from './app.js';
import { TEST_DEV_SECRETS } from './app.js';
import { type HttpResponse, request } from './http-client.js';

export interface LogoutTokenOptions {
  sub?: string;
  sid?: string;
  /** Default a fresh random one. */
  jti?: string;
  /** Epoch seconds; default now. */
  iat?: number;
  /** Replaces the `events` claim; `null` leaves it out. */
  events?: unknown;
  nonce?: string;
  audience?: string;
  issuer?: string;
  secret?: string;
  /** Claims added as they are (role, fhirUser...). */
  extra?: Record<string, unknown>;
}

/** A logout token as an identity provider sends it, signed with a test node's dev key. */
export function logoutToken(options: LogoutTokenOptions = {}): Promise<string> {
  const claims: Record<string, unknown> = {
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    ...options.extra,
  };
  if (options.events === null) delete claims.events;
  else if (options.events !== undefined) claims.events = options.events;
  if (options.sid !== undefined) claims.sid = options.sid;
  if (options.nonce !== undefined) claims.nonce = options.nonce;
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'logout+jwt' })
    .setIssuer(options.issuer ?? DEV_TOKEN_ISSUER)
    .setAudience(options.audience ?? DEV_TOKEN_AUDIENCE)
    .setIssuedAt(options.iat ?? Math.floor(Date.now() / 1000))
    .setJti(options.jti ?? randomBytes(12).toString('base64url'));
  if (options.sub !== undefined) jwt.setSubject(options.sub);
  return jwt.sign(new TextEncoder().encode(options.secret ?? TEST_DEV_SECRETS.accessTokenSecret));
}

/** `POST /v1/backchannel-logout` with `logout_token=<token>`, form-encoded as providers send it. */
export function postLogout(
  node: RunningNode,
  token: string,
  options: { body?: string; contentType?: string } = {},
): Promise<HttpResponse> {
  return request(`${node.publicUrl}/v1/backchannel-logout`, {
    method: 'POST',
    headers: { 'content-type': options.contentType ?? 'application/x-www-form-urlencoded' },
    body: options.body ?? new URLSearchParams({ logout_token: token }).toString(),
  });
}
