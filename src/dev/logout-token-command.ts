import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Config } from '../config/config.types.js';
import { BACKCHANNEL_LOGOUT_EVENT } from '../core/logout-token.js';
import {
  type Outcome,
  parseOptions,
  type PrintResult,
  runSigningCommand,
  type SigningCommandIo,
} from './dev-command.js';
import { DEV_SID, notHs256 } from './token-command.js';

/**
 * `npm run dev:logout-token -- --sub <sub> [--sid <sid>]`: signs an OpenID Connect
 * Back-Channel Logout token that a development node accepts at `POST /v1/backchannel-logout`,
 * so logout can be tried without an identity provider:
 *
 *   curl -k https://localhost:8443/v1/backchannel-logout \
 *     --data-urlencode "logout_token=$(npm run -s dev:logout-token -- --sub dr-7f3k2m9q)"
 *
 * Same invariants as `npm run token`: the node's own HS256 key, issuer and logout audience,
 * taken from the Config the node builds; refused in production and with any other key source.
 * Each token has a fresh `jti`, so it works once (a second post is a replay).
 */

export interface DevLogoutRequest {
  readonly sub: string | null;
  readonly sid: string | null;
}

export const LOGOUT_TOKEN_USAGE =
  'usage: npm run dev:logout-token -- [--sub <access token sub>] [--sid <provider session id>] ' +
  '(at least one)';

export function parseLogoutTokenArgs(argv: readonly string[]): Outcome<DevLogoutRequest> {
  const parsed = parseOptions(argv, { sub: { type: 'string' }, sid: { type: 'string' } });
  if (!parsed.ok) return parsed;
  const { sub, sid } = parsed.value;
  if (sub === undefined && sid === undefined) {
    return { ok: false, error: 'give --sub, --sid or both' };
  }
  if (sub !== undefined && !DEV_SID.test(sub)) {
    return { ok: false, error: '--sub must be 1-255 printable characters without spaces' };
  }
  if (sid !== undefined && !DEV_SID.test(sid)) {
    return { ok: false, error: '--sid must be 1-255 printable characters without spaces' };
  }
  return { ok: true, value: { sub: sub ?? null, sid: sid ?? null } };
}

export async function mintDevLogoutToken(
  request: DevLogoutRequest,
  auth: Config['auth'],
  nowSeconds: number,
): Promise<Outcome<string>> {
  if (auth.keySource.kind !== 'hs256') return { ok: false, error: notHs256(auth.keySource.kind) };
  const claims: Record<string, unknown> = { events: { [BACKCHANNEL_LOGOUT_EVENT]: {} } };
  if (request.sid !== null) claims['sid'] = request.sid;
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'logout+jwt' })
    .setIssuer(auth.issuer)
    .setAudience(auth.logoutAudience)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + 120)
    .setJti(randomBytes(16).toString('base64url'));
  if (request.sub !== null) jwt.setSubject(request.sub);
  return { ok: true, value: await jwt.sign(new TextEncoder().encode(auth.keySource.secret)) };
}

export type LogoutTokenCommandIo = SigningCommandIo;
export type LogoutTokenCommandResult = PrintResult;

export function runLogoutTokenCommand(io: LogoutTokenCommandIo): Promise<LogoutTokenCommandResult> {
  return runSigningCommand(
    'dev:logout-token',
    LOGOUT_TOKEN_USAGE,
    io,
    parseLogoutTokenArgs,
    mintDevLogoutToken,
  );
}
