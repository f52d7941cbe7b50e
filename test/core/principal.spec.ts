import type { OpaqueId } from '../../src/core/opaque-id.js';
import { type Principal, derivePrincipal, isUserKey, userKey } from '../../src/core/principal.js';

const DR = 'dr-7f3k2m9q';
const PT = 'pt-4c9a1b2e';
const OTHER_PT = 'pt-9z8y7x6w';

const patient = (id: string): Principal => ({ role: 'patient', id: id as OpaqueId });
const doctor = (id: string, launchPatient: string | null = null): Principal => ({
  role: 'doctor',
  id: id as OpaqueId,
  launchPatient: launchPatient as OpaqueId | null,
});

describe(derivePrincipal.name, () => {
  describe('from fhirUser', () => {
    it.each<[string, Record<string, unknown>, Principal]>([
      ['a relative Patient reference', { fhirUser: `Patient/${PT}` }, patient(PT)],
      ['a relative Practitioner reference', { fhirUser: `Practitioner/${DR}` }, doctor(DR)],
      [
        'an absolute Practitioner URL with a base path',
        { fhirUser: `https://fhir.example.org/r4/Practitioner/${DR}` },
        doctor(DR),
      ],
      [
        'an absolute Patient URL without a base path',
        { fhirUser: `https://fhir.example.org/Patient/${PT}` },
        patient(PT),
      ],
      [
        'an absolute URL with a port and an http scheme',
        { fhirUser: `http://localhost:8080/fhir/Patient/${PT}` },
        patient(PT),
      ],
      [
        'fhirUser over a contradicting role and sub',
        { fhirUser: `Patient/${PT}`, role: 'doctor', sub: DR },
        patient(PT),
      ],
      [
        'fhirUser over a role claim of the same kind with another sub',
        { fhirUser: `Practitioner/${DR}`, role: 'doctor', sub: 'someone-else' },
        doctor(DR),
      ],
      [
        'a doctor with a launch context',
        { fhirUser: `Practitioner/${DR}`, patient: PT },
        doctor(DR, PT),
      ],
      [
        'a patient whose launch context is themself',
        { fhirUser: `Patient/${PT}`, patient: PT },
        patient(PT),
      ],
    ])('derives %s', (_name, claims, expected) => {
      expect(derivePrincipal(claims)).toEqual({ ok: true, principal: expected });
    });

    it.each<[string, unknown]>([
      ['lower-case patient/', `patient/${PT}`],
      ['upper-case PATIENT/', `PATIENT/${PT}`],
      ['another resource type', `RelatedPerson/${PT}`],
      ['a Person resource', `Person/${PT}`],
      ['an Organization resource', `Organization/${DR}`],
      ['a bare id', PT],
      ['a user key', `patient:${PT}`],
      ['path traversal in the id', 'Patient/../x'],
      ['path traversal to another id', `Patient/../Practitioner/${DR}`],
      ['a dot segment in an absolute base', `https://fhir.example.org/r4/../Patient/${PT}`],
      ['a single-dot segment in an absolute base', `https://fhir.example.org/./Patient/${PT}`],
      ['a history reference', 'Patient/x/_history/1'],
      ['a versioned absolute reference', `https://fhir.example.org/Patient/${PT}/_history/1`],
      ['an extra leading segment in a relative reference', `r4/Patient/${PT}`],
      ['a leading slash', `/Patient/${PT}`],
      ['a trailing slash', `Patient/${PT}/`],
      ['an extra trailing segment', `Practitioner/${DR}/extra`],
      ['an empty id', 'Patient/'],
      ['a non-opaque id (record number)', 'Patient/12345678'],
      ['an SSN-shaped id', 'Patient/123-45-6789'],
      ['a too short id', 'Patient/abc'],
      ['a too long id', `Patient/${'a'.repeat(65)}`],
      ['a unicode id', 'Patient/pätient-01'],
      ['a percent-encoded slash', `Patient/pt%2F4c9a1b2e`],
      ['a query string', `https://fhir.example.org/Patient/${PT}?x=1`],
      ['a fragment', `https://fhir.example.org/Patient/${PT}#x`],
      ['userinfo in the URL', `https://user@fhir.example.org/Patient/${PT}`],
      ['a non-http scheme', `urn:example:Patient/${PT}`],
      ['a javascript URL', `javascript://x/Patient/${PT}`],
      ['an upper-case scheme', `HTTPS://fhir.example.org/Patient/${PT}`],
      ['a scheme-relative URL', `//fhir.example.org/Patient/${PT}`],
      ['surrounding whitespace', ` Patient/${PT} `],
      ['a trailing newline', `Patient/${PT}\n`],
      ['a prototype property as type', `constructor/${PT}`],
      ['__proto__ as type', `__proto__/${PT}`],
      ['the empty string', ''],
      ['null', null],
      ['a number', 42],
      ['an array', [`Patient/${PT}`]],
      ['an object', { reference: `Patient/${PT}` }],
    ])('refuses %s, without falling back to role', (_name, fhirUser) => {
      // A valid role + sub is present: an unrecognised fhirUser must still refuse.
      expect(derivePrincipal({ fhirUser, role: 'patient', sub: PT })).toEqual({
        ok: false,
        error: 'unsupported_principal',
      });
    });
  });

  describe('from role and sub', () => {
    it.each<[string, Record<string, unknown>, Principal]>([
      ['a patient', { role: 'patient', sub: PT }, patient(PT)],
      ['a doctor', { role: 'doctor', sub: DR }, doctor(DR)],
      ['a doctor with a launch context', { role: 'doctor', sub: DR, patient: PT }, doctor(DR, PT)],
      [
        'a patient whose launch context is themself',
        { role: 'patient', sub: PT, patient: PT },
        patient(PT),
      ],
      [
        'fhirUser explicitly undefined',
        { fhirUser: undefined, role: 'doctor', sub: DR },
        doctor(DR),
      ],
    ])('derives %s', (_name, claims, expected) => {
      expect(derivePrincipal(claims)).toEqual({ ok: true, principal: expected });
    });

    it.each<[string, Record<string, unknown>]>([
      ['no claims at all', {}],
      ['a sub without a role', { sub: DR }],
      ['a role without a sub', { role: 'doctor' }],
      ['an unknown role', { role: 'admin', sub: DR }],
      ['a nurse role', { role: 'nurse', sub: DR }],
      ['a capitalised role', { role: 'Doctor', sub: DR }],
      ['a padded role', { role: 'doctor ', sub: DR }],
      ['a role array', { role: ['doctor'], sub: DR }],
      ['a roles claim instead of role', { roles: ['doctor'], sub: DR }],
      ['a role given as a user key', { role: `doctor:${DR}`, sub: DR }],
      ['a user key as sub', { role: 'doctor', sub: `doctor:${DR}` }],
      ['a record-number sub', { role: 'patient', sub: '12345678' }],
      ['an SSN-shaped sub', { role: 'patient', sub: '123-45-6789' }],
      ['an email sub', { role: 'patient', sub: 'jane.doe@example.org' }],
      ['a too short sub', { role: 'patient', sub: 'pt-1' }],
      ['a too long sub', { role: 'patient', sub: `p${'1'.repeat(64)}` }],
      ['a unicode sub', { role: 'patient', sub: 'pаtient-01' }],
      ['a numeric sub', { role: 'patient', sub: 12345678 }],
      ['a sub that is a FHIR reference', { role: 'doctor', sub: `Practitioner/${DR}` }],
    ])('refuses %s', (_name, claims) => {
      expect(derivePrincipal(claims)).toEqual({ ok: false, error: 'unsupported_principal' });
    });
  });

  describe('launch context', () => {
    it.each<[string, Record<string, unknown>]>([
      [
        'a doctor with a record-number launch patient',
        { role: 'doctor', sub: DR, patient: '12345678' },
      ],
      [
        'a doctor with a FHIR reference as launch patient',
        { role: 'doctor', sub: DR, patient: `Patient/${PT}` },
      ],
      ['a doctor with a null launch patient', { role: 'doctor', sub: DR, patient: null }],
      ['a doctor with an empty launch patient', { role: 'doctor', sub: DR, patient: '' }],
      ['a doctor with a launch patient array', { role: 'doctor', sub: DR, patient: [PT] }],
      [
        'a fhirUser doctor with a bad launch patient',
        { fhirUser: `Practitioner/${DR}`, patient: '1' },
      ],
      [
        'a patient with another patient as launch context',
        { role: 'patient', sub: PT, patient: OTHER_PT },
      ],
      [
        'a fhirUser patient with another launch patient',
        { fhirUser: `Patient/${PT}`, patient: OTHER_PT },
      ],
      ['a patient with a null launch context', { role: 'patient', sub: PT, patient: null }],
    ])('refuses %s', (_name, claims) => {
      expect(derivePrincipal(claims)).toEqual({ ok: false, error: 'unsupported_principal' });
    });
  });

  it('reads only own properties, never inherited ones', () => {
    const inherited = Object.create({ role: 'doctor', sub: DR, fhirUser: `Practitioner/${DR}` });
    expect(derivePrincipal(inherited as Record<string, unknown>)).toEqual({
      ok: false,
      error: 'unsupported_principal',
    });
  });

  it('treats a JSON __proto__ key as a plain (unrecognised) claim', () => {
    const claims = JSON.parse(`{"__proto__":{"role":"doctor"},"sub":"${DR}"}`) as Record<
      string,
      unknown
    >;
    expect(derivePrincipal(claims)).toEqual({ ok: false, error: 'unsupported_principal' });
  });
});

describe(userKey.name, () => {
  it.each<[Principal, string]>([
    [doctor(DR), `doctor:${DR}`],
    [doctor(DR, PT), `doctor:${DR}`],
    [patient(PT), `patient:${PT}`],
  ])('%j -> %s', (principal, expected) => {
    expect(userKey(principal)).toBe(expected);
  });
});

describe(isUserKey.name, () => {
  it.each([
    ['doctor:dr-7f3k2m9q', true],
    ['patient:pt-4c9a1b2e', true],
    ['admin:root-user01', false],
    ['patient:123456789', false],
    ['patient', false],
    ['doctor:dr-7f3k2m9q:x', false],
  ])('says %s is a user key: %s', (s, expected) => {
    expect(isUserKey(s)).toBe(expected);
  });
});
