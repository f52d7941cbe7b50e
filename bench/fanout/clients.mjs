// The fan-out benchmark's client side, run in a worker thread of bench/fanout.mjs so the
// servers never share an event loop with it: WebSocket clients (ticket, upgrade, subscribe)
// spread round-robin over the servers' public URLs, and the publisher (signed internal API
// requests round-robin over the carecast nodes, pipelined PUBLISHes for the baseline, room
// emits through the Redis adapter for Socket.IO: bench/fanout/socketio-client.mjs).
//
// Every notification the publisher gets accepted (202 for carecast, a PUBLISH reply for the
// baseline and Socket.IO) is tracked by id until each of its expected subscribers has received it: what is
// still missing when a phase ends (after its grace period) is reported as `lost`.
import { Buffer } from 'node:buffer';
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { setTimeout as delay } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { Redis } from 'ioredis';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { BASELINE_CHANNEL, BROADCAST_PATIENT, ORIGIN } from './constants.mjs';
import { connectSocketIo, socketIoPublisher } from './socketio-client.mjs';

const CONNECT_CONCURRENCY = 32;
const CONNECT_BUDGET_MS = 30_000;
const PHASE_BUDGET_MS = 12_000;
/** After an open-loop step stops offering, how long accepted notifications may still arrive. */
const GRACE_MS = 2_000;
/** Open loop: publish requests in flight at most; past it the publisher has fallen behind. */
const MAX_IN_FLIGHT = 256;
const TICK_MS = 10;

const init = workerData;
const runTag = randomBytes(3).toString('hex');
const secure = init.transport === 'tls';
const wsUrls = init.publicUrls.map((u) => `${u.replace(/^http/, 'ws')}/v1/ws`);
// Behind the "proxy" of --transport plain, carecast needs to be told the client used TLS.
const proxyHeaders = secure ? {} : { 'x-forwarded-proto': 'https' };
const ticketAgent = new (secure ? https : http).Agent({
  keepAlive: true,
  maxSockets: CONNECT_CONCURRENCY,
  rejectUnauthorized: false,
});
const publishAgent = new http.Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT });
const publisher = init.mode === 'baseline' ? new Redis(init.redisUrl) : null;
const socketIo = init.mode === 'socketio' ? await socketIoPublisher(init.redisUrl) : null;
const clients = { unicast: [], broadcast: [] };
let sink = null;
let eventSeq = 0;
let frameBytes = 0;
let nextInternal = 0;
let nextPublic = 0;

const commands = {
  connect: ({ group, count }) => connectGroup(group, count),
  closed: ({ scenario, notifications, batch, window }) =>
    closedLoop(scenarioOf(scenario), notifications, batch, window),
  open: ({ scenario, rate, seconds, batch }) =>
    openLoop(scenarioOf(scenario), rate, seconds, batch),
  single: ({ count }) => single(count),
  close: async () => {
    for (const c of [...clients.unicast, ...clients.broadcast]) c.close();
    ticketAgent.destroy();
    publishAgent.destroy();
    publisher?.disconnect();
    socketIo?.close();
  },
};
parentPort.on('message', async ({ id, cmd, args }) => {
  try {
    parentPort.postMessage({ id, ok: true, result: await commands[cmd](args) });
  } catch (error) {
    parentPort.postMessage({ id, ok: false, error: String(error?.stack ?? error) });
  }
});

function scenarioOf(name) {
  switch (name) {
    case 'unicast':
      return {
        channelOf: (k) => clients.unicast[k % clients.unicast.length].channel,
        fanout: 1,
      };
    case 'broadcast':
      return { channelOf: () => `patient:${BROADCAST_PATIENT}`, fanout: clients.broadcast.length };
    default:
      throw new Error(`unknown scenario ${name}`);
  }
}

// ---------------------------------------------------------------------------------------
// Connecting.

async function connectGroup(group, count) {
  const t0 = performance.now();
  const deadline = t0 + CONNECT_BUDGET_MS;
  let next = 0;
  let failed = 0;
  let error = null;
  // A second call for the same group connects new users, numbered after the first call's.
  const first = clients[group].length;
  const worker = async () => {
    while (next < count && performance.now() < deadline) {
      const i = first + next++;
      const who =
        group === 'unicast'
          ? { role: 'patient', id: `pt-u${String(i).padStart(7, '0')}` }
          : { role: 'doctor', id: `dr-b${String(i).padStart(7, '0')}`, patient: BROADCAST_PATIENT };
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
  return { connected: clients[group].length - first, failed, error, perSecond: count / seconds };
}

async function connectClient(who, channel) {
  const server = nextPublic++ % init.publicUrls.length;
  if (init.mode === 'socketio') {
    return connectSocketIo(init.publicUrls[server], channel, {
      onNotification: (frame) => received(frame.id, frame.ts),
      onDrop: (reason) => {
        if (sink) sink.error ??= `a client was disconnected: ${reason}`;
      },
    });
  }
  const protocols = ['carecast.v1'];
  if (init.mode === 'carecast') protocols.push(`ticket.${await ticket(who, server)}`);
  const ws = new WebSocket(wsUrls[server], protocols, {
    origin: ORIGIN,
    headers: proxyHeaders,
    rejectUnauthorized: false,
    perMessageDeflate: false,
    handshakeTimeout: 5000,
  });
  const client = { ws, channel, waiter: null, close: () => ws.terminate() };
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

async function ticket(who, server) {
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
    `${init.publicUrls[server]}/v1/tickets`,
    'POST',
    { authorization: `Bearer ${token}`, origin: ORIGIN, ...proxyHeaders },
    '',
    ticketAgent,
    secure ? https : http,
  );
  if (res.status !== 201) throw new Error(`ticket request answered ${res.status} ${res.body}`);
  return JSON.parse(res.body).ticket;
}

// ---------------------------------------------------------------------------------------
// Receiving: notification frames are read without a full parse (id and ts only), so the
// client side stays cheap next to the servers it measures.

function onFrame(client, data) {
  const text = data.toString();
  if (text.startsWith('{"type":"notification"')) {
    if (!sink) return;
    frameBytes = data.length;
    const tsAt = text.indexOf('"ts":') + 5;
    const idAt = text.indexOf('"id":"') + 6;
    received(
      text.slice(idAt, text.indexOf('"', idAt)),
      Number.parseInt(text.slice(tsAt, tsAt + 16), 10),
    );
    return;
  }
  const frame = JSON.parse(text);
  const waiter = client.waiter;
  if (!waiter) return;
  client.waiter = null;
  if (frame.type === waiter.type) waiter.resolve(frame);
  else waiter.reject(new Error(`expected ${waiter.type}, got ${text}`));
}

/** One notification frame received by one client. */
function received(id, ts) {
  if (!sink) return;
  sink.latencies.push(Date.now() - ts);
  sink.received += 1;
  sink.lastAt = performance.now();
  // A frame may arrive before its 202: the balance goes negative until the answer comes.
  settle(sink, id, -1);
  if (sink.pending.size === 0 && sink.sending === false) sink.wake();
}

function openSink() {
  let wake;
  const settled = new Promise((resolve) => (wake = resolve));
  sink = {
    received: 0,
    latencies: [],
    lastAt: 0,
    pending: new Map(),
    accepted: 0,
    refused: 0,
    refusedFast: 0,
    // This worker's own CPU time and event-loop utilisation over the phase: how much of the
    // client side (publisher and every client) the system made it do, and whether it was the
    // bottleneck (busy near 1).
    cpuAt: process.threadCpuUsage(),
    eluAt: performance.eventLoopUtilization(),
    retryAfterMissing: 0,
    sending: true,
    error: null,
    wake,
    settled,
  };
  return sink;
}

/** Marks sending done; resolves when every accepted notification arrived or `graceMs` passed. */
async function drain(s, graceMs) {
  s.sending = false;
  if (s.pending.size === 0) return;
  await Promise.race([s.settled, delay(graceMs)]);
}

function report(s, t0, extra) {
  sink = null;
  const cpu = process.threadCpuUsage(s.cpuAt);
  const end = s.pending.size === 0 && s.lastAt > 0 ? s.lastAt : performance.now();
  let lost = 0;
  let unexpected = 0;
  for (const balance of s.pending.values()) {
    if (balance > 0) lost += balance;
    else unexpected -= balance;
  }
  return {
    accepted: s.accepted,
    refused: s.refused,
    refusedFast: s.refusedFast,
    retryAfterMissing: s.retryAfterMissing,
    delivered: s.received,
    unexpected,
    lost,
    perSecond: s.received / ((end - t0) / 1000),
    ...quantiles(s.latencies),
    frameBytes,
    clientUsPerFrame: (cpu.user + cpu.system) / Math.max(1, s.received),
    clientBusy: performance.eventLoopUtilization(s.eluAt).utilization,
    error: s.error,
    ...extra,
  };
}

// ---------------------------------------------------------------------------------------
// Publishing.

/** Closed loop: `window` requests in flight, each sent when one returns, then waits for delivery. */
async function closedLoop({ channelOf, fanout }, count, batchSize, window) {
  const s = openSink();
  const t0 = performance.now();
  const deadline = t0 + PHASE_BUDGET_MS;
  let next = 0;
  const sender = async () => {
    while (next < count && performance.now() < deadline && !s.error) {
      const batch = [];
      for (; batch.length < batchSize && next < count; next += 1) {
        batch.push(notification(channelOf(next)));
      }
      await publish(s, batch, fanout);
    }
  };
  await Promise.all(Array.from({ length: window }, sender));
  await drain(s, Math.max(0, deadline - performance.now()));
  return report(s, t0, { notifications: next, expected: next * fanout });
}

/**
 * Open loop: offers `rate` notifications/s for `seconds` whatever the answers, in requests of
 * up to `batchSize` every TICK_MS; at most MAX_IN_FLIGHT requests in flight (what is due past
 * that waits, and shows as offered < rate). Then waits up to GRACE_MS for delivery.
 */
async function openLoop({ channelOf, fanout }, rate, seconds, batchSize) {
  const s = openSink();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let issued = 0;
  let inFlight = 0;
  const requests = [];
  while (performance.now() < end && !s.error) {
    const due = Math.floor((rate * (performance.now() - t0)) / 1000);
    while (issued < due && inFlight < MAX_IN_FLIGHT) {
      const batch = [];
      for (; batch.length < batchSize && issued < due; issued += 1) {
        batch.push(notification(channelOf(issued)));
      }
      inFlight += 1;
      requests.push(publish(s, batch, fanout).finally(() => (inFlight -= 1)));
    }
    await delay(TICK_MS);
  }
  const offeredFor = (performance.now() - t0) / 1000;
  await Promise.all(requests);
  await drain(s, GRACE_MS);
  return report(s, t0, {
    rate,
    notifications: issued,
    offeredPerSecond: issued / offeredFor,
    expected: s.accepted * fanout,
  });
}

/** One notification at a time: latency without load. */
async function single(count) {
  const latencies = [];
  const deadline = performance.now() + PHASE_BUDGET_MS;
  let delivered = 0;
  let lost = 0;
  let error = null;
  for (let k = 0; k < count && performance.now() < deadline && !error; k += 1) {
    const s = openSink();
    const channel = clients.unicast[k % clients.unicast.length].channel;
    await publish(s, [notification(channel)], 1);
    await drain(s, 1000);
    delivered += s.received;
    latencies.push(...s.latencies);
    for (const balance of s.pending.values()) lost += Math.max(0, balance);
    error = s.error;
    sink = null;
  }
  return {
    single: true,
    notifications: count,
    expected: count,
    delivered,
    lost,
    ...quantiles(latencies),
    frameBytes,
    error,
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

/** Publishes one batch; records what was accepted (and must arrive `fanout` times) or refused. */
async function publish(s, batch, fanout) {
  try {
    if (init.mode === 'baseline') await publishBare(batch);
    else if (init.mode === 'socketio') {
      const ts = Date.now();
      await socketIo.publish(batch.map((n) => frameOf(n, ts)));
    } else {
      const started = performance.now();
      const res = await publishSigned(batch);
      if (res.status === 429 || res.status === 503) {
        s.refused += batch.length;
        if (performance.now() - started < 1000) s.refusedFast += batch.length;
        if (!res.retryAfter) s.retryAfterMissing += 1;
        return;
      }
      if (res.status !== 202) throw new Error(`publish answered ${res.status} ${res.body}`);
      const accepted = JSON.parse(res.body).accepted;
      for (const a of accepted) if (a.duplicate) batch = batch.filter((n) => n.id !== a.id);
    }
  } catch (e) {
    s.error ??= e.message;
    return;
  }
  s.accepted += batch.length;
  for (const n of batch) settle(s, n.id, fanout);
}

/** Per id: deliveries still expected (accepted x fanout - received); absent when even. */
function settle(s, id, change) {
  const balance = (s.pending.get(id) ?? 0) + change;
  if (balance === 0) s.pending.delete(id);
  else s.pending.set(id, balance);
}

/** The same frame carecast sends: same keys, same order, `ts` at publish time. */
function frameOf(n, ts = Date.now()) {
  return { type: 'notification', channel: n.channel, id: n.id, kind: n.kind, ref: n.ref, ts };
}

async function publishBare(batch) {
  const ts = Date.now();
  const pipeline = publisher.pipeline();
  for (const n of batch) pipeline.publish(BASELINE_CHANNEL, JSON.stringify(frameOf(n, ts)));
  const replies = await pipeline.exec();
  const failed = replies.find(([err]) => err);
  if (failed) throw failed[0];
}

function publishSigned(batch) {
  const body = JSON.stringify(batch.length === 1 ? batch[0] : { notifications: batch });
  const pathname = '/internal/v1/notifications';
  const t = Math.floor(Date.now() / 1000);
  const v1 = createHmac('sha256', init.publisherSecret)
    .update(`${t}.POST.${pathname}.${body}`)
    .digest('hex');
  const url = init.internalUrls[nextInternal++ % init.internalUrls.length] + pathname;
  return send(
    url,
    'POST',
    {
      'content-type': 'application/json',
      'carecast-signature': `t=${t},kid=${init.publisherKid},v1=${v1}`,
    },
    body,
    publishAgent,
    http,
  );
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
        res.on('end', () =>
          resolve({ status: res.statusCode, body: text, retryAfter: res.headers['retry-after'] }),
        );
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
