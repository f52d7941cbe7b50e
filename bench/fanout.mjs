// Fan-out throughput, latency, loss and memory of carecast beside a bare `ws` + `ioredis`
// fan-out doing the same work (and, with --compare socketio, Socket.IO with its Redis
// adapter), on one machine over loopback only, in one run: only the ratios between them mean
// anything on a shared machine.
//
//   npm run build && node bench/fanout.mjs [options]
//     --loop closed|open|both     closed (default): `--window` requests in flight, each sent
//                                 when one returns; open: a fixed offered rate, stepping up
//                                 until delivery falls behind (see OPEN LOOP below)
//     --processes <n>|cores       each server its own process, n of them (`cores`: one per
//                                 CPU); clients and publishes spread round-robin over them.
//                                 Without it: carecast nodes A (clients) and B (publishes) in
//                                 this process's main thread, the baseline likewise.
//     --memory <n>                only: resident memory per idle wss connection, n clients
//                                 (after a warm-up group of min(500, n/4), see measureMemory)
//                                 on one server process per system (RSS delta after a full GC,
//                                 read inside the server process)
//     --heap-snapshot <dir>       with --memory: a heap snapshot of each server process
//                                 before and after the clients connect, into <dir>
//                                 (compare with bench/fanout/heap-diff.mjs)
//     --profile <dir>             with --processes (or --memory: of the measured connects)
//                                 a CPU profile of every server process
//                                 over the measured phases (after warm-up) into <dir>
//                                 (summarise with bench/fanout/profile-summary.mjs), and Redis
//                                 INFO commandstats / LATENCY LATEST over the same phases
//     --compare socketio          also run the Socket.IO comparison server (after carecast and
//                                 the bare baseline; see SOCKET.IO below), in every mode
//     --unicast-clients 500  --broadcast-clients 2000  --unicast-notifications 10000
//     --broadcast-notifications 50  --window 8  --transport tls|plain
//     --open-rates 5000,10000,20000,30000,40000,60000,80000,120000   unicast steps, notifications/s
//     --open-broadcast-rates 25,50,100,200               broadcast steps, notifications/s
//     --open-seconds 2  --fixed-rate 5000
//
// Set-up: a private `redis-server` on a free loopback port (never 6379), no persistence,
// killed at the end. Notifications are published through carecast's internal API, signed
// with `Carecast-Signature` exactly as docs/publishing.md describes; every notification
// crosses Redis (the channel log's script publishes it, the nodes following the channel
// receive it), whichever node took the request.
//
// Scenarios, the same for both systems:
// - unicast: N patients, each connected and subscribed to its own `patient:<id>` channel;
//   requests of 100 notifications, each addressing 100 different patients;
// - broadcast: one channel with thousands of subscribers: distinct doctors whose tokens carry
//   the SMART launch context `patient: pt-bcast0001`, all subscribed to that channel;
//   requests of 10 notifications;
// - single: one notification at a time to one patient, the next sent once it arrived.
// deliveries/s = notification frames received / (last receipt - first send). Latency =
// receipt time (Date.now() in the client) - the frame's `ts` (set when the publish was
// accepted), so it has millisecond resolution. `lost` = notifications accepted (202, or a
// PUBLISH reply for the baseline and Socket.IO) that had not reached every live subscriber
// when the phase ended (closed loop: its time budget; open loop: 2 s after the last send).
//
// OPEN LOOP: each step offers a fixed rate for --open-seconds, whatever the answers, with at
// most 256 requests in flight; a step is *sustained* when the publisher could offer >= 95% of
// the rate, deliveries/s reached >= 90% of it, nothing was refused or lost, and delivery p99
// <= 250 ms. Steps stop after the
// first that is not sustained. The fixed-rate row (--fixed-rate, 3 s) is the p99 at a
// moderate load.
//
// Baseline (bench/fanout/bare-server.mjs): ws server, one ioredis subscriber on ONE Redis
// channel, channel -> sockets map; the publisher PUBLISHes the same frames (same size, `ts` at
// send) in pipelined batches. No signature, idempotency, authorization, history or audit.
//
// SOCKET.IO (bench/fanout/socketio-server.mjs): `socket.io` + `@socket.io/redis-adapter`,
// WebSocket transport only, over the same kind of https server and certificate as the
// baseline, one room per channel; clients (socket.io-client, WebSocket transport, one
// connection each) emit `subscribe` and get an acknowledgement once joined; the publisher is
// a Socket.IO node without sockets calling `io.to(channel).emit('notification', frame)`, so
// each notification crosses Redis once, as in the other two. No auth, no more than the
// baseline does.
//
// Threads: clients and the publisher run in one worker thread (bench/fanout/clients.mjs), so
// they never share an event loop with a server. Every spawned server preloads
// bench/fanout/probe.mjs, which reports its event-loop delay (monitorEventLoopDelay) and
// memory. A watchdog ends the run if it overruns its budget.
import { randomBytes } from 'node:crypto';
import console from 'node:console';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as delay } from 'node:timers/promises';
import { URL } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { startBaseline } from './fanout/bare-server.mjs';
import { HOST } from './fanout/constants.mjs';
import {
  nodeEnvironment,
  startComparisonProcess,
  startProcessNode,
  startRedis,
  waitReady,
} from './fanout/servers.mjs';
import { startSocketIo } from './fanout/socketio-server.mjs';

const UNICAST_BATCH = 100;
const BROADCAST_BATCH = 10;
const SINGLE_COUNT = 200;
const FIXED_RATE_SECONDS = 3;
/** --memory: clients connected before the measured ones (see measureMemory). */
const MEMORY_WARM_UP = 500;
const SUSTAINED_P99_MS = 250;
/** The systems measured: `kind` names their servers and the client worker's mode. */
const SYSTEMS = {
  carecast: { kind: 'carecast', name: 'carecast', short: 'carecast' },
  bare: { kind: 'bare', name: 'bare ws + ioredis', short: 'bare' },
  socketio: { kind: 'socketio', name: 'Socket.IO + redis adapter', short: 'Socket.IO' },
};

const params = parseParams();
const { createApp } = await import('../dist/app.js');
const { DEV_PUBLISHER_KEY_ID, DEV_TOKEN_AUDIENCE, DEV_TOKEN_ISSUER } =
  await import('../dist/config/config.types.js');
const { describeProblems, parseConfig } = await import('../dist/config/parse-config.js');
const { Bus } = await import('../dist/fanout/bus.js');
const { publicTlsOptions } = await import('../dist/tls/public-tls-options.js');

const redis = await startRedis();
const spawned = new Set();
const watchdog = setTimeout(() => {
  console.error(`benchmark exceeded ${params.budgetSeconds} s; stopping`);
  for (const child of spawned) child.kill();
  redis.kill();
  process.exit(1);
}, params.budgetSeconds * 1000);
watchdog.unref();
process.once('SIGINT', () => {
  for (const child of spawned) child.kill();
  redis.kill();
  process.exit(130);
});

try {
  const results = [];
  for (const system of params.systems) results.push(await runSystem(system));
  printResults(results);
} finally {
  await redis.stop();
  clearTimeout(watchdog);
}

// ---------------------------------------------------------------------------------------

function parseParams() {
  const { values } = parseArgs({
    options: {
      'unicast-clients': { type: 'string', default: '500' },
      'broadcast-clients': { type: 'string', default: '2000' },
      'unicast-notifications': { type: 'string', default: '10000' },
      'broadcast-notifications': { type: 'string', default: '50' },
      window: { type: 'string', default: '8' },
      transport: { type: 'string', default: 'tls' },
      loop: { type: 'string', default: 'closed' },
      processes: { type: 'string' },
      memory: { type: 'string' },
      profile: { type: 'string' },
      'heap-snapshot': { type: 'string' },
      compare: { type: 'string' },
      'open-rates': { type: 'string', default: '5000,10000,20000,30000,40000,60000,80000,120000' },
      'open-broadcast-rates': { type: 'string', default: '25,50,100,200' },
      'open-seconds': { type: 'string', default: '2' },
      'fixed-rate': { type: 'string', default: '5000' },
    },
  });
  const p = {
    unicastClients: positiveInt(values['unicast-clients'], '--unicast-clients'),
    broadcastClients: positiveInt(values['broadcast-clients'], '--broadcast-clients'),
    unicastNotifications: positiveInt(values['unicast-notifications'], '--unicast-notifications'),
    broadcastNotifications: positiveInt(
      values['broadcast-notifications'],
      '--broadcast-notifications',
    ),
    window: positiveInt(values.window, '--window'),
    transport: values.transport,
    loop: values.loop,
    processes:
      values.processes === undefined
        ? null
        : values.processes === 'cores'
          ? os.cpus().length
          : positiveInt(values.processes, '--processes'),
    memory: values.memory === undefined ? null : positiveInt(values.memory, '--memory'),
    profile: values.profile ?? null,
    heapSnapshot: values['heap-snapshot'] ?? null,
    systems: [SYSTEMS.carecast, SYSTEMS.bare],
    openRates: values['open-rates'].split(',').map((r) => positiveInt(r, '--open-rates')),
    openBroadcastRates: values['open-broadcast-rates']
      .split(',')
      .map((r) => positiveInt(r, '--open-broadcast-rates')),
    openSeconds: positiveInt(values['open-seconds'], '--open-seconds'),
    fixedRate: positiveInt(values['fixed-rate'], '--fixed-rate'),
  };
  if (!['tls', 'plain'].includes(p.transport)) fail('--transport must be tls or plain');
  if (!['closed', 'open', 'both'].includes(p.loop)) fail('--loop must be closed, open or both');
  if (p.unicastClients < UNICAST_BATCH) fail(`--unicast-clients must be at least ${UNICAST_BATCH}`);
  if (values.compare !== undefined) {
    if (values.compare !== 'socketio') fail('--compare takes socketio');
    p.systems.push(SYSTEMS.socketio);
  }
  if (p.memory !== null) p.processes = 1;
  if (p.profile !== null && p.processes === null) fail('--profile needs --processes');
  if (p.heapSnapshot !== null && p.memory === null) fail('--heap-snapshot needs --memory');
  // Connecting ~60 s at worst, each phase 12 s at worst, each open step seconds + 2 s grace.
  const openSteps = p.openRates.length + p.openBroadcastRates.length;
  const perSystem =
    p.memory !== null
      ? 60
      : 60 +
        (p.loop !== 'open' ? 3 * 12 + 10 : 0) +
        (p.loop !== 'closed' ? FIXED_RATE_SECONDS + 4 + openSteps * (p.openSeconds + 3) : 0);
  p.budgetSeconds = p.systems.length * perSystem + 30;
  return p;
}

/** One system: its servers, a fresh client worker, the phases; everything stopped after. */
async function runSystem({ kind, name: system }) {
  const carecast = kind === 'carecast';
  const cleanups = [];
  const secrets = {
    ticketSecret: randomBytes(32).toString('hex'),
    auditSigningKey: randomBytes(32).toString('hex'),
    accessTokenSecret: randomBytes(32).toString('hex'),
    publisherSecret: randomBytes(32).toString('hex'),
  };
  const profileDir = params.profile ? path.resolve(params.profile) : null;
  if (profileDir) await mkdir(profileDir, { recursive: true });
  try {
    const servers = carecast
      ? await startCarecast(secrets, cleanups)
      : await startComparison(kind, cleanups);
    const scheme = params.transport === 'tls' ? 'https' : 'http';
    const worker = startWorker({
      mode: { carecast: 'carecast', bare: 'baseline', socketio: 'socketio' }[kind],
      transport: params.transport,
      publicUrls: servers.publicPorts.map((port) => `${scheme}://${HOST}:${port}`),
      internalUrls: servers.internalPorts.map((port) => `http://${HOST}:${port}`),
      redisUrl: redis.url,
      accessTokenSecret: secrets.accessTokenSecret,
      tokenIssuer: DEV_TOKEN_ISSUER,
      tokenAudience: DEV_TOKEN_AUDIENCE,
      publisherKid: DEV_PUBLISHER_KEY_ID,
      publisherSecret: secrets.publisherSecret,
    });
    cleanups.push(() => worker.close());
    const result = { system, kind, servers: servers.label, rows: [], open: [], connect: {} };
    if (params.memory !== null) {
      result.memory = await measureMemory(worker, servers, kind, profileDir);
      return result;
    }
    for (const [group, count] of [
      ['unicast', params.unicastClients],
      ['broadcast', params.broadcastClients],
    ]) {
      progress(`${system}: connecting ${count} ${group} clients`);
      const r = await worker.call('connect', { group, count });
      if (r.failed > 0 || r.connected === 0) {
        throw new Error(`${system}: ${r.failed} ${group} clients failed to connect: ${r.error}`);
      }
      result.connect[group] = r;
    }
    await servers.settle();
    // Warm-up (JIT, keep-alive sockets, Redis scripts), not reported.
    const warm = { batch: UNICAST_BATCH, window: params.window };
    await worker.call('closed', { scenario: 'unicast', notifications: 1000, ...warm });
    await worker.call('closed', {
      scenario: 'broadcast',
      notifications: 5,
      batch: BROADCAST_BATCH,
      window: params.window,
    });
    if (profileDir) {
      await redis.resetStats();
      await servers.profile('profile-start');
    }
    // Per phase: the servers' worst event-loop delay, and the CPU time the servers and
    // redis-server spent per delivered frame (robust to a loaded machine, unlike rates).
    const measured = async (label, call) => {
      progress(`${system}: ${label}`);
      await servers.loopStats();
      const redisCpu = await redis.cpuSeconds();
      const r = await call();
      r.loop = await servers.loopStats();
      r.redisUsPerFrame =
        (((await redis.cpuSeconds()) - redisCpu) * 1e6) / Math.max(1, r.delivered);
      r.serverUsPerFrame = r.loop.cpuUs === null ? null : r.loop.cpuUs / Math.max(1, r.delivered);
      r.syscallsPerFrame =
        r.loop.syscalls === null ? null : r.loop.syscalls / Math.max(1, r.delivered);
      return [label, r];
    };
    if (params.loop !== 'open') {
      result.rows.push(
        await measured(
          `unicast, ${params.unicastClients} channels, batches of ${UNICAST_BATCH}`,
          () =>
            worker.call('closed', {
              scenario: 'unicast',
              notifications: params.unicastNotifications,
              ...warm,
            }),
        ),
        await measured(
          `broadcast, 1 channel x ${params.broadcastClients}, batches of ${BROADCAST_BATCH}`,
          () =>
            worker.call('closed', {
              scenario: 'broadcast',
              notifications: params.broadcastNotifications,
              batch: BROADCAST_BATCH,
              window: params.window,
            }),
        ),
        await measured('single, one at a time', () =>
          worker.call('single', { count: SINGLE_COUNT }),
        ),
      );
    }
    if (params.loop !== 'closed') {
      const step = (scenario, rate, seconds, batch) =>
        measured(`${scenario} @ ${rate}/s`, () =>
          worker.call('open', { scenario, rate, seconds, batch }),
        );
      result.fixed = (
        await step('unicast', params.fixedRate, FIXED_RATE_SECONDS, UNICAST_BATCH)
      )[1];
      for (const [scenario, rates, batch] of [
        ['unicast', params.openRates, UNICAST_BATCH],
        ['broadcast', params.openBroadcastRates, BROADCAST_BATCH],
      ]) {
        for (const rate of rates) {
          const [label, r] = await step(scenario, rate, params.openSeconds, batch);
          r.sustained = sustained(r);
          result.open.push([scenario, label, r]);
          if (!r.sustained) break;
        }
      }
    }
    result.shedding = servers.shedding?.() ?? [];
    if (profileDir) {
      result.redis = await redis.stats();
      result.profiles = await servers.profile('profile-stop', (i) =>
        path.join(profileDir, `${kind}-${i + 1}.cpuprofile`),
      );
    }
    return result;
  } finally {
    while (cleanups.length > 0) {
      await cleanups
        .pop()()
        .catch((error) => console.error(`cleanup failed: ${error.message}`));
    }
  }
}

/** One line per phase on stderr, so a long run shows where it is. */
function progress(message) {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function sustained(r) {
  return (
    !r.error &&
    r.offeredPerSecond >= 0.95 * r.rate &&
    // `ts` is set when a publish is accepted, so latency misses requests queued before that:
    // the delivered rate shows them.
    r.perSecond >= 0.9 * r.rate &&
    r.refused === 0 &&
    r.lost === 0 &&
    r.p99 <= SUSTAINED_P99_MS
  );
}

async function startCarecast(secrets, cleanups) {
  const prefix = `carecast-bench-${randomBytes(4).toString('hex')}:`;
  const environment = (nodeId, auditDir) =>
    nodeEnvironment({ nodeId, redisUrl: redis.url, prefix, auditDir, transport: params.transport });
  if (params.processes !== null) {
    const nodes = [];
    for (let i = 0; i < params.processes; i += 1) {
      const node = await startProcessNode(environment(`bench-${i + 1}`, ''), secrets);
      spawned.add(node);
      cleanups.push(async () => {
        await node.stop();
        spawned.delete(node);
      });
      nodes.push(node);
    }
    const servers = processServers(
      `${nodes.length} process${nodes.length > 1 ? 'es' : ''}`,
      nodes,
      {
        publicPorts: nodes.map((n) => n.publicPort),
        internalPorts: nodes.map((n) => n.internalPort),
      },
    );
    // Which signal made a node shed publishes (PublishAdmissionGuard logs each episode).
    servers.shedding = () =>
      nodes.flatMap((n) =>
        n
          .stdout()
          .split('\n')
          .filter((line) => line.includes('shedding publish requests'))
          .map((line) => JSON.parse(line).signal),
      );
    return servers;
  }
  // In-process: node A takes the clients, node B the publishes, one event loop (this one).
  const startNode = async (nodeId) => {
    const auditDir = await mkdtemp(path.join(os.tmpdir(), `carecast-fanout-${nodeId}-`));
    cleanups.push(() => rm(auditDir, { recursive: true, force: true }));
    const parsed = parseConfig(
      { ...environment(nodeId, auditDir), PORT: '0', INTERNAL_PORT: '0', LOG_LEVEL: 'error' },
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
  return inProcessServers('nodes A + B in one process', {
    publicPorts: [nodeA.publicPort],
    internalPorts: [nodeB.internalPort],
    // Every follow of node A is in effect in Redis before anything is published.
    settle: () => nodeA.nest.get(Bus).flushed(),
  });
}

/** The bare baseline or the Socket.IO server (`kind`), like carecast in-process or not. */
async function startComparison(kind, cleanups) {
  if (params.processes !== null) {
    const servers = [];
    for (let i = 0; i < params.processes; i += 1) {
      const server = await startComparisonProcess(kind, redis.url, params.transport);
      spawned.add(server);
      cleanups.push(async () => {
        await server.stop();
        spawned.delete(server);
      });
      servers.push(server);
    }
    return processServers(`${servers.length} process${servers.length > 1 ? 'es' : ''}`, servers, {
      publicPorts: servers.map((s) => s.port),
      internalPorts: [],
    });
  }
  const tls =
    params.transport === 'tls'
      ? await publicTlsOptions({ kind: 'self-signed' }, { warn: () => undefined })
      : null;
  const baseline = await (kind === 'socketio' ? startSocketIo : startBaseline)(tls, redis.url);
  cleanups.push(() => baseline.stop());
  return inProcessServers('in this process', {
    publicPorts: [baseline.port],
    internalPorts: [],
    settle: async () => undefined,
  });
}

/** Servers in spawned processes: their probes report event-loop delay and memory. */
function processServers(label, children, ports) {
  return {
    label,
    ...ports,
    // Every subscribe is acked once its follow is in effect (ChannelIndex.followed).
    settle: async () => undefined,
    loopStats: async () => worstOf(await Promise.all(children.map((c) => c.probe('stats')))),
    memory: async () => sumOf(await Promise.all(children.map((c) => c.probe('gc')))),
    heapSnapshot: (file) => Promise.all(children.map((c) => c.probe('heap-snapshot', { file }))),
    profile: async (what, fileOf = () => undefined) => {
      await Promise.all(children.map((c, i) => c.probe(what, { file: fileOf(i) })));
      return children.map((_, i) => fileOf(i));
    },
  };
}

/** Servers in this main thread: one event-loop histogram here. */
function inProcessServers(label, ports) {
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const ms = (ns) => Math.round(ns / 1e4) / 100;
  return {
    label,
    ...ports,
    loopStats: async () => {
      // In this process the clients' worker thread would count too: no CPU figure.
      const stats = {
        p99: ms(loop.percentile(99)),
        max: ms(loop.max),
        cpuUs: null,
        syscalls: null,
      };
      loop.reset();
      return stats;
    },
    memory: async () => {
      throw new Error('--memory needs server processes');
    },
  };
}

function worstOf(stats) {
  return {
    p99: Math.max(...stats.map((s) => s.loop.p99)),
    max: Math.max(...stats.map((s) => s.loop.max)),
    rss: stats.reduce((sum, s) => sum + s.rss, 0),
    cpuUs: stats.reduce((sum, s) => sum + s.cpuUs, 0),
    syscalls: stats.reduce((sum, s) => sum + s.syscalls, 0),
  };
}

function sumOf(stats) {
  return Object.fromEntries(
    ['rss', 'heapUsed', 'heapTotal', 'external', 'arrayBuffers'].map((field) => [
      field,
      stats.reduce((sum, s) => sum + s[field], 0),
    ]),
  );
}

/**
 * RSS and heap after a full GC, per idle connection: `marginal` over `--memory` clients that
 * connect (and subscribe) after a warm-up group is already connected, so one-off costs (JIT
 * code, V8's young generation growing to its working size, caches) are not spread over them;
 * `fromZero` over all clients from an empty server, as this mode measured before. Also the
 * servers' CPU time and system calls per measured connection (ticket, upgrade, subscribe and
 * ack; read inside the server processes, threads included), which unlike the connect rate do
 * not move with the other load on the machine.
 */
async function measureMemory(worker, servers, system, profileDir) {
  const snapshot = async (when) => {
    if (params.heapSnapshot === null) return;
    const dir = path.resolve(params.heapSnapshot);
    await mkdir(dir, { recursive: true });
    await servers.heapSnapshot(path.join(dir, `${system}-${when}.heapsnapshot`));
  };
  const connect = async (count) => {
    await servers.loopStats();
    const r = await worker.call('connect', { group: 'unicast', count });
    if (r.failed > 0) throw new Error(`${r.failed} clients failed to connect: ${r.error}`);
    const used = await servers.loopStats();
    r.cpuUsPerConnection = used.cpuUs / r.connected;
    r.syscallsPerConnection = used.syscalls / r.connected;
    await delay(1000);
    return r;
  };
  await delay(500);
  const empty = await servers.memory();
  const warm = await connect(Math.min(MEMORY_WARM_UP, Math.ceil(params.memory / 4)));
  await snapshot('before');
  const before = await servers.memory();
  if (profileDir) await servers.profile('profile-start');
  const r = await connect(params.memory);
  if (profileDir) {
    await servers.profile('profile-stop', (i) =>
      path.join(profileDir, `${system}-connect-${i + 1}.cpuprofile`),
    );
  }
  const after = await servers.memory();
  await snapshot('after');
  const per = (from, count) =>
    Object.fromEntries(Object.keys(after).map((k) => [k, (after[k] - from[k]) / count]));
  return {
    connections: r.connected,
    warmUp: warm.connected,
    perSecond: r.perSecond,
    cpuUsPerConnection: r.cpuUsPerConnection,
    syscallsPerConnection: r.syscallsPerConnection,
    marginal: per(before, r.connected),
    fromZero: per(empty, r.connected + warm.connected),
  };
}

function startWorker(init) {
  const worker = new Worker(new URL('./fanout/clients.mjs', import.meta.url), { workerData: init });
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

// ---------------------------------------------------------------------------------------
// Output.

function printResults(results) {
  const [carecast, ...others] = results;
  const shortOf = (r) => SYSTEMS[r.kind].short;
  console.log(
    `fan-out: ${params.transport === 'tls' ? 'wss (TLS)' : 'plain ws'}, loopback, node ${process.version}, ` +
      `${os.cpus().length} CPUs; ` +
      results.map((r) => `${shortOf(r)}: ${r.servers}`).join('; '),
  );
  if (params.memory !== null) {
    printMemory(carecast, others);
    return;
  }
  const rows = results.flatMap((r) => r.rows.map(([label, row]) => [r.system, label, row]));
  if (rows.length > 0) {
    table(
      [
        'system',
        'scenario',
        'notifications',
        'deliveries',
        'deliveries/s',
        'p50 ms',
        'p99 ms',
        'lost',
        'loop p99/max ms',
        'CPU µs/frame (server+redis) / syscalls',
        'client µs/frame, busy',
      ],
      rows.map(([system, label, r]) => [
        system,
        label,
        String(r.notifications),
        `${r.delivered}${r.delivered < r.expected ? ` of ${r.expected}` : ''}`,
        r.single ? '-' : r.perSecond.toFixed(0),
        String(r.p50),
        String(r.p99),
        String(r.lost),
        `${r.loop.p99}/${r.loop.max}`,
        cpuPerFrame(r),
        clientLoad(r),
      ]),
    );
    for (const scenario of ['unicast', 'broadcast']) {
      const of = (result) => result.rows.find(([label]) => label.startsWith(scenario))?.[1];
      const c = of(carecast);
      for (const other of others) {
        const b = of(other);
        if (!c || !b) continue;
        console.log(
          `closed ${scenario}: carecast ${(c.perSecond / b.perSecond).toFixed(2)}x ${shortOf(other)} deliveries/s, ` +
            `p99 ${c.p99} vs ${b.p99} ms${cpuRatio(c, b)}`,
        );
      }
    }
  }
  const open = results.flatMap((r) => [
    ...(r.fixed ? [[r.system, `fixed unicast @ ${r.fixed.rate}/s`, r.fixed]] : []),
    ...r.open.map(([, label, row]) => [r.system, label, row]),
  ]);
  if (open.length > 0) {
    table(
      [
        'system',
        'open loop',
        'offered/s',
        'accepted',
        'refused',
        'deliveries/s',
        'p50 ms',
        'p99 ms',
        'lost',
        'loop p99/max ms',
        'CPU µs/frame (server+redis) / syscalls',
        'client µs/frame, busy',
        'sustained',
      ],
      open.map(([system, label, r]) => [
        system,
        label,
        r.offeredPerSecond.toFixed(0),
        String(r.accepted),
        String(r.refused),
        r.perSecond.toFixed(0),
        String(r.p50),
        String(r.p99),
        String(r.lost),
        `${r.loop.p99}/${r.loop.max}`,
        cpuPerFrame(r),
        clientLoad(r),
        r.sustained === undefined
          ? '-'
          : r.sustained
            ? 'yes'
            : `no${r.error ? ` (${r.error})` : ''}`,
      ]),
    );
    for (const other of others) {
      if (carecast.fixed && other.fixed) {
        console.log(
          `p99 at ${params.fixedRate} notifications/s: carecast ${carecast.fixed.p99} ms, ` +
            `${shortOf(other)} ${other.fixed.p99} ms` +
            cpuRatio(carecast.fixed, other.fixed),
        );
      }
    }
    for (const scenario of ['unicast', 'broadcast']) {
      const best = (result) => {
        const ok = result.open.filter(([s, , r]) => s === scenario && r.sustained);
        return ok.length === 0 ? null : ok.at(-1)[2];
      };
      const rate = (r) => (r ? `${r.rate}/s` : 'none');
      const last = (result) => result.open.filter(([s]) => s === scenario).at(-1)?.[2];
      const capped = (result) => (last(result)?.sustained ? ' (the highest step offered)' : '');
      const c = best(carecast);
      const ratios = others
        .map((other) => [shortOf(other), best(other)])
        .filter(([, b]) => c && b)
        .map(([short, b]) => `${(c.rate / b.rate).toFixed(2)}x ${short}`);
      console.log(
        `open ${scenario}, highest sustained offered rate: ` +
          results.map((r) => `${shortOf(r)} ${rate(best(r))}${capped(r)}`).join(', ') +
          (ratios.length > 0 ? `: carecast ${ratios.join(', ')}` : ''),
      );
    }
  }
  for (const r of results) {
    const { unicast, broadcast } = r.connect;
    console.log(
      `${r.system}: connected and subscribed ${unicast.connected + broadcast.connected} clients at ` +
        `${unicast.perSecond.toFixed(0)}/s (unicast) and ${broadcast.perSecond.toFixed(0)}/s (broadcast)`,
    );
  }
  for (const other of others) {
    const connectRatio = carecast.connect.unicast.perSecond / other.connect.unicast.perSecond;
    console.log(
      `connect + subscribe: carecast ${connectRatio.toFixed(2)}x ${shortOf(other)} (unicast clients)`,
    );
  }
  for (const r of results) {
    if (!r.redis) continue;
    const top = Object.entries(r.redis.commandstats)
      .sort(([, a], [, b]) => b.usec - a.usec)
      .slice(0, 6)
      .map(([cmd, s]) => `${cmd} ${s.calls} calls ${s.usecPerCall.toFixed(1)} µs/call`);
    if (r.profiles?.[0]) console.log(`CPU profiles, ${r.system}: ${r.profiles.join(' ')}`);
    console.log(
      `redis, ${r.system}: ${top.join('; ')}; latency events: ${JSON.stringify(r.redis.latency)}`,
    );
  }
  for (const r of results) {
    if (r.shedding?.length > 0) {
      const counts = {};
      for (const signal of r.shedding) counts[signal] = (counts[signal] ?? 0) + 1;
      console.log(`${r.system} shed publishes, episodes by signal: ${JSON.stringify(counts)}`);
    }
  }
  const all = [...rows, ...open];
  for (const [system, label, r] of all) if (r.error) console.log(`${system} ${label}: ${r.error}`);
  if (rows.some(([, , r]) => r.delivered < r.expected || r.error || r.lost > 0))
    process.exitCode = 1;
}

/** --memory: per idle connection, carecast against each other system of the run. */
function printMemory(carecast, others) {
  const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
  const shortOf = (r) => SYSTEMS[r.kind].short;
  const line = (r, m, what) =>
    `${r.system} (${what}): ${kb(m.rss)} RSS, ${kb(m.heapUsed)} heap used ` +
    `(V8 heap committed ${kb(m.heapTotal)}, external ${kb(m.external)}, ` +
    `of which ArrayBuffers ${kb(m.arrayBuffers)})`;
  console.log(
    `${carecast.memory.connections} idle wss connections after ${carecast.memory.warmUp} ` +
      `warm-up ones; connected at ` +
      [carecast, ...others]
        .map((r) => `${r.memory.perSecond.toFixed(0)}/s (${shortOf(r)})`)
        .join(', '),
  );
  for (const other of others) {
    const c = carecast.memory;
    const b = other.memory;
    console.log(
      `server CPU per connection (ticket, upgrade, subscribe): carecast ` +
        `${c.cpuUsPerConnection.toFixed(0)} µs, ${shortOf(other)} ${b.cpuUsPerConnection.toFixed(0)} µs ` +
        `(${(c.cpuUsPerConnection / b.cpuUsPerConnection).toFixed(2)}x); ` +
        `system calls ${c.syscallsPerConnection.toFixed(1)} vs ${b.syscallsPerConnection.toFixed(1)}`,
    );
  }
  for (const what of ['marginal', 'fromZero']) {
    const label =
      what === 'marginal' ? 'per connection after the warm-up' : 'per connection from zero';
    console.log(line(carecast, carecast.memory[what], label));
    for (const other of others) {
      const ratio = (field) =>
        (carecast.memory[what][field] / other.memory[what][field]).toFixed(2);
      console.log(line(other, other.memory[what], label));
      console.log(
        `  carecast ${ratio('rss')}x ${shortOf(other)} (RSS), ${ratio('heapUsed')}x (heap used)`,
      );
    }
  }
}

/** Server + Redis CPU per delivered frame, carecast against another system, when both were measured. */
function cpuRatio(c, b) {
  if (c.serverUsPerFrame === null || b.serverUsPerFrame === null) return '';
  const total = (r) => r.serverUsPerFrame + r.redisUsPerFrame;
  const calls = (r) => r.syscallsPerFrame.toFixed(2);
  return (
    `; CPU per frame ${total(c).toFixed(1)} vs ${total(b).toFixed(1)} µs (${(total(b) / total(c)).toFixed(2)}x as efficient)` +
    `; server syscalls per frame ${calls(c)} vs ${calls(b)}`
  );
}

/** The client worker's CPU per delivered frame and its event-loop utilisation. */
function clientLoad(r) {
  if (r.clientUsPerFrame === undefined) return '-';
  return `${r.clientUsPerFrame.toFixed(1)}, ${r.clientBusy.toFixed(2)}`;
}

function cpuPerFrame(r) {
  const server = r.serverUsPerFrame === null ? '-' : r.serverUsPerFrame.toFixed(1);
  const calls = r.syscallsPerFrame === null ? '-' : r.syscallsPerFrame.toFixed(2);
  return `${server}+${r.redisUsPerFrame.toFixed(1)} / ${calls}`;
}

function table(header, lines) {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(format(header));
  console.log(format(widths.map((w) => '-'.repeat(w))));
  for (const line of lines) console.log(format(line));
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
