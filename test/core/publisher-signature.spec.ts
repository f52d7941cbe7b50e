import { createHmac } from 'node:crypto';
import {
  type SignedRequest,
  expectedSignature,
  parseSignatureHeader,
  signatureHeader,
  signingString,
  verifySignature,
} from '../../src/core/publisher-signature.js';

const SECRET = 'test-secret-0123456789abcdef0123456789';
const OLD_SECRET = 'old-secret-fedcba9876543210fedcba98765';
const NOW = 1795000000;
const PATH = '/internal/v1/notifications';
const BODY =
  '{"id":"evt-2b7c9d1e","channel":"patient:pt-4c9a1b2e","kind":"appointment.updated","ref":"apt-9x8c7v6b"}';
/** Computed independently: printf '%s' "<t>.POST.<path>.<body>" | openssl dgst -sha256 -hmac. */
const KNOWN_MAC = 'abc75ffa5a285ff7705d4f1c0a249670f393863070bfc50cea9851d2b3c7ab03';

const KEYS: ReadonlyMap<string, string> = new Map([['svc-1', SECRET]]);
const ROTATING: ReadonlyMap<string, string> = new Map([
  ['svc-2024', OLD_SECRET],
  ['svc-2025', SECRET],
]);

const hmac = (secret: string, data: string) =>
  createHmac('sha256', secret).update(data, 'utf8').digest('hex');

const request = (overrides: Partial<SignedRequest> = {}): SignedRequest => ({
  header: `t=${NOW},kid=svc-1,v1=${KNOWN_MAC}`,
  method: 'POST',
  path: PATH,
  rawBody: Buffer.from(BODY, 'utf8'),
  nowSeconds: NOW,
  keys: KEYS,
  ...overrides,
});

const INVALID = (reason: string) => ({ ok: false, error: 'invalid_signature', reason });

describe(parseSignatureHeader.name, () => {
  it('parses the contract form', () => {
    expect(parseSignatureHeader(`t=${NOW},kid=svc-1,v1=${KNOWN_MAC}`)).toEqual({
      ok: true,
      t: NOW,
      kid: 'svc-1',
      v1: KNOWN_MAC,
    });
  });

  it('lower-cases upper-case hex', () => {
    const parsed = parseSignatureHeader(`t=1,kid=k.1_a-b,v1=${KNOWN_MAC.toUpperCase()}`);
    expect(parsed).toEqual({ ok: true, t: 1, kid: 'k.1_a-b', v1: KNOWN_MAC });
  });

  it.each<[string, string | undefined]>([
    ['an absent header', undefined],
    ['an empty header', ''],
    ['a missing t', `kid=svc-1,v1=${KNOWN_MAC}`],
    ['a missing kid', `t=${NOW},v1=${KNOWN_MAC}`],
    ['a missing v1', `t=${NOW},kid=svc-1`],
    ['an empty v1', `t=${NOW},kid=svc-1,v1=`],
    ['an empty kid', `t=${NOW},kid=,v1=${KNOWN_MAC}`],
    ['an empty t', `t=,kid=svc-1,v1=${KNOWN_MAC}`],
    ['parts out of order', `kid=svc-1,t=${NOW},v1=${KNOWN_MAC}`],
    ['a repeated part', `t=${NOW},kid=svc-1,v1=${KNOWN_MAC},v1=${KNOWN_MAC}`],
    ['an unknown part', `t=${NOW},kid=svc-1,v1=${KNOWN_MAC},v0=abcd`],
    ['spaces after commas', `t=${NOW}, kid=svc-1, v1=${KNOWN_MAC}`],
    ['surrounding whitespace', ` t=${NOW},kid=svc-1,v1=${KNOWN_MAC} `],
    ['a trailing comma', `t=${NOW},kid=svc-1,v1=${KNOWN_MAC},`],
    ['semicolons', `t=${NOW};kid=svc-1;v1=${KNOWN_MAC}`],
    ['upper-case part names', `T=${NOW},KID=svc-1,V1=${KNOWN_MAC}`],
    ['a negative t', `t=-${NOW},kid=svc-1,v1=${KNOWN_MAC}`],
    ['a signed t', `t=+${NOW},kid=svc-1,v1=${KNOWN_MAC}`],
    ['a fractional t', `t=${NOW}.5,kid=svc-1,v1=${KNOWN_MAC}`],
    ['a t in milliseconds past 12 digits', `t=${NOW}000,kid=svc-1,v1=${KNOWN_MAC}`],
    ['a t with a leading zero', `t=0${NOW},kid=svc-1,v1=${KNOWN_MAC}`],
    ['a t in exponent notation', `t=1.795e9,kid=svc-1,v1=${KNOWN_MAC}`],
    ['a kid with a colon', `t=${NOW},kid=svc:1,v1=${KNOWN_MAC}`],
    ['a kid with a space', `t=${NOW},kid=svc 1,v1=${KNOWN_MAC}`],
    ['a kid of 65 characters', `t=${NOW},kid=${'k'.repeat(65)},v1=${KNOWN_MAC}`],
    ['non-hex in v1', `t=${NOW},kid=svc-1,v1=${KNOWN_MAC.slice(0, 63)}g`],
    ['base64 in v1', `t=${NOW},kid=svc-1,v1=q8df+lo oX/dw`],
    ['a v1 over 128 hex digits', `t=${NOW},kid=svc-1,v1=${'a'.repeat(129)}`],
    ['a newline', `t=${NOW},kid=svc-1,v1=${KNOWN_MAC}\n`],
  ])('refuses %s', (_name, header) => {
    expect(parseSignatureHeader(header)).toEqual({ ok: false });
  });
});

describe(signingString.name, () => {
  it('is <t>.<METHOD>.<path>.<raw body> as bytes', () => {
    expect(signingString(NOW, 'POST', PATH, BODY).toString('utf8')).toBe(
      `${NOW}.POST.${PATH}.${BODY}`,
    );
  });

  it('upper-cases the method', () => {
    expect(signingString(1, 'delete', '/p', '').toString('utf8')).toBe('1.DELETE./p.');
  });

  it('drops the query string from the path', () => {
    expect(signingString(1, 'PUT', '/internal/v1/x?a=1&b=2', '{}').toString('utf8')).toBe(
      '1.PUT./internal/v1/x.{}',
    );
  });

  it('keeps the body bytes as received', () => {
    const body = Buffer.from([0x7b, 0xff, 0x00, 0x7d]);
    expect(signingString(1, 'POST', '/p', body)).toEqual(
      Buffer.concat([Buffer.from('1.POST./p.'), body]),
    );
  });

  it('encodes a string body as UTF-8', () => {
    expect(signingString(1, 'POST', '/p', 'é')).toEqual(Buffer.from('1.POST./p.é', 'utf8'));
  });
});

describe(expectedSignature.name, () => {
  it('matches the openssl known answer', () => {
    expect(expectedSignature(SECRET, NOW, 'POST', PATH, BODY)).toBe(KNOWN_MAC);
  });

  it('matches an independent HMAC of the signing string', () => {
    expect(expectedSignature(SECRET, 7, 'put', '/a/b', '{}')).toBe(hmac(SECRET, '7.PUT./a/b.{}'));
  });
});

describe(verifySignature.name, () => {
  it('accepts a good signature and names the key', () => {
    expect(verifySignature(request())).toEqual({ ok: true, kid: 'svc-1' });
  });

  it('accepts a signature produced by signatureHeader', () => {
    const header = signatureHeader('svc-1', SECRET, NOW, 'DELETE', '/internal/v1/x', '');
    const result = verifySignature(
      request({ header, method: 'DELETE', path: '/internal/v1/x', rawBody: '' }),
    );
    expect(result).toEqual({ ok: true, kid: 'svc-1' });
  });

  it('accepts a request path that still carries a query string', () => {
    expect(verifySignature(request({ path: `${PATH}?trace=1` }))).toEqual({
      ok: true,
      kid: 'svc-1',
    });
  });

  it('accepts upper-case hex', () => {
    const header = `t=${NOW},kid=svc-1,v1=${KNOWN_MAC.toUpperCase()}`;
    expect(verifySignature(request({ header }))).toEqual({ ok: true, kid: 'svc-1' });
  });

  it.each<[string, string]>([
    ['the old key', 'svc-2024'],
    ['the new key', 'svc-2025'],
  ])('accepts either key during a rotation: %s', (_name, kid) => {
    const secret = ROTATING.get(kid)!;
    const header = signatureHeader(kid, secret, NOW, 'POST', PATH, BODY);
    expect(verifySignature(request({ header, keys: ROTATING }))).toEqual({ ok: true, kid });
  });

  it('refuses a MAC made with one rotating key but labelled with the other', () => {
    const v1 = expectedSignature(OLD_SECRET, NOW, 'POST', PATH, BODY);
    const header = `t=${NOW},kid=svc-2025,v1=${v1}`;
    expect(verifySignature(request({ header, keys: ROTATING }))).toEqual(INVALID('mismatch'));
  });

  it.each<[string, number, boolean]>([
    ['299 s old', NOW - 299, true],
    ['300 s old', NOW - 300, true],
    ['301 s old', NOW - 301, false],
    ['299 s in the future', NOW + 299, true],
    ['300 s in the future', NOW + 300, true],
    ['301 s in the future', NOW + 301, false],
    ['a day old', NOW - 86400, false],
    ['zero', 0, false],
  ])('judges a t %s by the 300 s window', (_name, t, accepted) => {
    const header = signatureHeader('svc-1', SECRET, t, 'POST', PATH, BODY);
    const expected = accepted ? { ok: true, kid: 'svc-1' } : INVALID('clock_skew');
    expect(verifySignature(request({ header }))).toEqual(expected);
  });

  it('honours a custom tolerance', () => {
    const header = signatureHeader('svc-1', SECRET, NOW - 31, 'POST', PATH, BODY);
    expect(verifySignature(request({ header, toleranceSeconds: 30 }))).toEqual(
      INVALID('clock_skew'),
    );
  });

  it('refuses when the server clock is not a number', () => {
    expect(verifySignature(request({ nowSeconds: Number.NaN }))).toEqual(INVALID('clock_skew'));
  });

  it.each<[string, Partial<SignedRequest>, string]>([
    ['a wrong secret', { keys: new Map([['svc-1', OLD_SECRET]]) }, 'mismatch'],
    ['an unknown kid', { header: `t=${NOW},kid=svc-2,v1=${KNOWN_MAC}` }, 'unknown_kid'],
    ['no keys at all', { keys: new Map() }, 'unknown_kid'],
    ['a tampered body', { rawBody: BODY.replace('apt-9x8c7v6b', 'apt-9x8c7v6c') }, 'mismatch'],
    ['a body with a trailing newline', { rawBody: `${BODY}\n` }, 'mismatch'],
    ['an empty body', { rawBody: '' }, 'mismatch'],
    ['another method', { method: 'PUT' }, 'mismatch'],
    ['another path', { path: '/internal/v1/care-teams' }, 'mismatch'],
    ['a path with a trailing slash', { path: `${PATH}/` }, 'mismatch'],
    ['a path in another case', { path: PATH.toUpperCase() }, 'mismatch'],
    [
      'another t than the one signed',
      { header: `t=${NOW + 1},kid=svc-1,v1=${KNOWN_MAC}` },
      'mismatch',
    ],
    ['a missing header', { header: undefined }, 'malformed'],
    ['an empty header', { header: '' }, 'malformed'],
    ['a header with spaces', { header: `t=${NOW}, kid=svc-1, v1=${KNOWN_MAC}` }, 'malformed'],
    ['parts out of order', { header: `kid=svc-1,t=${NOW},v1=${KNOWN_MAC}` }, 'malformed'],
    ['a bare MAC', { header: KNOWN_MAC }, 'malformed'],
    [
      'hex one digit short',
      { header: `t=${NOW},kid=svc-1,v1=${KNOWN_MAC.slice(0, 63)}` },
      'mismatch',
    ],
    ['hex one digit long', { header: `t=${NOW},kid=svc-1,v1=${KNOWN_MAC}0` }, 'mismatch'],
    [
      'hex of double length',
      { header: `t=${NOW},kid=svc-1,v1=${KNOWN_MAC}${KNOWN_MAC}` },
      'mismatch',
    ],
    ['a one-digit MAC', { header: `t=${NOW},kid=svc-1,v1=a` }, 'mismatch'],
    [
      'a MAC prefix of the right one',
      { header: `t=${NOW},kid=svc-1,v1=${KNOWN_MAC.slice(0, 32)}` },
      'mismatch',
    ],
    [
      'a MAC differing in the last digit',
      { header: `t=${NOW},kid=svc-1,v1=${KNOWN_MAC.slice(0, 63)}4` },
      'mismatch',
    ],
    ['an all-zero MAC', { header: `t=${NOW},kid=svc-1,v1=${'0'.repeat(64)}` }, 'mismatch'],
  ])('refuses %s', (_name, overrides, reason) => {
    expect(verifySignature(request(overrides))).toEqual(INVALID(reason));
  });
});
