import { OPAQUE_ID, isOpaqueId } from '../../src/core/opaque-id.js';

describe(isOpaqueId.name, () => {
  it.each<[string, string]>([
    ['the contract example for a doctor', 'dr-7f3k2m9q'],
    ['the contract example for a patient', 'pt-4c9a1b2e'],
    ['exactly 8 characters', 'abcdefgh'],
    ['exactly 64 characters', 'a'.repeat(64)],
    ['a single letter among digits', '1234567a'],
    ['underscores and dashes', 'a_b-c_d-e'],
    ['upper case', 'PATIENT-ABC'],
    ['only dashes and one letter', '-------x'],
  ])('accepts %s', (_name, value) => {
    expect(isOpaqueId(value)).toBe(true);
  });

  it.each<[string, unknown]>([
    ['a bare record number', '12345678'],
    ['a long bare record number', '0000123456789'],
    ['an SSN-shaped value', '123-45-6789'],
    ['an SSN without dashes', '123456789'],
    ['digits, dashes and underscores only', '12_34-56_78'],
    ['7 characters', 'abcdefg'],
    ['65 characters', 'a'.repeat(65)],
    ['the empty string', ''],
    ['a space inside', 'abcd efgh'],
    ['a leading space', ' abcdefgh'],
    ['a trailing newline', 'abcdefgh\n'],
    ['a leading newline', '\nabcdefgh'],
    ['a dot', 'abcd.efgh'],
    ['a path traversal', '../abcdefgh'],
    ['a slash', 'Patient/abcdefgh'],
    ['a colon', 'patient:abcdefgh'],
    ['percent encoding', 'abcd%2Fefgh'],
    ['an accented letter', 'abcdéfgh'],
    ['a Cyrillic look-alike', 'аbcdefgh'],
    ['a fullwidth letter', 'ａbcdefgh'],
    ['an emoji', 'abcdefg😀'],
    ['a zero-width space', 'abcd\u200befgh'],
    ['a NUL byte', 'abcd\u0000efgh'],
    ['a number', 12345678],
    ['null', null],
    ['undefined', undefined],
    ['an array holding an id', ['dr-7f3k2m9q']],
    ['an object', { toString: () => 'dr-7f3k2m9q' }],
  ])('refuses %s', (_name, value) => {
    expect(isOpaqueId(value)).toBe(false);
  });

  it('is the pattern the contract states', () => {
    expect(OPAQUE_ID.source).toBe('^(?=.*[A-Za-z])[A-Za-z0-9_-]{8,64}$');
    expect(OPAQUE_ID.flags).toBe('');
  });
});
