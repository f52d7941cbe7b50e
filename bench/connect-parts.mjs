// What the parts of carecast's connect path cost, in CPU time per operation of this process
// (threads included), each measured alone at 20 operations in flight, median of 5 rounds:
//
//   npm run build && node bench/connect-parts.mjs [--redis-url redis://127.0.0.1:<port>]
//                                                [--app-redis]
//
// - TLS handshake, client and server both in this process: full, and resumed (TLS 1.3
//   session ticket), with the node's self-signed certificate (EC P-256);
// - a ticket request (POST /v1/tickets) over a keep-alive HTTPS connection, client and server,
//   beside a request to a bare HTTPS server answering a JSON body of the same size;
// - the access-token verification of the ticket request (AccessTokenVerifier, jose, HS256 dev
//   tokens), the ticket's signing and verification (TicketSigner, @nestjs/jwt);
// - one audit record (AuditService.record, group commit, fsync) at 20 records per commit;
// - with --redis-url: one Redis round trip through ioredis (EXISTS, the cheapest command the
//   path sends), counting this process only, and the Redis server's own CPU per command apart;
//   with --app-redis as well, the node itself runs on that Redis (tickets, limits, blocks,
//   slots), so the ticket request and upgrade rows include their Redis commands, and each of
//   those rows also reports the Redis server's CPU per operation (the Redis must be private).
// Costs add up roughly to what `bench:connect` and `bench:fanout -- --memory` measure per
// connection; docs/performance.md compares them with a bare upgrade.
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import console from 'node:console';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { Agent, createServer as createHttpsServer, request } from 'node:https';
import { connect as tlsConnect, createSecureContext, createServer } from 'node:tls';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { SignJWT } from 'jose';
import { createApp } from '../dist/app.js';
import { AuditService } from '../dist/audit/audit.service.js';
import { DEV_TOKEN_AUDIENCE, DEV_TOKEN_ISSUER } from '../dist/config/config.types.js';
import { describeProblems, parseConfig } from '../dist/config/parse-config.js';
import { wsConnected } from '../dist/core/audit-entries.js';
import { AccessTokenVerifier } from '../dist/tickets/access-token-verifier.js';
import { TicketSigner } from '../dist/tickets/ticket-signer.js';
import { publicTlsOptions } from '../dist/tls/public-tls-options.js';

const IN_FLIGHT = 20;
const ORIGIN = 'https://bench.carecast.test';
const ROUNDS = 5;
const { values } = parseArgs({
  options: { 'redis-url': { type: 'string' }, 'app-redis': { type: 'boolean', default: false } },
});
const appRedis = values['app-redis'] && values['redis-url'] !== undefined;
/** The private Redis's CPU seconds so far, when the node runs on it; else null. */
const redisCpu = appRedis ? redisCpuReader(values['redis-url']) : null;

const secrets = {
  ticketSecret: randomBytes(32).toString('hex'),
  auditSigningKey: randomBytes(32).toString('hex'),
  accessTokenSecret: randomBytes(32).toString('hex'),
  publisherSecret: randomBytes(32).toString('hex'),
};
const auditDir = await mkdtemp(path.join(os.tmpdir(), 'carecast-parts-'));
const parsed = parseConfig(
  {
    NODE_ENV: 'development',
    NODE_ID: 'bench-parts',
    HOST: '127.0.0.1',
    PORT: '0',
    INTERNAL_PORT: '0',
    LOG_LEVEL: 'error',
    AUDIT_DIR: auditDir,
    ALLOWED_ORIGINS: ORIGIN,
    // The parts are measured, not the limits.
    RATE_TICKETS_PER_USER: '1000000/60s',
    MAX_CONNECTIONS_PER_USER: '1000',
    ...(appRedis
      ? {
          REDIS_URL: values['redis-url'],
          REDIS_KEY_PREFIX: `carecast-parts-${randomBytes(4).toString('hex')}:`,
        }
      : {}),
  },
  { hostname: os.hostname(), pid: process.pid, devSecrets: secrets },
);
if (!parsed.ok) throw new Error(describeProblems(parsed.problems));
const app = await createApp(parsed.config, { logDestination: { write: () => undefined } });
const rows = [];
try {
  const tls = await publicTlsOptions({ kind: 'self-signed' }, app.logger);
  rows.push(...(await tlsHandshakes(tls)));

  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ role: 'doctor' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(DEV_TOKEN_ISSUER)
    .setAudience(DEV_TOKEN_AUDIENCE)
    .setSubject('dr-parts0001')
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(Buffer.from(secrets.accessTokenSecret));
  const verifier = app.nest.get(AccessTokenVerifier);
  rows.push([
    'access token verified (jose, HS256)',
    await cpuPerOp(2000, async () => {
      if (!(await verifier.verify(token)).ok) throw new Error('access token refused');
    }),
  ]);
  const signer = app.nest.get(TicketSigner);
  const principal = { role: 'doctor', id: 'dr-parts0001', launchPatient: null };
  rows.push([
    'ticket signed (@nestjs/jwt)',
    await cpuPerOp(5000, () => signer.sign(principal, now + 3600, Date.now())),
  ]);
  const ticket = (await signer.sign(principal, now + 3600, Date.now())).token;
  rows.push([
    'ticket verified (@nestjs/jwt)',
    await cpuPerOp(5000, async () => {
      if (!(await signer.verify(ticket, Date.now())).ok) throw new Error('ticket refused');
    }),
  ]);
  rows.push(...(await ticketRequests(tls, token)));
  rows.push(...(await upgrades(tls, token)));
  const audit = app.nest.get(AuditService);
  const grant = { principal, jti: 'jti-parts' };
  const session = { id: 'conn-parts', userKey: 'doctor:dr-parts0001', principal };
  rows.push([
    'audit record (20 per commit, fsync)',
    await cpuPerOp(2000, async () => {
      audit.record(wsConnected(session, grant.jti));
      if (!(await audit.flush())) throw new Error('audit sink failed');
    }),
  ]);
  if (values['redis-url']) rows.push(...(await redisRoundTrip(values['redis-url'])));
} finally {
  await redisCpu?.close();
  await app.shutdown();
  await rm(auditDir, { recursive: true, force: true });
}
console.log(
  `connect path parts, node ${process.version}, ${os.cpus().length} CPUs, ` +
    (appRedis ? 'node on Redis' : 'node embedded'),
);
console.log('CPU µs per operation (median of 5 rounds, min-max)  part');
for (const [name, r] of rows) {
  console.log(
    `${r.median.toFixed(1).padStart(8)} (${r.min.toFixed(1)}-${r.max.toFixed(1)})`.padEnd(36) +
      name +
      (r.redisUs === undefined ? '' : `; Redis server ${r.redisUs.toFixed(1)} µs per operation`),
  );
}

/**
 * Process CPU time per `op`, IN_FLIGHT at a time, `count` per round; one warm-up round.
 * `prepare` runs before each round, outside the measurement.
 */
async function cpuPerOp(count, op, prepare = async () => undefined) {
  const perRound = [];
  let redisUs = 0;
  for (let round = 0; round <= ROUNDS; round += 1) {
    await prepare();
    let next = 0;
    const redisStart = (await redisCpu?.read()) ?? 0;
    const start = process.cpuUsage();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < count) {
          next += 1;
          await op(next - 1);
        }
      }),
    );
    const used = process.cpuUsage(start);
    const redisUsed = ((await redisCpu?.read()) ?? 0) - redisStart;
    if (round > 0) perRound.push((used.user + used.system) / count);
    if (round > 0) redisUs += (redisUsed * 1e6) / count / ROUNDS;
  }
  perRound.sort((a, b) => a - b);
  return {
    median: perRound[Math.floor(ROUNDS / 2)],
    min: perRound[0],
    max: perRound.at(-1),
    ...(redisCpu ? { redisUs } : {}),
  };
}

async function tlsHandshakes(options) {
  const server = createServer(options, (socket) => socket.end());
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const context = createSecureContext();
  let session;
  const handshake = (resume) =>
    new Promise((resolve, reject) => {
      const socket = tlsConnect({
        port,
        host: '127.0.0.1',
        servername: '',
        rejectUnauthorized: false,
        secureContext: context,
        session: resume ? session : undefined,
      });
      socket.on('session', (s) => (session = s));
      socket.once('secureConnect', () => socket.end());
      socket.once('close', resolve);
      socket.once('error', reject);
    });
  const rowsOut = [
    ['TLS handshake, full (client + server)', await cpuPerOp(1000, () => handshake(false))],
    ['TLS handshake, resumed (client + server)', await cpuPerOp(1000, () => handshake(true))],
  ];
  await new Promise((resolve) => server.close(resolve));
  return rowsOut;
}

async function ticketRequests(tls, token) {
  const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT, rejectUnauthorized: false });
  const post = (port, pathName) =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: pathName,
          method: 'POST',
          agent,
          headers: { authorization: `Bearer ${token}`, origin: ORIGIN, 'content-length': '0' },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => (body += chunk));
          res.on('end', () =>
            res.statusCode === 201 ? resolve(body) : reject(new Error(`${res.statusCode} ${body}`)),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });
  const sample = await post(app.publicPort, '/v1/tickets');
  const bare = createHttpsServer(
    { cert: tls.cert, key: tls.key, minVersion: tls.minVersion },
    (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(201, { 'content-type': 'application/json' }).end(sample));
    },
  );
  await new Promise((resolve) => bare.listen(0, '127.0.0.1', resolve));
  const rowsOut = [
    [
      'bare HTTPS POST, same answer, keep-alive (client + server)',
      await cpuPerOp(2000, () => post(bare.address().port, '/')),
    ],
    [
      'ticket request, keep-alive (client + server, all its parts)',
      await cpuPerOp(2000, () => post(app.publicPort, '/v1/tickets')),
    ],
  ];
  agent.destroy();
  bare.closeAllConnections();
  await new Promise((resolve) => bare.close(resolve));
  return rowsOut;
}

/** WebSocket upgrades alone, closed at once: bare `ws` against carecast with its tickets. */
async function upgrades(tls, token) {
  const { WebSocket, WebSocketServer } = await import('ws');
  const server = createHttpsServer({ cert: tls.cert, key: tls.key, minVersion: tls.minVersion });
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered) => (offered.has('carecast.v1') ? 'carecast.v1' : false),
  });
  server.on('upgrade', (req, socket, head) =>
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('error', () => ws.terminate())),
  );
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const context = createSecureContext();
  const sessions = new Map();
  const open = (port, protocols) =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`wss://127.0.0.1:${port}/v1/ws`, protocols, {
        origin: ORIGIN,
        perMessageDeflate: false,
        createConnection: (options) => {
          const socket = tlsConnect({
            ...options,
            servername: '',
            rejectUnauthorized: false,
            secureContext: context,
            session: sessions.get(port),
          });
          socket.on('session', (session) => sessions.set(port, session));
          return socket;
        },
      });
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`${res.statusCode}`)));
      ws.once('open', () => {
        ws.once('close', resolve);
        ws.close(1000);
      });
    });
  const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT, rejectUnauthorized: false });
  const ticketOf = () =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: app.publicPort,
          path: '/v1/tickets',
          method: 'POST',
          agent,
          headers: { authorization: `Bearer ${token}`, origin: ORIGIN, 'content-length': '0' },
        },
        (res) => {
          let body = '';
          res.on('data', (chunk) => (body += chunk));
          res.on('end', () => resolve(JSON.parse(body).ticket));
        },
      );
      req.on('error', reject);
      req.end();
    });
  const count = 500;
  let tickets = [];
  const rowsOut = [
    [
      'bare wss upgrade, resumed TLS (client + server)',
      await cpuPerOp(count, () => open(server.address().port, ['carecast.v1'])),
    ],
    [
      'carecast wss upgrade with a ticket, resumed TLS (client + server)',
      await cpuPerOp(
        count,
        (i) => open(app.publicPort, ['carecast.v1', `ticket.${tickets[i]}`]),
        async () => {
          tickets = [];
          for (let i = 0; i < count; i += IN_FLIGHT) {
            tickets.push(...(await Promise.all(Array.from({ length: IN_FLIGHT }, ticketOf))));
          }
        },
      ),
    ],
  ];
  agent.destroy();
  for (const client of wss.clients) client.terminate();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  return rowsOut;
}

async function redisRoundTrip(url) {
  const redis = new Redis(url);
  const info = async () => {
    const text = await redis.info('cpu');
    const field = (name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(text)[1]);
    return field('used_cpu_sys') + field('used_cpu_user');
  };
  const key = `carecast-parts-${randomBytes(4).toString('hex')}`;
  const redisBefore = await info();
  const client = await cpuPerOp(10_000, () => redis.exists(key));
  const redisUs = ((await info()) - redisBefore) * 1e6;
  redis.disconnect();
  const commands = 10_000 * (ROUNDS + 1);
  return [
    ['Redis round trip (ioredis EXISTS), this process', client],
    [
      'Redis round trip, the Redis server (all rounds)',
      { median: redisUs / commands, min: redisUs / commands, max: redisUs / commands },
    ],
  ];
}

/** The Redis server's CPU seconds (INFO cpu), read on a connection of its own. */
function redisCpuReader(url) {
  const redis = new Redis(url);
  return {
    read: async () => {
      const text = await redis.info('cpu');
      const field = (name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(text)[1]);
      return field('used_cpu_sys') + field('used_cpu_user');
    },
    close: async () => {
      redis.disconnect();
    },
  };
}
