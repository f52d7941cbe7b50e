import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { TicketStore } from '../../src/stores/ticket-store/ticket-store.js';
import { UserBlocks } from '../../src/stores/user-blocks/user-blocks.js';
import { AccessTokenVerifier } from '../../src/tickets/access-token-verifier.js';
import { startNode, type TestNode, uniquePrefix } from '../support/app.js';
import { eventually, type HttpResponse, request } from '../support/http-client.js';
import { CanaryWatch, PHI_CANARY, PHI_CANARY_TEXT } from '../support/phi-canary.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { accessToken, doctor } from '../support/tokens.js';
import { TEST_ORIGIN } from '../support/ws-client.js';
import { untilReady } from '../support/readiness.js';

/**
 * The guards of `POST /v1/tickets`, in order OriginGuard, EmptyBodyGuard, AccessTokenGuard,
 * UnblockedUserGuard, TicketThrottlerGuard (docs/security.md): a request failing several checks gets the first one's refusal and is
 * audited and counted for that one only; a listed origin gets its CORS headers on every
 * answer, refusals included; an unexpected failure verifying the token is 503 `unavailable`.
 */

interface PostOptions {
  authorization?: string;
  origin?: string;
  body?: string;
}

function postTicket(node: TestNode, options: PostOptions = {}): Promise<HttpResponse> {
  const headers: Record<string, string> = {};
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  if (options.origin !== undefined) headers.origin = options.origin;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  return request(`${node.publicUrl}/v1/tickets`, {
    method: 'POST',
    headers,
    ...(options.body !== undefined ? { body: options.body } : {}),
  });
}

const bearer = (token: string) => `Bearer ${token}`;

function expectError(res: HttpResponse, status: number, code: string): void {
  expect({ status: res.status, body: res.body }).toEqual({ status, body: `{"error":"${code}"}` });
}

function expectCors(res: HttpResponse): void {
  expect({
    allowOrigin: res.headers['access-control-allow-origin'],
    expose: res.headers['access-control-expose-headers'],
    vary: String(res.headers.vary).toLowerCase().includes('origin'),
    credentials: res.headers['access-control-allow-credentials'],
  }).toEqual({
    allowOrigin: TEST_ORIGIN,
    expose: 'Retry-After',
    vary: true,
    credentials: undefined,
  });
}

async function rejectedCount(node: TestNode, reason: string): Promise<number> {
  const series = `carecast_tickets_rejected_total{reason="${reason}"}`;
  const res = await request(`${node.internalUrl}/metrics`);
  const line = res.body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

const REASONS = [
  'origin_not_allowed',
  'bad_request',
  'invalid_token',
  'unsupported_principal',
  'user_blocked',
  'rate_limited',
  'unavailable',
] as const;

async function rejectedCounts(node: TestNode): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const reason of REASONS) counts[reason] = await rejectedCount(node, reason);
  return counts;
}

type AuditLine = Record<string, unknown>;

async function auditRecord(node: TestNode, match: (r: AuditLine) => boolean): Promise<AuditLine> {
  const file = path.join(node.config.audit.dir, `audit-${node.config.nodeId}.jsonl`);
  let found: AuditLine | undefined;
  await eventually(async () => {
    const text = await readFile(file, 'utf8').catch(() => '');
    found = text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as AuditLine)
      .find(match);
    return found !== undefined;
  });
  return found!;
}

const ticketRejected =
  (reason: string, actor = 'anonymous') =>
  (r: AuditLine) =>
    r.event === 'ticket.rejected' && r.reason === reason && r.actor === actor;

describe('POST /v1/tickets guards (Redis-backed node, RATE_TICKETS_PER_USER=1/60s)', () => {
  let redis: RedisServerHandle;
  let node: TestNode;
  const watch = new CanaryWatch();

  beforeAll(async () => {
    redis = await startRedisServer();
    node = await startNode({
      ALLOWED_ORIGINS: TEST_ORIGIN,
      RATE_TICKETS_PER_USER: '1/60s',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix('ticket-guards'),
    });
    await untilReady(node);
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });
  afterAll(async () => {
    await node?.stop();
    await redis?.stop();
  });

  describe('order: the first failing check answers, and only it is counted', () => {
    it.each([
      [
        'Origin before body and token',
        { origin: 'https://evil.example', body: '{"x":1}', authorization: 'Bearer garbage' },
        403,
        'origin_not_allowed',
      ],
      [
        'body before token',
        { origin: TEST_ORIGIN, body: '[]', authorization: 'Bearer garbage' },
        400,
        'bad_request',
      ],
      [
        'token last',
        { origin: TEST_ORIGIN, body: '{}', authorization: 'Bearer garbage' },
        401,
        'invalid_token',
      ],
    ])('%s', async (_label, options, status, reason) => {
      const before = await rejectedCounts(node);
      expectError(await postTicket(node, options), status, reason);
      expect(await rejectedCounts(node)).toEqual({ ...before, [reason]: before[reason]! + 1 });
      expect(await auditRecord(node, ticketRejected(reason))).toMatchObject({ outcome: 'deny' });
    });
  });

  describe('order: block before the rate limit, the rate limit before the handler', () => {
    it('refuses a blocked user 403 every time, never 429: blocked requests do not count', async () => {
      const user = 'dr-blockfirst1';
      await node.app.nest.get(UserBlocks).block(`doctor:${user}`, 60, Date.now());
      const token = bearer(await doctor(user));
      const before = await rejectedCounts(node);
      for (let i = 0; i < 3; i++) {
        expectError(await postTicket(node, { authorization: token }), 403, 'user_blocked');
      }
      expect(await rejectedCounts(node)).toEqual({
        ...before,
        user_blocked: before.user_blocked! + 3,
      });
      expect(
        await auditRecord(node, ticketRejected('user_blocked', `doctor:${user}`)),
      ).toMatchObject({ outcome: 'deny' });
    });

    it('refuses 429 before signing: a throttled request records no ticket', async () => {
      const issue = jest.spyOn(node.app.nest.get(TicketStore), 'issue');
      for (let attempt = 0; ; attempt++) {
        issue.mockClear();
        const token = bearer(await doctor(`dr-throttle${attempt}`));
        expect((await postTicket(node, { authorization: token })).status).toBe(201);
        const second = await postTicket(node, { authorization: token });
        // A pair straddling a window boundary passes twice; the next user tries again.
        if (second.status === 201 && attempt < 2) continue;
        expectError(second, 429, 'rate_limited');
        expect(issue).toHaveBeenCalledTimes(1);
        expect(
          await auditRecord(
            node,
            (r) => r.event === 'rate.limited' && r.actor === `doctor:dr-throttle${attempt}`,
          ),
        ).toMatchObject({ outcome: 'deny', reason: 'tickets_per_user' });
        return;
      }
    });
  });

  describe('CORS for a listed origin on every answer, refusals included', () => {
    const scenarios: [string, () => Promise<PostOptions>, number, string | null][] = [
      ['201', async () => ({ authorization: bearer(await doctor('dr-corsok001')) }), 201, null],
      [
        '400 bad_request',
        async () => ({ authorization: bearer(await doctor()), body: '{"a":1}' }),
        400,
        'bad_request',
      ],
      [
        '401 invalid_token',
        async () => ({ authorization: 'Bearer garbage' }),
        401,
        'invalid_token',
      ],
      [
        '403 unsupported_principal',
        async () => ({
          authorization: bearer(await accessToken({ role: 'admin', sub: 'dr-admin0001' })),
        }),
        403,
        'unsupported_principal',
      ],
      [
        '403 user_blocked',
        async () => {
          await node.app.nest.get(UserBlocks).block('doctor:dr-corsblk01', 60, Date.now());
          return { authorization: bearer(await doctor('dr-corsblk01')) };
        },
        403,
        'user_blocked',
      ],
    ];

    it.each(scenarios)('%s', async (_label, options, status, reason) => {
      const res = await postTicket(node, { origin: TEST_ORIGIN, ...(await options()) });
      if (reason === null) expect(res.status).toBe(status);
      else expectError(res, status, reason);
      expectCors(res);
    });

    it('429 rate_limited, with a Retry-After the browser may read', async () => {
      // Two requests of one user fall into one 60 s window unless they straddle a boundary;
      // then the next user tries again.
      for (let attempt = 0; ; attempt++) {
        const token = await doctor(`dr-corsrate${attempt}`);
        const first = await postTicket(node, { origin: TEST_ORIGIN, authorization: bearer(token) });
        expect(first.status).toBe(201);
        const second = await postTicket(node, {
          origin: TEST_ORIGIN,
          authorization: bearer(token),
        });
        if (second.status === 201 && attempt < 2) continue;
        expectError(second, 429, 'rate_limited');
        expectCors(second);
        expect(String(second.headers['retry-after'])).toMatch(/^\d+$/);
        return;
      }
    });

    it('503 unavailable when a store fails, audited with the user', async () => {
      jest
        .spyOn(node.app.nest.get(TicketStore), 'issue')
        .mockRejectedValueOnce(new Error('store down'));
      const res = await postTicket(node, {
        origin: TEST_ORIGIN,
        authorization: bearer(await doctor('dr-corsstore1')),
      });
      expectError(res, 503, 'unavailable');
      expectCors(res);
      expect(res.headers['retry-after']).toBe('1');
      expect(
        await auditRecord(node, ticketRejected('unavailable', 'doctor:dr-corsstore1')),
      ).toMatchObject({ outcome: 'deny' });
    });
  });

  describe('AccessTokenGuard failing unexpectedly', () => {
    it('answers 503 unavailable with Retry-After, audited and counted, logging no token detail', async () => {
      const before = await rejectedCount(node, 'unavailable');
      jest
        .spyOn(AccessTokenVerifier.prototype, 'verify')
        .mockRejectedValueOnce(new TypeError(PHI_CANARY_TEXT));
      const res = watch.response(
        await postTicket(node, { origin: TEST_ORIGIN, authorization: bearer(await doctor()) }),
      );
      expectError(res, 503, 'unavailable');
      expect(res.headers['retry-after']).toBe('1');
      expectCors(res);
      expect(await rejectedCount(node, 'unavailable')).toBe(before + 1);
      await auditRecord(node, ticketRejected('unavailable'));
    });
  });

  describe('preflight', () => {
    it('refuses a preflight without Origin with 403, audited, and no CORS grant', async () => {
      const before = await rejectedCount(node, 'origin_not_allowed');
      const res = await request(`${node.publicUrl}/v1/tickets`, {
        method: 'OPTIONS',
        headers: { 'access-control-request-method': 'POST' },
      });
      expectError(res, 403, 'origin_not_allowed');
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['access-control-allow-methods']).toBeUndefined();
      expect(await rejectedCount(node, 'origin_not_allowed')).toBe(before + 1);
    });
  });

  it('lets no PHI canary out of the guards’ refusals', async () => {
    const probes: PostOptions[] = [
      { origin: PHI_CANARY_TEXT, body: JSON.stringify({ name: PHI_CANARY.name }) },
      { origin: TEST_ORIGIN, body: JSON.stringify({ mrn: PHI_CANARY.mrn }), authorization: 'x' },
      { origin: TEST_ORIGIN, authorization: `Bearer ${PHI_CANARY.mrn.replace(' ', '')}` },
      { origin: TEST_ORIGIN, authorization: `Basic ${PHI_CANARY.email}` },
    ];
    for (const probe of probes) {
      expect(watch.response(await postTicket(node, probe)).status).toBeGreaterThanOrEqual(400);
    }
    await watch.expectClean(node);
  });
});
