import { SignJWT } from 'jose';
import type { Config } from '../config/config.types.js';
import { isOpaqueId } from '../core/opaque-id.js';
import { derivePrincipal, type Role } from '../core/principal.js';
import {
  type Outcome,
  parseOptions,
  type PrintResult,
  runSigningCommand,
  type SigningCommandIo,
} from './dev-command.js';

/**
 * `npm run token`: mints an access token that a development node accepts, so the ticket
 * endpoint and the WebSocket can be tried without an identity provider.
 *
 * Invariants:
 * - The token is signed with the node's own HS256 key, issuer and audience, taken from the
 *   same Config the node builds (the dev secret in ./data/dev-secrets.json unless the
 *   environment overrides it), so whatever is printed is what `npm start` verifies.
 * - Only an HS256 key source can be used: with a JWKS or a public key the node trusts an
 *   identity provider, and carecast must never hold a key that could forge its tokens.
 * - Every token printed yields exactly the principal asked for: its claims are run through
 *   `derivePrincipal` before signing, so the tool cannot mint what the node would refuse.
 */

export interface DevTokenRequest {
  readonly role: Role;
  readonly id: string;
  /** SMART launch context; doctors only. */
  readonly patient: string | null;
  /** Optional fhirUser claim; it must name the same role and id. */
  readonly fhirUser: string | null;
  readonly ttlSeconds: number;
  /** The OAuth `scope` claim, space-separated (e.g. `carecast/break-glass`). */
  readonly scope: string | null;
  /** The provider session id (`sid`), which a back-channel logout may name. */
  readonly sid: string | null;
}

/** One or more OAuth scope tokens separated by single spaces (RFC 6749 §3.3). */
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}( [\x21\x23-\x5B\x5D-\x7E]{1,128}){0,15}$/;
/** A provider session id as the dev tools accept it: printable ASCII without spaces. */
export const DEV_SID = /^[\x21-\x7E]{1,255}$/;

export const DEFAULT_TTL_SECONDS = 3600;
/** A day: long enough for a working session, short enough that a leaked one dies. */
export const MAX_TTL_SECONDS = 86_400;

export const TOKEN_USAGE =
  'usage: npm run token -- --role <patient|doctor> --id <opaque id> ' +
  '[--patient <opaque id>] [--fhir-user <Patient/<id>|Practitioner/<id>>] [--ttl <seconds>] ' +
  "[--scope '<scope> ...'] [--sid <provider session id>]";

/** Parses the command line; every refusal is a message naming the option, never a throw. */
export function parseTokenArgs(argv: readonly string[]): Outcome<DevTokenRequest> {
  const parsed = parseOptions(argv, {
    role: { type: 'string' },
    id: { type: 'string' },
    patient: { type: 'string' },
    'fhir-user': { type: 'string' },
    ttl: { type: 'string' },
    scope: { type: 'string' },
    sid: { type: 'string' },
  });
  if (!parsed.ok) return parsed;
  const values = parsed.value;
  const { role, id, patient, ttl, scope, sid } = values;
  const fhirUser = values['fhir-user'];
  if (role !== 'patient' && role !== 'doctor') {
    return { ok: false, error: '--role must be patient or doctor' };
  }
  if (!isOpaqueId(id)) {
    return { ok: false, error: '--id must be an opaque id: 8-64 of A-Z a-z 0-9 _ -, a letter' };
  }
  if (patient !== undefined && role !== 'doctor') {
    return { ok: false, error: '--patient (launch context) is for doctors only' };
  }
  if (patient !== undefined && !isOpaqueId(patient)) {
    return { ok: false, error: '--patient must be an opaque id' };
  }
  const ttlSeconds = ttl === undefined ? DEFAULT_TTL_SECONDS : Number(ttl);
  if (!/^\d+$/.test(ttl ?? '1') || ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS) {
    return { ok: false, error: `--ttl must be whole seconds from 1 to ${MAX_TTL_SECONDS}` };
  }
  if (scope !== undefined && !SCOPE.test(scope)) {
    return { ok: false, error: '--scope must be scope tokens separated by single spaces' };
  }
  if (sid !== undefined && !DEV_SID.test(sid)) {
    return { ok: false, error: '--sid must be 1-255 printable characters without spaces' };
  }
  return {
    ok: true,
    value: {
      role,
      id,
      patient: patient ?? null,
      fhirUser: fhirUser ?? null,
      ttlSeconds,
      scope: scope ?? null,
      sid: sid ?? null,
    },
  };
}

/**
 * Signs the token for `request` with the node's access-token settings; `nowSeconds` is the
 * issue time (passed in so the result is reproducible in tests).
 */
export async function mintDevToken(
  request: DevTokenRequest,
  auth: Config['auth'],
  nowSeconds: number,
): Promise<Outcome<string>> {
  if (auth.keySource.kind !== 'hs256') return { ok: false, error: notHs256(auth.keySource.kind) };
  const claims: Record<string, unknown> = { sub: request.id, role: request.role };
  if (request.patient !== null) claims['patient'] = request.patient;
  if (request.fhirUser !== null) claims['fhirUser'] = request.fhirUser;
  if (request.scope !== null) claims['scope'] = request.scope;
  if (request.sid !== null) claims['sid'] = request.sid;

  const derived = derivePrincipal(claims);
  if (
    !derived.ok ||
    derived.principal.role !== request.role ||
    derived.principal.id !== request.id
  ) {
    return {
      ok: false,
      error: '--fhir-user must be Patient/<id> or Practitioner/<id> naming the same role and id',
    };
  }
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(auth.issuer)
    .setAudience(auth.audience)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + request.ttlSeconds)
    .sign(new TextEncoder().encode(auth.keySource.secret));
  return { ok: true, value: token };
}

/** Why a dev token cannot be signed: the node trusts an identity provider's keys. */
export function notHs256(kind: 'jwks' | 'public-key-file'): string {
  return (
    `the node verifies tokens with ${kind === 'jwks' ? 'AUTH_JWKS_URL' : 'AUTH_PUBLIC_KEY_FILE'}; ` +
    'dev tokens need the HS256 key source (unset it to use the dev secret)'
  );
}

export type TokenCommandIo = SigningCommandIo;
export type TokenCommandResult = PrintResult;

export function runTokenCommand(io: TokenCommandIo): Promise<TokenCommandResult> {
  return runSigningCommand('token', TOKEN_USAGE, io, parseTokenArgs, mintDevToken);
}
