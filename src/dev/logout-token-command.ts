import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import type { Config, DevSecrets } from '../config/config.types.js';
import { describeProblems, parseConfig } from '../config/parse-config.js';
import { BACKCHANNEL_LOGOUT_EVENT } from '../core/logout-token.js';
import { DEV_SID, notHs256, type Outcome } from './token-command.js';

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
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: { sub: { type: 'string' }, sid: { type: 'string' } },
    }));
  } catch (error) {
    const message = (error as { message?: unknown } | null)?.message;
    return { ok: false, error: typeof message === 'string' ? message : 'invalid arguments' };
  }
  const { sub, sid } = values;
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

export interface LogoutTokenCommandIo {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly hostname: string;
  readonly pid: number;
  readonly nowSeconds: number;
  readonly loadDevSecrets: () => Promise<DevSecrets>;
}

export type LogoutTokenCommandResult =
  | { readonly exitCode: 0; readonly stdout: string }
  | { readonly exitCode: 1 | 2; readonly stderr: string };

export async function runLogoutTokenCommand(
  io: LogoutTokenCommandIo,
): Promise<LogoutTokenCommandResult> {
  if (io.env['NODE_ENV'] === 'production') {
    return {
      exitCode: 1,
      stderr: 'npm run dev:logout-token is a development tool; refused in production',
    };
  }
  const request = parseLogoutTokenArgs(io.argv);
  if (!request.ok) return { exitCode: 2, stderr: `${request.error}\n${LOGOUT_TOKEN_USAGE}` };
  const devSecrets = await io.loadDevSecrets();
  const config = parseConfig(io.env, { hostname: io.hostname, pid: io.pid, devSecrets });
  if (!config.ok) return { exitCode: 1, stderr: describeProblems(config.problems) };
  const token = await mintDevLogoutToken(request.value, config.config.auth, io.nowSeconds);
  if (!token.ok) return { exitCode: 1, stderr: token.error };
  return { exitCode: 0, stdout: token.value };
}
