import { describe, expect, it } from '@jest/globals';
import {
  type AuditRecord,
  type ChainHead,
  linkRecord,
  makeCheckpoint,
} from '../../src/core/audit-chain.js';
import {
  anchorOf,
  CHAIN_START,
  verifyChain,
  verifyNext,
  type VerifyStep,
} from '../../src/core/audit-verify.js';

const KEY = 'test-signing-key';
const at = { ts: '2026-01-01T00:00:00.000Z', node: 'n' };
const entry = {
  event: 'ws.unsubscribe',
  outcome: 'ok',
  reason: 'client_request',
  actor: 'u',
} as const;

/** seq 1..5 in one file, then a rotation: seq 6 `rotation`, seq 7 `after_rotation`, 8 entry. */
function rotatedChain(): AuditRecord[] {
  const records: AuditRecord[] = [];
  const push = (make: (head: ChainHead | null) => AuditRecord) =>
    records.push(make(records.at(-1) ?? null));
  push((h) => makeCheckpoint(h, { ...at, key: KEY, reason: 'start' }));
  for (let i = 0; i < 4; i++) push((h) => linkRecord(h, entry, at));
  push((h) => makeCheckpoint(h, { ...at, key: KEY, reason: 'rotation' }));
  push((h) => makeCheckpoint(h, { ...at, key: KEY, reason: 'after_rotation' }));
  push((h) => linkRecord(h, entry, at));
  return records;
}

const chain = rotatedChain();
const rec = (seq: number) => chain[seq - 1]!;

describe(anchorOf.name, () => {
  it.each<[string, unknown, object, VerifyStep | null]>([
    [
      'starts a file at its after_rotation checkpoint',
      rec(7),
      {},
      { ok: true, head: { seq: 6, hash: rec(6).hash } },
    ],
    ['needs no anchor at seq 1', rec(1), {}, null],
    ['refuses an ordinary record', rec(8), {}, null],
    ['refuses a checkpoint that does not open a file', rec(6), {}, null],
    ['refuses a checkpoint signed with another key', rec(7), { key: 'other' }, null],
    ['refuses a forged opening checkpoint', { ...rec(7), seq: 9 }, {}, null],
    [
      'compares the anchor with the external checkpoint at seq - 1',
      rec(7),
      { externalCheckpoint: { seq: 6, hash: rec(5).hash } },
      { ok: false, seq: 7, reason: 'behind_external_checkpoint' },
    ],
  ])('%s', (_name, value, options, expected) => {
    expect(anchorOf(value, { key: KEY, ...options })).toEqual(expected);
  });
});

describe(verifyNext.name, () => {
  it('folded over a chain gives what verifyChain gives, record by record', () => {
    let head = CHAIN_START;
    for (const record of chain) {
      const step = verifyNext(head, record, { key: KEY });
      expect(step).toEqual({ ok: true, head: { seq: record.seq, hash: record.hash } });
      head = (step as { head: ChainHead }).head;
    }
    expect(verifyChain(chain, { key: KEY })).toMatchObject({ ok: true, lastSeq: head.seq });
  });

  it('verifies a file that starts after a rotation from its anchor, and not from seq 0', () => {
    const newest = chain.slice(6);
    const anchor = anchorOf(newest[0], { key: KEY });
    expect(anchor?.ok).toBe(true);
    const head = (anchor as { head: ChainHead }).head;
    expect(verifyNext(head, newest[0], { key: KEY }).ok).toBe(true);
    expect(verifyChain(newest, { key: KEY })).toEqual({ ok: false, seq: 1, reason: 'seq_gap' });
  });
});
