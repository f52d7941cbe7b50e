// A soak run: carecast nodes (each its own dist/main.js process, as in production) on a private
// Redis, under a steady mixed workload for a fixed time, sampled at intervals so that leaks and
// drift show. Not run in CI.
//
//   npm run bench:soak -- [--duration 180] [--connections 1000] [--nodes 2] [--rate 100]
//                         [--churn 2] [--actions reconnect,refresh,resubscribe]
//                         [--interval 30] [--json]
//
// Workload: --connections patients, one wss connection each (ticket, upgrade, subscribe to
// their own channel), spread over the nodes; a publisher sending --rate notifications/s in
// requests of up to 100 every 100 ms to random channels, round-robin over the nodes' internal
// APIs; and churn: each connection, --churn times a minute on average, reconnects (close,
// new ticket, resubscribe with `since`), refreshes in-band, or unsubscribes and resubscribes
// with `since` (one of --actions, at random). A client whose connection the server closes
// reconnects the same way.
//
// Every sample reads, per node, resident memory and heap after a full GC and event-loop delay
// (bench/fanout/probe.mjs, from inside the process), open file descriptors, active handles,
// WebSocket sessions and followed channels (/metrics); Redis keys and memory; and, for the
// whole run, notifications accepted (202) against delivered (each must reach its channel's
// subscriber exactly once, across reconnects: missing = accepted more than 5 s ago and not
// delivered), duplicates, `recovered:false` answers, server-side closes and refusals. The
// summary compares the first sample (all clients connected, traffic started) with the last.
import { Buffer } from 'node:buffer';
import console from 'node:console';
import { createHmac, randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import process from 'node:process';
import { setTimeout as delay } from 'node:timers/promises';
import { URL } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import {
  DEV_PUBLISHER_KEY_ID,
  DEV_TOKEN_AUDIENCE,
  DEV_TOKEN_ISSUER,
} from '../dist/config/config.types.js';
import { HOST, ORIGIN } from './fanout/constants.mjs';
import { nodeEnvironment, startProcessNode, startRedis } from './fanout/servers.mjs';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '180' },
    connections: { type: 'string', default: '1000' },
    nodes: { type: 'string', default: '2' },
    rate: { type: 'string', default: '100' },
    churn: { type: 'string', default: '2' },
    interval: { type: 'string', default: '30' },
    actions: { type: 'string', default: 'reconnect,refresh,resubscribe' },
    json: { type: 'boolean', default: false },
  },
});
const durationS = positive(values.duration, '--duration');
const connections = positive(values.connections, '--connections');
const nodeCount = positive(values.nodes, '--nodes');
const rate = positive(values.rate, '--rate');
const churnPerMinute = Number(values.churn);
const intervalS = positive(values.interval, '--interval');
const ACTIONS = ['reconnect', 'refresh', 'resubscribe'];
const actions = values.actions.split(',');
if (actions.length === 0 || actions.some((a) => !ACTIONS.includes(a))) {
  console.error(`--actions must list some of ${ACTIONS.join(', ')}`);
  process.exit(2);
}
/** An accepted notification not delivered this long after its 202 counts as missing. */
const GRACE_MS = 5000;
const CONNECT_CONCURRENCY = 32;

const secrets = {
  ticketSecret: randomBytes(32).toString('hex'),
  auditSigningKey: randomBytes(32).toString('hex'),
  accessTokenSecret: randomBytes(32).toString('hex'),
  publisherSecret: randomBytes(32).toString('hex'),
};
const prefix = `carecast-soak-${randomBytes(4).toString('hex')}:`;
const ticketAgent = new https.Agent({ keepAlive: true, maxSockets: 16, rejectUnauthorized: false });
const publishAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const benchLoop = monitorEventLoopDelay({ resolution: 10 });
benchLoop.enable();

const totals = {
  accepted: 0,
  refused: {},
  delivered: 0,
  notRecovered: 0,
  serverCloses: {},
  reconnects: 0,
  refreshes: 0,
  resubscribes: 0,
  /** Client actions that failed, by reason (an error frame's code, a refused upgrade, ...). */
  failures: {},
  /** Notifications whose seq was not the previous one's plus one, within one subscription. */
  seqAnomalies: [],
};
/** id -> ms of its 202. */
const acceptedAt = new Map();
/** id -> times a subscriber received it (exactly one subscriber per channel). */
const deliveries = new Map();
let clients = [];
let stopping = false;
let nextId = 0;

// ---------------------------------------------------------------------------------------
// Servers

const redis = await startRedis();
const nodes = [];
const cleanups = [() => redis.stop()];
process.once('SIGINT', () => void shutdown(130));
try {
  for (let i = 0; i < nodeCount; i += 1) {
    const env = nodeEnvironment({
      nodeId: `soak-${i + 1}`,
      redisUrl: redis.url,
      prefix,
      auditDir: '',
      transport: 'tls',
    });
    const node = await startProcessNode({ ...env, MAX_CONNECTIONS_PER_USER: '5' }, secrets);
    cleanups.unshift(() => node.stop());
    nodes.push({
      ...node,
      publicUrl: `https://${HOST}:${node.publicPort}`,
      internalUrl: `http://${HOST}:${node.internalPort}`,
    });
  }
} catch (error) {
  await shutdown(1, error);
}

// ---------------------------------------------------------------------------------------
// Clients

class SoakClient {
  constructor(index) {
    this.id = `pt-soak${String(index).padStart(6, '0')}`;
    this.channel = `patient:${this.id}`;
    this.node = nodes[index % nodes.length];
    this.position = null;
    this.ws = null;
    this.busy = true;
    this.waiter = null;
    /** What the client is doing, for the seq anomaly report: live, reconnect, refresh... */
    this.action = 'connect';
  }

  /** Ticket, upgrade, welcome, subscribe (with `since` once a position is known). */
  async open() {
    this.busy = true;
    const ws = new WebSocket(
      `${this.node.publicUrl.replace('https:', 'wss:')}/v1/ws`,
      ['carecast.v1', `ticket.${await ticketFor(this.id, this.node)}`],
      { origin: ORIGIN, rejectUnauthorized: false, perMessageDeflate: false },
    );
    this.ws = ws;
    ws.on('message', (data) => this.onFrame(data));
    ws.on('error', () => undefined);
    const welcome = this.expect('welcome');
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      this.fail(new Error(`upgrade answered ${res.statusCode}`));
    });
    ws.once('close', (code) => this.onClose(ws, code));
    await welcome;
    await this.subscribe();
    this.busy = false;
    if (this.action !== 'reconnect') this.action = 'live';
  }

  async subscribe() {
    const since = this.position;
    const ack = this.expect('ack');
    this.send({ type: 'subscribe', id: 'sub', channel: this.channel, ...(since ? { since } : {}) });
    const frame = await ack;
    if (since && frame.recovered !== true) totals.notRecovered += 1;
    this.position = { epoch: frame.epoch, seq: frame.seq };
  }

  async churn() {
    if (this.busy || this.ws?.readyState !== WebSocket.OPEN) return;
    this.busy = true;
    this.action = actions[Math.floor(Math.random() * actions.length)];
    if (this.action === 'reconnect') {
      totals.reconnects += 1;
      this.closing = true;
      this.ws.close(1000);
      await new Promise((resolve) => this.ws.once('close', resolve));
      this.closing = false;
      await this.open();
    } else if (this.action === 'refresh') {
      totals.refreshes += 1;
      const ack = this.expect('ack');
      this.send({ type: 'refresh', id: 'ref', ticket: await ticketFor(this.id, this.node) });
      await ack;
    } else {
      totals.resubscribes += 1;
      const ack = this.expect('ack');
      this.send({ type: 'unsubscribe', id: 'uns', channel: this.channel });
      await ack;
      await this.subscribe();
    }
    this.busy = false;
    this.action = 'live';
  }

  onFrame(data) {
    const text = data.toString();
    if (text.startsWith('{"type":"notification"')) {
      const frame = JSON.parse(text);
      if (this.position && frame.seq !== this.position.seq + 1) {
        totals.seqAnomalies.push({
          client: this.id,
          seq: frame.seq,
          after: this.position.seq,
          during: this.action,
          repeated: deliveries.has(frame.id),
        });
      }
      if (this.position) this.position = { epoch: this.position.epoch, seq: frame.seq };
      delivered(frame.id);
      return;
    }
    const frame = JSON.parse(text);
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = null;
    if (frame.type === waiter.type) waiter.resolve(frame);
    else waiter.reject(new Error(`expected ${waiter.type}, got ${frame.type} ${frame.code ?? ''}`));
  }

  expect(type) {
    return new Promise((resolve, reject) => (this.waiter = { type, resolve, reject }));
  }

  fail(error) {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.reject(error);
  }

  onClose(ws, code) {
    if (ws !== this.ws) return;
    this.fail(new Error(`closed ${code}`));
    if (this.closing || stopping) return;
    totals.serverCloses[code] = (totals.serverCloses[code] ?? 0) + 1;
    // While busy, whoever is opening or churning sees the failure and reopens.
    if (!this.busy) void this.reopen();
  }

  /** After a failure or a server close: back off, then reconnect with `since`. */
  async reopen() {
    this.busy = true;
    this.action = 'reopen';
    while (!stopping) {
      await delay(500 + Math.random() * 1000);
      try {
        await this.open();
        return;
      } catch (error) {
        failed(error);
      }
    }
  }

  send(frame) {
    this.ws.send(JSON.stringify(frame));
  }
}

/** Counts a failed client action by its reason, digits kept (status codes, close codes). */
function failed(error) {
  const reason = String(error?.message ?? error).slice(0, 80);
  totals.failures[reason] = (totals.failures[reason] ?? 0) + 1;
}

function delivered(id) {
  totals.delivered += 1;
  deliveries.set(id, (deliveries.get(id) ?? 0) + 1);
}

async function ticketFor(patientId, node) {
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ role: 'patient' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(DEV_TOKEN_ISSUER)
    .setAudience(DEV_TOKEN_AUDIENCE)
    .setSubject(patientId)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(Buffer.from(secrets.accessTokenSecret));
  const res = await send(`${node.publicUrl}/v1/tickets`, 'POST', {
    authorization: `Bearer ${token}`,
    origin: ORIGIN,
  });
  if (res.status !== 201) throw new Error(`ticket request answered ${res.status}`);
  return JSON.parse(res.body).ticket;
}

// ---------------------------------------------------------------------------------------
// Publisher

let turn = 0;
async function publishBatch(clients, count) {
  const batch = Array.from({ length: count }, () => {
    const n = nextId++;
    const client = clients[Math.floor(Math.random() * clients.length)];
    return {
      id: `evt-soak${n}`,
      channel: client.channel,
      kind: 'message.received',
      ref: `ref-soak${n}`,
    };
  });
  const body = JSON.stringify({ notifications: batch });
  const pathname = '/internal/v1/notifications';
  const t = Math.floor(Date.now() / 1000);
  const v1 = createHmac('sha256', secrets.publisherSecret)
    .update(`${t}.POST.${pathname}.${body}`)
    .digest('hex');
  const node = nodes[turn++ % nodes.length];
  const res = await send(
    `${node.internalUrl}${pathname}`,
    'POST',
    {
      'content-type': 'application/json',
      'carecast-signature': `t=${t},kid=${DEV_PUBLISHER_KEY_ID},v1=${v1}`,
    },
    body,
  ).catch(() => ({ status: 'error' }));
  if (res.status !== 202) {
    totals.refused[res.status] = (totals.refused[res.status] ?? 0) + batch.length;
    return;
  }
  const at = Date.now();
  totals.accepted += batch.length;
  for (const { id } of batch) acceptedAt.set(id, at);
}

/** Missing: accepted over GRACE_MS ago, never delivered. Duplicates: deliveries past the first. */
function account() {
  const cutoff = Date.now() - GRACE_MS;
  let missing = 0;
  let duplicates = 0;
  for (const [id, at] of acceptedAt) if (at <= cutoff && !deliveries.has(id)) missing += 1;
  for (const count of deliveries.values()) duplicates += count - 1;
  return { missing, duplicates };
}

// ---------------------------------------------------------------------------------------
// Sampling

async function sample(t0) {
  const perNode = [];
  for (const node of nodes) {
    const window = await node.probe('stats');
    const after = await node.probe('gc');
    await delay(100);
    await node.probe('stats'); // drops the forced GC's pause from the next window
    const metrics = await send(`${node.internalUrl}/metrics`, 'GET', {});
    perNode.push({
      rssMiB: mib(after.rss),
      heapMiB: mib(after.heapUsed),
      externalMiB: mib(after.external),
      loopP50Ms: window.loop.p50,
      loopP99Ms: window.loop.p99,
      loopMaxMs: window.loop.max,
      fds: metric(metrics.body, 'carecast_process_open_fds'),
      handles: metric(metrics.body, 'carecast_nodejs_active_handles_total'),
      sessions: metric(metrics.body, 'carecast_ws_connections'),
      followed: metric(metrics.body, 'carecast_bus_followed_channels'),
      auditMiB: mib(await dirBytes(path.join(node.cwd, 'audit'))),
    });
  }
  const r = new Redis(redis.url);
  const keys = await r.dbsize();
  const kinds = await keyKinds(r);
  const memory = Number(/used_memory:(\d+)/.exec(await r.info('memory'))?.[1] ?? 0);
  r.disconnect();
  const { missing, duplicates } = account();
  const row = {
    minute: Math.round((performance.now() - t0) / 600) / 100,
    nodes: perNode,
    redis: { keys, idClaims: kinds.idClaim ?? 0, kinds, memoryMiB: mib(memory) },
    accepted: totals.accepted,
    delivered: totals.delivered,
    missing,
    duplicates,
    notRecovered: totals.notRecovered,
    benchLoopP99Ms: Math.round(benchLoop.percentile(99) / 1e4) / 100,
  };
  benchLoop.reset();
  return row;
}

/**
 * Keys by kind, by SCAN (never KEYS): `{ch:..}:meta`, `:hist`, `:id:` (id claims, which live
 * 10 minutes by design), and the first segment of every other key (`ticket`, `conns`, `rate`...).
 */
async function keyKinds(r) {
  const kinds = {};
  let cursor = '0';
  do {
    const [next, batch] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of batch) {
      const rest = key.slice(prefix.length);
      const kind = rest.startsWith('{ch:')
        ? rest.includes(':id:')
          ? 'idClaim'
          : rest.slice(rest.lastIndexOf(':') + 1)
        : rest.split(':')[0];
      kinds[kind] = (kinds[kind] ?? 0) + 1;
    }
  } while (cursor !== '0');
  return kinds;
}

function metric(text, name) {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? null : Number(line.slice(name.length + 1));
}

async function dirBytes(dir) {
  const names = await readdir(dir).catch(() => []);
  const sizes = await Promise.all(names.map((n) => stat(path.join(dir, n)).then((s) => s.size)));
  return sizes.reduce((a, b) => a + b, 0);
}

function printRow(row) {
  if (values.json) return;
  const n = row.nodes
    .map(
      (x, i) =>
        `n${i + 1} rss ${x.rssMiB} heap ${x.heapMiB} ext ${x.externalMiB} MiB, loop p99 ${x.loopP99Ms} max ${x.loopMaxMs} ms, fds ${x.fds} handles ${x.handles} sessions ${x.sessions} followed ${x.followed}`,
    )
    .join(' | ');
  console.log(
    `${row.minute.toFixed(1).padStart(5)} min  ${n} | redis keys ${row.redis.keys} (id claims ${row.redis.idClaims}) ${row.redis.memoryMiB} MiB | accepted ${row.accepted} delivered ${row.delivered} missing ${row.missing} dup ${row.duplicates} notRecovered ${row.notRecovered}`,
  );
}

// ---------------------------------------------------------------------------------------
// Run

clients = Array.from({ length: connections }, (_, i) => new SoakClient(i));
const connectStarted = performance.now();
let cursor = 0;
await Promise.all(
  Array.from({ length: CONNECT_CONCURRENCY }, async () => {
    while (cursor < clients.length) {
      const client = clients[cursor++];
      await client.open().catch((error) => {
        failed(error);
        return client.reopen();
      });
    }
  }),
);
if (!values.json) {
  console.log(
    `${connections} clients on ${nodeCount} nodes in ${Math.round(performance.now() - connectStarted)} ms; ` +
      `${rate} notifications/s, churn ${churnPerMinute}/connection/min, ${durationS} s`,
  );
}

const t0 = performance.now();
const end = t0 + durationS * 1000;
const perTick = rate / 10;
let owed = 0;
const publisher = (async () => {
  while (performance.now() < end) {
    owed += perTick;
    const count = Math.min(100, Math.floor(owed));
    owed -= count;
    if (count > 0) void publishBatch(clients, count);
    await delay(100);
  }
})();
const churner = (async () => {
  let owedChurn = 0;
  while (performance.now() < end) {
    owedChurn += (connections * churnPerMinute) / 60;
    for (; owedChurn >= 1; owedChurn -= 1) {
      const client = clients[Math.floor(Math.random() * clients.length)];
      void client.churn().catch((error) => {
        failed(error);
        client.busy = false;
        if (client.ws?.readyState !== WebSocket.OPEN) void client.reopen();
      });
    }
    await delay(1000);
  }
})();

const rows = [await sample(t0)];
printRow(rows[0]);
while (performance.now() + intervalS * 1000 <= end + 1000) {
  await delay(Math.max(0, t0 + rows.length * intervalS * 1000 - performance.now()));
  rows.push(await sample(t0));
  printRow(rows.at(-1));
}
await Promise.all([publisher, churner]);
await delay(GRACE_MS + 500);
const last = await sample(t0);
rows.push(last);
printRow(last);
report(rows);
await shutdown(0);

function report(all) {
  const first = all[0];
  const final = all.at(-1);
  const drift = first.nodes.map((x, i) => {
    const y = final.nodes[i];
    return {
      node: `n${i + 1}`,
      rssMiB: [x.rssMiB, y.rssMiB],
      heapMiB: [x.heapMiB, y.heapMiB],
      heapMaxMiB: Math.max(...all.map((r) => r.nodes[i].heapMiB)),
      externalMiB: [x.externalMiB, y.externalMiB],
      fds: [x.fds, y.fds],
      handles: [x.handles, y.handles],
      sessions: [x.sessions, y.sessions],
      loopP99MaxMs: Math.max(...all.map((r) => r.nodes[i].loopP99Ms)),
      auditMiB: y.auditMiB,
    };
  });
  const summary = {
    settings: { durationS, connections, nodes: nodeCount, rate, churnPerMinute, actions },
    drift,
    redisKeys: [first.redis.keys, final.redis.keys],
    redisKeyKinds: [first.redis.kinds, final.redis.kinds],
    redisKeysBesideIdClaims: [
      first.redis.keys - first.redis.idClaims,
      final.redis.keys - final.redis.idClaims,
    ],
    redisMemoryMiB: [first.redis.memoryMiB, final.redis.memoryMiB],
    accepted: totals.accepted,
    delivered: totals.delivered,
    missing: final.missing,
    duplicates: final.duplicates,
    notRecovered: totals.notRecovered,
    refused: totals.refused,
    serverCloses: totals.serverCloses,
    churn: {
      reconnects: totals.reconnects,
      refreshes: totals.refreshes,
      resubscribes: totals.resubscribes,
    },
    clientFailures: totals.failures,
    seqAnomalies: totals.seqAnomalies.slice(0, 20),
  };
  if (values.json) console.log(JSON.stringify({ rows: all, summary }, null, 2));
  else for (const [key, value] of Object.entries(summary)) console.log(key, JSON.stringify(value));
}

async function shutdown(code, error) {
  stopping = true;
  if (error) console.error(String(error?.stack ?? error));
  for (const client of clients) client.ws?.terminate();
  ticketAgent.destroy();
  publishAgent.destroy();
  for (const step of cleanups) await step().catch(() => undefined);
  process.exit(code);
}

function send(url, method, headers, body = '') {
  const target = new URL(url);
  const transport = target.protocol === 'https:' ? https : http;
  const agent = target.protocol === 'https:' ? ticketAgent : publishAgent;
  return new Promise((resolve, reject) => {
    const req = transport.request(
      target,
      {
        method,
        agent,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        timeout: 10_000,
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

function mib(bytes) {
  return Math.round((bytes / 1048576) * 10) / 10;
}

function positive(text, name) {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`${name} must be a positive whole number`);
    process.exit(2);
  }
  return n;
}
