import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../support/free-port.js';
import { request } from '../support/http-client.js';
import { PHI_CANARY_TEXT, canaryFragmentsIn } from '../support/phi-canary.js';

/*
 * The README replayed: every `sh` block of "Quick start" and "Try it" runs, as written, in
 * bash against a node started the way `npm start` starts it, and every output the README
 * shows in a comment (`# {"status":"ok"}`, `# 202 {...}`, `# ok ... records`; `...` stands
 * for anything) must appear. A command or an output that drifts from the code fails here.
 *
 * How the README maps to this test:
 * - `npm install -g ... node@24` (installing Node) is not run: the test runs on Node 24.
 * - `npm ci && npm start` is `node dist/main.js` (what `npm start` runs after `npm run
 *   build`; `npm test` built dist/ already), in a sandbox directory holding a copy of
 *   package.json and links to dist/, src/, scripts/, node_modules and the tsconfigs, so the
 *   node's ./data is the sandbox's and every other command is the real `npm run ...`.
 * - The default ports 8443 and 9090 are replaced by free ones in each block, and PORT and
 *   INTERNAL_PORT are set, as for a developer who changed them (other tests use the ports).
 * - docs/publishing.md's development walk-through runs too, with its carecast-internal.sh
 *   (the block starting `#!/bin/sh`) saved as a file, while `dev:listen` watches the doctor.
 * - A block that says it "keeps running" (dev:listen in its own terminal) runs in the
 *   background; the blocks after it run once it shows all but its last output (the
 *   notification), which must arrive before the end.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LINKED = ['dist', 'src', 'scripts', 'node_modules', 'tsconfig.json', 'tsconfig.build.json'];
const BLOCK_TIMEOUT_MS = 20_000;

interface Block {
  readonly section: string;
  readonly code: string;
}

/** The `sh` blocks from `heading` to the next heading (outside code blocks). */
function blocksOf(markdown: string, heading: string): Block[] {
  const lines = markdown.split('\n');
  const start = lines.indexOf(heading);
  if (start === -1) throw new Error(`no "${heading}" section`);
  const blocks: Block[] = [];
  let fence: string[] | null = null;
  let lang = '';
  for (const line of lines.slice(start + 1)) {
    if (fence === null && /^#{1,6} /.test(line)) break;
    if (line.startsWith('```')) {
      if (fence === null) {
        fence = [];
        lang = line.slice(3).trim();
      } else {
        if (lang === 'sh') blocks.push({ section: heading, code: fence.join('\n') });
        fence = null;
      }
    } else {
      fence?.push(line);
    }
  }
  return blocks;
}

/**
 * The outputs a block shows in comments, in order, as patterns (`...`: anything on one
 * line). Unanchored: curl prints a body without a trailing newline.
 */
function expectationsOf(code: string): RegExp[] {
  const shown: string[] = [];
  for (const line of code.split('\n')) {
    const comment = /^#\s(.*)$/.exec(line.trim())?.[1] ?? /\s{2,}#\s(.*)$/.exec(line)?.[1];
    if (comment !== undefined && /^(\{"|sent |\d{3} |ok |carecast_|HTTP\/)/.test(comment)) {
      shown.push(comment.trim());
    }
  }
  return shown.map((text) => {
    const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return new RegExp(escaped.replace(/\\\.\\\.\\\./g, '[^\\n]*?'));
  });
}

/** The patterns not found in `output`, each searched after the previous one's match. */
function missing(patterns: readonly RegExp[], output: string): RegExp[] {
  let from = 0;
  const absent: RegExp[] = [];
  for (const pattern of patterns) {
    const match = pattern.exec(output.slice(from));
    if (match === null) absent.push(pattern);
    else from += match.index + match[0].length;
  }
  return absent;
}

interface Shell {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
}

function shell(script: string, cwd: string, env: NodeJS.ProcessEnv): Shell {
  const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
    cwd,
    env,
    detached: true, // its own process group: npm and node under it stop with it
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: Shell = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  child.stdout!.on('data', (c: Buffer) => (run.stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (run.stderr += c.toString()));
  return run;
}

/** Polls `check` until it holds, failing with `describe()` after `ms`. */
async function until(check: () => boolean, ms: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(describe());
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function stopGroup(run: Shell, signal: NodeJS.Signals): void {
  if (run.child.exitCode === null && run.child.pid !== undefined) {
    try {
      process.kill(-run.child.pid, signal);
    } catch {
      // already gone
    }
  }
}

describe('the README, replayed', () => {
  let sandbox: string;
  let env: NodeJS.ProcessEnv;
  let node: Shell;
  let publicPort: number;
  let internalPort: number;
  const background: Shell[] = [];

  beforeAll(async () => {
    if (!existsSync(path.join(ROOT, 'dist/main.js'))) {
      throw new Error('dist/main.js is missing: run `npm run build` (npm test does)');
    }
    sandbox = await mkdtemp(path.join(os.tmpdir(), 'carecast-readme-'));
    await copyFile(path.join(ROOT, 'package.json'), path.join(sandbox, 'package.json'));
    for (const name of LINKED) await symlink(path.join(ROOT, name), path.join(sandbox, name));
    publicPort = await freePort();
    internalPort = await freePort();
    env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? sandbox,
      NODE_ENV: 'development',
      PORT: String(publicPort),
      INTERNAL_PORT: String(internalPort),
    };
    node = shell('exec node dist/main.js', sandbox, env);
    await until(
      () => node.stdout.includes('"carecast node listening"'),
      BLOCK_TIMEOUT_MS,
      () => `the node did not start: ${node.stdout}${node.stderr}`,
    );
  }, 60_000);

  afterAll(async () => {
    for (const run of [...background, node]) {
      if (!run) continue;
      stopGroup(run, 'SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([run.exited, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
      clearTimeout(timer);
      stopGroup(run, 'SIGKILL');
    }
    if (sandbox) await rm(sandbox, { recursive: true, force: true });
  }, 30_000);

  it('runs the quick start and "Try it" commands, which print what the README shows', async () => {
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    const blocks = [...blocksOf(readme, '## Quick start'), ...blocksOf(readme, '### Try it')];
    const install = blocks.filter((b) => b.code.includes('npm install -g'));
    const start = blocks.filter((b) => b.code.trim() === 'npm ci && npm start');
    expect(install).toHaveLength(1);
    expect(start).toHaveLength(1);
    const runnable = blocks.filter((b) => !install.includes(b) && !start.includes(b));
    // The dev commands are part of the story the README tells, and so of this test.
    for (const command of ['dev:listen', 'dev:publish', 'npm run -s token', 'audit:verify']) {
      expect(runnable.some((b) => b.code.includes(command))).toBe(true);
    }

    let listener: { run: Shell; expected: RegExp[] } | null = null;
    for (const block of runnable) {
      const code = block.code
        .replaceAll('8443', String(publicPort))
        .replaceAll('9090', String(internalPort));
      const expected = expectationsOf(block.code).map(
        (p) =>
          new RegExp(
            p.source
              .replaceAll('8443', String(publicPort))
              .replaceAll('9090', String(internalPort)),
            'm',
          ),
      );
      if (block.code.includes('keeps running')) {
        const run = shell(code, sandbox, env);
        background.push(run);
        listener = { run, expected };
        const ready = expected.slice(0, -1);
        await until(
          () => missing(ready, run.stdout).length === 0,
          BLOCK_TIMEOUT_MS,
          () =>
            `background block printed no ${missing(ready, run.stdout).join(', ')}:\n${code}\n` +
            `stdout: ${run.stdout}\nstderr: ${run.stderr}`,
        );
        continue;
      }
      const run = shell(code, sandbox, env);
      let timer: NodeJS.Timeout | undefined;
      const exitCode = await Promise.race([
        run.exited,
        new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), BLOCK_TIMEOUT_MS))),
      ]);
      clearTimeout(timer);
      stopGroup(run, 'SIGKILL');
      const report = `${block.section} block:\n${code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;
      expect([exitCode, report]).toEqual([0, report]);
      expect([missing(expected, run.stdout), report]).toEqual([[], report]);
    }

    expect(listener).not.toBeNull();
    const { run, expected } = listener!;
    await until(
      () => missing(expected, run.stdout).length === 0,
      BLOCK_TIMEOUT_MS,
      () => `dev:listen never printed ${missing(expected, run.stdout).join(', ')}: ${run.stdout}`,
    );
    // Ctrl-C ends it (npm passes the signal on and ends by it); dev:listen reports no failure.
    stopGroup(run, 'SIGINT');
    await run.exited;
    expect([0, 'SIGINT']).toContain(run.child.exitCode ?? run.child.signalCode);
    expect(run.stderr).not.toMatch(/refused|failed|closed by the node/);
  }, 120_000);

  it('logs refused ticket requests by reason only, and no command leaks a PHI canary', async () => {
    const publish = shell(
      `npm run -s dev:publish -- --channel doctor:dr-7f3k2m9q --kind message.received --ref "$CANARY"`,
      sandbox,
      { ...env, CANARY: PHI_CANARY_TEXT },
    );
    expect(await publish.exited).toBe(1);
    expect(publish.stdout).toMatch(/^422 \{"error":"invalid_payload","fields":\["ref"\]\}$/m);

    const refused = await request(`https://127.0.0.1:${publicPort}/v1/tickets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PHI_CANARY_TEXT}` },
    });
    expect(refused.status).toBe(401);
    await until(
      () => /"reason":"invalid_token","msg":"ticket request refused"/.test(node.stdout),
      BLOCK_TIMEOUT_MS,
      () => `no refusal line in the node's log: ${node.stdout.slice(-2000)}`,
    );
    const metrics = await request(`http://127.0.0.1:${internalPort}/metrics`);
    const auditDir = path.join(sandbox, 'data', 'audit');
    const audit = await Promise.all(
      (await readdir(auditDir)).map((f) => readFile(path.join(auditDir, f), 'utf8')),
    );
    for (const [where, text] of [
      ['node log', node.stdout + node.stderr],
      ['dev:publish output', publish.stdout.replace(/^sent .*$/m, '') + publish.stderr],
      ['ticket answer', refused.body + JSON.stringify(refused.headers)],
      ['metrics', metrics.body],
      ['audit files', audit.join('\n')],
    ] as const) {
      expect([where, canaryFragmentsIn(text)]).toEqual([where, []]);
    }
  }, 60_000);
  it("replays docs/publishing.md's development walk-through while the doctor listens", async () => {
    const doc = await readFile(path.join(ROOT, 'docs/publishing.md'), 'utf8');
    const blocks = blocksOf(doc, '## Example: shell (openssl + curl)');
    const script = blocks.find((b) => b.code.startsWith('#!/bin/sh'));
    const walk = blocks.find((b) => b.code.includes('export CARECAST_KID=dev'));
    expect(script).toBeDefined();
    expect(walk).toBeDefined();
    await writeFile(path.join(sandbox, 'carecast-internal.sh'), script!.code, { mode: 0o755 });

    const internal = { ...env, CARECAST_INTERNAL_URL: `http://127.0.0.1:${internalPort}` };
    const listen = shell('npm run -s dev:listen -- --role doctor --id dr-7f3k2m9q', sandbox, env);
    background.push(listen);
    await until(
      () => listen.stdout.includes('"type":"ack"'),
      BLOCK_TIMEOUT_MS,
      () => `dev:listen did not subscribe: ${listen.stdout}${listen.stderr}`,
    );
    const code = walk!.code.replaceAll('9090', String(internalPort));
    const run = shell(code, sandbox, internal);
    const report = `docs/publishing.md block:\n${code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;
    expect([await run.exited, report]).toEqual([0, report]);
    expect([missing(expectationsOf(walk!.code), run.stdout), report]).toEqual([[], report]);

    // The listener saw the notification, then was closed with 4503 by the disconnect.
    await listen.exited;
    expect(listen.stdout).toMatch(
      /"type":"notification","channel":"doctor:dr-7f3k2m9q","id":"evt-[0-9a-f]{12}","kind":"message.received"/,
    );
    expect(listen.stderr).toMatch(/closed by the node: 4503/);
  }, 60_000);
});
