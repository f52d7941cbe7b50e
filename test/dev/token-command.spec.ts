import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Logger } from '@nestjs/common';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import {
  type Config,
  DEV_TOKEN_AUDIENCE,
  DEV_TOKEN_ISSUER,
} from '../../src/config/config.types.js';
import { derivePrincipal } from '../../src/core/principal.js';
import { loadOrCreateDevSecrets } from '../../src/dev/dev-secrets.js';
import {
  type DevTokenRequest,
  mintDevToken,
  parseTokenArgs,
  runTokenCommand,
  type TokenCommandIo,
} from '../../src/dev/token-command.js';
import { AccessTokenVerifier } from '../../src/tickets/access-token-verifier.js';
import { TEST_DEV_SECRETS, testConfig } from '../support/app.js';

const DR = 'dr-7f3k2m9q';
const PT = 'pt-4c9a1b2e';
const now = () => Math.floor(Date.now() / 1000);

const request = (overrides: Partial<DevTokenRequest> = {}): DevTokenRequest => ({
  role: 'doctor',
  id: DR,
  patient: null,
  fhirUser: null,
  ttlSeconds: 3600,
  scope: null,
  sid: null,
  ...overrides,
});

async function mint(r: DevTokenRequest, config: Config = testConfig()): Promise<string> {
  const minted = await mintDevToken(r, config.auth, now());
  if (!minted.ok) throw new Error(minted.error);
  return minted.value;
}

let debugLog: ReturnType<typeof jest.spyOn>;
beforeAll(() => {
  debugLog = jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
});
afterAll(() => debugLog.mockRestore());

describe(parseTokenArgs.name, () => {
  it.each<[string, string[], DevTokenRequest]>([
    ['a doctor', ['--role', 'doctor', '--id', DR], request()],
    ['a patient', ['--role', 'patient', '--id', PT], request({ role: 'patient', id: PT })],
    [
      'a doctor with launch context and ttl',
      ['--role', 'doctor', '--id', DR, '--patient', PT, '--ttl', '600'],
      request({ patient: PT, ttlSeconds: 600 }),
    ],
    [
      'a fhirUser',
      ['--role=doctor', `--id=${DR}`, `--fhir-user=Practitioner/${DR}`],
      request({ fhirUser: `Practitioner/${DR}` }),
    ],
    [
      'a break-glass scope and a provider session',
      ['--role', 'doctor', '--id', DR, '--scope', 'openid carecast/break-glass', '--sid', 'kc-1'],
      request({ scope: 'openid carecast/break-glass', sid: 'kc-1' }),
    ],
  ])('parses %s', (_name, argv, expected) => {
    expect(parseTokenArgs(argv)).toEqual({ ok: true, value: expected });
  });

  it.each<[string, string[], RegExp]>([
    ['no arguments', [], /--role/],
    ['an unknown role', ['--role', 'admin', '--id', DR], /--role/],
    ['a missing id', ['--role', 'doctor'], /--id/],
    ['a record-number id', ['--role', 'patient', '--id', '12345678'], /--id/],
    ['an SSN-shaped id', ['--role', 'patient', '--id', '123-45-6789'], /--id/],
    ['a too short id', ['--role', 'patient', '--id', 'pt-1'], /--id/],
    ['a unicode id', ['--role', 'patient', '--id', 'pätient-01'], /--id/],
    [
      'a launch patient on a patient',
      ['--role', 'patient', '--id', PT, '--patient', PT],
      /doctors/,
    ],
    [
      'a non-opaque launch patient',
      ['--role', 'doctor', '--id', DR, '--patient', '42'],
      /--patient/,
    ],
    ['a zero ttl', ['--role', 'doctor', '--id', DR, '--ttl', '0'], /--ttl/],
    ['a fractional ttl', ['--role', 'doctor', '--id', DR, '--ttl', '1.5'], /--ttl/],
    ['a negative ttl', ['--role', 'doctor', '--id', DR, '--ttl=-5'], /--ttl/],
    ['a ttl over a day', ['--role', 'doctor', '--id', DR, '--ttl', '86401'], /--ttl/],
    ['a textual ttl', ['--role', 'doctor', '--id', DR, '--ttl', '1h'], /--ttl/],
    ['an unknown option', ['--role', 'doctor', '--id', DR, '--admin'], /admin/],
    ['a scope with a double space', ['--role', 'doctor', '--id', DR, '--scope', 'a  b'], /--scope/],
    ['a scope with a quote', ['--role', 'doctor', '--id', DR, '--scope', 'a"b'], /--scope/],
    ['a sid with a space', ['--role', 'doctor', '--id', DR, '--sid', 'kc 1'], /--sid/],
    ['a positional argument', ['doctor', DR], /positional|Unexpected/i],
  ])('refuses %s', (_name, argv, message) => {
    const parsed = parseTokenArgs(argv);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(message);
  });
});

describe(mintDevToken.name, () => {
  it('signs with AUTH_HS256_SECRET only while AUTH_HS256_SECRET_PREVIOUS is set', async () => {
    const current = 'current-hs256-secret-0123456789abcdefghijk';
    const rolling = testConfig({
      AUTH_HS256_SECRET: current,
      AUTH_HS256_SECRET_PREVIOUS: TEST_DEV_SECRETS.accessTokenSecret,
    });
    const token = await mint(request(), rolling);
    const currentOnly = testConfig({ AUTH_HS256_SECRET: current });
    expect((await new AccessTokenVerifier(currentOnly).verify(token)).ok).toBe(true);
    // testConfig() holds only the previous secret (the dev one): it must refuse the token.
    expect((await new AccessTokenVerifier(testConfig()).verify(token)).ok).toBe(false);
  });

  it('mints a token the dev node accepts, giving the doctor with launch patient', async () => {
    const config = testConfig();
    expect(config.auth.keySource).toEqual({
      kind: 'hs256',
      secret: TEST_DEV_SECRETS.accessTokenSecret,
      previousSecret: null,
    });
    const issuedAt = now();
    const token = await mint(request({ patient: PT, ttlSeconds: 600 }), config);

    const verified = await new AccessTokenVerifier(config).verify(token);
    expect(verified.ok).toBe(true);
    if (!verified.ok) return;
    expect(verified.claims).toMatchObject({
      iss: DEV_TOKEN_ISSUER,
      aud: DEV_TOKEN_AUDIENCE,
      sub: DR,
      role: 'doctor',
      patient: PT,
    });
    expect(verified.expiresAt / 1000 - issuedAt).toBeGreaterThanOrEqual(600);
    expect(verified.expiresAt / 1000 - issuedAt).toBeLessThanOrEqual(601);
    expect(derivePrincipal(verified.claims)).toEqual({
      ok: true,
      principal: { role: 'doctor', id: DR, launchPatient: PT },
    });
  });

  it.each<[string, Partial<DevTokenRequest>, unknown]>([
    ['a patient', { role: 'patient', id: PT }, { role: 'patient', id: PT }],
    ['a doctor without launch context', {}, { role: 'doctor', id: DR, launchPatient: null }],
    [
      'a doctor named by an absolute fhirUser',
      { fhirUser: `https://fhir.example.org/r4/Practitioner/${DR}` },
      { role: 'doctor', id: DR, launchPatient: null },
    ],
  ])('round-trips %s', async (_name, overrides, principal) => {
    const config = testConfig();
    const verified = await new AccessTokenVerifier(config).verify(await mint(request(overrides)));
    expect(verified.ok && derivePrincipal(verified.claims)).toEqual({ ok: true, principal });
  });

  it('carries scope and sid: the ticket path sees the break-glass scope and provider session', async () => {
    const token = await mint(request({ scope: 'openid carecast/break-glass', sid: 'kc-1' }));
    const verified = await new AccessTokenVerifier(testConfig()).verify(token);
    expect(verified.ok && verified.claims).toMatchObject({
      scope: 'openid carecast/break-glass',
      sid: 'kc-1',
    });
  });

  it('is refused by a node with another secret', async () => {
    const other = testConfig({ AUTH_HS256_SECRET: 'another-secret-0123456789abcdef0123456789ab' });
    const verified = await new AccessTokenVerifier(other).verify(await mint(request()));
    expect(verified).toEqual({ ok: false, error: 'invalid_token' });
  });

  it.each<[string, string]>([
    ['another id', `Practitioner/dr-other-01`],
    ['another role', `Patient/${DR}`],
    ['an unrecognised reference', `RelatedPerson/${DR}`],
  ])('refuses a fhirUser naming %s', async (_name, fhirUser) => {
    const minted = await mintDevToken(request({ fhirUser }), testConfig().auth, now());
    expect(minted).toEqual({ ok: false, error: expect.stringMatching(/--fhir-user/) });
  });

  it('refuses when the node trusts an identity provider instead of an HS256 key', async () => {
    const config = testConfig({ AUTH_JWKS_URL: 'https://idp.example.org/jwks.json' });
    const minted = await mintDevToken(request(), config.auth, now());
    expect(minted).toEqual({ ok: false, error: expect.stringMatching(/AUTH_JWKS_URL/) });
  });

  it('uses the issuer and audience the node is configured with', async () => {
    const config = testConfig({ AUTH_ISSUER: 'https://dev-idp.local', AUTH_AUDIENCE: 'app' });
    const token = await mint(request(), config);
    expect(decodeJwt(token)).toMatchObject({ iss: 'https://dev-idp.local', aud: 'app' });
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect((await new AccessTokenVerifier(config).verify(token)).ok).toBe(true);
  });
});

describe(runTokenCommand.name, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'carecast-token-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const io = (overrides: Partial<TokenCommandIo> = {}): TokenCommandIo => ({
    argv: ['--role', 'doctor', '--id', DR, '--patient', PT],
    env: { NODE_ENV: 'development' },
    hostname: 'test',
    pid: 1,
    nowSeconds: now(),
    loadDevSecrets: () => loadOrCreateDevSecrets(path.join(dir, 'dev-secrets.json')),
    ...overrides,
  });

  it('creates the dev secrets before the first start and signs with them', async () => {
    const result = await runTokenCommand(io());
    expect(result.exitCode).toBe(0);
    if (result.exitCode !== 0) return;
    const stored = JSON.parse(await readFile(path.join(dir, 'dev-secrets.json'), 'utf8')) as {
      accessTokenSecret: string;
    };
    // A node started later loads the same file; build its config the way main.ts does.
    const nodeConfig = testConfig({ AUTH_HS256_SECRET: stored.accessTokenSecret });
    const verified = await new AccessTokenVerifier(nodeConfig).verify(result.stdout);
    expect(verified.ok && derivePrincipal(verified.claims)).toEqual({
      ok: true,
      principal: { role: 'doctor', id: DR, launchPatient: PT },
    });
  });

  it('refuses to run in production, before touching any secret', async () => {
    const loadDevSecrets = jest.fn(() => loadOrCreateDevSecrets(path.join(dir, 'never.json')));
    const result = await runTokenCommand(io({ env: { NODE_ENV: 'production' }, loadDevSecrets }));
    expect(result).toEqual({ exitCode: 1, stderr: expect.stringMatching(/production/) });
    expect(loadDevSecrets).not.toHaveBeenCalled();
  });

  it('answers bad arguments with exit code 2 and the usage', async () => {
    const result = await runTokenCommand(io({ argv: ['--role', 'doctor', '--id', '123-45-6789'] }));
    expect(result).toEqual({ exitCode: 2, stderr: expect.stringMatching(/--id[\s\S]*usage/) });
  });

  it('reports a configuration problem by variable name, never by value', async () => {
    const result = await runTokenCommand(io({ env: { AUTH_HS256_SECRET: 'short-secret' } }));
    expect(result.exitCode).toBe(1);
    if (result.exitCode === 0) return;
    expect(result.stderr).toMatch(/AUTH_HS256_SECRET/);
    expect(result.stderr).not.toMatch(/short-secret/);
  });
});
