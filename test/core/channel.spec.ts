import {
  CHANNEL_KINDS,
  type Channel,
  formatChannel,
  parseChannel,
  sameChannel,
} from '../../src/core/channel.js';
import type { OpaqueId } from '../../src/core/opaque-id.js';

const PT = 'pt-4c9a1b2e';
const DR = 'dr-7f3k2m9q';

const channel = (kind: Channel['kind'], id: string): Channel => ({ kind, id: id as OpaqueId });

describe(parseChannel.name, () => {
  it.each<[string, string, Channel]>([
    ['the contract example patient channel', `patient:${PT}`, channel('patient', PT)],
    ['a doctor channel', `doctor:${DR}`, channel('doctor', DR)],
    ['an id of exactly 8 characters', 'patient:abcdefgh', channel('patient', 'abcdefgh')],
    [
      'an id of exactly 64 characters',
      `doctor:${'a'.repeat(64)}`,
      channel('doctor', 'a'.repeat(64)),
    ],
    [
      'an upper-case id (ids are case-sensitive)',
      `patient:PT-ABCDEFG`,
      channel('patient', 'PT-ABCDEFG'),
    ],
  ])('parses %s', (_name, input, expected) => {
    expect(parseChannel(input)).toEqual({ ok: true, channel: expected });
  });

  it.each<[string, string]>([
    ['the empty string', ''],
    ['a bare kind', 'patient'],
    ['a kind and a colon with an empty id', 'patient:'],
    ['an id without a kind', `:${PT}`],
    ['a bare opaque id', PT],
    ['an unknown kind', `nurse:${PT}`],
    ['a plural kind', `patients:${PT}`],
    ['an upper-case kind', `Patient:${PT}`],
    ['an all-caps kind', `DOCTOR:${DR}`],
    ['a leading space', ` patient:${PT}`],
    ['a trailing space', `patient:${PT} `],
    ['a trailing newline', `patient:${PT}\n`],
    ['a space after the colon', `patient: ${PT}`],
    ['a space before the colon', `patient :${PT}`],
    ['a tab inside', `patient:\t${PT}`],
    ['a second colon', `patient:${PT}:x`],
    ['a nested channel', `patient:doctor:${DR}`],
    ['a double colon', `patient::${PT}`],
    ['a slash instead of a colon', `patient/${PT}`],
    ['a FHIR reference', `Patient/${PT}`],
    ['a wildcard', 'patient:*'],
    ['a glob pattern', 'patient:pt-4c9a*'],
    ['a bare record number as id', 'patient:12345678'],
    ['an SSN-shaped id', 'patient:123-45-6789'],
    ['an email as id', 'patient:jane.doe@example.com'],
    ['a name with a space as id', 'patient:Jane Doe'],
    ['a too short id', 'patient:abcdefg'],
    ['a too long id', `patient:${'a'.repeat(65)}`],
    ['a path traversal id', 'patient:../abcdefgh'],
    ['a percent-encoded id', 'patient:pt%2D4c9a1b2e'],
    ['a Cyrillic look-alike kind', `раtient:${PT}`],
    ['a fullwidth colon', `patient：${PT}`],
    ['a NUL byte', `patient:${PT}\u0000`],
    ['a prototype property as kind', `constructor:${PT}`],
    ['__proto__ as kind', `__proto__:${PT}`],
    ['toString as kind', `toString:${PT}`],
    ['hasOwnProperty as kind', `hasOwnProperty:${PT}`],
  ])('refuses %s', (_name, input) => {
    expect(parseChannel(input)).toEqual({ ok: false, error: 'invalid_channel' });
  });

  it.each<[string, unknown]>([
    ['a number', 12345678],
    ['null', null],
    ['undefined', undefined],
    ['an object that stringifies to a channel', { toString: () => `patient:${PT}` }],
    ['an array holding a channel', [`patient:${PT}`]],
  ])('refuses %s passed where a string belongs', (_name, input) => {
    expect(parseChannel(input as string)).toEqual({ ok: false, error: 'invalid_channel' });
  });
});

describe(formatChannel.name, () => {
  it.each<[Channel, string]>([
    [channel('patient', PT), `patient:${PT}`],
    [channel('doctor', DR), `doctor:${DR}`],
  ])('formats %j as %s', (input, expected) => {
    expect(formatChannel(input)).toBe(expected);
  });

  it.each<[string]>([[`patient:${PT}`], [`doctor:${DR}`], [`doctor:${'Z'.repeat(64)}`]])(
    'round-trips %s exactly',
    (name) => {
      const parsed = parseChannel(name);
      if (!parsed.ok) throw new Error('expected a channel');
      expect(formatChannel(parsed.channel)).toBe(name);
    },
  );
});

describe(sameChannel.name, () => {
  it.each<[string, Channel, Channel, boolean]>([
    ['equal kind and id', channel('patient', PT), channel('patient', PT), true],
    ['the same id under another kind', channel('patient', PT), channel('doctor', PT), false],
    ['another id of the same kind', channel('doctor', DR), channel('doctor', `${DR}x`), false],
  ])('compares %s', (_name, a, b, expected) => {
    expect(sameChannel(a, b)).toBe(expected);
  });
});

describe('CHANNEL_KINDS', () => {
  it('is the closed set the contract names', () => {
    expect([...CHANNEL_KINDS].sort()).toEqual(['doctor', 'patient']);
  });

  it('cannot be extended at run time', () => {
    expect(Object.isFrozen(CHANNEL_KINDS)).toBe(true);
  });
});
