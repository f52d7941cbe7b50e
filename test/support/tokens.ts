import { SignJWT } from 'jose';
import { DEV_TOKEN_AUDIENCE, DEV_TOKEN_ISSUER } from '../../src/config/config.types.js';
import { TEST_DEV_SECRETS } from './app.js';
import type { RunningNode } from './app.js';
import { request } from './http-client.js';

export interface AccessTokenOptions {
  role?: string;
  sub?: string;
  patient?: string;
  fhirUser?: string;
  /** Seconds from now; default one hour. */
  expiresIn?: number;
  secret?: string;
  issuer?: string;
  audience?: string;
  /** The provider's session id (`sid`), for back-channel logout. */
  sid?: string;
  /** The OAuth `scope` claim, space-separated. */
  scope?: string;
  /** `iat` in epoch seconds; default now. */
  issuedAt?: number;
}

/** An access token as the app's identity provider would mint it, for a test node's dev key. */
export async function accessToken(options: AccessTokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {};
  if (options.role !== undefined) claims.role = options.role;
  if (options.patient !== undefined) claims.patient = options.patient;
  if (options.fhirUser !== undefined) claims.fhirUser = options.fhirUser;
  if (options.sid !== undefined) claims.sid = options.sid;
  if (options.scope !== undefined) claims.scope = options.scope;
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(options.issuer ?? DEV_TOKEN_ISSUER)
    .setAudience(options.audience ?? DEV_TOKEN_AUDIENCE)
    .setIssuedAt(options.issuedAt ?? now)
    .setExpirationTime(now + (options.expiresIn ?? 3600));
  if (options.sub !== undefined) jwt.setSubject(options.sub);
  return jwt.sign(new TextEncoder().encode(options.secret ?? TEST_DEV_SECRETS.accessTokenSecret));
}

export const doctor = (id = 'dr-7f3k2m9q', extra: AccessTokenOptions = {}) =>
  accessToken({ role: 'doctor', sub: id, ...extra });
export const patient = (id = 'pt-4c9a1b2e', extra: AccessTokenOptions = {}) =>
  accessToken({ role: 'patient', sub: id, ...extra });

/** Exchanges an access token for a ticket at `POST /v1/tickets`; throws unless 201. */
export async function ticketFor(node: RunningNode, token: string): Promise<string> {
  const res = await request(`${node.publicUrl}/v1/tickets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  if (res.status !== 201) throw new Error(`ticket request answered ${res.status} ${res.body}`);
  return (res.json() as { ticket: string }).ticket;
}
