import { describe, expect, it } from '@jest/globals';
import { originAllowed, type OriginRule } from '../../src/core/origin.js';

const ALLOWED = ['https://app.example.org', 'http://localhost:5173'];

describe(originAllowed.name, () => {
  // prettier-ignore
  it.each<[string, string | undefined, OriginRule, boolean]>([
    ['a listed origin, required', 'https://app.example.org', 'required', true],
    ['a listed origin, optional', 'https://app.example.org', 'optional', true],
    ['another listed origin', 'http://localhost:5173', 'required', true],
    ['no origin where one is required (upgrade, preflight)', undefined, 'required', false],
    ['no origin where it is optional (native app ticket request)', undefined, 'optional', true],
    ['a cross-site origin', 'https://evil.example', 'optional', false],
    ['a suffix lookalike', 'https://app.example.org.evil.example', 'optional', false],
    ['a prefix lookalike', 'https://evilapp.example.org', 'required', false],
    ['another scheme', 'http://app.example.org', 'optional', false],
    ['another port', 'https://app.example.org:8443', 'required', false],
    ['a trailing slash', 'https://app.example.org/', 'optional', false],
    ['upper case', 'https://APP.example.org', 'required', false],
    ['the null origin', 'null', 'optional', false],
    ['an empty origin header', '', 'optional', false],
  ])('%s: %s', (_label, origin, rule, expected) => {
    expect(originAllowed(origin, ALLOWED, rule)).toBe(expected);
  });
});
