import { describe, expect, it } from '@jest/globals';
import {
  idpDigest,
  idpSessionOf,
  loggedOutBy,
  logoutMatches,
  type LogoutTarget,
  watermarkKeyOf,
  watermarkKeysFor,
} from '../../src/core/idp-session.js';
import {
  BACKCHANNEL_LOGOUT_EVENT,
  checkLogoutClaims,
  logoutJtiDigest,
} from '../../src/core/logout-token.js';

const NOW = 1_795_000_000;
const TOLERANCE = 5;
const good = (): Record<string, unknown> => ({
  iss: 'https://idp.example.com',
  aud: 'carecast',
  iat: NOW,
  jti: 'logout-1',
  sub: 'kc-user-1',
  sid: 'kc-session-1',
  events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
});

describe('checkLogoutClaims (OIDC Back-Channel Logout 1.0 §2.4, §2.6)', () => {
  it('accepts a logout token naming sub and sid, as digests', () => {
    expect(checkLogoutClaims(good(), NOW, TOLERANCE)).toEqual({
      ok: true,
      claims: {
        jti: 'logout-1',
        iat: NOW,
        target: { sub: idpDigest('sub', 'kc-user-1'), sid: idpDigest('sid', 'kc-session-1') },
      },
    });
  });

  it.each([
    ['sub only', { sid: undefined }, { sub: idpDigest('sub', 'kc-user-1'), sid: null }],
    ['sid only', { sub: undefined }, { sub: null, sid: idpDigest('sid', 'kc-session-1') }],
  ])('accepts %s', (_name, change, target) => {
    const claims: Record<string, unknown> = { ...good(), ...change };
    for (const [k, v] of Object.entries(change)) if (v === undefined) delete claims[k];
    expect(checkLogoutClaims(claims, NOW, TOLERANCE)).toMatchObject({
      ok: true,
      claims: { target },
    });
  });

  it.each([
    ['iat beyond tolerance + 120 s in the past', { iat: NOW - 126 }, 'stale_iat'],
    ['iat beyond tolerance + 120 s in the future', { iat: NOW + 126 }, 'stale_iat'],
    ['no iat', { iat: undefined }, 'stale_iat'],
    ['a string iat', { iat: String(NOW) }, 'stale_iat'],
    ['no jti', { jti: undefined }, 'missing_jti'],
    ['an empty jti', { jti: '' }, 'missing_jti'],
    ['no events', { events: undefined }, 'missing_events'],
    ['events without the logout member', { events: { other: {} } }, 'missing_events'],
    [
      'a logout member that is not an object',
      { events: { [BACKCHANNEL_LOGOUT_EVENT]: 'yes' } },
      'missing_events',
    ],
    ['events as an array', { events: [BACKCHANNEL_LOGOUT_EVENT] }, 'missing_events'],
    ['neither sub nor sid', { sub: undefined, sid: undefined }, 'missing_subject'],
    ['a sub that is not a string', { sub: 42 }, 'missing_subject'],
    ['an empty sid', { sid: '' }, 'missing_subject'],
    ['a nonce', { nonce: 'n-1' }, 'nonce_present'],
  ])('refuses %s', (_name, change, problem) => {
    const claims: Record<string, unknown> = { ...good(), ...change };
    for (const [k, v] of Object.entries(change)) if (v === undefined) delete claims[k];
    expect(checkLogoutClaims(claims, NOW, TOLERANCE)).toEqual({ ok: false, problem });
  });

  it('accepts iat at exactly tolerance + 120 s either way', () => {
    expect(checkLogoutClaims({ ...good(), iat: NOW - 125 }, NOW, TOLERANCE).ok).toBe(true);
    expect(checkLogoutClaims({ ...good(), iat: NOW + 125 }, NOW, TOLERANCE).ok).toBe(true);
  });

  it('digests jtis, never keeping them as given', () => {
    expect(logoutJtiDigest('logout-1')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(logoutJtiDigest('logout-1')).not.toBe(logoutJtiDigest('logout-2'));
  });
});

describe('provider sessions and logout targets', () => {
  const S = idpDigest('sub', 'u');
  const I = idpDigest('sid', 's');
  const I2 = idpDigest('sid', 's2');

  it('keeps sub and sid apart even for the same text', () => {
    expect(idpDigest('sub', 'x')).not.toBe(idpDigest('sid', 'x'));
    expect(idpSessionOf({ sub: 'u', sid: 's' })).toEqual({ sub: S, sid: I });
    expect(idpSessionOf({ sub: 7 })).toEqual({ sub: null, sid: null });
  });

  it.each<[string, LogoutTarget, { sub: string | null; sid: string | null }, boolean]>([
    ['sub target, same sub', { sub: S, sid: null }, { sub: S, sid: I }, true],
    ['sub target, session without sid', { sub: S, sid: null }, { sub: S, sid: null }, true],
    ['sub target, other sub', { sub: idpDigest('sub', 'v'), sid: null }, { sub: S, sid: I }, false],
    ['sid target, same sid', { sub: null, sid: I }, { sub: S, sid: I }, true],
    ['sid target, other sid', { sub: null, sid: I2 }, { sub: S, sid: I }, false],
    ['pair, both match', { sub: S, sid: I }, { sub: S, sid: I }, true],
    ['pair, other sid of the same sub', { sub: S, sid: I2 }, { sub: S, sid: I }, false],
    ['pair, session without sid', { sub: S, sid: I }, { sub: S, sid: null }, false],
  ])('%s', (_name, target, session, matches) => {
    expect(logoutMatches(target, session)).toBe(matches);
    // The watermark a logout sets is among the ones checked exactly when it matches.
    expect(watermarkKeysFor(session).includes(watermarkKeyOf(target))).toBe(matches);
  });

  it('refuses tokens issued at or before the logout, and those without iat', () => {
    expect(loggedOutBy(100, null)).toBe(false);
    expect(loggedOutBy(99, 100)).toBe(true);
    expect(loggedOutBy(100, 100)).toBe(true);
    expect(loggedOutBy(101, 100)).toBe(false);
    expect(loggedOutBy(null, 100)).toBe(true);
  });
});
