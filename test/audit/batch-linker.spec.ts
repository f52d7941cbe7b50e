import { describe, expect, it } from '@jest/globals';
import { linkBatch, type PendingEntry } from '../../src/audit/batch-linker.js';
import { type AuditEntry } from '../../src/core/audit-chain.js';
import { verifyChain } from '../../src/core/audit-verify.js';

const KEY = 'batch-key';
const NOW = Date.UTC(2026, 2, 1, 12, 0, 0);
const options = { node: 'n1', key: KEY, now: NOW, checkpointEvery: 3, checkpoint: null };

const pending = (i: number, entry: Partial<AuditEntry> = {}): PendingEntry => ({
  entry: {
    event: 'ws.connected',
    outcome: 'ok',
    reason: 'ticket_redeemed',
    actor: 'u',
    conn: `c${i}`,
    ...entry,
  } as AuditEntry,
  at: NOW - 1000 + i,
});

describe('linkBatch: one group commit of the chain', () => {
  it('links entries in order, stamping each with the time it was recorded', () => {
    const batch = linkBatch({ head: null, sinceCheckpoint: 0 }, [pending(1), pending(2)], options);
    expect(batch.records.map((r) => [r.seq, r.conn, r.ts])).toEqual([
      [1, 'c1', new Date(NOW - 999).toISOString()],
      [2, 'c2', new Date(NOW - 998).toISOString()],
    ]);
    expect(batch.state).toEqual({ head: batch.records[1], sinceCheckpoint: 2 });
    expect(verifyChain(batch.records, { key: KEY })).toMatchObject({ ok: true, records: 2 });
  });

  it('seals an entry marked `seal` with a signed checkpoint right after it', () => {
    const sealed = { ...pending(2), seal: true };
    const batch = linkBatch(
      { head: null, sinceCheckpoint: 0 },
      [pending(1), sealed, pending(3)],
      options,
    );
    expect(batch.records.map((r) => [r.event, r.conn ?? r.reason])).toEqual([
      ['ws.connected', 'c1'],
      ['ws.connected', 'c2'],
      ['audit.checkpoint', 'sealed'],
      ['ws.connected', 'c3'],
    ]);
    expect(batch.state.sinceCheckpoint).toBe(1);
    expect(verifyChain(batch.records, { key: KEY })).toMatchObject({ ok: true, records: 4 });
  });

  it('adds a signed checkpoint after every `checkpointEvery` records, across batches', () => {
    const first = linkBatch({ head: null, sinceCheckpoint: 0 }, [pending(1), pending(2)], options);
    const second = linkBatch(
      first.state,
      [3, 4, 5, 6, 7].map((i) => pending(i)),
      options,
    );
    const all = [...first.records, ...second.records];
    expect(all.map((r) => r.event === 'audit.checkpoint')).toEqual([
      false,
      false,
      false,
      true,
      false,
      false,
      false,
      true,
      false,
    ]);
    expect(all[3]).toMatchObject({ reason: 'count', ts: new Date(NOW).toISOString() });
    expect(second.state.sinceCheckpoint).toBe(1);
    expect(verifyChain(all, { key: KEY })).toMatchObject({ ok: true, records: 9 });
  });

  it('writes a requested checkpoint, but no interval checkpoint when nothing is new', () => {
    const empty = { head: null, sinceCheckpoint: 0 };
    expect(linkBatch(empty, [], { ...options, checkpoint: 'interval' }).records).toEqual([]);
    const start = linkBatch(empty, [], { ...options, checkpoint: 'start' });
    expect(start.records).toEqual([expect.objectContaining({ seq: 1, reason: 'start' })]);
    const interval = linkBatch(start.state, [pending(1)], { ...options, checkpoint: 'interval' });
    expect(interval.records.map((r) => r.reason)).toEqual(['ticket_redeemed', 'interval']);
  });

  it('drops, and counts, entries that cannot form a record, keeping the chain intact', () => {
    const bad = [
      pending(2, { event: 'audit.checkpoint' }),
      pending(3, { event: 'made.up' as AuditEntry['event'] }),
      pending(4, { code: 1.5 }),
    ];
    const batch = linkBatch(
      { head: null, sinceCheckpoint: 0 },
      [pending(1), ...bad, pending(5)],
      options,
    );
    expect(batch.rejected).toBe(3);
    expect(batch.accepted.map((p) => p.entry.conn)).toEqual(['c1', 'c5']);
    expect(batch.records.map((r) => r.seq)).toEqual([1, 2]);
    expect(verifyChain(batch.records, { key: KEY })).toMatchObject({ ok: true });
  });

  it('never copies fields outside the record format into the file', () => {
    const withPayload = { ...pending(1).entry, payload: 'Jane Doe, MRN 00471123', token: 'eyJ' };
    const batch = linkBatch(
      { head: null, sinceCheckpoint: 0 },
      [{ entry: withPayload, at: NOW }],
      options,
    );
    expect(JSON.stringify(batch.records)).not.toMatch(/Jane|eyJ|payload|token/);
  });
});
