// Connections per second for carecast's ticket-plus-upgrade handshake against a bare `wss`
// upgrade on the same machine, in one process, over loopback only.
//
//   npm run build && node bench/connect.mjs [--connections 500] [--concurrency 20]
//                                          [--redis-url redis://127.0.0.1:6379] [--fresh-tls]
//
// carecast: POST /v1/tickets with a pre-minted access token (over a keep-alive HTTPS
// connection, as a browser would reuse one), then a new TLS connection with the
// `carecast.v1, ticket.<ticket>` upgrade, then close. Without --redis-url the node runs in
// embedded mode (in-memory stores); with it, tickets, limits and slots go through Redis.
// Baseline: https.createServer + ws WebSocketServer({ noServer: true }) accepting every
// upgrade, with the same kind of self-signed certificate the node generates.
// The handshake time of one connection runs from its first request to the `open` event.
//
// The client behaves as a browser does, for both systems: one TLS client context, and every
// new TLS connection resumes the last session the server handed out for its host and port
// (TLS 1.3 session tickets), whichever connection (ticket request or WebSocket) received it.
// --fresh-tls makes every WebSocket connection a full handshake with a new client context
// instead (what `ws` does by default, and what this benchmark measured before). The table
// reports the servers' TLS handshakes per connection, full and resumed, so it shows which.
// With --redis-url, the carecast row also counts the node's Redis commands per connection
// (each one a round trip and a socket write; a script counts once, whatever it calls inside)
// and the Redis server's own CPU per connection (INFO cpu; the Redis must be private to the
// run), which the process's CPU figure leaves out and the bare server never spends.
// Every phase has a time budget, so the whole run stays under a minute.
import { Buffer } from 'node:buffer';
import console from 'node:console';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, createServer, request } from 'node:https';
import { connect as tlsConnect, createSecureContext } from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { setTimeout as delay } from 'node:timers/promises';
import { URL } from 'node:url';
import { parseArgs } from 'node:util';
import { Command } from 'ioredis';
import { SignJWT } from 'jose';
import WebSocket, { WebSocketServer } from 'ws';
import { createApp } from '../dist/app.js';
import { DEV_TOKEN_AUDIENCE, DEV_TOKEN_ISSUER } from '../dist/config/config.types.js';
import { describeProblems, parseConfig } from '../dist/config/parse-config.js';
import { RedisService } from '../dist/redis/redis.service.js';
import { publicTlsOptions } from '../dist/tls/public-tls-options.js';

const HOST = '127.0.0.1';
const ORIGIN = 'https://bench.carecast.test';
/** Per measured phase; warm-up, two phases and start/stop stay well under 60 s. */
const PHASE_BUDGET_MS = 20_000;
const WARMUP_BUDGET_MS = 5_000;
const READY_BUDGET_MS = 5_000;

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '20' },
    'redis-url': { type: 'string' },
    'fresh-tls': { type: 'boolean', default: false },
  },
});
const total = positiveInt(values.connections, '--connections');
const concurrency = positiveInt(values.concurrency, '--concurrency');
const redisUrl = values['redis-url'];
const freshTls = values['fresh-tls'];
/** The client's TLS context, shared by every connection unless --fresh-tls. */
const clientContext = createSecureContext();
/** Per `host:port`: the newest TLS session a server handed out (unless --fresh-tls). */
const sessions = new Map();
/** Client-side times of the carecast phase's two steps, for the table. */
const splits = { ticket: [], upgrade: [] };
if (redisUrl !== undefined && !isLoopbackRedis(redisUrl)) {
  fail('--redis-url must point at a loopback Redis (127.0.0.1, ::1 or localhost)');
}

const secrets = {
  ticketSecret: randomBytes(32).toString('hex'),
  auditSigningKey: randomBytes(32).toString('hex'),
  accessTokenSecret: randomBytes(32).toString('hex'),
  publisherSecret: randomBytes(32).toString('hex'),
};
const auditDir = await mkdtemp(path.join(os.tmpdir(), 'carecast-bench-'));
const parsed = parseConfig(
  {
    NODE_ENV: 'development',
    NODE_ID: `bench-${process.pid}`,
    HOST,
    PORT: '0',
    INTERNAL_PORT: '0',
    LOG_LEVEL: 'error',
    ALLOWED_ORIGINS: ORIGIN,
    AUDIT_DIR: auditDir,
    // The benchmark measures the handshake, not the limits: one user per worker, never limited.
    RATE_TICKETS_PER_USER: `${total * 10}/60s`,
    MAX_CONNECTIONS_PER_USER: '5',
    ...(redisUrl
      ? {
          REDIS_URL: redisUrl,
          REDIS_KEY_PREFIX: `carecast-bench-${randomBytes(4).toString('hex')}:`,
        }
      : {}),
  },
  { hostname: os.hostname(), pid: process.pid, devSecrets: secrets },
);
if (!parsed.ok) fail(describeProblems(parsed.problems));
const config = parsed.config;

const discard = { write: () => undefined };
const app = await createApp(config, { logDestination: discard });
const baseline = await startBaseline(await publicTlsOptions({ kind: 'self-signed' }, app.logger));
const nodeHandshakes = countHandshakes(app.nest.getHttpServer());
const keepAlive = new Agent({
  keepAlive: true,
  maxSockets: concurrency,
  rejectUnauthorized: false,
  ...(freshTls ? {} : { secureContext: clientContext }),
});

try {
  if (redisUrl) await waitForRedis(app);
  const tokens = await Promise.all(
    Array.from({ length: concurrency }, (_, i) =>
      accessToken(`dr-bench${String(i).padStart(4, '0')}`),
    ),
  );
  const nodeUrl = `https://${HOST}:${app.publicPort}`;
  const carecast = (worker) => ticketAndUpgrade(nodeUrl, tokens[worker]);
  const bare = () => upgrade(`wss://${HOST}:${baseline.port}/v1/ws`, ['carecast.v1']);

  // Warm-up: TLS session machinery, JIT, keep-alive sockets, Redis scripts.
  await run(bare, concurrency * 2, WARMUP_BUDGET_MS);
  await run(carecast, concurrency * 2, WARMUP_BUDGET_MS);

  const redisCounts = redisUrl ? countRedis(app) : null;
  const measured = async (handshakes, connect, redis = null) => {
    handshakes.reset();
    await redis?.reset();
    splits.ticket.length = 0;
    splits.upgrade.length = 0;
    const cpu = process.cpuUsage();
    const r = await run(connect, total, PHASE_BUDGET_MS);
    const used = process.cpuUsage(cpu);
    // Client and server share this process: CPU time per connection covers both, and unlike
    // the rate it does not move with the other load on the machine.
    r.cpuUsPerConn = (used.user + used.system) / Math.max(1, r.ok);
    r.handshakes = handshakes.read();
    r.redis = redis ? await redis.read(Math.max(1, r.ok)) : null;
    r.ticketP50 = quantile(
      splits.ticket.sort((a, b) => a - b),
      0.5,
    );
    r.upgradeP50 = quantile(
      splits.upgrade.sort((a, b) => a - b),
      0.5,
    );
    return r;
  };
  const rows = [
    ['bare wss upgrade', await measured(baseline.handshakes, bare)],
    [
      `ticket + upgrade (${redisUrl ? 'Redis' : 'embedded'})`,
      await measured(nodeHandshakes, carecast, redisCounts),
    ],
  ];
  printTable(rows);
} finally {
  keepAlive.destroy();
  await baseline.stop();
  await app.shutdown();
  await rm(auditDir, { recursive: true, force: true });
}

/** Runs `total` connections, `concurrency` at a time, until done or the budget is spent. */
async function run(connectOnce, count, budgetMs) {
  const durations = [];
  let started = 0;
  let failures = 0;
  let firstError = null;
  const deadline = performance.now() + budgetMs;
  const t0 = performance.now();
  const worker = async (id) => {
    while (started < count && performance.now() < deadline) {
      started += 1;
      const t = performance.now();
      try {
        await connectOnce(id);
        durations.push(performance.now() - t);
      } catch (error) {
        failures += 1;
        firstError ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, (_, id) => worker(id)));
  const seconds = (performance.now() - t0) / 1000;
  durations.sort((a, b) => a - b);
  return {
    ok: durations.length,
    failures,
    firstError: firstError ? String(firstError.message ?? firstError) : null,
    perSecond: durations.length / seconds,
    p50: quantile(durations, 0.5),
    p99: quantile(durations, 0.99),
    truncated: started < count,
  };
}

async function ticketAndUpgrade(nodeUrl, token) {
  const t0 = performance.now();
  const res = await post(`${nodeUrl}/v1/tickets`, token);
  if (res.status !== 201) throw new Error(`ticket request answered ${res.status} ${res.body}`);
  const { ticket, url } = JSON.parse(res.body);
  if (!url.endsWith('/v1/ws')) throw new Error(`unexpected ws url ${url}`);
  const t1 = performance.now();
  await upgrade(`${nodeUrl.replace(/^https:/, 'wss:')}/v1/ws`, ['carecast.v1', `ticket.${ticket}`]);
  splits.ticket.push(t1 - t0);
  splits.upgrade.push(performance.now() - t1);
}

/**
 * A TLS connection as a browser opens it: the shared client context, resuming the newest
 * session this host:port handed out; with --fresh-tls, a full handshake and a new context.
 */
function browserLikeTls(options) {
  const key = `${options.host}:${options.port}`;
  const socket = tlsConnect({
    ...options,
    servername: '',
    ...(freshTls ? {} : { secureContext: clientContext, session: sessions.get(key) }),
  });
  if (!freshTls) socket.on('session', (session) => sessions.set(key, session));
  return socket;
}

/** The server's TLS handshakes, full and resumed, since the last reset. */
function countHandshakes(server) {
  let full = 0;
  let resumed = 0;
  server.on('secureConnection', (socket) => {
    if (socket.isSessionReused()) resumed += 1;
    else full += 1;
  });
  return {
    reset: () => {
      full = 0;
      resumed = 0;
    },
    read: () => ({ full, resumed }),
  };
}

function post(url, token) {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent: keepAlive,
        headers: { authorization: `Bearer ${token}`, origin: ORIGIN, 'content-length': '0' },
        timeout: 5000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('ticket request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Opens a wss connection on a fresh TLS connection, then closes it and waits for the close. */
function upgrade(url, protocols) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, {
      origin: ORIGIN,
      rejectUnauthorized: false,
      perMessageDeflate: false,
      handshakeTimeout: 5000,
      createConnection: browserLikeTls,
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      ws.terminate();
      reject(new Error(`upgrade answered ${res.statusCode}`));
    });
    ws.once('error', reject);
    ws.once('open', () => {
      if (ws.protocol !== 'carecast.v1') {
        ws.terminate();
        reject(new Error(`server selected ${JSON.stringify(ws.protocol)}`));
        return;
      }
      ws.once('close', () => resolve());
      ws.close(1000);
    });
  });
}

async function startBaseline(tls) {
  // Key material only: the baseline keeps Node's https defaults (such as the ALPN list).
  const server = createServer(
    { cert: tls.cert, key: tls.key, minVersion: tls.minVersion },
    (_req, res) => res.writeHead(404).end(),
  );
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered) => (offered.has('carecast.v1') ? 'carecast.v1' : false),
  });
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('error', () => ws.terminate()));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, resolve);
  });
  return {
    port: server.address().port,
    handshakes: countHandshakes(server),
    stop: () =>
      new Promise((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function accessToken(id) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: 'doctor' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(DEV_TOKEN_ISSUER)
    .setAudience(DEV_TOKEN_AUDIENCE)
    .setSubject(id)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(Buffer.from(secrets.accessTokenSecret));
}

/**
 * The node's Redis commands, by name, counted where ioredis sends them on the command
 * connection, and the Redis server's CPU time (INFO cpu), between reset() and read().
 */
function countRedis(carecastApp) {
  const client = carecastApp.nest.get(RedisService).client;
  const send = client.sendCommand.bind(client);
  const counts = new Map();
  client.sendCommand = (command, ...rest) => {
    counts.set(command.name, (counts.get(command.name) ?? 0) + 1);
    return send(command, ...rest);
  };
  const cpuSeconds = async () => {
    const info = await send(new Command('info', ['cpu'], { replyEncoding: 'utf8' }));
    const field = (name) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? NaN);
    return field('used_cpu_user') + field('used_cpu_sys');
  };
  let cpuAtReset = 0;
  return {
    reset: async () => {
      counts.clear();
      cpuAtReset = await cpuSeconds();
    },
    read: async (connections) => {
      const cpuUs = ((await cpuSeconds()) - cpuAtReset) * 1e6;
      const byName = Object.fromEntries(
        [...counts].sort().map(([name, n]) => [name, n / connections]),
      );
      const commands = [...counts.values()].reduce((a, b) => a + b, 0) / connections;
      return { commands, cpuUs: cpuUs / connections, byName };
    },
  };
}

async function waitForRedis(carecastApp) {
  const redis = carecastApp.nest.get(RedisService);
  const deadline = performance.now() + READY_BUDGET_MS;
  while (!redis.isReady()) {
    if (performance.now() > deadline)
      throw new Error(`Redis not ready within ${READY_BUDGET_MS} ms`);
    await delay(50);
  }
}

function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

function printTable(rows) {
  const header = [
    'scenario',
    'conns',
    'failed',
    'conn/s',
    'p50 ms',
    'p99 ms',
    'ticket / upgrade p50 ms',
    'CPU µs/conn',
    'Redis cmds / CPU µs per conn',
    'TLS full / resumed per conn',
  ];
  const perConn = (n, r) => (n / Math.max(1, r.ok + r.failures)).toFixed(2);
  const lines = rows.map(([name, r]) => [
    name,
    `${r.ok}${r.truncated ? ' (time budget hit)' : ''}`,
    String(r.failures),
    r.perSecond.toFixed(0),
    r.p50.toFixed(2),
    r.p99.toFixed(2),
    Number.isNaN(r.ticketP50) ? '-' : `${r.ticketP50.toFixed(2)} / ${r.upgradeP50.toFixed(2)}`,
    r.cpuUsPerConn.toFixed(0),
    r.redis ? `${r.redis.commands.toFixed(2)} / ${r.redis.cpuUs.toFixed(0)}` : '-',
    `${perConn(r.handshakes.full, r)} / ${perConn(r.handshakes.resumed, r)}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(
    `connections=${total} concurrency=${concurrency} node ${process.version}, loopback, TLS, ` +
      (freshTls
        ? 'fresh TLS handshakes (--fresh-tls)'
        : 'browser-like client (TLS sessions resumed)'),
  );
  console.log(format(header));
  console.log(format(widths.map((w) => '-'.repeat(w))));
  for (const line of lines) console.log(format(line));
  const [, bareRow] = rows[0];
  const [, carecastRow] = rows[1];
  console.log(
    `ticket + upgrade runs at ${((carecastRow.perSecond / bareRow.perSecond) * 100).toFixed(0)}% of the bare upgrade rate; ` +
      `CPU per connection ${(carecastRow.cpuUsPerConn / bareRow.cpuUsPerConn).toFixed(2)}x bare's`,
  );
  if (carecastRow.redis) {
    const names = Object.entries(carecastRow.redis.byName)
      .map(([name, n]) => `${name} ${n.toFixed(2)}`)
      .join(', ');
    console.log(`Redis commands per connection (node's command connection): ${names}`);
  }
  for (const [name, r] of rows) {
    if (r.firstError) console.log(`${name}: first failure: ${r.firstError}`);
  }
  if (rows.some(([, r]) => r.failures > 0 || r.truncated)) process.exitCode = 1;
}

function positiveInt(value, flag) {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) fail(`${flag} must be a positive whole number`);
  return n;
}

function isLoopbackRedis(url) {
  try {
    const { protocol, hostname } = new URL(url);
    return (
      ['redis:', 'rediss:'].includes(protocol) &&
      ['127.0.0.1', '[::1]', 'localhost'].includes(hostname)
    );
  } catch {
    return false;
  }
}

function fail(message) {
  console.error(message);
  process.exit(2);
}
