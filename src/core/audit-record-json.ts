/**
 * The canonical JSON of an audit record's hashed fields, written directly: the audit chain
 * hashes one record per notification, and the generic canonicalJson (sorting keys, tracking
 * ancestors and paths for its errors, recursing) was most of that cost.
 *
 * Invariant: for every input where it returns a string, that string equals
 * `canonicalJson(record without hash and sig)`. It returns null, and the caller falls back to
 * canonicalJson, for anything it does not cover: a field outside the record's vocabulary, a
 * field set to `undefined` explicitly, a value that is neither a string nor a finite number,
 * an object that is not plain.
 */

/** Every field the hash covers, in canonical (UTF-16 code unit) order. */
const HASHED_FIELDS = [
  'actor',
  'channel',
  'code',
  'conn',
  'event',
  'jti',
  'node',
  'notification',
  'outcome',
  'prev',
  'reason',
  'seq',
  'ts',
] as const;

/** Present on a record but never hashed (audit-chain.ts: the chain rule). */
const UNHASHED_FIELDS = ['hash', 'sig'] as const;

export function auditRecordJson(record: Readonly<Record<string, unknown>>): string | null {
  const proto: unknown = Object.getPrototypeOf(record);
  if (proto !== Object.prototype && proto !== null) return null;
  let text = '{';
  let written = 0;
  for (const field of HASHED_FIELDS) {
    const value = record[field];
    if (value === undefined) continue;
    let encoded: string;
    if (typeof value === 'string') encoded = JSON.stringify(value);
    else if (typeof value === 'number' && Number.isFinite(value)) encoded = JSON.stringify(value);
    else return null;
    text += `${written === 0 ? '' : ','}"${field}":${encoded}`;
    written += 1;
  }
  let present = 0;
  for (const field of UNHASHED_FIELDS) if (Object.hasOwn(record, field)) present += 1;
  // Anything else on the record (an unknown field, an explicit undefined) takes the slow path.
  if (Object.keys(record).length !== written + present) return null;
  return `${text}}`;
}
