import type { Config } from '../config/config.types.js';
import { describeProblems, parseConfig } from '../config/parse-config.js';
import { type Outcome, refusedInProduction } from './dev-command.js';
import { loadOrCreateDevSecrets } from './dev-secrets.js';

/** What a development command needs from its process, passed in so it runs the same in a test. */
export interface DevProcess {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly hostname: string;
  readonly pid: number;
}

/**
 * The Config the development node builds from the same environment and ./data: the
 * commands that talk to a running node (`dev:publish`, `dev:listen`) find its ports, URLs,
 * origins, keys and dev secrets there, never a value of their own. Refused in production,
 * like `npm run token`: those commands hold keys that may only exist on a developer's machine.
 */
export async function loadDevNodeConfig(command: string, io: DevProcess): Promise<Outcome<Config>> {
  const refusal = refusedInProduction(command, io.env);
  if (refusal !== null) return { ok: false, error: refusal };
  const devSecrets = await loadOrCreateDevSecrets();
  const parsed = parseConfig(io.env, { hostname: io.hostname, pid: io.pid, devSecrets });
  return parsed.ok
    ? { ok: true, value: parsed.config }
    : { ok: false, error: describeProblems(parsed.problems) };
}

/** A wildcard bind address is reached on loopback; anything else as configured. */
export function reachableHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
