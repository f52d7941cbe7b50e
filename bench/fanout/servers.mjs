// The servers of the fan-out benchmark, all on loopback: a private redis-server (free port,
// never 6379, no persistence), carecast nodes (in the benchmark's own main thread, or each
// its own process running dist/main.js as test/support/process-node.ts does), the bare
// baseline and the Socket.IO comparison server (in-process or their own processes). Every spawned server preloads probe.mjs, so
// event-loop delay and resident memory are read the same way from inside each of them.
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { createConnection, createServer as createNetServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath, URL } from 'node:url';
import { Redis } from 'ioredis';
import { HOST, ORIGIN } from './constants.mjs';

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const BARE = fileURLToPath(new URL('./bare-server.mjs', import.meta.url));
const SOCKET_IO = fileURLToPath(new URL('./socketio-server.mjs', import.meta.url));
const PROBE = new URL('./probe.mjs', import.meta.url).href;
const START_BUDGET_MS = 20_000;

/** Settings every carecast node of the benchmark runs with: measure fan-out, not the limits. */
export function nodeEnvironment({ nodeId, redisUrl, prefix, auditDir, transport }) {
  return {
    NODE_ENV: 'development',
    NODE_ID: nodeId,
    HOST,
    INTERNAL_HOST: HOST,
    LOG_LEVEL: 'warn',
    ALLOWED_ORIGINS: ORIGIN,
    AUDIT_DIR: auditDir,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: prefix,
    // Every client is a distinct user.
    MAX_CONNECTIONS_PER_USER: '5',
    RATE_TICKETS_PER_USER: '1000/60s',
    RATE_PUBLISH_PER_KEY: '1000000/1s',
    ...(transport === 'plain' ? { TLS_TERMINATED_BY_PROXY: 'true', TRUSTED_PROXIES: HOST } : {}),
  };
}

/** A carecast node as its own process (dist/main.js), with the probe. */
export async function startProcessNode(env, secrets) {
  const cwd = await mkdtemp(path.join(os.tmpdir(), 'carecast-fanout-node-'));
  await mkdir(path.join(cwd, 'data'), { recursive: true });
  await writeFile(path.join(cwd, 'data', 'dev-secrets.json'), JSON.stringify(secrets), {
    mode: 0o600,
  });
  const publicPort = await freePort();
  const internalPort = await freePort();
  const child = spawnServer(
    [MAIN],
    {
      ...env,
      AUDIT_DIR: path.join(cwd, 'audit'),
      PORT: String(publicPort),
      INTERNAL_PORT: String(internalPort),
    },
    { cwd, name: env.NODE_ID },
  );
  const node = {
    ...child,
    publicPort,
    internalPort,
    /** The working directory: its `audit/` holds the node's audit files. */
    cwd,
    stop: async () => {
      await child.stop();
      await rm(cwd, { recursive: true, force: true });
    },
  };
  try {
    await waitReady(`http://${HOST}:${internalPort}/readyz`, child);
  } catch (error) {
    await node.stop();
    throw error;
  }
  return node;
}

/** A comparison server as its own process: `bare` (the baseline) or `socketio`. */
export async function startComparisonProcess(kind, redisUrl, transport) {
  const script = kind === 'socketio' ? SOCKET_IO : BARE;
  const child = spawnServer([script, redisUrl, transport], {}, { name: kind });
  const line = await child.firstLine;
  return { ...child, port: JSON.parse(line).port };
}

function spawnServer(args, env, { cwd, name }) {
  const flags = ['--expose-gc', '--import', PROBE];
  const child = spawn(process.execPath, [...flags, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk.toString()));
  // Never leave a server behind, whatever ends this process.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let out = '';
  const firstLine = new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      out += chunk.toString();
      const at = out.indexOf('\n');
      if (at >= 0) resolve(out.slice(0, at));
    });
    exited.then((code) => reject(new Error(`${name} exited with ${code}: ${stderr}`)));
  });
  firstLine.catch(() => undefined);
  return {
    pid: child.pid,
    firstLine,
    stderr: () => stderr,
    /** What the process wrote on stdout (a carecast node: its JSON log lines at LOG_LEVEL). */
    stdout: () => out,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    /** Asks the probe: 'stats' (memory, event-loop delay since the last ask) or 'gc' then stats. */
    probe: (what, extra = {}) =>
      new Promise((resolve, reject) => {
        const onMessage = (message) => {
          if (message?.probe !== 'stats') return;
          done();
          resolve(message);
        };
        const onExit = (code, signal) => {
          done();
          reject(new Error(`${name} exited (${code ?? signal}): ${stderr.slice(-2000)}`));
        };
        const done = () => {
          child.off('message', onMessage);
          child.off('exit', onExit);
        };
        if (child.exitCode !== null || child.signalCode !== null) {
          onExit(child.exitCode, child.signalCode);
          return;
        }
        child.on('message', onMessage);
        child.once('exit', onExit);
        child.send({ ...extra, probe: what }, (error) => error && reject(error));
      }),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
    kill: () => child.kill('SIGKILL'),
  };
}

export async function waitReady(url, child) {
  const deadline = performance.now() + START_BUDGET_MS;
  for (;;) {
    const status = await getStatus(url).catch(() => 0);
    if (status === 200) return;
    if (child?.exited()) throw new Error(`node exited before ready: ${child.stderr()}`);
    if (performance.now() > deadline)
      throw new Error(`${url} not ready within ${START_BUDGET_MS} ms`);
    await delay(50);
  }
}

function getStatus(url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** A private redis-server on a free loopback port, without persistence. */
export async function startRedis() {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const port = await freePort();
    if (port === 6379) continue;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'carecast-fanout-redis-'));
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        HOST,
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--logfile',
        path.join(dir, 'redis.log'),
        '--latency-monitor-threshold',
        '1',
      ],
      { stdio: 'ignore' },
    );
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    child.once('exit', () => process.off('exit', reap));
    let exited = false;
    const exit = new Promise((resolve) => {
      child.once('exit', () => resolve((exited = true)));
      child.once('error', (error) => {
        exited = true;
        resolve(error);
      });
    });
    const deadline = performance.now() + 5000;
    while (!exited && performance.now() < deadline && !(await pings(port))) await delay(50);
    if (!exited && (await pings(port))) {
      const url = `redis://${HOST}:${port}`;
      return {
        url,
        pid: child.pid,
        kill: () => child.kill('SIGKILL'),
        /** Resets INFO commandstats and the latency monitor; `stats()` reads both since then. */
        async resetStats() {
          const r = new Redis(url);
          await r.config('RESETSTAT');
          await r.call('LATENCY', 'RESET');
          r.disconnect();
        },
        /** CPU seconds (user + system) redis-server has used so far. */
        async cpuSeconds() {
          const r = new Redis(url);
          const info = await r.info('cpu');
          r.disconnect();
          const field = (name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
          return field('used_cpu_user') + field('used_cpu_sys');
        },
        async stats() {
          const r = new Redis(url);
          const info = await r.info('commandstats');
          const latency = await r.call('LATENCY', 'LATEST');
          r.disconnect();
          return { commandstats: parseCommandStats(info), latency };
        },
        stop: async () => {
          if (!exited) child.kill('SIGTERM');
          await Promise.race([exit, delay(5000)]);
          if (!exited) child.kill('SIGKILL');
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
    if (!exited) child.kill('SIGKILL');
    const error = await exit;
    await rm(dir, { recursive: true, force: true });
    if (error instanceof Error) throw new Error(`cannot start redis-server: ${error.message}`);
  }
  throw new Error('redis-server did not start on a free port');
}

/** `cmdstat_evalsha:calls=10,usec=200,...` lines -> { evalsha: { calls, usec, usecPerCall } }. */
function parseCommandStats(info) {
  const out = {};
  for (const line of info.split('\r\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)/.exec(line);
    if (m) out[m[1]] = { calls: Number(m[2]), usec: Number(m[3]), usecPerCall: Number(m[4]) };
  }
  return out;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function pings(port) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk) => done(chunk.toString('latin1').startsWith('+PONG')));
  });
}
