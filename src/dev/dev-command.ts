import { hostname } from 'node:os';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import type { Config, DevSecrets } from '../config/config.types.js';
import { describeProblems, parseConfig } from '../config/parse-config.js';

/**
 * What the development commands (`token`, `dev:logout-token`, `dev:publish`, `dev:listen`)
 * share: argument parsing that never throws, the refusal in production, the process facts
 * their entry points pass in (so each command runs the same in a test), and the runner of
 * the two commands that only sign something with the node's own keys.
 */

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

/** Parses `--name value` options strictly; a refusal is parseArgs's message, which names
 *  the argument the user just typed. */
export function parseOptions(
  argv: readonly string[],
  options: ParseArgsOptionsConfig,
): Outcome<Record<string, string | undefined>> {
  try {
    const { values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options,
    });
    return { ok: true, value: values as Record<string, string | undefined> };
  } catch (error) {
    const message = (error as { message?: unknown } | null)?.message;
    return { ok: false, error: typeof message === 'string' ? message : 'invalid arguments' };
  }
}

/** The commands hold keys that may exist only on a developer's machine: never in production. */
export function refusedInProduction(
  command: string,
  env: Readonly<Record<string, string | undefined>>,
): string | null {
  return env['NODE_ENV'] === 'production'
    ? `npm run ${command} is a development tool; refused in production`
    : null;
}

/** What an entry point passes to its command. */
export interface CommandProcess {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly hostname: string;
  readonly pid: number;
  readonly nowSeconds: number;
}

/** The facts of this process, for the dev commands' entry points (dist/dev/*-cli.js). */
export function commandProcess(): CommandProcess {
  return {
    argv: process.argv.slice(2),
    // A dev tool, not part of the node: it must read the environment the node will read,
    // or it would use a key, issuer, audience, port or origin the node does not use.
    // eslint-disable-next-line no-restricted-properties
    env: process.env,
    hostname: hostname(),
    pid: process.pid,
    nowSeconds: Math.floor(Date.now() / 1000),
  };
}

/** Ends an entry point whose command threw: only file-system failures (the dev secrets or
 *  certificate files) get here, and their messages hold no secret. */
export function failedCommand(command: string): (error: unknown) => void {
  return (error) => {
    process.stderr.write(
      `npm run ${command} failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  };
}

export interface SigningCommandIo extends CommandProcess {
  /** Reads (or first creates) the dev secrets the node will load at start. */
  readonly loadDevSecrets: () => Promise<DevSecrets>;
}

/** Exit codes: 0 printed, 1 refused by the environment or configuration, 2 bad arguments. */
export type PrintResult =
  | { readonly exitCode: 0; readonly stdout: string }
  | { readonly exitCode: 1 | 2; readonly stderr: string };

/**
 * Runs a command that prints one thing signed with the node's own access-token settings:
 * parsed from the environment exactly as main.ts parses it, so the key, issuer and audience
 * are the node's.
 */
export async function runSigningCommand<R>(
  command: string,
  usage: string,
  io: SigningCommandIo,
  parse: (argv: readonly string[]) => Outcome<R>,
  sign: (request: R, auth: Config['auth'], nowSeconds: number) => Promise<Outcome<string>>,
): Promise<PrintResult> {
  const refusal = refusedInProduction(command, io.env);
  if (refusal !== null) return { exitCode: 1, stderr: refusal };
  const request = parse(io.argv);
  if (!request.ok) return { exitCode: 2, stderr: `${request.error}\n${usage}` };
  const devSecrets = await io.loadDevSecrets();
  const config = parseConfig(io.env, { hostname: io.hostname, pid: io.pid, devSecrets });
  if (!config.ok) return { exitCode: 1, stderr: describeProblems(config.problems) };
  const signed = await sign(request.value, config.config.auth, io.nowSeconds);
  return signed.ok ? { exitCode: 0, stdout: signed.value } : { exitCode: 1, stderr: signed.error };
}

/** Writes a PrintResult the way the shell expects: the value alone on stdout. */
export function printResult(result: PrintResult): void {
  if (result.exitCode === 0) process.stdout.write(`${result.stdout}\n`);
  else process.stderr.write(`${result.stderr}\n`);
  process.exitCode = result.exitCode;
}
