import { auditRecordJson } from '../../src/core/audit-record-json.js';
import { canonicalJson } from '../../src/core/canonical-json.js';

const HASH = 'a'.repeat(64);
const base = {
  seq: 7,
  ts: '2026-01-02T03:04:05.678Z',
  node: 'node-1',
  event: 'notification.published',
  outcome: 'ok',
  reason: 'published',
  actor: 'service:svc-1',
  prev: HASH,
};

/** What the chain hashes: canonical JSON without `hash` and `sig`. */
function reference(record: Record<string, unknown>): string {
  const { hash: _hash, sig: _sig, ...hashed } = record;
  return canonicalJson(hashed);
}

describe(auditRecordJson.name, () => {
  it.each<[string, Record<string, unknown>]>([
    ['an ordinary record', base],
    [
      'a record with every optional field',
      {
        ...base,
        jti: 'j1',
        conn: 'c1',
        channel: 'patient:pt-1',
        notification: 'evt-1',
        code: 4009,
      },
    ],
    ['a record with its hash', { ...base, hash: HASH }],
    [
      'a checkpoint with hash and sig',
      { ...base, event: 'audit.checkpoint', hash: HASH, sig: HASH },
    ],
    ['strings that need escaping', { ...base, reason: 'a"b\\c\n\u0001é\u{1F600}' }],
    [
      'fields in any insertion order',
      {
        prev: HASH,
        actor: 'system',
        ts: base.ts,
        seq: 1,
        node: 'n',
        reason: 'start',
        outcome: 'ok',
        event: 'audit.checkpoint',
      },
    ],
    ['negative zero and fractions', { ...base, seq: -0, code: 1.5 }],
    ['an object without a prototype', Object.assign(Object.create(null) as object, base)],
  ])('writes the canonical JSON of %s', (_name, record) => {
    expect(auditRecordJson(record)).toBe(reference(record));
  });

  it.each<[string, unknown]>([
    ['an unknown field', { ...base, patientName: 'x' }],
    ['a field set to undefined', { ...base, jti: undefined }],
    ['a nested object', { ...base, reason: { a: 1 } }],
    ['a boolean', { ...base, code: true }],
    ['a non-finite number', { ...base, code: Number.NaN }],
    ['null', { ...base, jti: null }],
    ['a class instance', Object.assign(new (class Rec {})(), base)],
  ])('leaves %s to canonicalJson (null)', (_name, record) => {
    expect(auditRecordJson(record as Record<string, unknown>)).toBeNull();
  });
});
