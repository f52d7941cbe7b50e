import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';

export interface RedisServerHandle {
  port: number;
  /** redis://127.0.0.1:PORT */
  url: string;
  /** SIGTERM and wait for exit; idempotent. */
  stop(): Promise<void>;
  /** Restart on the same port after stop; resolves once the server answers. */
  start(): Promise<void>;
  /** SIGSTOP: the server keeps its sockets open but answers nothing, as a hung host does. */
  freeze(): void;
  /** SIGCONT after freeze(): it answers again, the commands that waited included. */
  resume(): void;
}

export interface RedisClusterHandle {
  nodes: { host: string; port: number }[];
  /** "127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3" */
  nodesEnv: string;
  stop(): Promise<void>;
}

/** One file per live redis-server pid; global-teardown kills whatever is left. */
export const PID_DIR = path.join(os.tmpdir(), 'carecast-test-pids');

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;
const CLUSTER_TIMEOUT_MS = 15_000;
const POLL_MS = 50;
const PORT_ATTEMPTS = 5;
const CLUSTER_ARGS = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'];
const SLOT_RANGES = [
  ['0', '5460'],
  ['5461', '10922'],
  ['10923', '16383'],
] as const;

class PortInUseError extends Error {}

interface RedisProcess {
  pid: number;
  signal(signal: NodeJS.Signals): void;
  stopping: boolean;
  stop(): Promise<void>;
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      promise.then(() => true),
      delay(ms, false, { signal: timer.signal }),
    ]);
  } finally {
    timer.abort();
  }
}

/** True once the server on `port` answers and is process `pid`, not some other server. */
function answers(port: number, pid: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
    socket.once('connect', () => socket.write('PING\r\nINFO server\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      if (reply.startsWith('-')) return done(false);
      const match = /process_id:(\d+)\r\n/.exec(reply);
      if (match) done(reply.startsWith('+PONG\r\n') && Number(match[1]) === pid);
    });
  });
}

async function spawnRedis(port: number, extraArgs: readonly string[]): Promise<RedisProcess> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'carecast-redis-'));
  const logFile = path.join(dir, 'redis.log');
  const args = ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no'];
  const child = spawn('redis-server', [...args, '--dir', dir, '--logfile', logFile, ...extraArgs], {
    stdio: 'ignore',
  });
  let exitReason: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitReason = signal ? `signal ${signal}` : `code ${String(code)}`;
      resolve();
    });
    child.once('error', (err) => {
      exitReason = err.message;
      resolve();
    });
  });
  const pidFile = child.pid === undefined ? undefined : path.join(PID_DIR, String(child.pid));
  if (pidFile) {
    await mkdir(PID_DIR, { recursive: true });
    await writeFile(pidFile, JSON.stringify({ owners: [process.pid, process.ppid], dir }));
  }
  const cleanup = async (): Promise<void> => {
    if (pidFile) await rm(pidFile, { force: true });
    await rm(dir, { recursive: true, force: true });
  };

  let stopped: Promise<void> | undefined;
  const proc: RedisProcess = {
    pid: child.pid ?? -1,
    signal: (signal) => void child.kill(signal),
    stopping: false,
    stop() {
      proc.stopping = true;
      stopped ??= (async () => {
        if (exitReason === undefined) {
          child.kill('SIGTERM');
          child.kill('SIGCONT'); // a frozen server acts on SIGTERM only once it runs again
        }
        const clean = await settlesWithin(exited, STOP_TIMEOUT_MS);
        if (!clean) {
          child.kill('SIGKILL');
          await settlesWithin(exited, 2_000);
        }
        await cleanup();
        if (!clean) throw new Error(`redis-server pid ${proc.pid} ignored SIGTERM; killed`);
      })();
      return stopped;
    },
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (exitReason === undefined && Date.now() < deadline) {
    if (await answers(port, proc.pid)) return proc;
    await delay(POLL_MS);
  }
  if (exitReason === undefined) {
    await proc.stop().catch(() => undefined);
    throw new Error(`redis-server on ${HOST}:${port} did not answer within ${READY_TIMEOUT_MS} ms`);
  }
  const log = await readFile(logFile, 'utf8').catch(() => '');
  await cleanup();
  if (log.includes('Address already in use')) throw new PortInUseError(`port ${port} in use`);
  throw new Error(`redis-server on port ${port} exited (${exitReason}) before ready:\n${log}`);
}

async function spawnOnFreePort(
  extraArgs: readonly string[] = [],
): Promise<{ port: number; proc: RedisProcess }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return { port, proc: await spawnRedis(port, extraArgs) };
    } catch (err) {
      if (!(err instanceof PortInUseError) || attempt >= PORT_ATTEMPTS) throw err;
    }
  }
}

export async function startRedisServer(): Promise<RedisServerHandle> {
  const { port, proc } = await spawnOnFreePort();
  let current = proc;
  return {
    port,
    url: `redis://${HOST}:${port}`,
    stop: () => current.stop(),
    async start() {
      if (!current.stopping) return;
      await current.stop().catch(() => undefined); // a failed stop already SIGKILLed it
      current = await spawnRedis(port, []);
    },
    freeze: () => current.signal('SIGSTOP'),
    resume: () => current.signal('SIGCONT'),
  };
}

async function waitFor(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await delay(POLL_MS * 2);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

async function formCluster(ports: readonly number[]): Promise<void> {
  const clients = ports.map(
    (port) =>
      new Redis(port, HOST, {
        connectTimeout: 1_000,
        commandTimeout: 1_000,
        maxRetriesPerRequest: 1,
        retryStrategy: () => null,
      }),
  );
  // Failures surface through the command promises.
  for (const client of clients) client.on('error', () => undefined);
  try {
    await Promise.all(
      clients.map((client, i) => client.call('CLUSTER', 'ADDSLOTSRANGE', ...SLOT_RANGES[i]!)),
    );
    for (const [i, client] of clients.entries()) {
      for (const port of ports.filter((_, j) => j !== i)) {
        await client.call('CLUSTER', 'MEET', HOST, String(port));
      }
    }
    await waitFor(
      `cluster_state:ok on ${ports.join(', ')}`,
      async () => {
        const infos = await Promise.all(clients.map((client) => client.call('CLUSTER', 'INFO')));
        return infos.every((info) => String(info).includes('cluster_state:ok'));
      },
      CLUSTER_TIMEOUT_MS,
    );
  } finally {
    for (const client of clients) client.disconnect();
  }
}

export async function startRedisCluster(): Promise<RedisClusterHandle> {
  const args = [...CLUSTER_ARGS, '--cluster-node-timeout', '2000'];
  const started = await Promise.allSettled(SLOT_RANGES.map(() => spawnOnFreePort(args)));
  const members = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stop = async (): Promise<void> => {
    const results = await Promise.allSettled(members.map(({ proc }) => proc.stop()));
    const failure = results.find((r) => r.status === 'rejected');
    if (failure) throw failure.reason;
  };
  try {
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    await formCluster(members.map(({ port }) => port));
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  const nodes = members.map(({ port }) => ({ host: HOST, port }));
  return { nodes, nodesEnv: nodes.map((n) => `${n.host}:${n.port}`).join(','), stop };
}
