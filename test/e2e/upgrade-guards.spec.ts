import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, Server } from 'node:http';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { CanActivate } from '@nestjs/common';
import { decodeJwt } from 'jose';
import {
  DrainingGuard,
  HandshakeGuard,
  TlsTransportGuard,
} from '../../src/gateway/upgrade-request.guards.js';
import {
  ConnectionCapGuard,
  TicketRedemptionGuard,
  TicketSignatureGuard,
  UserBlockGuard,
} from '../../src/gateway/upgrade-ticket.guards.js';
import { DrainState } from '../../src/lifecycle/drain-state.js';
import { ConnectionCounter } from '../../src/stores/connection-counter/connection-counter.js';
import { UpgradeAdmission } from '../../src/stores/upgrade-admission/upgrade-admission.js';
import { UserBlocks } from '../../src/stores/user-blocks/user-blocks.js';
import { OriginGuard } from '../../src/tickets/origin.guard.js';
import { startNode, type TestNode, uniquePrefix } from '../support/app.js';
import { eventually, request } from '../support/http-client.js';
import { CanaryWatch, PHI_CANARY, PHI_CANARY_TEXT } from '../support/phi-canary.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { patient, ticketFor } from '../support/tokens.js';
import { connect, connectOk, type Refused, TEST_ORIGIN } from '../support/ws-client.js';

/**
 * The upgrade guards of `GET /v1/ws` (contract §4, docs/security.md): their order (a request
 * that fails two checks gets the earlier one's reason), each refusal's audit record, 503 for
 * any unexpected failure in any guard (never a 101), and the connection slot given back when
 * the socket dies between the cap check and the 101. Nodes share one real Redis.
 */

type AuditLine = Record<string, unknown>;

async function auditLines(node: TestNode): Promise<AuditLine[]> {
  const file = path.join(node.config.audit.dir, `audit-${node.config.nodeId}.jsonl`);
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditLine);
}

/** Waits for the asynchronous audit writer to append a record matching `match`. */
async function auditRecord(node: TestNode, match: (r: AuditLine) => boolean): Promise<AuditLine> {
  let found: AuditLine | undefined;
  await eventually(async () => {
    found = (await auditLines(node)).find(match);
    return found !== undefined;
  });
  return found!;
}

const rejected = (reason: string, jti?: string) => (r: AuditLine) =>
  r.event === 'ws.upgrade_rejected' && r.reason === reason && (jti === undefined || r.jti === jti);

async function metric(node: TestNode, series: string): Promise<number> {
  const res = await request(`${node.internalUrl}/metrics`);
  const line = res.body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

function expectRefused(outcome: unknown, status: number, reason: string): Refused {
  expect(outcome).toMatchObject({ ok: false, status, body: `{"error":"${reason}"}` });
  return outcome as Refused;
}

const jtiOf = (ticket: string) => decodeJwt(ticket).jti as string;

/** A ticket whose claims were edited after signing: its signature no longer verifies. */
function tampered(ticket: string): string {
  const [header, , signature] = ticket.split('.');
  const claims = { ...decodeJwt(ticket), sub: 'pt-someone01' };
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
}

describe('upgrade guards (two nodes on one Redis, MAX_CONNECTIONS_PER_USER=1)', () => {
  let redis: RedisServerHandle;
  let node: TestNode;
  /** Shares node's Redis; drained by the last test of this block. */
  let draining: TestNode;
  const watch = new CanaryWatch();

  beforeAll(async () => {
    redis = await startRedisServer();
    const shared = {
      ALLOWED_ORIGINS: TEST_ORIGIN,
      MAX_CONNECTIONS_PER_USER: '1',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix('upgrade-guards'),
    };
    node = await startNode({ ...shared, NODE_ID: 'guards-a' });
    draining = await startNode({ ...shared, NODE_ID: 'guards-b' });
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });
  afterAll(async () => {
    await node?.stop();
    await draining?.stop();
    await redis?.stop();
  });

  describe('order: a request failing two checks gets the earlier one’s reason', () => {
    it.each([
      [
        'Origin before version',
        { protocolVersion: 8, headers: { Origin: 'https://evil.example' } },
        403,
        'origin_not_allowed',
      ],
      [
        'version before subprotocol',
        { protocolVersion: 8, headers: { Origin: TEST_ORIGIN }, protocols: ['other.v1'] },
        426,
        'bad_version',
      ],
      ['subprotocol before ticket presence', { protocols: ['other.v1'] }, 400, 'bad_protocol'],
      [
        'Origin before the ticket',
        { origin: 'https://evil.example', ticket: 'x.y.z' },
        403,
        'origin_not_allowed',
      ],
    ])('%s', async (_label, options, status, reason) => {
      expectRefused(await connect(node, options), status, reason);
    });

    it('verifies the signature before redemption, block and cap: a forged copy spends nothing', async () => {
      const ticket = await ticketFor(node, await patient('pt-forgery01'));
      await node.app.nest.get(UserBlocks).block('patient:pt-someone01', 60, Date.now());
      expectRefused(await connect(node, { ticket: tampered(ticket) }), 401, 'ticket_invalid');
      const record = await auditRecord(node, rejected('ticket_invalid'));
      expect(record).toMatchObject({ actor: 'anonymous', code: 401 });
      expect(record.jti).toBeUndefined();
      (await connectOk(node, { ticket })).close();
    });

    it('redeems before the block, and checks the block before the cap', async () => {
      const user = 'pt-blocked01';
      const first = await ticketFor(node, await patient(user));
      const second = await ticketFor(node, await patient(user));
      // The user holds the one slot MAX_CONNECTIONS_PER_USER allows, then gets blocked.
      const live = await connectOk(node, { ticket: first });
      await node.app.nest.get(UserBlocks).block(`patient:${user}`, 60, Date.now());

      expectRefused(await connect(node, { ticket: second }), 403, 'user_blocked');
      expect(await auditRecord(node, rejected('user_blocked', jtiOf(second)))).toMatchObject({
        outcome: 'deny',
        actor: `patient:${user}`,
        code: 403,
      });
      // The blocked attempt spent the ticket: a replay is refused as reused, not as blocked.
      expectRefused(await connect(node, { ticket: second }), 401, 'ticket_reused');
      expect(await auditRecord(node, rejected('ticket_reused', jtiOf(second)))).toMatchObject({
        actor: `patient:${user}`,
        code: 401,
      });
      live.close();
      await live.closed;
    });

    it('refuses over the cap with Retry-After after spending the ticket', async () => {
      const user = 'pt-capped0001';
      const live = await connectOk(node, { ticket: await ticketFor(node, await patient(user)) });
      const ticket = await ticketFor(node, await patient(user));
      const refused = expectRefused(await connect(node, { ticket }), 429, 'too_many_connections');
      expect(refused.headers['retry-after']).toBe('5');
      expect(
        await auditRecord(node, rejected('too_many_connections', jtiOf(ticket))),
      ).toMatchObject({ actor: `patient:${user}`, code: 429 });
      live.close();
      await live.closed;
      expectRefused(await connect(node, { ticket }), 401, 'ticket_reused');
    });
  });

  describe('503 unavailable for an unexpected failure in any guard, never a 101', () => {
    const guards: [string, { prototype: CanActivate }][] = [
      ['TlsTransportGuard', TlsTransportGuard],
      ['OriginGuard', OriginGuard],
      ['HandshakeGuard', HandshakeGuard],
      ['DrainingGuard', DrainingGuard],
      ['TicketSignatureGuard', TicketSignatureGuard],
      ['TicketRedemptionGuard', TicketRedemptionGuard],
      ['UserBlockGuard', UserBlockGuard],
      ['ConnectionCapGuard', ConnectionCapGuard],
    ];

    it.each(guards.map(([name, guard], i) => [name, guard, i] as const))(
      '%s throwing',
      async (_name, guard, i) => {
        const user = `pt-failing0${i}`;
        const ticket = await ticketFor(node, await patient(user));
        const unavailable = 'carecast_ws_upgrades_rejected_total{reason="unavailable"}';
        const before = await metric(node, unavailable);
        // The error's message is PHI-shaped: only its type may reach the log.
        jest.spyOn(guard.prototype, 'canActivate').mockImplementationOnce(() => {
          throw new TypeError(PHI_CANARY_TEXT);
        });
        const refused = expectRefused(await connect(node, { ticket }), 503, 'unavailable');
        watch.frame(refused.body, 'refusal body');
        expect(refused.headers['retry-after']).toBe('1');
        expect(await metric(node, unavailable)).toBe(before + 1);
        // The guards after a failure do not run; the next upgrade finds them all in place.
        const next = await connect(node, { ticket: await ticketFor(node, await patient(user)) });
        expect(next.ok).toBe(true);
        if (next.ok) {
          next.client.close();
          await next.client.closed;
        }
      },
    );

    it('audits the failure as ws.upgrade_rejected unavailable, with the user once the ticket verified', async () => {
      const ticket = await ticketFor(node, await patient('pt-storefail1'));
      jest
        .spyOn(TicketRedemptionGuard.prototype, 'canActivate')
        .mockRejectedValueOnce(new Error('store down'));
      expectRefused(await connect(node, { ticket }), 503, 'unavailable');
      expect(await auditRecord(node, rejected('unavailable', jtiOf(ticket)))).toMatchObject({
        outcome: 'deny',
        actor: 'patient:pt-storefail1',
        code: 503,
      });
    });

    it('treats a guard answering false instead of refusing as a failure', async () => {
      const ticket = await ticketFor(node, await patient('pt-falsy0001'));
      jest.spyOn(UserBlockGuard.prototype, 'canActivate').mockReturnValueOnce(false);
      expectRefused(await connect(node, { ticket }), 503, 'unavailable');
    });
  });

  describe('a socket that dies after its slot was taken and before the 101', () => {
    it.each([
      ['is destroyed', (socket: TLSSocket) => socket.destroy(), 'close'],
      ['half-closes (FIN)', (socket: TLSSocket) => socket.end(), 'end'],
    ])('gives the slot back when the client %s', async (_label, leave, serverEvent) => {
      const user = serverEvent === 'close' ? 'pt-vanish0001' : 'pt-halfclose1';
      const ticket = await ticketFor(node, await patient(user));
      const counter = node.app.nest.get(ConnectionCounter);
      // On a standalone Redis the slot is taken with the redemption, in one script.
      const admission = node.app.nest.get(UpgradeAdmission);
      const publicServer = node.app.nest.getHttpServer() as Server;
      let serverSide: Duplex | undefined;
      const capture = (_req: IncomingMessage, socket: Duplex) => (serverSide = socket);
      publicServer.on('upgrade', capture);
      let client!: TLSSocket;
      const admit = admission.admit.bind(admission);
      jest.spyOn(admission, 'admit').mockImplementationOnce(async (...args) => {
        const facts = await admit(...args);
        expect(facts).toMatchObject({ redeemed: true, slot: 'taken' });
        // The event itself, not events.once: a reset socket also emits 'error' (ECONNRESET).
        const gone = new Promise((resolve) => serverSide!.once(serverEvent, resolve));
        leave(client);
        await gone;
        return facts;
      });
      const release = counter.release.bind(counter);
      const released = new Promise<string>((resolve) => {
        jest.spyOn(counter, 'release').mockImplementationOnce(async (userKey, slotKey) => {
          await release(userKey, slotKey);
          resolve(userKey);
        });
      });
      try {
        client = rawUpgrade(node, ticket);
        client.on('error', () => undefined);
        expect(await within(5000, released, 'slot release')).toBe(`patient:${user}`);
      } finally {
        publicServer.off('upgrade', capture);
      }
      // The user's one slot is free again: a new connection gets in at once.
      const next = await connectOk(node, { ticket: await ticketFor(node, await patient(user)) });
      next.close();
      await next.closed;
      expect(await auditLines(node)).not.toContainEqual(
        expect.objectContaining({ event: 'ws.connected', jti: jtiOf(ticket) }),
      );
    });
  });

  describe('draining, after the handshake and before the ticket', () => {
    it('answers ticket_missing before draining, then 503 draining without spending the ticket', async () => {
      const ticket = await ticketFor(node, await patient('pt-drained01'));
      await draining.app.nest.get(DrainState).begin();
      expectRefused(await connect(draining, { protocols: ['carecast.v1'] }), 401, 'ticket_missing');
      const refused = expectRefused(await connect(draining, { ticket }), 503, 'draining');
      expect(refused.headers['retry-after']).toBe('1');
      expect(await auditRecord(draining, rejected('draining'))).toMatchObject({
        actor: 'anonymous',
        code: 503,
      });
      // The other node redeems the ticket the draining node left unspent.
      (await connectOk(node, { ticket })).close();
    });
  });

  it('lets no PHI canary out of the guards’ refusals', async () => {
    const outcomes = await Promise.all([
      connect(node, { origin: `https://${PHI_CANARY.email.replace('@', '.')}`, ticket: 'x.y.z' }),
      connect(node, { protocols: ['carecast.v1', `ticket.Zelda.Quixotica.77340091`] }),
      connect(node, { protocols: [`Zelda-Quixotica`], headers: { 'x-patient': PHI_CANARY_TEXT } }),
      connect(node, { ticket: 'x.y.z', headers: { 'x-forwarded-proto': PHI_CANARY_TEXT } }),
    ]);
    for (const outcome of outcomes) {
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) {
        watch.frame(outcome.body, 'refusal body');
        watch.frame(JSON.stringify(outcome.headers), 'refusal headers');
      }
    }
    await watch.expectClean(node, draining);
  });
});

describe('upgrade guards behind a trusted TLS proxy', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startNode({
      ALLOWED_ORIGINS: TEST_ORIGIN,
      TLS_TERMINATED_BY_PROXY: 'true',
      TRUSTED_PROXIES: '127.0.0.1,::1',
    });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('checks the transport before the Origin', async () => {
    const evil = { origin: 'https://evil.example', ticket: 'x.y.z' };
    expectRefused(await connect(node, evil), 403, 'not_tls');
    const forwarded = { ...evil, headers: { 'x-forwarded-proto': 'https' } };
    expectRefused(await connect(node, forwarded), 403, 'origin_not_allowed');
    expect(await auditRecord(node, rejected('not_tls'))).toMatchObject({
      actor: 'anonymous',
      code: 403,
    });
  });
});

/** `promise`, or a failure naming `what` after `timeoutMs`. */
function within<T>(timeoutMs: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Sends an upgrade request over a raw TLS socket, so the test can drop it mid-handshake. */
function rawUpgrade(node: TestNode, ticket: string): TLSSocket {
  const port = Number(new URL(node.publicUrl).port);
  const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
  socket.write(
    [
      'GET /v1/ws HTTP/1.1',
      `Host: 127.0.0.1:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      `Sec-WebSocket-Protocol: carecast.v1, ticket.${ticket}`,
      `Origin: ${TEST_ORIGIN}`,
      '',
      '',
    ].join('\r\n'),
  );
  return socket;
}
