// Fan-out throughput and latency of carecast across two nodes sharing one Redis, beside a bare
// `ws` + `ioredis` fan-out doing the same work, on one machine over loopback only.
//
//   npm run build && node bench/fanout.mjs [--unicast-clients 500] [--broadcast-clients 2000]
//       [--unicast-notifications 10000] [--broadcast-notifications 50] [--window 8]
//       [--transport tls|plain]
//
// Set-up: a private `redis-server` on a free loopback port (never 6379), no persistence,
// killed at the end. Clients connect to node A; notifications are published through node B's
// internal API, signed with `Carecast-Signature` exactly as docs/publishing.md describes, so
// every notification crosses Redis from B to A.
//
// Scenarios, the same for both systems:
// - unicast: N patients, each connected and subscribed to its own `patient:<id>` channel;
//   notifications in batches of 100 (one request each, `--window` requests in flight), each
//   batch addressing 100 different patients;
// - broadcast: one channel with thousands of subscribers. A doctor may subscribe only to
//   their own `doctor:` channel and MAX_CONNECTIONS_PER_USER is at most 1000, so the
//   subscribers are distinct doctors whose tokens carry the SMART launch context
//   `patient: pt-bcast0001`, all subscribed to `patient:pt-bcast0001`; batches of 10;
// - single: one notification at a time to one patient, the next sent once it arrived
//   (latency without load).
// deliveries/s = notification frames received by clients / (last receipt - first send).
// Latency = receipt time (Date.now() in the client) - the frame's `ts` (set by the node that
// accepted the publish, in ms), so it has millisecond resolution.
//
// Baseline: an HTTP(S) server with a `ws` WebSocketServer and one ioredis subscriber on ONE
// Redis channel. Clients connect (no ticket), send the same `subscribe` frame and get an
// ack; the publisher PUBLISHes the same notification frames (same size, `ts` at send) to
// that channel in pipelined batches, and the server sends each one, encoded once, to the
// sockets of the frame's channel. No signature, idempotency, authorization or audit.
//
// Threads: the servers (carecast nodes A and B, or the baseline server) run in the main
// thread; the clients and the publisher run in one worker thread, so the servers do not
// share their event loop with the clients. With `--transport plain` both systems speak
// plain HTTP/WebSocket (carecast as if behind a TLS-terminating proxy on 127.0.0.1).
// Every phase has a time budget and a watchdog ends the run after 88 s.
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import console from 'node:console';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { createConnection, createServer as createNetServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as delay } from 'node:timers/promises';
import { URL } from 'node:url';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Redis } from 'ioredis';
import { SignJWT } from 'jose';
import WebSocket, { WebSocketServer } from 'ws';

const HOST = '127.0.0.1';
const ORIGIN = 'https://bench.carecast.test';
const BROADCAST_PATIENT = 'pt-bcast0001';
const BASELINE_CHANNEL = 'bench-baseline:notifications';
const WATCHDOG_MS = 88_000;
const CONNECT_BUDGET_MS = 30_000;
const PHASE_BUDGET_MS = 12_000;
const SINGLE_COUNT = 200;
const CONNECT_CONCURRENCY = 32;
const UNICAST_BATCH = 100;
const BROADCAST_BATCH = 10;

if (isMainThread) await main();
else await clientWorker();

// ---------------------------------------------------------------------------------------
// Main thread: Redis, the servers, orchestration, the table.

async function main() {
  const { values } = parseArgs({
    options: {
      'unicast-clients': { type: 'string', default: '500' },
      'broadcast-clients': { type: 'string', default: '2000' },
      'unicast-notifications': { type: 'string', default: '10000' },
      'broadcast-notifications': { type: 'string', default: '50' },
      window: { type: 'string', default: '8' },
      transport: { type: 'string', default: 'tls' },
    },
  });
  const params = {
    unicastClients: positiveInt(values['unicast-clients'], '--unicast-clients'),
    broadcastClients: positiveInt(values['broadcast-clients'], '--broadcast-clients'),
    unicastNotifications: positiveInt(values['unicast-notifications'], '--unicast-notifications'),
    broadcastNotifications: positiveInt(
      values['broadcast-notifications'],
      '--broadcast-notifications',
    ),
    window: positiveInt(values.window, '--window'),
    transport: values.transport,
  };
  if (!['tls', 'plain'].includes(params.transport)) fail('--transport must be tls or plain');
  if (params.unicastClients < UNICAST_BATCH) {
    fail(`--unicast-clients must be at least ${UNICAST_BATCH}`);
  }

  // Imported here so the worker thread never loads the app.
  const { createApp } = await import('../dist/app.js');
  const { DEV_PUBLISHER_KEY_ID, DEV_TOKEN_AUDIENCE, DEV_TOKEN_ISSUER } =
    await import('../dist/config/config.types.js');
  const { describeProblems, parseConfig } = await import('../dist/config/parse-config.js');
  const { Bus } = await import('../dist/fanout/bus.js');
  const { publicTlsOptions } = await import('../dist/tls/public-tls-options.js');

  const redis = await startRedis();
  const cleanups = [];
  const watchdog = setTimeout(() => {
    console.error(`benchmark exceeded ${WATCHDOG_MS / 1000} s; stopping`);
    redis.kill();
    process.exit(1);
  }, WATCHDOG_MS);
  watchdog.unref();
  process.once('SIGINT', () => {
    redis.kill();
    process.exit(130);
  });

  const rows = [];
  try {
    // carecast: nodes A and B on the shared Redis.
    const secrets = {
      ticketSecret: randomBytes(32).toString('hex'),
      auditSigningKey: randomBytes(32).toString('hex'),
      accessTokenSecret: randomBytes(32).toString('hex'),
      publisherSecret: randomBytes(32).toString('hex'),
    };
    const prefix = `carecast-bench-${randomBytes(4).toString('hex')}:`;
    const startNode = async (nodeId) => {
      const auditDir = await mkdtemp(path.join(os.tmpdir(), `carecast-fanout-${nodeId}-`));
      cleanups.push(() => rm(auditDir, { recursive: true, force: true }));
      const parsed = parseConfig(
        {
          NODE_ENV: 'development',
          NODE_ID: nodeId,
          HOST,
          PORT: '0',
          INTERNAL_HOST: HOST,
          INTERNAL_PORT: '0',
          LOG_LEVEL: 'error',
          ALLOWED_ORIGINS: ORIGIN,
          AUDIT_DIR: auditDir,
          REDIS_URL: redis.url,
          REDIS_KEY_PREFIX: prefix,
          // Measure fan-out, not the limits: every client is a distinct user.
          MAX_CONNECTIONS_PER_USER: '5',
          RATE_TICKETS_PER_USER: '1000/60s',
          RATE_PUBLISH_PER_KEY: '1000000/1s',
          ...(params.transport === 'plain'
            ? { TLS_TERMINATED_BY_PROXY: 'true', TRUSTED_PROXIES: HOST }
            : {}),
        },
        { hostname: os.hostname(), pid: process.pid, devSecrets: secrets },
      );
      if (!parsed.ok) throw new Error(describeProblems(parsed.problems));
      const app = await createApp(parsed.config, { logDestination: { write: () => undefined } });
      cleanups.push(() => app.shutdown());
      await waitReady(`http://${HOST}:${app.internalPort}/readyz`);
      return app;
    };
    const nodeA = await startNode('bench-a');
    const nodeB = await startNode('bench-b');
    const scheme = params.transport === 'tls' ? 'https' : 'http';
    const carecast = await runScenarios('carecast', params, {
      mode: 'carecast',
      transport: params.transport,
      publicUrl: `${scheme}://${HOST}:${nodeA.publicPort}`,
      internalUrl: `http://${HOST}:${nodeB.internalPort}`,
      accessTokenSecret: secrets.accessTokenSecret,
      tokenIssuer: DEV_TOKEN_ISSUER,
      tokenAudience: DEV_TOKEN_AUDIENCE,
      publisherKid: DEV_PUBLISHER_KEY_ID,
      publisherSecret: secrets.publisherSecret,
      // Every follow of node A is in effect in Redis before anything is published.
      settle: () => nodeA.nest.get(Bus).flushed(),
    });
    await runCleanups(cleanups);

    // Baseline: ws + ioredis on one Redis channel, same clients, same frames.
    const tls =
      params.transport === 'tls'
        ? await publicTlsOptions({ kind: 'self-signed' }, { warn: () => undefined })
        : null;
    const baseline = await startBaseline(tls, redis.url);
    cleanups.push(() => baseline.stop());
    const bare = await runScenarios('bare ws + ioredis', params, {
      mode: 'baseline',
      transport: params.transport,
      publicUrl: `${params.transport === 'tls' ? 'https' : 'http'}://${HOST}:${baseline.port}`,
      redisUrl: redis.url,
      settle: () => baseline.settled(),
    });
    rows.push(...bare.rows, ...carecast.rows);
    printTable(params, rows);
    for (const [system, { connect }] of [
      ['bare ws + ioredis', bare],
      ['carecast', carecast],
    ]) {
      console.log(
        `${system}: connected and subscribed ${connect.unicast.connected + connect.broadcast.connected} clients ` +
          `at ${connect.unicast.perSecond.toFixed(0)}/s (unicast) and ${connect.broadcast.perSecond.toFixed(0)}/s (broadcast)`,
      );
    }
  } finally {
    await runCleanups(cleanups);
    await redis.stop();
    clearTimeout(watchdog);
  }
}

/** One system: a fresh client worker connects everyone, then the three publish phases. */
async function runScenarios(system, params, target) {
  const { settle, ...init } = target;
  const worker = startWorker({ ...init, window: params.window });
  try {
    const unicast = await worker.call('connect', {
      group: 'unicast',
      count: params.unicastClients,
    });
    const broadcast = await worker.call('connect', {
      group: 'broadcast',
      count: params.broadcastClients,
    });
    for (const [group, r] of [
      ['unicast', unicast],
      ['broadcast', broadcast],
    ]) {
      if (r.failed > 0 || r.connected === 0) {
        throw new Error(`${system}: ${r.failed} ${group} clients failed to connect: ${r.error}`);
      }
    }
    await settle();
    // Warm-up (JIT, keep-alive sockets, Redis scripts), not reported.
    await worker.call('unicast', { notifications: 1000, batch: UNICAST_BATCH });
    await worker.call('broadcast', { notifications: 5, batch: BROADCAST_BATCH });
    const rows = [
      [
        system,
        `unicast, ${params.unicastClients} channels, batches of ${UNICAST_BATCH}`,
        await worker.call('unicast', {
          notifications: params.unicastNotifications,
          batch: UNICAST_BATCH,
        }),
      ],
      [
        system,
        `broadcast, 1 channel x ${params.broadcastClients}, batches of ${BROADCAST_BATCH}`,
        await worker.call('broadcast', {
          notifications: params.broadcastNotifications,
          batch: BROADCAST_BATCH,
        }),
      ],
      [system, 'single, one at a time', await worker.call('single', { count: SINGLE_COUNT })],
    ];
    return { rows, connect: { unicast, broadcast } };
  } finally {
    await worker.close();
  }
}

function startWorker(init) {
  const worker = new Worker(new URL(import.meta.url), { workerData: init });
  const pending = new Map();
  let seq = 0;
  let dead = null;
  worker.on('message', ({ id, ok, result, error }) => {
    const p = pending.get(id);
    pending.delete(id);
    if (ok) p?.resolve(result);
    else p?.reject(new Error(error));
  });
  worker.on('error', (error) => {
    dead = error;
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  });
  return {
    call(cmd, args = {}) {
      if (dead) return Promise.reject(dead);
      const id = ++seq;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, cmd, args });
      });
    },
    async close() {
      if (!dead) await this.call('close').catch(() => undefined);
      await worker.terminate();
    },
  };
}

async function runCleanups(cleanups) {
  while (cleanups.length > 0) {
    const cleanup = cleanups.pop();
    await cleanup().catch((error) => console.error(`cleanup failed: ${error.message}`));
  }
}

/** A private redis-server on a free loopback port, without persistence. */
async function startRedis() {
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
      ],
      { stdio: 'ignore' },
    );
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
      return {
        url: `redis://${HOST}:${port}`,
        kill: () => child.kill('SIGKILL'),
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
    if (error instanceof Error) fail(`cannot start redis-server: ${error.message}`);
  }
  fail('redis-server did not start on a free port');
}

function freePort() {
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

async function waitReady(url) {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const res = await send(url, 'GET', {}, '', undefined, http).catch(() => null);
    if (res?.status === 200) return;
    if (performance.now() > deadline) throw new Error(`${url} not ready within 10 s`);
    await delay(50);
  }
}

/**
 * The bare fan-out: ws server, one Redis subscriber on one channel, channel -> sockets map.
 * Each frame is encoded once and the same buffer is sent to every socket of its channel.
 */
async function startBaseline(tls, redisUrl) {
  const server = tls
    ? https.createServer(tls, (_req, res) => res.writeHead(404).end())
    : http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 4096,
    handleProtocols: (offered) => (offered.has('carecast.v1') ? 'carecast.v1' : false),
  });
  const byChannel = new Map();
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      const mine = new Set();
      ws.on('error', () => ws.terminate());
      ws.on('message', (data) => {
        const frame = JSON.parse(String(data));
        if (frame.type !== 'subscribe') return;
        let sockets = byChannel.get(frame.channel);
        if (!sockets) byChannel.set(frame.channel, (sockets = new Set()));
        sockets.add(ws);
        mine.add(frame.channel);
        ws.send(JSON.stringify({ type: 'ack', id: frame.id }));
      });
      ws.on('close', () => {
        for (const channel of mine) byChannel.get(channel)?.delete(ws);
      });
      ws.send(JSON.stringify({ type: 'welcome' }));
    });
  });
  const subscriber = new Redis(redisUrl, { lazyConnect: true });
  await subscriber.connect();
  const subscribed = subscriber.subscribe(BASELINE_CHANNEL);
  subscriber.on('message', (_channel, payload) => {
    // Frames start {"type":"notification","channel":"<channel>",...
    const start = payload.indexOf('"channel":"') + 11;
    const sockets = byChannel.get(payload.slice(start, payload.indexOf('"', start)));
    if (!sockets) return;
    const buffer = Buffer.from(payload);
    for (const ws of sockets) {
      if (ws.readyState === ws.OPEN) ws.send(buffer, { binary: false });
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, resolve);
  });
  return {
    port: server.address().port,
    settled: () => subscribed,
    stop: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      subscriber.disconnect();
    },
  };
}

function printTable(params, rows) {
  const header = [
    'system',
    'scenario',
    'notifications',
    'deliveries',
    'deliveries/s',
    'p50 ms',
    'p99 ms',
  ];
  const lines = rows.map(([system, scenario, r]) => [
    system,
    scenario,
    String(r.notifications),
    `${r.delivered}${r.delivered < r.expected ? ` of ${r.expected}` : ''}`,
    r.single ? '-' : r.perSecond.toFixed(0),
    String(r.p50),
    String(r.p99),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const frameBytes = rows[0][2].frameBytes;
  console.log(
    `fan-out: clients on node A, publishes through node B, one Redis; ${params.transport === 'tls' ? 'wss (TLS)' : 'plain ws'}, loopback, ` +
      `node ${process.version}, ${os.cpus().length} CPUs, frames of ${frameBytes} bytes, ` +
      `${params.window} publish requests in flight`,
  );
  console.log(format(header));
  console.log(format(widths.map((w) => '-'.repeat(w))));
  for (const line of lines) console.log(format(line));
  const find = (system, prefix) =>
    rows.find(([s, scenario]) => s === system && scenario.startsWith(prefix))?.[2];
  for (const scenario of ['unicast', 'broadcast']) {
    const bare = find('bare ws + ioredis', scenario);
    const carecast = find('carecast', scenario);
    if (bare && carecast) {
      console.log(
        `${scenario}: carecast delivers at ${((carecast.perSecond / bare.perSecond) * 100).toFixed(0)}% of the bare rate`,
      );
    }
  }
  for (const [system, scenario, r] of rows) {
    if (r.error) console.log(`${system} ${scenario}: ${r.error}`);
  }
  if (rows.some(([, , r]) => r.delivered < r.expected || r.error)) process.exitCode = 1;
}

function positiveInt(value, flag) {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) fail(`${flag} must be a positive whole number`);
  return n;
}

function fail(message) {
  console.error(message);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------
// Worker thread: clients and the publisher.

async function clientWorker() {
  const init = workerData;
  const runTag = randomBytes(3).toString('hex');
  const secure = init.transport === 'tls';
  const wsUrl = `${init.publicUrl.replace(/^http/, 'ws')}/v1/ws`;
  // Behind the "proxy" of --transport plain, carecast needs to be told the client used TLS.
  const proxyHeaders = secure ? {} : { 'x-forwarded-proto': 'https' };
  const ticketAgent = new (secure ? https : http).Agent({
    keepAlive: true,
    maxSockets: CONNECT_CONCURRENCY,
    rejectUnauthorized: false,
  });
  const publishAgent = new http.Agent({ keepAlive: true, maxSockets: init.window });
  const publisher = init.mode === 'baseline' ? new Redis(init.redisUrl) : null;
  const clients = { unicast: [], broadcast: [] };
  let sink = null;
  let eventSeq = 0;
  let frameBytes = 0;

  const commands = {
    connect: ({ group, count }) => connectGroup(group, count),
    unicast: ({ notifications, batch }) =>
      phase(notifications, batch, (k) => clients.unicast[k % clients.unicast.length].channel, 1),
    broadcast: ({ notifications, batch }) =>
      phase(notifications, batch, () => `patient:${BROADCAST_PATIENT}`, clients.broadcast.length),
    single: ({ count }) => single(count),
    close: async () => {
      for (const c of [...clients.unicast, ...clients.broadcast]) c.ws.terminate();
      ticketAgent.destroy();
      publishAgent.destroy();
      publisher?.disconnect();
    },
  };
  parentPort.on('message', async ({ id, cmd, args }) => {
    try {
      parentPort.postMessage({ id, ok: true, result: await commands[cmd](args) });
    } catch (error) {
      parentPort.postMessage({ id, ok: false, error: String(error?.stack ?? error) });
    }
  });

  async function connectGroup(group, count) {
    const t0 = performance.now();
    const deadline = t0 + CONNECT_BUDGET_MS;
    let next = 0;
    let failed = 0;
    let error = null;
    const worker = async () => {
      while (next < count && performance.now() < deadline) {
        const i = next++;
        const who =
          group === 'unicast'
            ? { role: 'patient', id: `pt-u${String(i).padStart(7, '0')}` }
            : {
                role: 'doctor',
                id: `dr-b${String(i).padStart(7, '0')}`,
                patient: BROADCAST_PATIENT,
              };
        const channel = group === 'unicast' ? `patient:${who.id}` : `patient:${BROADCAST_PATIENT}`;
        // One retry, with a new ticket: a keep-alive socket the server just closed (ECONNRESET)
        // is not the gateway refusing the client.
        for (let attempt = 1; ; attempt += 1) {
          try {
            clients[group].push(await connectClient(who, channel));
            break;
          } catch (e) {
            if (attempt < 2) continue;
            failed += 1;
            error ??= e.message;
            break;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, worker));
    const seconds = (performance.now() - t0) / 1000;
    failed += count - next;
    return { connected: clients[group].length, failed, error, perSecond: count / seconds };
  }

  async function connectClient(who, channel) {
    const protocols = ['carecast.v1'];
    if (init.mode === 'carecast') protocols.push(`ticket.${await ticket(who)}`);
    const ws = new WebSocket(wsUrl, protocols, {
      origin: ORIGIN,
      headers: proxyHeaders,
      rejectUnauthorized: false,
      perMessageDeflate: false,
      handshakeTimeout: 5000,
    });
    const client = { ws, channel, waiter: null };
    ws.on('message', (data) => onFrame(client, data));
    ws.on('error', () => undefined);
    await new Promise((resolve, reject) => {
      client.waiter = { type: 'welcome', resolve, reject };
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        reject(new Error(`upgrade answered ${res.statusCode}`));
      });
      ws.once('error', reject);
      ws.once('close', (code) => reject(new Error(`closed ${code} before welcome`)));
    });
    const acked = new Promise((resolve, reject) => {
      client.waiter = { type: 'ack', resolve, reject };
    });
    ws.send(JSON.stringify({ type: 'subscribe', id: 's1', channel }));
    await acked;
    ws.removeAllListeners('close');
    ws.on('close', (code) => {
      if (sink) sink.error ??= `a client was closed with ${code}`;
    });
    return client;
  }

  function onFrame(client, data) {
    const frame = JSON.parse(String(data));
    if (frame.type === 'notification') {
      if (!sink) return;
      frameBytes = data.length;
      sink.latencies.push(Date.now() - frame.ts);
      sink.received += 1;
      if (sink.received >= sink.expected) sink.done();
      return;
    }
    const waiter = client.waiter;
    if (!waiter) return;
    client.waiter = null;
    if (frame.type === waiter.type) waiter.resolve(frame);
    else waiter.reject(new Error(`expected ${waiter.type}, got ${JSON.stringify(frame)}`));
  }

  async function ticket(who) {
    const now = Math.floor(Date.now() / 1000);
    const claims = who.patient ? { role: who.role, patient: who.patient } : { role: who.role };
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(init.tokenIssuer)
      .setAudience(init.tokenAudience)
      .setSubject(who.id)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(Buffer.from(init.accessTokenSecret));
    const res = await send(
      `${init.publicUrl}/v1/tickets`,
      'POST',
      { authorization: `Bearer ${token}`, origin: ORIGIN, ...proxyHeaders },
      '',
      ticketAgent,
      secure ? https : http,
    );
    if (res.status !== 201) throw new Error(`ticket request answered ${res.status} ${res.body}`);
    return JSON.parse(res.body).ticket;
  }

  /** Publishes `count` notifications in batches, `window` batches in flight; waits for delivery. */
  async function phase(count, batchSize, channelOf, subscribersPerNotification) {
    const expected = count * subscribersPerNotification;
    const done = openSink(expected);
    const t0 = performance.now();
    const deadline = t0 + PHASE_BUDGET_MS;
    let next = 0;
    let error = null;
    const sender = async () => {
      while (next < count && performance.now() < deadline && !error) {
        const batch = [];
        for (; batch.length < batchSize && next < count; next += 1)
          batch.push(notification(channelOf(next)));
        try {
          await publish(batch);
        } catch (e) {
          error ??= e.message;
        }
      }
    };
    await Promise.all(Array.from({ length: init.window }, sender));
    const remaining = deadline - performance.now();
    if (!error && remaining > 0) await Promise.race([done, delay(remaining)]);
    return closeSink({ notifications: next, expected, t0, error });
  }

  /** One notification at a time: latency without load. */
  async function single(count) {
    const latencies = [];
    const deadline = performance.now() + PHASE_BUDGET_MS;
    let delivered = 0;
    let error = null;
    for (let k = 0; k < count && performance.now() < deadline && !error; k += 1) {
      const done = openSink(1);
      try {
        await publish([notification(clients.unicast[k % clients.unicast.length].channel)]);
        await Promise.race([done, delay(1000).then(() => Promise.reject(new Error('lost')))]);
        delivered += 1;
        latencies.push(...sink.latencies);
      } catch (e) {
        error = e.message;
      }
      sink = null;
    }
    return {
      single: true,
      notifications: count,
      expected: count,
      delivered,
      ...quantiles(latencies),
      frameBytes,
      error,
    };
  }

  function openSink(expected) {
    let resolveDone;
    const done = new Promise((resolve) => (resolveDone = resolve));
    sink = {
      expected,
      received: 0,
      latencies: [],
      lastAt: 0,
      error: null,
      done: () => {
        sink.lastAt = performance.now();
        resolveDone();
      },
    };
    return done;
  }

  function closeSink({ notifications, expected, t0, error }) {
    const s = sink;
    sink = null;
    const end = s.received >= expected ? s.lastAt : performance.now();
    return {
      notifications,
      expected,
      delivered: s.received,
      perSecond: s.received / ((end - t0) / 1000),
      ...quantiles(s.latencies),
      frameBytes,
      error: error ?? s.error,
    };
  }

  function notification(channel) {
    eventSeq += 1;
    return {
      id: `evt-${runTag}-${String(eventSeq).padStart(8, '0')}`,
      channel,
      kind: 'appointment.updated',
      ref: 'apt-9x8c7v6b',
    };
  }

  async function publish(batch) {
    if (init.mode === 'baseline') {
      // The same frame carecast sends: same keys, same order, `ts` at publish time.
      const ts = Date.now();
      const pipeline = publisher.pipeline();
      for (const n of batch) {
        const frame = {
          type: 'notification',
          channel: n.channel,
          id: n.id,
          kind: n.kind,
          ref: n.ref,
          ts,
        };
        pipeline.publish(BASELINE_CHANNEL, JSON.stringify(frame));
      }
      const replies = await pipeline.exec();
      const failed = replies.find(([err]) => err);
      if (failed) throw failed[0];
      return;
    }
    const body = JSON.stringify(batch.length === 1 ? batch[0] : { notifications: batch });
    const pathname = '/internal/v1/notifications';
    const t = Math.floor(Date.now() / 1000);
    const v1 = createHmac('sha256', init.publisherSecret)
      .update(`${t}.POST.${pathname}.${body}`)
      .digest('hex');
    const res = await send(
      init.internalUrl + pathname,
      'POST',
      {
        'content-type': 'application/json',
        'carecast-signature': `t=${t},kid=${init.publisherKid},v1=${v1}`,
      },
      body,
      publishAgent,
      http,
    );
    if (res.status !== 202) throw new Error(`publish answered ${res.status} ${res.body}`);
  }
}

function send(url, method, headers, body, agent, transport) {
  return new Promise((resolve, reject) => {
    const req = transport.request(
      url,
      {
        method,
        agent,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        timeout: 5000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode, body: text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

function quantiles(values) {
  if (values.length === 0) return { p50: Number.NaN, p99: Number.NaN };
  const sorted = Float64Array.from(values).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { p50: at(0.5), p99: at(0.99) };
}
