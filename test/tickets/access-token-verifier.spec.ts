import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Logger } from '@nestjs/common';
import {
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import type { Config } from '../../src/config/config.types.js';
import { MAX_PUBLIC_KEYS } from '../../src/tickets/access-token-keys.js';
import {
  AccessTokenVerifier,
  type JwksCacheOptions,
} from '../../src/tickets/access-token-verifier.js';
import { testConfig } from '../support/app.js';

const ISS = 'https://idp.example.org/realms/care';
const AUD = 'carecast-api';
const HS_SECRET = 'hs256-test-secret-0123456789abcdef0123456789';
const now = () => Math.floor(Date.now() / 1000);
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

interface KeyPair {
  readonly alg: 'RS256' | 'ES256' | 'EdDSA';
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
  readonly pem: string;
}

async function keyPair(alg: KeyPair['alg'], kid: string): Promise<KeyPair> {
  const { publicKey, privateKey } = await generateKeyPair(alg);
  return {
    alg,
    kid,
    privateKey,
    jwk: await exportJWK(publicKey),
    pem: await exportSPKI(publicKey),
  };
}

const jwkOf = (k: KeyPair, withKid = true): JWK => ({
  ...k.jwk,
  alg: k.alg,
  use: 'sig',
  ...(withKid ? { kid: k.kid } : {}),
});

/** Claims that pass every check unless a case overrides or removes one. */
function claims(overrides: JWTPayload = {}): JWTPayload {
  return { iss: ISS, aud: AUD, sub: 'dr-7f3k2m9q', role: 'doctor', exp: now() + 300, ...overrides };
}

async function sign(
  payload: JWTPayload,
  key: CryptoKey | Uint8Array,
  header: { alg: string; kid?: string },
): Promise<string> {
  return new SignJWT(payload).setProtectedHeader(header).sign(key);
}

/** `kid: null` signs without a kid (an explicit `undefined` would pick the default). */
const signWith = (k: KeyPair, payload = claims(), kid: string | null = k.kid) =>
  sign(payload, k.privateKey, kid === null ? { alg: k.alg } : { alg: k.alg, kid });

const hs256 = (payload = claims(), secret = HS_SECRET) =>
  sign(payload, new TextEncoder().encode(secret), { alg: 'HS256' });

/** An unsigned token, as an attacker would hand-craft it. */
const algNone = (payload = claims(), kid?: string) =>
  `${base64url({ alg: 'none', typ: 'JWT', ...(kid ? { kid } : {}) })}.${base64url(payload)}.`;

type Behaviour = 'serve' | 'error-500' | 'garbage' | 'hang';

/** A real JWKS endpoint on an OS-picked port whose keys and behaviour a test can change. */
class JwksServer {
  keys: JWK[] = [];
  behaviour: Behaviour = 'serve';
  hits = 0;
  private readonly hanging = new Set<ServerResponse>();
  private readonly server: Server = createServer((_req, res) => {
    this.hits += 1;
    switch (this.behaviour) {
      case 'serve':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ keys: this.keys }));
        return;
      case 'error-500':
        res.writeHead(500).end();
        return;
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":');
        return;
      case 'hang':
        this.hanging.add(res);
        return;
    }
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/jwks.json`;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function verifierFor(config: Config, cache: Partial<JwksCacheOptions> = {}) {
  return new AccessTokenVerifier(config, cache);
}

const INVALID = { ok: false, error: 'invalid_token' } as const;
const UNAVAILABLE = { ok: false, error: 'unavailable' } as const;

let rsa: KeyPair;
let ec: KeyPair;
let ed: KeyPair;
let debugLog: ReturnType<typeof jest.spyOn>;

beforeAll(async () => {
  [rsa, ec, ed] = await Promise.all([
    keyPair('RS256', 'rsa-1'),
    keyPair('ES256', 'ec-1'),
    keyPair('EdDSA', 'ed-1'),
  ]);
  // Silences the verifier's debug lines and records them, to prove no token is ever logged.
  debugLog = jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
});

afterAll(() => {
  debugLog.mockRestore();
});

describe('JWKS key source', () => {
  const jwks = new JwksServer();
  let config: Config;

  beforeAll(async () => {
    const url = await jwks.start();
    config = testConfig({ AUTH_JWKS_URL: url, AUTH_ISSUER: ISS, AUTH_AUDIENCE: AUD });
  });
  afterEach(() => {
    jwks.keys = [jwkOf(rsa), jwkOf(ec), jwkOf(ed)];
    jwks.behaviour = 'serve';
  });
  afterAll(() => jwks.stop());

  const fresh = (cache: Partial<JwksCacheOptions> = {}) => {
    jwks.keys = [jwkOf(rsa), jwkOf(ec), jwkOf(ed)];
    return verifierFor(config, { cooldownMs: 0, ...cache });
  };

  it.each(['RS256', 'ES256', 'EdDSA'] as const)('accepts a valid %s token', async (alg) => {
    const key = { RS256: rsa, ES256: ec, EdDSA: ed }[alg];
    const exp = now() + 120;
    const token = await signWith(key, claims({ exp }));
    const result = await fresh().verify(token);
    expect(result).toEqual({
      ok: true,
      claims: expect.objectContaining({ sub: 'dr-7f3k2m9q', role: 'doctor', iss: ISS }),
      expiresAt: exp * 1000,
    });
  });

  it.each<[string, () => Promise<string>]>([
    ['an expired token', () => signWith(rsa, claims({ exp: now() - 60 }))],
    ['a token without exp', () => signWith(rsa, claims({ exp: undefined }))],
    ['a token with a string exp', () => signWith(rsa, { ...claims(), exp: 'never' as never })],
    ['a wrong issuer', () => signWith(rsa, claims({ iss: 'https://evil.example.org' }))],
    ['no issuer', () => signWith(rsa, claims({ iss: undefined }))],
    ['a wrong audience', () => signWith(rsa, claims({ aud: 'ws' }))],
    ['no audience', () => signWith(rsa, claims({ aud: undefined }))],
    ['a not-yet-valid token', () => signWith(rsa, claims({ nbf: now() + 600 }))],
    ['alg none', async () => algNone()],
    ['alg none with a known kid', async () => algNone(claims(), rsa.kid)],
    [
      'alg None (case variant)',
      async () => algNone().replace(/^[^.]+/, base64url({ alg: 'None' })),
    ],
    ['HS256 signed with the RSA public key PEM', () => hs256(claims(), rsa.pem)],
    [
      'a signature by another key under a known kid',
      async () => signWith(await keyPair('RS256', 'x'), claims(), rsa.kid),
    ],
    ['an unknown kid', async () => signWith(await keyPair('RS256', 'rogue'), claims())],
    ['an ES256 signature relabelled RS256', async () => relabel(await signWith(ec), 'RS256')],
    ['an RS256 signature relabelled PS256', async () => relabel(await signWith(rsa), 'PS256')],
    ['a tampered payload', async () => tamper(await signWith(rsa))],
    ['garbage', async () => 'not.a.jwt'],
    ['two segments', async () => 'eyJhbGciOiJSUzI1NiJ9.e30'],
    ['the empty string', async () => ''],
    ['an oversized token', async () => `${'a'.repeat(20_000)}.b.c`],
  ])('refuses %s as invalid_token', async (_name, make) => {
    const token = await make();
    expect(await fresh().verify(token)).toEqual(INVALID);
    const logged = JSON.stringify(debugLog.mock.calls);
    if (token.length > 0) expect(logged).not.toContain(token);
  });

  it('never fetches keys for a token whose algorithm is not allowed', async () => {
    const before = jwks.hits;
    const verifier = fresh();
    expect(await verifier.verify(algNone())).toEqual(INVALID);
    expect(await verifier.verify(await hs256())).toEqual(INVALID);
    expect(jwks.hits).toBe(before);
  });

  it('follows a key rotation: a new kid refetches, a removed key stops working', async () => {
    const verifier = fresh();
    const next = await keyPair('RS256', 'rsa-2');
    const oldToken = await signWith(rsa);
    const newToken = await signWith(next);
    expect((await verifier.verify(oldToken)).ok).toBe(true);
    expect(await verifier.verify(newToken)).toEqual(INVALID);

    jwks.keys = [jwkOf(next)];
    expect((await verifier.verify(newToken)).ok).toBe(true);
    expect(await verifier.verify(oldToken)).toEqual(INVALID);
  });

  it('refetches for unknown kids at most once per cooldown', async () => {
    const verifier = fresh({ cooldownMs: 60_000 });
    expect((await verifier.verify(await signWith(rsa))).ok).toBe(true);
    const before = jwks.hits;
    const rogue = await keyPair('RS256', 'rogue');
    for (let i = 0; i < 5; i += 1) {
      expect(await verifier.verify(await signWith(rogue, claims(), `rogue-${i}`))).toEqual(INVALID);
    }
    expect(jwks.hits).toBe(before);
  });

  it('tries every candidate when a kid-less token matches several keys', async () => {
    const other = await keyPair('RS256', 'rsa-0');
    const verifier = fresh();
    jwks.keys = [jwkOf(other, false), jwkOf(rsa, false)];
    expect((await verifier.verify(await signWith(rsa, claims(), null))).ok).toBe(true);
    const stranger = await keyPair('RS256', 'stranger');
    expect(await verifier.verify(await signWith(stranger, claims(), null))).toEqual(INVALID);
    expect(await verifier.verify(await signWith(rsa, claims({ aud: 'x' }), null))).toEqual(INVALID);
  });

  it.each<[Behaviour]>([['error-500'], ['garbage'], ['hang']])(
    'answers unavailable when the JWKS endpoint misbehaves (%s), and recovers',
    async (behaviour) => {
      const verifier = fresh({ timeoutMs: 200 });
      jwks.behaviour = behaviour;
      const token = await signWith(rsa);
      const started = Date.now();
      expect(await verifier.verify(token)).toEqual(UNAVAILABLE);
      expect(Date.now() - started).toBeLessThan(1_000);
      jwks.behaviour = 'serve';
      expect((await verifier.verify(token)).ok).toBe(true);
    },
  );
});

describe('JWKS endpoint down', () => {
  it('answers unavailable, not invalid_token, when the provider refuses connections', async () => {
    const gone = new JwksServer();
    const url = await gone.start();
    await gone.stop();
    const config = testConfig({ AUTH_JWKS_URL: url, AUTH_ISSUER: ISS, AUTH_AUDIENCE: AUD });
    const verifier = verifierFor(config);
    expect(await verifier.verify(await signWith(rsa))).toEqual(UNAVAILABLE);
    // A token refused before any key is needed stays invalid even while the provider is down.
    expect(await verifier.verify(algNone())).toEqual(INVALID);
  });
});

describe('HS256 secret key source', () => {
  let verifier: AccessTokenVerifier;

  beforeAll(() => {
    const config = testConfig({
      AUTH_HS256_SECRET: HS_SECRET,
      AUTH_ISSUER: ISS,
      AUTH_AUDIENCE: AUD,
      AUTH_CLOCK_TOLERANCE_SECONDS: '5',
    });
    expect(config.auth.algorithms).toEqual(['HS256']);
    verifier = verifierFor(config);
  });

  it('accepts a token signed with the secret', async () => {
    expect(await verifier.verify(await hs256())).toMatchObject({ ok: true });
  });

  it.each<[string, () => Promise<string>]>([
    ['another secret', () => hs256(claims(), `${HS_SECRET}x`)],
    ['alg none', async () => algNone()],
    ['an RS256 token', () => signWith(rsa)],
    ['an expired token', () => hs256(claims({ exp: now() - 60 }))],
    ['a token without exp', () => hs256(claims({ exp: undefined }))],
    ['a wrong audience', () => hs256(claims({ aud: 'ws' }))],
  ])('refuses %s', async (_name, make) => {
    expect(await verifier.verify(await make())).toEqual(INVALID);
  });

  it.each<[number, boolean]>([
    [3, true],
    [10, false],
  ])('with 5 s tolerance, exp %i s in the past gives ok=%s', async (ago, ok) => {
    const result = await verifier.verify(await hs256(claims({ exp: now() - ago })));
    expect(result.ok).toBe(ok);
  });
});

describe('public key file key source', () => {
  let dir: string;
  const fileConfig = async (pem: string, name: string) => {
    const file = path.join(dir, name);
    await writeFile(file, pem);
    return testConfig({ AUTH_PUBLIC_KEY_FILE: file, AUTH_ISSUER: ISS, AUTH_AUDIENCE: AUD });
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'carecast-keys-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('accepts tokens of the file key and refuses every confusion', async () => {
    const verifier = verifierFor(await fileConfig(rsa.pem, 'rsa.pem'));
    await verifier.onModuleInit();
    expect((await verifier.verify(await signWith(rsa))).ok).toBe(true);
    expect(await verifier.verify(await hs256(claims(), rsa.pem))).toEqual(INVALID);
    expect(await verifier.verify(await hs256(claims(), rsa.pem.trim()))).toEqual(INVALID);
    expect(await verifier.verify(await signWith(ec))).toEqual(INVALID);
    expect(await verifier.verify(algNone())).toEqual(INVALID);
  });

  it('refuses an HMAC token with the PEM as secret even if HS256 slipped into the allowlist', async () => {
    // parseConfig never allows this mix; the key type must still stop it on its own.
    const config = await fileConfig(rsa.pem, 'rsa-mixed.pem');
    const mixed: Config = { ...config, auth: { ...config.auth, algorithms: ['RS256', 'HS256'] } };
    const verifier = verifierFor(mixed);
    expect(await verifier.verify(await hs256(claims(), rsa.pem))).toEqual(INVALID);
    expect((await verifier.verify(await signWith(rsa))).ok).toBe(true);
  });

  it.each(['ES256', 'EdDSA'] as const)('matches a %s key file to its algorithm', async (alg) => {
    const key = alg === 'ES256' ? ec : ed;
    const verifier = verifierFor(await fileConfig(key.pem, `${alg}.pem`));
    expect((await verifier.verify(await signWith(key))).ok).toBe(true);
    expect(await verifier.verify(await signWith(rsa))).toEqual(INVALID);
  });

  it('fails at module init when the key file is missing', async () => {
    const config = testConfig({
      AUTH_PUBLIC_KEY_FILE: path.join(dir, 'missing.pem'),
      AUTH_ISSUER: ISS,
      AUTH_AUDIENCE: AUD,
    });
    await expect(verifierFor(config).onModuleInit()).rejects.toThrow();
  });
});

describe('public key file with several keys (rotation without JWKS)', () => {
  let dir: string;
  let next: KeyPair;
  let stranger: KeyPair;
  const fileConfig = async (pems: readonly string[], name: string) => {
    const file = path.join(dir, name);
    await writeFile(file, pems.join('\n'));
    return testConfig({ AUTH_PUBLIC_KEY_FILE: file, AUTH_ISSUER: ISS, AUTH_AUDIENCE: AUD });
  };
  let verifier: AccessTokenVerifier;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'carecast-keys-'));
    [next, stranger] = await Promise.all([
      keyPair('RS256', 'rsa-next'),
      keyPair('RS256', 'rsa-stranger'),
    ]);
    // The new key beside the old one, as the runbook's rolling procedure has it.
    verifier = verifierFor(await fileConfig([next.pem, rsa.pem], 'rolling.pem'));
    await verifier.onModuleInit();
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('accepts tokens of the new key and of the old one, with or without kid, not a third', async () => {
    for (const key of [next, rsa]) {
      const exp = now() + 120;
      expect(await verifier.verify(await signWith(key, claims({ exp })))).toMatchObject({
        ok: true,
        expiresAt: exp * 1000,
      });
      expect((await verifier.verify(await signWith(key, claims(), null))).ok).toBe(true);
    }
    expect(await verifier.verify(await signWith(stranger))).toEqual(INVALID);
    expect(await verifier.verify(await signWith(stranger, claims(), rsa.kid))).toEqual(INVALID);
  });

  const refusals: [string, (k: KeyPair) => Promise<string>][] = [
    ['an expired token', (k) => signWith(k, claims({ exp: now() - 60 }))],
    ['a token without exp', (k) => signWith(k, claims({ exp: undefined }))],
    ['a wrong issuer', (k) => signWith(k, claims({ iss: 'https://evil.example.org' }))],
    ['a wrong audience', (k) => signWith(k, claims({ aud: 'ws' }))],
    ['a not-yet-valid token', (k) => signWith(k, claims({ nbf: now() + 600 }))],
    ['alg none with its kid', async (k) => algNone(claims(), k.kid)],
    ['HS256 signed with its PEM', (k) => hs256(claims(), k.pem)],
    ['its signature relabelled PS256', async (k) => relabel(await signWith(k), 'PS256')],
    ['its signature relabelled ES256', async (k) => relabel(await signWith(k), 'ES256')],
    ['a tampered payload', async (k) => tamper(await signWith(k))],
    ['an oversized token', async (k) => `${(await signWith(k)).padEnd(20_000, 'a')}`],
  ];
  it.each(
    refusals.flatMap(([name, make]) => [
      [`${name} (new key)`, make, 'next'] as const,
      [`${name} (old key)`, make, 'old'] as const,
    ]),
  )('refuses %s as invalid_token', async (_name, make, which) => {
    const token = await make(which === 'next' ? next : rsa);
    expect(await verifier.verify(token)).toEqual(INVALID);
    expect(JSON.stringify(debugLog.mock.calls)).not.toContain(token);
  });

  it('tries each key only for the algorithm that fits it', async () => {
    const mixed = verifierFor(await fileConfig([rsa.pem, ec.pem, ed.pem], 'mixed.pem'));
    for (const key of [rsa, ec, ed])
      expect((await mixed.verify(await signWith(key))).ok).toBe(true);
    expect(await mixed.verify(await relabel(await signWith(ec), 'RS256'))).toEqual(INVALID);
    // The allowlist still decides before any key: ES256 left out, the EC key is never used.
    const config = await fileConfig([rsa.pem, ec.pem], 'mixed-rs-only.pem');
    const rsOnly = verifierFor({ ...config, auth: { ...config.auth, algorithms: ['RS256'] } });
    expect(await rsOnly.verify(await signWith(ec))).toEqual(INVALID);
    expect((await rsOnly.verify(await signWith(rsa))).ok).toBe(true);
  });

  it('verifies back-channel logout tokens with either key, not a third', async () => {
    const logout = (k: KeyPair) =>
      signWith(k, { iss: ISS, aud: AUD, sub: 'dr-7f3k2m9q', iat: now(), jti: `j-${k.kid}` });
    expect((await verifier.verifyLogoutToken(await logout(next))).ok).toBe(true);
    expect((await verifier.verifyLogoutToken(await logout(rsa))).ok).toBe(true);
    expect(await verifier.verifyLogoutToken(await logout(stranger))).toEqual(INVALID);
  });

  it(`takes up to ${MAX_PUBLIC_KEYS} keys and refuses a file with more at start`, async () => {
    const pems = [next.pem, rsa.pem, ec.pem, ed.pem];
    const full = verifierFor(await fileConfig(pems, 'full.pem'));
    await full.onModuleInit();
    expect((await full.verify(await signWith(ed))).ok).toBe(true);
    const over = verifierFor(await fileConfig([...pems, stranger.pem], 'over.pem'));
    await expect(over.onModuleInit()).rejects.toThrow(/5 PEM blocks; at most 4/);
    const empty = verifierFor(await fileConfig(['no key here'], 'empty.pem'));
    await expect(empty.onModuleInit()).rejects.toThrow(/no PEM key/);
  });
});

describe('HS256 secret with AUTH_HS256_SECRET_PREVIOUS (rotation)', () => {
  const NEXT = 'hs256-next-secret-abcdefghijklmnopqrstuvwxyz01';
  let verifier: AccessTokenVerifier;

  beforeAll(() => {
    const config = testConfig({
      AUTH_HS256_SECRET: NEXT,
      AUTH_HS256_SECRET_PREVIOUS: HS_SECRET,
      AUTH_ISSUER: ISS,
      AUTH_AUDIENCE: AUD,
    });
    expect(config.auth.algorithms).toEqual(['HS256']);
    verifier = verifierFor(config);
  });

  it('accepts tokens of either secret, not a third', async () => {
    expect(await verifier.verify(await hs256(claims(), NEXT))).toMatchObject({ ok: true });
    expect(await verifier.verify(await hs256(claims(), HS_SECRET))).toMatchObject({ ok: true });
    expect(await verifier.verify(await hs256(claims(), `${NEXT}x`))).toEqual(INVALID);
  });

  it.each<[string, (secret: string) => Promise<string>]>([
    ['alg none', async () => algNone()],
    ['an RS256 token', () => signWith(rsa)],
    ['an expired token', (secret) => hs256(claims({ exp: now() - 60 }), secret)],
    ['a token without exp', (secret) => hs256(claims({ exp: undefined }), secret)],
    ['a wrong issuer', (secret) => hs256(claims({ iss: 'https://evil.example.org' }), secret)],
    ['a wrong audience', (secret) => hs256(claims({ aud: 'ws' }), secret)],
    ['a tampered payload', async (secret) => tamper(await hs256(claims(), secret))],
  ])('refuses %s under either secret', async (_name, make) => {
    expect(await verifier.verify(await make(NEXT))).toEqual(INVALID);
    expect(await verifier.verify(await make(HS_SECRET))).toEqual(INVALID);
  });

  it('verifies back-channel logout tokens of either secret', async () => {
    for (const secret of [NEXT, HS_SECRET]) {
      const token = await hs256({ iss: ISS, aud: AUD, sub: 'dr-7f3k2m9q', iat: now() }, secret);
      expect((await verifier.verifyLogoutToken(token)).ok).toBe(true);
    }
    const third = await hs256({ iss: ISS, aud: AUD, sub: 'dr-7f3k2m9q', iat: now() }, `${NEXT}x`);
    expect(await verifier.verifyLogoutToken(third)).toEqual(INVALID);
  });
});

/** Flips one claim in the payload without re-signing. */
function tamper(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claimsJson = JSON.parse(Buffer.from(payload, 'base64url').toString()) as JWTPayload;
  return `${header}.${base64url({ ...claimsJson, role: 'admin' })}.${signature}`;
}

/** Swaps the header's `alg`, keeping kid, payload and signature. */
function relabel(token: string, alg: string): string {
  const [header, ...rest] = token.split('.') as [string, string, string];
  const parsed = JSON.parse(Buffer.from(header, 'base64url').toString()) as object;
  return [base64url({ ...parsed, alg }), ...rest].join('.');
}
