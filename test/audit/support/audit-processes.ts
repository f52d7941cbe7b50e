import { expect } from '@jest/globals';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { TEST_AUDIT_KEY } from './audit-helpers.js';

export const ROOT = path.resolve(import.meta.dirname, '../../..');
const run = promisify(execFile);

export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of a child process: this one's, without jest's NODE_OPTIONS. */
export function childEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _jestOnly, ...inherited } = process.env;
  return { ...inherited, ...env };
}

/** Runs a command in the project root; never rejects on a non-zero exit. */
export async function command(
  file: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd: ROOT, env: childEnv(env) });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** scripts/audit-verify.mjs: what `npm run audit:verify` runs once its prescript has built. */
export const verifyCli = (args: string[], env: Record<string, string> = {}) =>
  command(process.execPath, ['scripts/audit-verify.mjs', ...args], {
    AUDIT_SIGNING_KEY: TEST_AUDIT_KEY,
    ...env,
  });

/**
 * `npm run build`'s compiler. tsc emits every file even when some fail to typecheck; type
 * errors in the code these processes run (audit, chain) fail here, others only warn, so that
 * parts of the app under construction elsewhere do not hide what these tests check.
 */
export async function buildDist(): Promise<void> {
  const build = await command(process.execPath, [
    'node_modules/typescript/bin/tsc',
    '-p',
    'tsconfig.build.json',
  ]);
  const ours = build.stdout.split('\n').filter((l) => /^src\/(audit|core)\//.test(l));
  expect(ours).toEqual([]);
  if (build.code !== 0)
    console.warn(`npm run build reports type errors elsewhere:\n${build.stdout}`);
}
