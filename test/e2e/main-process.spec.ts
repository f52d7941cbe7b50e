import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually, request } from '../support/http-client.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';

/*
 * These tests run the built entry point (`npm test` builds first) as an operator would: a
 * real process, real signals, its real stdout and stderr.
 */
const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const CANARY_SECRET = 'Jane-Doe-MRN-00471123-jane.doe@example.org';

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function run(env: Record<string, string>, cwd: string): Run {
  const child = spawn(process.execPath, [MAIN], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Waits for the "listening" log line and returns the bound ports. */
function listening(r: Run): Promise<{ publicPort: number; internalPort: number }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const check = () => {
        const line = r
          .output()
          .split('\n')
          .find((l) => l.includes('carecast node listening'));
        if (line) resolve(JSON.parse(line) as { publicPort: number; internalPort: number });
      };
      r.child.stdout!.on('data', check);
      void r.exited.then((code) => reject(new Error(`exited with ${code}: ${r.output()}`)));
    }),
    15_000,
    'listening',
  );
}

describe('the carecast process (dist/main.js)', () => {
  let cwd: string;

  beforeAll(() => {
    if (!existsSync(MAIN))
      throw new Error('dist/main.js is missing: run `npm run build` (npm test does)');
  });
  // Each run gets its own working directory, so its ./data is its own.
  beforeEach(async () => {
    cwd = await mkdtemp(path.join(os.tmpdir(), 'carecast-main-'));
  });
  afterEach(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  it('exits non-zero naming PORT when PORT is not a number', async () => {
    const r = run({ PORT: 'abc' }, cwd);
    expect(await withTimeout(r.exited, 10_000, 'exit')).toBe(1);
    expect(r.output()).toContain('PORT must be a whole number');
    expect(r.output()).not.toContain('carecast node listening');
  });

  it('refuses production without TLS files or secrets, naming each and quoting none', async () => {
    const r = run({ NODE_ENV: 'production', AUDIT_SIGNING_KEY: CANARY_SECRET.slice(0, 12) }, cwd);
    expect(await withTimeout(r.exited, 10_000, 'exit')).toBe(1);
    for (const variable of [
      'TLS_CERT_FILE',
      'TLS_KEY_FILE',
      'TICKET_SECRET',
      'AUDIT_SIGNING_KEY',
      'PUBLISHER_KEYS',
      'AUTH_JWKS_URL',
      'ALLOWED_ORIGINS',
      'PUBLIC_URL',
    ]) {
      expect(r.output()).toContain(variable);
    }
    expect(r.output()).not.toContain(CANARY_SECRET.slice(0, 12));
    // Production never generates development secrets.
    expect(existsSync(path.join(cwd, 'data', 'dev-secrets.json'))).toBe(false);
  });

  describe('with Redis', () => {
    let redis: RedisServerHandle;
    beforeAll(async () => {
      redis = await startRedisServer();
    });
    afterAll(async () => {
      await redis?.stop();
    });

    it('serves both listeners, then drains on SIGTERM and exits 0 with no handle left open', async () => {
      const r = run(
        {
          HOST: '127.0.0.1',
          PORT: '0',
          INTERNAL_PORT: '0',
          REDIS_URL: redis.url,
          REDIS_KEY_PREFIX: 'cc-main:',
        },
        cwd,
      );
      try {
        const { publicPort, internalPort } = await listening(r);
        expect(r.output()).toContain('self-signed');
        expect((await request(`https://127.0.0.1:${publicPort}/v1/unknown`)).status).toBe(404);
        await eventually(
          async () => (await request(`http://127.0.0.1:${internalPort}/readyz`)).status === 200,
        );
        const metrics = await request(`http://127.0.0.1:${internalPort}/metrics`);
        expect(metrics.body).toMatch(/^carecast_process_resident_memory_bytes \d/m);

        const secrets = await stat(path.join(cwd, 'data', 'dev-secrets.json'));
        expect(secrets.mode & 0o777).toBe(0o600);

        r.child.kill('SIGTERM');
        // The watchdog would exit 1 if a socket, timer or Redis connection stayed open.
        expect(await withTimeout(r.exited, 8000, 'exit after SIGTERM')).toBe(0);
        expect(r.output()).toContain('"msg":"stopped"');
        await expect(request(`http://127.0.0.1:${internalPort}/healthz`)).rejects.toThrow();
      } finally {
        r.child.kill('SIGKILL');
      }
    });
  });
});
