import { idpDigest } from '../../src/core/idp-session.js';
import { describe, expect, it } from '@jest/globals';
import { createHmac, generateKeyPairSync, KeyObject, sign as rsaSign } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import type { OpaqueId } from '../../src/core/opaque-id.js';
import type { Principal } from '../../src/core/principal.js';
import { buildTicketClaims, TICKET_TYPE } from '../../src/core/ticket.js';
import {
  type TicketCheck,
  TicketSigner,
  ticketJwtOptions,
} from '../../src/tickets/ticket-signer.js';
import { TEST_DEV_SECRETS, testConfig } from '../support/app.js';
import { JoseTicketSigner } from './jose-ticket-signer.fixture.js';

const config = testConfig();
const SECRET = TEST_DEV_SECRETS.ticketSecret;
/** Far from the real clock, so a signer that read the clock instead of `nowMs` would show. */
const NOW_MS = Date.UTC(2031, 4, 6, 7, 8, 9, 500);
const NOW_S = Math.floor(NOW_MS / 1000);
const LEASE = NOW_S + 3600;
const JTI = 'AbCdEfGhIjKlMnOpQrStUv';

const patient: Principal = { role: 'patient', id: 'pt-4c9a1b2e' as OpaqueId };
const launchDoctor: Principal = {
  role: 'doctor',
  id: 'dr-7f3k2m9q' as OpaqueId,
  launchPatient: 'pt-4c9a1b2e' as OpaqueId,
};

const newSigner = () => new TicketSigner(new JwtService(ticketJwtOptions(config)), config);
const oldSigner = () => new JoseTicketSigner(config);

const b64 = (text: string) => Buffer.from(text).toString('base64url');
const decodePart = (token: string, i: 0 | 1): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split('.')[i] ?? '', 'base64url').toString()) as Record<
    string,
    unknown
  >;

/** Hand-built JWT, HMAC-signed with `key` (the real secret by default) using `hash`. */
function forge(
  header: Record<string, unknown>,
  payload: unknown,
  { key = SECRET, hash = 'sha256' }: { key?: string; hash?: string } = {},
): string {
  const body = typeof payload === 'string' ? b64(payload) : b64(JSON.stringify(payload));
  const input = `${b64(JSON.stringify(header))}.${body}`;
  return `${input}.${createHmac(hash, key).update(input).digest('base64url')}`;
}

const TICKET_HEADER = { alg: 'HS256', typ: TICKET_TYPE };
const goodClaims = (): Record<string, unknown> => ({
  ...buildTicketClaims(patient, { jti: JTI, nowMs: NOW_MS, ttlSeconds: 60, accessTokenExp: LEASE }),
});
const without = (claim: string) => {
  const claims = goodClaims();
  delete claims[claim];
  return claims;
};

function rs256WithRealKey(): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const input = `${b64(JSON.stringify({ alg: 'RS256', typ: TICKET_TYPE }))}.${b64(JSON.stringify(goodClaims()))}`;
  return `${input}.${rsaSign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

const INVALID = { ok: false, reason: 'ticket_invalid' };

/**
 * Tickets every signer refuses, each signed (where a key is used at all) by `sign`: the same
 * table runs against tickets of TICKET_SECRET and of TICKET_SECRET_PREVIOUS.
 */
function refusedTickets(sign: typeof forge): [string, () => string][] {
  return [
    ['no typ', () => sign({ alg: 'HS256' }, goodClaims())],
    ['typ JWT', () => sign({ alg: 'HS256', typ: 'JWT' }, goodClaims())],
    ['a crit header', () => sign({ ...TICKET_HEADER, crit: ['b64'], b64: true }, goodClaims())],
    ['no exp', () => sign(TICKET_HEADER, without('exp'))],
    ['no iat', () => sign(TICKET_HEADER, without('iat'))],
    ['no jti', () => sign(TICKET_HEADER, without('jti'))],
    ['no sub', () => sign(TICKET_HEADER, without('sub'))],
    ['a string exp', () => sign(TICKET_HEADER, { ...goodClaims(), exp: String(NOW_S + 60) })],
    ['a string iat', () => sign(TICKET_HEADER, { ...goodClaims(), iat: String(NOW_S) })],
    ['a payload that is not a JSON object', () => sign(TICKET_HEADER, 'just text')],
    ['aud other than ws', () => sign(TICKET_HEADER, { ...goodClaims(), aud: 'api' })],
    ['no aud', () => sign(TICKET_HEADER, without('aud'))],
    [
      'alg none',
      () =>
        `${b64(JSON.stringify({ alg: 'none', typ: TICKET_TYPE }))}.${b64(JSON.stringify(goodClaims()))}.`,
    ],
    [
      'HS384 with the secret',
      () => sign({ ...TICKET_HEADER, alg: 'HS384' }, goodClaims(), { hash: 'sha384' }),
    ],
    [
      'HS512 with the secret',
      () => sign({ ...TICKET_HEADER, alg: 'HS512' }, goodClaims(), { hash: 'sha512' }),
    ],
    [
      'RS256 whose signature is an HMAC with the secret',
      () => sign({ ...TICKET_HEADER, alg: 'RS256' }, goodClaims()),
    ],
    ['RS256 with a real RSA key', rs256WithRealKey],
    ['another secret', () => sign(TICKET_HEADER, goodClaims(), { key: `${SECRET}-other` })],
    [
      'a tampered payload',
      () => {
        const [h, , s] = sign(TICKET_HEADER, goodClaims()).split('.');
        return `${h}.${b64(JSON.stringify({ ...goodClaims(), sub: 'pt-someoneelse' }))}.${s}`;
      },
    ],
    ['garbage', () => 'not-a-jwt'],
  ];
}

describe('TicketSigner (@nestjs/jwt)', () => {
  it('signs a ticket that verifies to the same principal, with iat and exp from nowMs', async () => {
    const signer = newSigner();
    const signed = await signer.sign(launchDoctor, LEASE, NOW_MS);
    expect(signed.expiresIn).toBe(60);
    expect(decodePart(signed.token, 0)).toEqual({ alg: 'HS256', typ: TICKET_TYPE });
    expect(decodePart(signed.token, 1)).toEqual({
      aud: 'ws',
      sub: 'dr-7f3k2m9q',
      role: 'doctor',
      jti: signed.jti,
      iat: NOW_S,
      exp: NOW_S + 60,
      lease: LEASE,
      patient: 'pt-4c9a1b2e',
    });
    await expect(signer.verify(signed.token, NOW_MS)).resolves.toEqual({
      ok: true,
      grant: {
        principal: launchDoctor,
        jti: signed.jti,
        accessTokenExpiresAt: LEASE * 1000,
        idp: { sub: null, sid: null },
        tokenIssuedAt: null,
        scopes: [],
      },
    });
  });

  it('never lets jsonwebtoken stamp iat from the clock or drop it (no noTimestamp)', async () => {
    const options = ticketJwtOptions(config);
    expect(options.signOptions).not.toHaveProperty('noTimestamp');
    expect(options.signOptions).not.toHaveProperty('expiresIn');
    const anHourAgo = Date.now() - 3_600_000;
    const signed = await newSigner().sign(patient, LEASE, anHourAgo);
    expect(decodePart(signed.token, 1).iat).toBe(Math.floor(anHourAgo / 1000));
  });

  it('keys HS256 with a KeyObject holding TICKET_SECRET, not a string', () => {
    const secret = ticketJwtOptions(config).secret;
    expect(secret).toBeInstanceOf(KeyObject);
    const key = secret as KeyObject;
    expect(key.type).toBe('secret');
    expect(key.export().toString('utf8')).toBe(SECRET);
  });

  it('answers ticket_expired from exp on, judged by nowMs', async () => {
    const signer = newSigner();
    const signed = await signer.sign(patient, LEASE, NOW_MS);
    const expMs = (NOW_S + 60) * 1000;
    await expect(signer.verify(signed.token, expMs - 1)).resolves.toMatchObject({ ok: true });
    await expect(signer.verify(signed.token, expMs)).resolves.toEqual({
      ok: false,
      reason: 'ticket_expired',
    });
  });

  it('accepts a hand-built ticket with the right header and claims (the baseline below)', async () => {
    await expect(newSigner().verify(forge(TICKET_HEADER, goodClaims()), NOW_MS)).resolves.toEqual(
      expect.objectContaining({ ok: true }),
    );
  });

  it.each(refusedTickets(forge))(
    'refuses a ticket with %s as ticket_invalid',
    async (_case, token) => {
      await expect(newSigner().verify(token(), NOW_MS)).resolves.toEqual(INVALID);
    },
  );
});

describe('TicketSigner during a rotation (TICKET_SECRET_PREVIOUS)', () => {
  /** The new secret; SECRET, the one `forge` signs with by default, is the previous one. */
  const NEXT = 'next-ticket-secret-0123456789abcdef0123456789';
  const rotatedConfig = testConfig({ TICKET_SECRET: NEXT, TICKET_SECRET_PREVIOUS: SECRET });
  const rotated = () =>
    new TicketSigner(new JwtService(ticketJwtOptions(rotatedConfig)), rotatedConfig);
  const withNextOnly = () => {
    const c = testConfig({ TICKET_SECRET: NEXT });
    return new TicketSigner(new JwtService(ticketJwtOptions(c)), c);
  };
  const signedWithNext: typeof forge = (header, payload, options = {}) =>
    forge(header, payload, { key: NEXT, ...options });

  it('verifies a ticket of the previous secret to the same grant as one of the current', async () => {
    const previous = await rotated().verify(forge(TICKET_HEADER, goodClaims()), NOW_MS);
    const current = await rotated().verify(signedWithNext(TICKET_HEADER, goodClaims()), NOW_MS);
    expect(previous).toMatchObject({ ok: true, grant: { principal: patient, jti: JTI } });
    expect(previous).toEqual(current);
  });

  it('signs with TICKET_SECRET only, never the previous secret', async () => {
    const signed = await rotated().sign(patient, LEASE, NOW_MS);
    const [header, payload, signature] = signed.token.split('.');
    const hmac = (key: string) =>
      createHmac('sha256', key).update(`${header}.${payload}`).digest('base64url');
    expect(signature).toBe(hmac(NEXT));
    await expect(withNextOnly().verify(signed.token, NOW_MS)).resolves.toMatchObject({ ok: true });
    await expect(newSigner().verify(signed.token, NOW_MS)).resolves.toEqual(INVALID);
  });

  it('answers ticket_expired, not ticket_invalid, for an expired ticket of the previous secret', async () => {
    const token = forge(TICKET_HEADER, goodClaims());
    await expect(rotated().verify(token, (NOW_S + 60) * 1000)).resolves.toEqual({
      ok: false,
      reason: 'ticket_expired',
    });
  });

  it('refuses a ticket of the previous secret once it is removed', async () => {
    await expect(
      withNextOnly().verify(forge(TICKET_HEADER, goodClaims()), NOW_MS),
    ).resolves.toEqual(INVALID);
  });

  it.each(refusedTickets(forge))(
    'refuses a ticket of the previous secret with %s, as for the current one',
    async (_case, token) => {
      await expect(rotated().verify(token(), NOW_MS)).resolves.toEqual(INVALID);
    },
  );

  it.each(refusedTickets(signedWithNext))(
    'refuses a ticket of the current secret with %s while a previous one is set',
    async (_case, token) => {
      await expect(rotated().verify(token(), NOW_MS)).resolves.toEqual(INVALID);
    },
  );
});

describe('ticket context: provider session digests and carecast scopes', () => {
  const SUB = idpDigest('sub', 'kc-user-1');
  const SID = idpDigest('sid', 'kc-session-1');

  it('carries idp_sub, idp_sid and scope into the grant', async () => {
    const signed = await newSigner().sign(launchDoctor, LEASE, NOW_MS, {
      idp: { sub: SUB, sid: SID },
      tokenIssuedAt: NOW_S - 30,
      scopes: ['carecast/break-glass'],
    });
    const claims = decodePart(signed.token, 1);
    expect(claims).toMatchObject({
      idp_sub: SUB,
      idp_sid: SID,
      idp_iat: NOW_S - 30,
      scope: 'carecast/break-glass',
    });
    const check = await newSigner().verify(signed.token, NOW_MS);
    expect(check).toMatchObject({
      ok: true,
      grant: {
        idp: { sub: SUB, sid: SID },
        scopes: ['carecast/break-glass'],
        tokenIssuedAt: NOW_S - 30,
      },
    });
  });

  it.each([
    ['a digest of the wrong shape', { idp_sub: 'kc-user-1' }],
    ['a sid that is not a string', { idp_sid: 7 }],
    ['a token iat that is not a whole number', { idp_iat: 1.5 }],
    ['a scope that is not a string', { scope: ['carecast/break-glass'] }],
    ['a scope with a quote', { scope: 'a"b' }],
  ])('refuses %s', async (_name, extra) => {
    const token = forge(TICKET_HEADER, { ...goodClaims(), ...extra });
    await expect(newSigner().verify(token, NOW_MS)).resolves.toEqual({
      ok: false,
      reason: 'ticket_invalid',
    });
  });
});

describe('rolling deploy: the former jose signer and the @nestjs/jwt signer agree', () => {
  const pairs: [
    string,
    () => TicketSigner | JoseTicketSigner,
    () => TicketSigner | JoseTicketSigner,
  ][] = [
    ['old (jose) -> new (@nestjs/jwt)', oldSigner, newSigner],
    ['new (@nestjs/jwt) -> old (jose)', newSigner, oldSigner],
  ];

  it.each(pairs)('%s: a ticket verifies to the same grant', async (_dir, from, to) => {
    const signed = await from().sign(launchDoctor, LEASE, NOW_MS);
    const check: TicketCheck = await to().verify(signed.token, NOW_MS);
    expect(check).toEqual({
      ok: true,
      grant: {
        principal: launchDoctor,
        jti: signed.jti,
        accessTokenExpiresAt: LEASE * 1000,
        idp: { sub: null, sid: null },
        tokenIssuedAt: null,
        scopes: [],
      },
    });
  });

  it.each(pairs)('%s: an expired ticket is ticket_expired', async (_dir, from, to) => {
    const signed = await from().sign(patient, LEASE, NOW_MS);
    await expect(to().verify(signed.token, (NOW_S + 60) * 1000)).resolves.toEqual({
      ok: false,
      reason: 'ticket_expired',
    });
  });

  it('both write the same header and the same claims', async () => {
    const before = await oldSigner().sign(launchDoctor, LEASE, NOW_MS);
    const after = await newSigner().sign(launchDoctor, LEASE, NOW_MS);
    expect(after.token.split('.')[0]).toBe(before.token.split('.')[0]);
    expect({ ...decodePart(after.token, 1), jti: 'x' }).toEqual({
      ...decodePart(before.token, 1),
      jti: 'x',
    });
  });
});
