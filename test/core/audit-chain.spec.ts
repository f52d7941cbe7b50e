import { createHash, createHmac } from 'node:crypto';
import {
  GENESIS_HASH,
  UNPARSEABLE_LINE,
  hashRecord,
  linkRecord,
  makeCheckpoint,
  parseJsonLines,
  type AuditEntry,
  type AuditRecord,
  type ChainHead,
} from '../../src/core/audit-chain.js';
import {
  verifyChain,
  type VerifyFailure,
  type VerifyOptions,
  type VerifyResult,
} from '../../src/core/audit-verify.js';

const KEY = 'test-signing-key';
const NODE = 'node-a';
const ts = (seq: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString();

const entry = (i: number): AuditEntry & { event: 'ws.subscribe' } => ({
  event: 'ws.subscribe',
  outcome: i % 2 === 0 ? 'allow' : 'deny',
  reason: i % 2 === 0 ? 'member' : 'not_member',
  actor: `user-${i}`,
  conn: `conn-${i}`,
  channel: `patient:pt-${i}`,
});

/** Records 1..n; every seq divisible by `every` is a checkpoint. Built from `head` onwards. */
function chain(n: number, every = 5, key: string = KEY, head: ChainHead | null = null) {
  const records: AuditRecord[] = [];
  for (let seq = (head?.seq ?? 0) + 1; seq <= n; seq += 1) {
    const previous = records.at(-1) ?? head;
    const at = { ts: ts(seq), node: NODE };
    records.push(
      seq % every === 0
        ? makeCheckpoint(previous, { ...at, key })
        : linkRecord(previous, entry(seq), at),
    );
  }
  return records;
}

const valid = chain(10);
const edit = (rs: readonly AuditRecord[], i: number, patch: object): unknown[] =>
  rs.map((r, j) => (j === i ? { ...r, ...patch } : r));
const rehashed = (r: AuditRecord): AuditRecord => ({ ...r, hash: hashRecord(r) });
const toText = (rs: readonly unknown[]): string => rs.map((r) => `${JSON.stringify(r)}\n`).join('');
const flip = (hex: string): string => (hex[0] === 'a' ? 'b' : 'a') + hex.slice(1);
const at = (i: number): AuditRecord => valid[i] as AuditRecord;

describe(linkRecord.name, () => {
  it('hashes prev followed by the sorted JSON of the record without hash (§7)', () => {
    const entryWithCode = { event: 'ws.closed', outcome: 'ok', reason: 'going_away' } as const;
    const record = linkRecord(
      null,
      { ...entryWithCode, actor: 'u-1', conn: 'c-1', code: 1001 },
      { ts: '2026-01-02T03:04:05.000Z', node: 'n1' },
    );
    const json =
      `{"actor":"u-1","code":1001,"conn":"c-1","event":"ws.closed","node":"n1","outcome":"ok",` +
      `"prev":"${GENESIS_HASH}","reason":"going_away","seq":1,"ts":"2026-01-02T03:04:05.000Z"}`;
    expect(record.seq).toBe(1);
    expect(record.hash).toBe(
      createHash('sha256')
        .update(GENESIS_HASH + json)
        .digest('hex'),
    );
  });

  it('links to the previous head and drops properties that are not §7 fields', () => {
    const withTicket = { ...entry(1), ticket: 'secret-ticket' } as AuditEntry & {
      event: 'ws.subscribe';
    };
    const record = linkRecord({ seq: 7, hash: 'ab'.repeat(32) }, withTicket, {
      ts: ts(8),
      node: NODE,
    });
    expect(record).toMatchObject({ seq: 8, prev: 'ab'.repeat(32) });
    expect(JSON.stringify(record)).not.toContain('secret-ticket');
  });

  it.each([
    ['a timestamp that is not ISO-8601', { ts: '1 Jan 2026', node: NODE }],
    ['an empty node id', { ts: ts(1), node: '' }],
  ])('throws on %s', (_name, stamp) => {
    expect(() => linkRecord(null, entry(1), stamp)).toThrow(TypeError);
  });
});

describe(makeCheckpoint.name, () => {
  it('signs <node>.<seq>.<hash> of the checkpoint record itself', () => {
    const checkpoint = at(4);
    const message = `${NODE}.5.${checkpoint.hash}`;
    expect(checkpoint).toMatchObject({ seq: 5, event: 'audit.checkpoint', prev: at(3).hash });
    expect(checkpoint.sig).toBe(createHmac('sha256', KEY).update(message).digest('hex'));
  });
});

describe(verifyChain.name, () => {
  const ok = (rs: readonly AuditRecord[]): VerifyResult => ({
    ok: true,
    records: rs.length,
    lastSeq: rs.at(-1)?.seq ?? 0,
    lastHash: rs.at(-1)?.hash ?? GENESIS_HASH,
  });
  const reversedKeys = valid.map((r) => Object.fromEntries(Object.entries(r).reverse()));

  it.each<[string, unknown[], VerifyOptions, VerifyResult]>([
    ['accepts a valid chain of 10 records with 2 checkpoints', valid, { key: KEY }, ok(valid)],
    ['accepts an empty file', [], { key: KEY }, ok([])],
    ['accepts records whose keys are in another order', reversedKeys, { key: KEY }, ok(valid)],
    ['accepts the key as bytes', valid, { key: new TextEncoder().encode(KEY) }, ok(valid)],
    [
      'accepts a file that reaches the external checkpoint',
      valid,
      { key: KEY, externalCheckpoint: { seq: 5, hash: at(4).hash } },
      ok(valid),
    ],
    [
      'accepts a tail deleted after the external checkpoint (undetectable by design)',
      valid.slice(0, 6),
      { key: KEY, externalCheckpoint: { seq: 5, hash: at(4).hash } },
      ok(valid.slice(0, 6)),
    ],
  ])('%s', (_name, records, options, expected) => {
    expect(verifyChain(records, options)).toEqual(expected);
  });

  const forged3 = linkRecord(at(1), { ...entry(3), reason: 'edited' }, { ts: ts(3), node: NODE });
  const rewritten = [...valid.slice(0, 2), forged3, ...chain(10, 5, 'attacker-key', forged3)];
  const foreignPrev = chain(3, 5, KEY, { seq: 0, hash: 'cd'.repeat(32) });
  const otherKeySig = makeCheckpoint(at(3), { ts: ts(5), node: NODE, key: 'other-key' }).sig;
  const brokenLine = toText(valid)
    .split('\n')
    .map((l, i) => (i === 2 ? l.slice(0, 20) : l));
  const twoEdits = edit(edit(valid, 6, { actor: 'x' }) as AuditRecord[], 2, { ts: ts(99) });
  const last = { seq: 10, hash: at(9).hash };

  // prettier-ignore
  it.each<[string, unknown[], number, VerifyFailure]>([
    ['reports the first edited record as hash_mismatch', edit(valid, 2, { reason: 'x' }), 3, 'hash_mismatch'],
    ['reports only the first of two edited records', twoEdits, 3, 'hash_mismatch'],
    ['reports an edited and rehashed record as broken_link at the next seq', edit(valid, 2, rehashed({ ...at(2), reason: 'x' })), 4, 'broken_link'],
    ['reports a chain rewritten without the key at its first checkpoint', rewritten, 5, 'bad_checkpoint_signature'],
    ['reports a deleted middle record as seq_gap at the missing seq', valid.toSpliced(3, 1), 4, 'seq_gap'],
    ['reports swapped records as seq_gap at the first displaced seq', valid.toSpliced(3, 2, at(4), at(3)), 4, 'seq_gap'],
    ['reports a repeated record as seq_repeat', valid.toSpliced(3, 0, at(2)), 4, 'seq_repeat'],
    ['reports a first record whose prev is not genesis as broken_link', foreignPrev, 1, 'broken_link'],
    ['reports a checkpoint signed with another key', edit(valid, 4, { sig: otherKeySig }), 5, 'bad_checkpoint_signature'],
    ['reports a checkpoint whose sig was edited', edit(valid, 9, { sig: flip(at(9).sig ?? '') }), 10, 'bad_checkpoint_signature'],
    ['reports a checkpoint without sig', edit(valid, 4, { sig: undefined }), 5, 'bad_checkpoint_signature'],
    ['reports a sig on an ordinary record as malformed', edit(valid, 1, { sig: at(4).sig }), 2, 'malformed_record'],
    ['reports a field outside §7 as malformed', edit(valid, 2, { ticket: 't' }), 3, 'malformed_record'],
    ['reports an unknown event as malformed', edit(valid, 0, { event: 'ws.hacked' }), 1, 'malformed_record'],
    ['reports a non-hex hash as malformed', edit(valid, 1, { hash: 'z'.repeat(64) }), 2, 'malformed_record'],
    ['reports an unparseable middle line as malformed at the previous seq + 1', parseJsonLines(brokenLine.join('\n')).records, 3, 'malformed_record'],
    ['reports a JSON value that is not an object as malformed', (valid as unknown[]).toSpliced(1, 0, [1, 2]), 2, 'malformed_record'],
  ])('%s', (_name, records, seq, reason) => {
    expect(verifyChain(records, { key: KEY })).toEqual({ ok: false, seq, reason });
  });

  // prettier-ignore
  it.each<[string, unknown[], VerifyOptions, number, VerifyFailure]>([
    ['reports a valid chain verified with another key', valid, { key: 'other-key' }, 5, 'bad_checkpoint_signature'],
    ['reports a tail deleted before the external checkpoint', valid.slice(0, 7), { key: KEY, externalCheckpoint: last }, 8, 'behind_external_checkpoint'],
    ['reports an emptied file behind the external checkpoint', [], { key: KEY, externalCheckpoint: last }, 1, 'behind_external_checkpoint'],
    ['reports a record that disagrees with the external checkpoint', valid, { key: KEY, externalCheckpoint: { ...last, hash: flip(last.hash) } }, 10, 'behind_external_checkpoint'],
  ])('%s', (_name, records, options, seq, reason) => {
    expect(verifyChain(records, options)).toEqual({ ok: false, seq, reason });
  });
});

describe(parseJsonLines.name, () => {
  const [a, b] = [JSON.stringify(at(0)), JSON.stringify(at(1))];

  it.each<[string, string, unknown[], boolean]>([
    ['reads newline-terminated lines', `${a}\n${b}\n`, [at(0), at(1)], false],
    ['reads an empty file as no records', '', [], false],
    ['reports a complete final line without a newline as a torn tail', `${a}\n${b}`, [at(0)], true],
    ['reports a cut final line as a torn tail', `${a}\n${b.slice(0, 30)}`, [at(0)], true],
    [
      'reports a terminated final line that does not parse as a torn tail',
      `${a}\n${b.slice(0, 30)}\n`,
      [at(0)],
      true,
    ],
    [
      'keeps an unparseable middle line as a placeholder',
      `${a}\n{oops\n${b}\n`,
      [at(0), UNPARSEABLE_LINE, at(1)],
      false,
    ],
    [
      'keeps a blank middle line as a placeholder',
      `${a}\n\n${b}\n`,
      [at(0), UNPARSEABLE_LINE, at(1)],
      false,
    ],
  ])('%s', (_name, text, records, tornTail) => {
    expect(parseJsonLines(text)).toEqual({ records, tornTail });
  });

  it('lets a file with a torn tail verify up to the last complete record', () => {
    const { records, tornTail } = parseJsonLines(toText(valid).slice(0, -15));
    expect(tornTail).toBe(true);
    const expected: VerifyResult = { ok: true, records: 9, lastSeq: 9, lastHash: at(8).hash };
    expect(verifyChain(records, { key: KEY })).toEqual(expected);
  });
});
