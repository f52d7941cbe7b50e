import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { idpDigest } from '../../src/core/idp-session.js';
import { checkLogoutClaims } from '../../src/core/logout-token.js';
import { loadOrCreateDevSecrets } from '../../src/dev/dev-secrets.js';
import {
  type LogoutTokenCommandIo,
  mintDevLogoutToken,
  parseLogoutTokenArgs,
  runLogoutTokenCommand,
} from '../../src/dev/logout-token-command.js';
import { AccessTokenVerifier } from '../../src/tickets/access-token-verifier.js';
import { startNode, TEST_DEV_SECRETS, type TestNode, testConfig } from '../support/app.js';
import { postLogout } from '../support/logout.js';

const now = () => Math.floor(Date.now() / 1000);

describe(parseLogoutTokenArgs.name, () => {
  it.each([
    [['--sub', 'dr-7f3k2m9q'], { sub: 'dr-7f3k2m9q', sid: null }],
    [['--sid', 'kc-1'], { sub: null, sid: 'kc-1' }],
    [['--sub=u', '--sid=s'], { sub: 'u', sid: 's' }],
  ])('parses %j', (argv, value) => {
    expect(parseLogoutTokenArgs(argv)).toEqual({ ok: true, value });
  });

  it.each([
    [[], /--sub, --sid/],
    [['--sub', 'a b'], /--sub/],
    [['--sid', ''], /--sid/],
    [['--nonce', 'x'], /nonce/],
  ])('refuses %j', (argv, message) => {
    const parsed = parseLogoutTokenArgs(argv);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(message);
  });
});

describe(mintDevLogoutToken.name, () => {
  it('signs a logout token the node verifies and whose claims pass every logout check', async () => {
    const config = testConfig({ AUTH_LOGOUT_AUDIENCE: 'carecast-logout' });
    const minted = await mintDevLogoutToken({ sub: 'u-1', sid: 's-1' }, config.auth, now());
    if (!minted.ok) throw new Error(minted.error);
    const verified = await new AccessTokenVerifier(config).verifyLogoutToken(minted.value);
    if (!verified.ok) throw new Error(verified.error);
    expect(verified.claims.aud).toBe('carecast-logout');
    expect(checkLogoutClaims(verified.claims, now(), 5)).toMatchObject({
      ok: true,
      claims: { target: { sub: idpDigest('sub', 'u-1'), sid: idpDigest('sid', 's-1') } },
    });
  });

  it('refuses when the node trusts an identity provider instead of an HS256 key', async () => {
    const config = testConfig({ AUTH_JWKS_URL: 'https://idp.example.org/jwks.json' });
    const minted = await mintDevLogoutToken({ sub: 'u', sid: null }, config.auth, now());
    expect(minted).toEqual({ ok: false, error: expect.stringMatching(/AUTH_JWKS_URL/) });
  });
});

describe(runLogoutTokenCommand.name, () => {
  let dir: string;
  let node: TestNode;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'carecast-logout-token-'));
    node = await startNode();
  });
  afterAll(async () => {
    await node?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const io = (overrides: Partial<LogoutTokenCommandIo> = {}): LogoutTokenCommandIo => ({
    argv: ['--sub', 'dr-7f3k2m9q'],
    env: { NODE_ENV: 'test' },
    hostname: 'test',
    pid: 1,
    nowSeconds: now(),
    // The secrets the test node was started with: the command signs with the node's key.
    loadDevSecrets: async () => TEST_DEV_SECRETS,
    ...overrides,
  });

  it('prints a token that the dev node accepts once', async () => {
    const result = await runLogoutTokenCommand(io());
    if (result.exitCode !== 0) throw new Error(result.stderr);
    expect((await postLogout(node, result.stdout)).status).toBe(200);
    expect((await postLogout(node, result.stdout)).status).toBe(400);
  });

  it('refuses to run in production, before touching any secret', async () => {
    const loadDevSecrets = jest.fn(() => loadOrCreateDevSecrets(path.join(dir, 'never.json')));
    const result = await runLogoutTokenCommand(
      io({ env: { NODE_ENV: 'production' }, loadDevSecrets }),
    );
    expect(result).toEqual({ exitCode: 1, stderr: expect.stringMatching(/production/) });
    expect(loadDevSecrets).not.toHaveBeenCalled();
  });

  it('answers bad arguments with exit code 2 and the usage', async () => {
    expect(await runLogoutTokenCommand(io({ argv: [] }))).toEqual({
      exitCode: 2,
      stderr: expect.stringMatching(/usage/),
    });
  });
});
