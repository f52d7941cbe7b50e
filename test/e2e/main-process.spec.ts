import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { type ChildProcess, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connect as tlsConnect } from 'node:tls';
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
  stdout: () => string;
  exited: Promise<number | null>;
}

function run(env: Record<string, string>, cwd: string): Run {
  const child = spawn(process.execPath, [MAIN], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stdout = '';
  child.stdout!.on('data', (c: Buffer) => {
    output += c.toString();
    stdout += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, stdout: () => stdout, exited };
}

/** Every output line is one JSON object in the node's format: label level, time, node. */
function logLines(r: Run): Record<string, unknown>[] {
  expect(r.output()).toBe(r.stdout()); // nothing on stderr
  return r
    .stdout()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const line = JSON.parse(l) as Record<string, unknown>;
      expect(line).toEqual(
        expect.objectContaining({
          level: expect.any(String),
          time: expect.any(String),
          node: expect.any(String),
        }),
      );
      return line;
    });
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

/** The SHA-256 fingerprint of the certificate the public listener serves. */
function peerCertificate(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      { host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false },
      () => {
        resolve(socket.getPeerCertificate().fingerprint256);
        socket.end();
      },
    );
    socket.once('error', reject);
  });
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
    const r = run({ PORT: 'abc', NODE_ID: 'boot-node-1' }, cwd);
    expect(await withTimeout(r.exited, 10_000, 'exit')).toBe(1);
    expect(r.output()).toContain('PORT must be a whole number');
    expect(r.output()).not.toContain('carecast node listening');
    // The fatal line has the format of every other line, with the node id, on stdout.
    expect(logLines(r)).toEqual([
      expect.objectContaining({ level: 'fatal', node: 'boot-node-1', variables: ['PORT'] }),
    ]);
  });

  it.each(['public', 'internal'] as const)(
    'on a busy %s port: one fatal line naming the port, and no claim of a successful start',
    async (listener) => {
      const busy = createNetServer();
      await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
      const port = (busy.address() as AddressInfo).port;
      try {
        const ports =
          listener === 'public'
            ? { PORT: String(port), INTERNAL_PORT: '0' }
            : { PORT: '0', INTERNAL_PORT: String(port) };
        const r = run({ HOST: '127.0.0.1', INTERNAL_HOST: '127.0.0.1', ...ports }, cwd);
        expect(await withTimeout(r.exited, 20_000, 'exit')).toBe(1);
        expect(r.output()).not.toMatch(/successfully started|carecast node listening/);
        const fatal = logLines(r).filter((l) => l['level'] === 'fatal');
        expect(fatal).toEqual([
          expect.objectContaining({
            code: 'EADDRINUSE',
            port,
            listener,
            msg: `carecast failed to start: port ${port} is already in use (${listener} listener)`,
          }),
        ]);
      } finally {
        busy.close();
      }
    },
  );

  it('keeps its development certificate in ./data and serves the same one after a restart', async () => {
    const certFile = path.join(cwd, 'data', 'dev-tls-cert.pem');
    const served: string[] = [];
    for (const start of ['first', 'second']) {
      const r = run({ HOST: '127.0.0.1', PORT: '0', INTERNAL_PORT: '0' }, cwd);
      try {
        const { publicPort } = await listening(r);
        const line = logLines(r).find((l) => String(l['msg']).includes('self-signed'));
        expect([start, line?.['created']]).toEqual([start, start === 'first']);
        served.push(await peerCertificate(publicPort));
        r.child.kill('SIGTERM');
        expect(await withTimeout(r.exited, 8000, 'exit after SIGTERM')).toBe(0);
      } finally {
        r.child.kill('SIGKILL');
      }
    }
    expect((await stat(certFile)).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(cwd, 'data', 'dev-tls-key.pem'))).mode & 0o777).toBe(0o600);
    const onDisk = new X509Certificate(await readFile(certFile)).fingerprint256;
    expect(served).toEqual([onDisk, onDisk]);
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
