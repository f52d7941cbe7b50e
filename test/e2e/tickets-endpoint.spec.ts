import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { DEV_TOKEN_AUDIENCE, DEV_TOKEN_ISSUER } from '../../src/config/config.types.js';
import { UserBlocks } from '../../src/stores/user-blocks/user-blocks.js';
import { inOneWindow } from '../support/fixed-window.js';
import { startNode, TEST_DEV_SECRETS, type TestNode, uniquePrefix } from '../support/app.js';
import { freePort } from '../support/free-port.js';
import { eventually, type HttpResponse, request } from '../support/http-client.js';
import { CanaryWatch, PHI_CANARY, PHI_CANARY_TEXT } from '../support/phi-canary.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { accessToken, doctor, patient, ticketFor } from '../support/tokens.js';
import { connect, TEST_ORIGIN } from '../support/ws-client.js';
import { untilReady } from '../support/readiness.js';

/**
 * `POST /v1/tickets` (contract §3) over real TLS: response shape, the ticket JWT, CORS and
 * Origin refusal, token and principal refusals, blocks, the per-user limit (also across two
 * nodes sharing one Redis), audit records, metrics, and the PHI canary.
 */

const DOCTOR_ID = 'dr-7f3k2m9q';
const PATIENT_ID = 'pt-4c9a1b2e';
/** Lookalikes of TEST_ORIGIN (`https://app.carecast.test`) a browser could really send. */
const LOOKALIKE_ORIGINS: [string, string][] = [
  ['suffix', 'https://app.carecast.test.evil.example'],
  ['prefix', 'https://evilapp.carecast.test'],
  ['subdomain', 'https://evil.app.carecast.test'],
  ['scheme', 'http://app.carecast.test'],
  ['port', 'https://app.carecast.test:8443'],
  ['null', 'null'],
  ['trailing slash', 'https://app.carecast.test/'],
  ['case', 'https://APP.carecast.test'],
];

interface PostOptions {
  token?: string;
  /** Raw Authorization header; wins over `token`. */
  authorization?: string;
  origin?: string;
  body?: string;
  contentType?: string;
  path?: string;
  headers?: Record<string, string>;
}

function postTicket(node: TestNode, options: PostOptions = {}): Promise<HttpResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  else if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.origin !== undefined) headers.origin = options.origin;
  if (options.body !== undefined)
    headers['content-type'] = options.contentType ?? 'application/json';
  return request(`${node.publicUrl}${options.path ?? '/v1/tickets'}`, {
    method: 'POST',
    headers,
    ...(options.body !== undefined ? { body: options.body } : {}),
  });
}

/** Every error answer: the status, and a body that is exactly `{"error": code}`. */
function expectError(res: HttpResponse, status: number, code: string): void {
  expect({ status: res.status, body: res.body }).toEqual({ status, body: `{"error":"${code}"}` });
  expect(Object.keys(res.json() as object)).toEqual(['error']);
}

function expectInvalidToken(res: HttpResponse): void {
  expectError(res, 401, 'invalid_token');
  expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
}

interface TicketBody {
  ticket: string;
  expiresIn: number;
  url: string;
  protocol: string;
}

/** The body of a 201; a refusal fails the test with its status and body. */
function ticketBody(res: HttpResponse): TicketBody {
  expect(res.status === 201 ? 201 : `${res.status} ${res.body}`).toBe(201);
  return res.json() as TicketBody;
}

function b64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** One sample of a Prometheus counter, 0 when the series does not exist yet. */
async function metric(node: TestNode, series: string): Promise<number> {
  const res = await request(`${node.internalUrl}/metrics`);
  const line = res.body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

type AuditLine = Record<string, unknown>;

async function auditLines(node: TestNode): Promise<AuditLine[]> {
  const file = path.join(node.config.audit.dir, `audit-${node.config.nodeId}.jsonl`);
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((l) => l.length > 0)
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

describe('POST /v1/tickets (embedded node)', () => {
  let node: TestNode;
  let port: number;

  beforeAll(async () => {
    // An explicit PORT, so the default advertised url (from PORT) is one a client can use.
    // The port was free a moment ago; another process may take it first, so retry.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        node = await startNode({
          PORT: String(port),
          ALLOWED_ORIGINS: `${TEST_ORIGIN},https://other.carecast.test`,
          RATE_TICKETS_PER_USER: '1000/60s',
        });
        break;
      } catch (error) {
        if (attempt >= 3 || (error as { code?: unknown }).code !== 'EADDRINUSE') throw error;
      }
    }
  });
  afterAll(async () => {
    await node?.stop();
  });

  describe('201', () => {
    it('answers exactly {ticket, expiresIn: 60, url, protocol} with Cache-Control: no-store', async () => {
      const res = await postTicket(node, { token: await doctor() });
      const body = ticketBody(res);
      expect(Object.keys(body).sort()).toEqual(['expiresIn', 'protocol', 'ticket', 'url']);
      expect(body).toEqual({
        ticket: expect.any(String) as unknown as string,
        expiresIn: 60,
        url: `wss://localhost:${port}/v1/ws`,
        protocol: 'carecast.v1',
      });
      expect(node.app.publicPort).toBe(port);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
    });

    it('issues a JWT ticket: typ carecast-ticket+jwt, aud ws, sub, role, random jti, exp = iat + 60, lease = token exp', async () => {
      const token = await doctor();
      const { ticket } = ticketBody(await postTicket(node, { token }));
      expect(decodeProtectedHeader(ticket)).toEqual({ alg: 'HS256', typ: 'carecast-ticket+jwt' });
      // Signed with TICKET_SECRET, not anything a client holds.
      const secret = new TextEncoder().encode(TEST_DEV_SECRETS.ticketSecret);
      await expect(jwtVerify(ticket, secret, { audience: 'ws' })).resolves.toBeDefined();
      const claims = decodeJwt(ticket);
      expect(claims.aud).toBe('ws');
      expect(claims.sub).toBe(DOCTOR_ID);
      expect(claims.role).toBe('doctor');
      expect(claims.jti).toMatch(/^[A-Za-z0-9_-]{22,}$/);
      expect(claims.iat).toEqual(expect.any(Number));
      expect(Math.abs(claims.iat! - Date.now() / 1000)).toBeLessThan(5);
      expect(claims.exp).toBe(claims.iat! + 60);
      expect(claims.lease).toBe(decodeJwt(token).exp);
      expect(claims.patient).toBeUndefined();
    });

    it('gives every ticket its own jti', async () => {
      const token = await patient();
      const jtis = new Set<unknown>();
      for (let i = 0; i < 5; i++) jtis.add(decodeJwt(await ticketFor(node, token)).jti);
      expect(jtis.size).toBe(5);
    });

    it('issues a patient ticket with role patient and the patient id as sub', async () => {
      const claims = decodeJwt(
        ticketBody(await postTicket(node, { token: await patient() })).ticket,
      );
      expect({ sub: claims.sub, role: claims.role }).toEqual({ sub: PATIENT_ID, role: 'patient' });
    });

    it('shrinks expiresIn and exp when the access token expires in less than 60 s', async () => {
      const token = await doctor(DOCTOR_ID, { expiresIn: 20 });
      const tokenExp = decodeJwt(token).exp!;
      const body = ticketBody(await postTicket(node, { token }));
      expect(body.expiresIn).toBeGreaterThan(0);
      expect(body.expiresIn).toBeLessThanOrEqual(20);
      const claims = decodeJwt(body.ticket);
      expect(claims.exp).toBe(tokenExp);
      expect(claims.lease).toBe(tokenExp);
      expect(body.expiresIn).toBe(claims.exp! - claims.iat!);
    });

    it('carries a doctor’s SMART launch patient in the ticket', async () => {
      const token = await doctor(DOCTOR_ID, { patient: PATIENT_ID });
      const claims = decodeJwt(ticketBody(await postTicket(node, { token })).ticket);
      expect(claims).toMatchObject({ sub: DOCTOR_ID, role: 'doctor', patient: PATIENT_ID });
    });

    it.each([
      ['relative', `Practitioner/${DOCTOR_ID}`],
      ['absolute', `https://fhir.example.org/r4/Practitioner/${DOCTOR_ID}`],
    ])('derives a doctor from a %s fhirUser Practitioner reference', async (_kind, fhirUser) => {
      // No role, and a sub that is not an opaque id: fhirUser alone names the user.
      const token = await accessToken({ fhirUser, sub: 'idp|0001' });
      const claims = decodeJwt(ticketBody(await postTicket(node, { token })).ticket);
      expect({ sub: claims.sub, role: claims.role }).toEqual({ sub: DOCTOR_ID, role: 'doctor' });
    });

    it('derives a patient from fhirUser Patient/<id>', async () => {
      const token = await accessToken({ fhirUser: `Patient/${PATIENT_ID}` });
      const claims = decodeJwt(ticketBody(await postTicket(node, { token })).ticket);
      expect({ sub: claims.sub, role: claims.role }).toEqual({ sub: PATIENT_ID, role: 'patient' });
    });

    it('accepts an explicit {} body', async () => {
      ticketBody(await postTicket(node, { token: await doctor(), body: '{}' }));
    });

    it('serves a native app that sends no Origin, without CORS headers', async () => {
      const res = await postTicket(node, { token: await doctor() });
      ticketBody(res);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    });
  });

  describe('CORS and Origin', () => {
    it('answers an allowlisted Origin with Access-Control-Allow-Origin and Vary: Origin, never credentials', async () => {
      for (const origin of [TEST_ORIGIN, 'https://other.carecast.test']) {
        const res = await postTicket(node, { token: await doctor(), origin });
        ticketBody(res);
        expect(res.headers['access-control-allow-origin']).toBe(origin);
        expect(String(res.headers.vary).toLowerCase()).toContain('origin');
        expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      }
    });

    it('lets an allowlisted browser read its error too', async () => {
      const res = await postTicket(node, { authorization: 'Bearer nope', origin: TEST_ORIGIN });
      expectInvalidToken(res);
      expect(res.headers['access-control-allow-origin']).toBe(TEST_ORIGIN);
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    });

    it('answers an allowed preflight with 204, the method and the headers', async () => {
      const res = await request(`${node.publicUrl}/v1/tickets`, {
        method: 'OPTIONS',
        headers: {
          origin: TEST_ORIGIN,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
      expect(res.status).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe(TEST_ORIGIN);
      expect(String(res.headers.vary).toLowerCase()).toContain('origin');
      expect(String(res.headers['access-control-allow-methods'])).toContain('POST');
      const allowed = String(res.headers['access-control-allow-headers']).toLowerCase();
      expect(allowed).toContain('authorization');
      expect(allowed).toContain('content-type');
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    });

    it.each(LOOKALIKE_ORIGINS)(
      'refuses a preflight from a lookalike origin (%s) with 403 origin_not_allowed',
      async (_kind, origin) => {
        const res = await request(`${node.publicUrl}/v1/tickets`, {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'POST' },
        });
        expectError(res, 403, 'origin_not_allowed');
        expect(res.headers['access-control-allow-origin']).toBeUndefined();
        expect(res.headers['access-control-allow-methods']).toBeUndefined();
      },
    );

    it.each(LOOKALIKE_ORIGINS)(
      'refuses a valid token from a lookalike origin (%s) with 403 and no CORS grant',
      async (_kind, origin) => {
        const res = await postTicket(node, { token: await doctor(), origin });
        expectError(res, 403, 'origin_not_allowed');
        expect(res.headers['access-control-allow-origin']).toBeUndefined();
        expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      },
    );

    it('refuses a cross-site origin', async () => {
      const res = await postTicket(node, { token: await doctor(), origin: 'https://evil.example' });
      expectError(res, 403, 'origin_not_allowed');
    });
  });

  describe('401 invalid_token', () => {
    const cases: [string, () => Promise<PostOptions>][] = [
      ['no Authorization header', async () => ({})],
      ['an empty bearer', async () => ({ authorization: 'Bearer ' })],
      ['a garbage bearer', async () => ({ authorization: 'Bearer not.a.jwt' })],
      ['another scheme', async () => ({ authorization: `Basic ${await doctor()}` })],
      ['an expired token', async () => ({ token: await doctor(DOCTOR_ID, { expiresIn: -60 }) })],
      [
        'a token expired within the clock tolerance (it would give a dead ticket)',
        async () => ({ token: await doctor(DOCTOR_ID, { expiresIn: -2 }) }),
      ],
      [
        'a wrong issuer',
        async () => ({ token: await doctor(DOCTOR_ID, { issuer: 'https://idp.evil.example' }) }),
      ],
      [
        'a wrong audience',
        async () => ({ token: await doctor(DOCTOR_ID, { audience: 'other-app' }) }),
      ],
      [
        'a forged signature',
        async () => ({ token: await doctor(DOCTOR_ID, { secret: 'x'.repeat(48) }) }),
      ],
      [
        'alg: none',
        async () => {
          const now = Math.floor(Date.now() / 1000);
          const claims = {
            iss: DEV_TOKEN_ISSUER,
            aud: DEV_TOKEN_AUDIENCE,
            role: 'doctor',
            sub: DOCTOR_ID,
            iat: now,
            exp: now + 3600,
          };
          return { token: `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.` };
        },
      ],
    ];

    it.each(cases)('refuses %s', async (_what, options) => {
      expectInvalidToken(await postTicket(node, await options()));
    });

    it('refuses a ticket presented as an access token', async () => {
      const ticket = await ticketFor(node, await doctor());
      expectInvalidToken(await postTicket(node, { token: ticket }));
    });
  });

  describe('403 unsupported_principal', () => {
    it.each([
      ['no role claim', () => accessToken({ sub: DOCTOR_ID })],
      ['an SSN-shaped sub', () => accessToken({ role: 'doctor', sub: '123-45-6789' })],
      ['a bare record number as sub', () => accessToken({ role: 'patient', sub: '0012345678' })],
      ['role admin', () => accessToken({ role: 'admin', sub: DOCTOR_ID })],
      ['an unknown fhirUser type', () => accessToken({ fhirUser: `RelatedPerson/${PATIENT_ID}` })],
    ])('refuses a token with %s', async (_what, token) => {
      expectError(await postTicket(node, { token: await token() }), 403, 'unsupported_principal');
    });
  });

  describe('400 bad_request', () => {
    it.each([
      ['a non-empty JSON object', '{"patient":"pt-4c9a1b2e"}'],
      ['a JSON array', '[]'],
      ['malformed JSON', '{"patient":'],
    ])('refuses %s as the body', async (_what, body) => {
      expectError(await postTicket(node, { token: await doctor(), body }), 400, 'bad_request');
    });

    // Contract §3: the request body is empty or `{}`. Express leaves req.body undefined for
    // content types it does not parse, so "no parsed body" must not be taken for "empty".
    it.each([
      ['text/plain', 'hello'],
      ['application/x-www-form-urlencoded', 'patient=pt-4c9a1b2e'],
    ])('refuses a non-empty %s body instead of issuing a ticket', async (contentType, body) => {
      const res = await postTicket(node, { token: await doctor(), body, contentType });
      const refusal = { 400: 'bad_request', 415: 'unsupported_media_type' }[res.status as 400];
      expect({ status: res.status, body: res.body }).toEqual({
        status: refusal === undefined ? 'a 400 or 415 refusal' : res.status,
        body: `{"error":"${refusal ?? 'bad_request or unsupported_media_type'}"}`,
      });
    });
  });

  describe('audit and metrics', () => {
    it('audits ticket.issued with the jti and the user key, never the ticket or the token', async () => {
      const token = await doctor();
      const { ticket } = ticketBody(await postTicket(node, { token }));
      const jti = decodeJwt(ticket).jti;
      const record = await auditRecord(node, (r) => r.event === 'ticket.issued' && r.jti === jti);
      expect(record).toMatchObject({ outcome: 'allow', actor: `doctor:${DOCTOR_ID}`, jti });
      const text = JSON.stringify(await auditLines(node));
      expect(text).not.toContain(ticket);
      expect(text).not.toContain(token);
    });

    it('audits ticket.rejected with the reason', async () => {
      const rejected = (reason: string) => (r: AuditLine) =>
        r.event === 'ticket.rejected' && r.reason === reason;
      expectInvalidToken(await postTicket(node, { authorization: 'Bearer garbage' }));
      expect(await auditRecord(node, rejected('invalid_token'))).toMatchObject({ outcome: 'deny' });
      const origin = 'https://audit-probe.evil.example';
      const res = await postTicket(node, { token: await doctor(), origin });
      expectError(res, 403, 'origin_not_allowed');
      expect(await auditRecord(node, rejected('origin_not_allowed'))).toMatchObject({
        outcome: 'deny',
      });
      const admin = await accessToken({ role: 'admin', sub: DOCTOR_ID });
      expectError(await postTicket(node, { token: admin }), 403, 'unsupported_principal');
      expect(await auditRecord(node, rejected('unsupported_principal'))).toMatchObject({
        outcome: 'deny',
      });
    });

    it('counts issued and rejected tickets in Prometheus', async () => {
      const issued = 'carecast_tickets_issued_total';
      const invalid = 'carecast_tickets_rejected_total{reason="invalid_token"}';
      const [issuedBefore, invalidBefore] = [
        await metric(node, issued),
        await metric(node, invalid),
      ];
      await ticketFor(node, await doctor());
      await ticketFor(node, await patient());
      expectInvalidToken(await postTicket(node, { authorization: 'Bearer garbage' }));
      expect(await metric(node, issued)).toBe(issuedBefore + 2);
      expect(await metric(node, invalid)).toBe(invalidBefore + 1);
    });
  });

  describe('PHI canary', () => {
    it('echoes a canary fed through Authorization, Origin, body, a fhirUser claim and the path nowhere', async () => {
      const watch = new CanaryWatch();
      const token = await doctor();
      const canaryPath = encodeURIComponent(PHI_CANARY_TEXT);
      const probes: [PostOptions, number][] = [
        [{ authorization: `Bearer ${PHI_CANARY_TEXT}` }, 401],
        [{ authorization: `Bearer ${PHI_CANARY.mrn}` }, 401],
        [{ token, origin: `https://${PHI_CANARY.email.split('@')[1]!}` }, 403],
        [{ token, origin: PHI_CANARY_TEXT }, 403],
        [{ token, body: JSON.stringify({ name: PHI_CANARY.name, mrn: PHI_CANARY.mrn }) }, 400],
        [{ token, body: `{"name":"${PHI_CANARY.name}",` }, 400],
        [
          {
            token: await accessToken({ fhirUser: `Patient/${PHI_CANARY.mrn} ${PHI_CANARY.name}` }),
          },
          403,
        ],
        [{ token: await accessToken({ fhirUser: `Practitioner/${PHI_CANARY.email}` }) }, 403],
        [{ token, path: `/v1/tickets/${canaryPath}` }, 404],
        [{ token, path: `/v1/tickets?mrn=${PHI_CANARY.mrn}&name=${canaryPath}` }, 201],
        [{ token, headers: { 'x-patient-name': PHI_CANARY_TEXT } }, 201],
      ];
      for (const [i, [options, status]] of probes.entries()) {
        const res = watch.response(await postTicket(node, options), `probe ${i}`);
        expect({ probe: i, status: res.status }).toEqual({ probe: i, status });
      }
      // The audit writer keeps record order: once a marker issued last is on disk, so is
      // every record the probes caused.
      const marker = decodeJwt(await ticketFor(node, token)).jti;
      await auditRecord(node, (r) => r.event === 'ticket.issued' && r.jti === marker);
      await watch.expectClean(node);
    });
  });
});

describe('POST /v1/tickets with PUBLIC_URL and TICKET_TTL_SECONDS=30', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startNode({
      ALLOWED_ORIGINS: TEST_ORIGIN,
      PUBLIC_URL: 'https://gateway.carecast.test:9443',
      TICKET_TTL_SECONDS: '30',
    });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('advertises the wss url derived from PUBLIC_URL', async () => {
    const body = ticketBody(await postTicket(node, { token: await doctor(), origin: TEST_ORIGIN }));
    expect(body.url).toBe('wss://gateway.carecast.test:9443/v1/ws');
  });

  it('honours TICKET_TTL_SECONDS below the 60 s maximum', async () => {
    const body = ticketBody(await postTicket(node, { token: await doctor() }));
    const claims = decodeJwt(body.ticket);
    expect(body.expiresIn).toBe(30);
    expect(claims.exp).toBe(claims.iat! + 30);
  });
});

describe('POST /v1/tickets for a blocked user', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startNode({ ALLOWED_ORIGINS: TEST_ORIGIN });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('refuses 403 user_blocked while blocked, audited, and still serves other users', async () => {
    ticketBody(await postTicket(node, { token: await doctor() }));
    await node.app.nest.get(UserBlocks).block(`doctor:${DOCTOR_ID}`, 60, Date.now());
    expectError(await postTicket(node, { token: await doctor() }), 403, 'user_blocked');
    // The same user through fhirUser is the same user key: still blocked.
    const viaFhir = await accessToken({ fhirUser: `Practitioner/${DOCTOR_ID}` });
    expectError(await postTicket(node, { token: viaFhir }), 403, 'user_blocked');
    ticketBody(await postTicket(node, { token: await doctor('dr-unblocked1') }));
    const record = await auditRecord(
      node,
      (r) => r.event === 'ticket.rejected' && r.reason === 'user_blocked',
    );
    expect(record).toMatchObject({ outcome: 'deny', actor: `doctor:${DOCTOR_ID}` });
  });
});

describe('POST /v1/tickets rate limit (RATE_TICKETS_PER_USER=3/60s)', () => {
  const WINDOW_MS = 60_000;
  let node: TestNode;

  beforeAll(async () => {
    node = await startNode({ ALLOWED_ORIGINS: TEST_ORIGIN, RATE_TICKETS_PER_USER: '3/60s' });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('answers the 4th request 429 rate_limited with a numeric Retry-After, and serves another user', async () => {
    await inOneWindow(WINDOW_MS, async (attempt) => {
      const busy = await doctor(`dr-busy000${attempt}`);
      for (let i = 0; i < 3; i++) ticketBody(await postTicket(node, { token: busy }));
      const limited = await postTicket(node, { token: busy });
      expectError(limited, 429, 'rate_limited');
      const retryAfter = String(limited.headers['retry-after']);
      expect(retryAfter).toMatch(/^\d+$/);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(retryAfter)).toBeLessThanOrEqual(60);
      ticketBody(await postTicket(node, { token: await doctor(`dr-calm0000${attempt}`) }));
      // The limited user stays limited.
      expectError(await postTicket(node, { token: busy }), 429, 'rate_limited');
    });
    const record = await auditRecord(
      node,
      (r) => r.event === 'ticket.rejected' && r.reason === 'rate_limited',
    );
    expect(String(record.actor)).toMatch(/^doctor:dr-busy000\d$/);
  });
});

describe('POST /v1/tickets rate limit across two nodes sharing one Redis', () => {
  const WINDOW_MS = 60_000;
  let redis: RedisServerHandle;
  let a: TestNode;
  let b: TestNode;

  beforeAll(async () => {
    redis = await startRedisServer();
    const shared = {
      ALLOWED_ORIGINS: TEST_ORIGIN,
      RATE_TICKETS_PER_USER: '3/60s',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix('tickets'),
    };
    a = await startNode({ ...shared, NODE_ID: 'tickets-a' });
    b = await startNode({ ...shared, NODE_ID: 'tickets-b' });
    await untilReady([a, b]);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await redis?.stop();
  });

  it('counts a user’s tickets cluster-wide', async () => {
    await inOneWindow(WINDOW_MS, async (attempt) => {
      const token = await doctor(`dr-roam0000${attempt}`);
      ticketBody(await postTicket(a, { token }));
      ticketBody(await postTicket(b, { token }));
      ticketBody(await postTicket(a, { token }));
      const limited = await postTicket(b, { token });
      expectError(limited, 429, 'rate_limited');
      expect(String(limited.headers['retry-after'])).toMatch(/^\d+$/);
      expectError(await postTicket(a, { token }), 429, 'rate_limited');
      ticketBody(await postTicket(b, { token: await doctor(`dr-other000${attempt}`) }));
    });
  });

  it('issues tickets that the other node redeems exactly once', async () => {
    // The ticket store is shared: the jti issued by a is known to b.
    const ticket = await ticketFor(a, await patient('pt-shared01'));
    const first = await connect(b, { ticket });
    expect(first.ok).toBe(true);
    if (first.ok) {
      await first.client.next('welcome');
      first.client.close();
      await first.client.closedWithin(5000);
    }
    const again = await connect(a, { ticket });
    expect(again.ok ? 101 : again.status).toBe(401);
  });
});
