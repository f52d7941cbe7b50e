import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEV_SECRETS_FILE } from '../../src/dev/dev-secrets.js';
import { type RunningNode, TEST_DEV_SECRETS, testConfig } from './app.js';
import { LogCapture } from './log-capture.js';

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 15_000;

/** A node in its own process, which a fault test can signal (SIGKILL, SIGTERM, SIGSTOP). */
export interface ProcessNode extends RunningNode {
  /** Sends `signal` to the node's process. */
  signal(signal: NodeJS.Signals): void;
  /** Resolves with the exit code (null when a signal ended it) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * A node running the built entry point (dist/main.js) as its own process. prom-client's
 * global registry holds the metrics of one node per process, so a test that reads two nodes'
 * /metrics side by side runs them this way. It uses the same development secrets as
 * startNode(), so the test helpers' tokens, tickets and signatures hold; its JSON log lines
 * land in `logs`.
 */
export async function startProcessNode(env: Record<string, string> = {}): Promise<ProcessNode> {
  if (!existsSync(MAIN)) throw new Error('dist/main.js is missing: run `npm run build` first');
  const cwd = await mkdtemp(path.join(os.tmpdir(), 'carecast-node-'));
  const secretsFile = path.join(cwd, DEV_SECRETS_FILE);
  await mkdir(path.dirname(secretsFile), { recursive: true });
  await writeFile(secretsFile, JSON.stringify(TEST_DEV_SECRETS), { mode: 0o600 });
  const nodeEnv = {
    NODE_ENV: 'test',
    NODE_ID: `process-${randomBytes(4).toString('hex')}`,
    HOST: '127.0.0.1',
    PORT: '0',
    INTERNAL_PORT: '0',
    LOG_LEVEL: 'debug',
    AUDIT_DIR: path.join(cwd, 'audit'),
    ...env,
  };
  const config = testConfig(nodeEnv);
  const child = spawn(process.execPath, [MAIN], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...nodeEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const logs = new LogCapture();
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const stop = async () => {
    await stopProcess(child);
    await rm(cwd, { recursive: true, force: true });
  };
  try {
    const { publicPort, internalPort } = await listening(child, logs, () => stderr);
    const scheme = config.publicListener.tls.kind === 'proxy' ? 'http' : 'https';
    return {
      config,
      logs,
      publicUrl: `${scheme}://127.0.0.1:${publicPort}`,
      internalUrl: `http://127.0.0.1:${internalPort}`,
      stop,
      signal: (signal) => void child.kill(signal),
      exited,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Feeds stdout into `logs` line by line; resolves with the ports of the "listening" line. */
function listening(
  child: ChildProcess,
  logs: LogCapture,
  stderr: () => string,
): Promise<{ publicPort: number; internalPort: number }> {
  return new Promise((resolve, reject) => {
    let partial = '';
    const timer = setTimeout(
      () => reject(new Error(`node did not listen within ${START_TIMEOUT_MS} ms: ${stderr()}`)),
      START_TIMEOUT_MS,
    );
    child.stdout!.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        logs.write(`${line}\n`);
        if (!line.includes('"carecast node listening"')) continue;
        clearTimeout(timer);
        resolve(JSON.parse(line) as { publicPort: number; internalPort: number });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node exited with ${code} before listening: ${stderr()}`));
    });
  });
}

/** SIGTERM (a graceful drain), then SIGKILL if it has not exited in time. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
