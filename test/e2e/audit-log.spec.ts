import { afterEach, describe, expect, it } from '@jest/globals';
import { appendFile } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { AuditEntry } from '../../src/core/audit-chain.js';
import {
  checkpoints,
  connected,
  metric,
  readAudit,
  startAuditNode,
  tempDir,
  unchecked,
  uniqueNodeId,
  verifyAuditFile,
} from '../audit/support/audit-helpers.js';
import type { TestNode } from '../support/app.js';

const cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function setup(label: string): Promise<{ dir: string; nodeId: string }> {
  const { dir, remove } = await tempDir(label);
  cleanup.push(remove);
  return { dir, nodeId: uniqueNodeId(label) };
}

function track(node: TestNode): TestNode {
  cleanup.push(() => node.stop());
  return node;
}

describe('audit log (embedded mode, real files)', () => {
  it('writes thousands of events from many concurrent callers into one verifiable chain', async () => {
    const { dir, nodeId } = await setup('audit-load');
    const { node, audit, file } = await startAuditNode(dir, nodeId);
    track(node);
    const callers = 50;
    const perCaller = 100;
    const denied = unchecked({
      event: 'ws.subscribe',
      outcome: 'deny',
      reason: 'not_on_care_team',
      actor: 'user-9',
      channel: 'patient.c3VtbWFyeQ',
    });

    await Promise.all(
      Array.from({ length: callers }, async (_, c) => {
        for (let i = 0; i < perCaller; i++) {
          expect(audit.record(i % 2 === 0 ? connected(`c${c}-${i}`) : denied)).toBeUndefined();
          await nextTurn();
        }
      }),
    );
    await expect(audit.flush()).resolves.toBe(true);

    await expect(verifyAuditFile(file)).resolves.toMatchObject({ ok: true });
    const { records, tornTail } = await readAudit(file);
    expect(tornTail).toBe(false);
    const ordinary = records.filter((r) => r.event !== 'audit.checkpoint');
    expect(ordinary).toHaveLength(callers * perCaller);
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1));
    // A checkpoint opens the file and then follows every 1000 records at most.
    expect(checkpoints(records).map((r) => r.reason)).toEqual(['start', ...Array(5).fill('count')]);
    // Each caller's records keep the order in which that caller made them.
    for (let c = 0; c < callers; c++) {
      const mine = ordinary.filter((r) => r.conn?.startsWith(`c${c}-`)).map((r) => r.conn);
      expect(mine).toEqual(Array.from({ length: perCaller / 2 }, (_, k) => `c${c}-${2 * k}`));
    }
    // Only the fields of the entry and of the chain reach the file.
    const subscribe = ordinary.find((r) => r.event === 'ws.subscribe')!;
    expect(Object.keys(subscribe).sort()).toEqual([
      'actor',
      'channel',
      'event',
      'hash',
      'node',
      'outcome',
      'prev',
      'reason',
      'seq',
      'ts',
    ]);

    const records_total = 'carecast_audit_records_total';
    await expect(metric(node, `${records_total}{event="ws.connected"}`)).resolves.toBe(2500);
    await expect(metric(node, `${records_total}{event="ws.subscribe"}`)).resolves.toBe(2500);
    await expect(metric(node, `${records_total}{event="audit.checkpoint"}`)).resolves.toBe(6);
    await expect(metric(node, `${records_total}{event="ticket.issued"}`)).resolves.toBe(0);
    const lastCheckpoint = await metric(node, 'carecast_audit_last_checkpoint_timestamp_seconds');
    expect(lastCheckpoint * 1000).toBe(Date.parse(checkpoints(records).at(-1)!.ts));
  });

  it('continues the chain across a restart, with a checkpoint at shutdown and at start', async () => {
    const { dir, nodeId } = await setup('audit-restart');
    const first = await startAuditNode(dir, nodeId);
    for (let i = 0; i < 10; i++) first.audit.record(connected(`first-${i}`));
    await first.node.stop();
    const before = (await readAudit(first.file)).records;
    expect(before.at(-1)).toMatchObject({ event: 'audit.checkpoint', reason: 'shutdown' });

    const second = await startAuditNode(dir, nodeId);
    track(second.node);
    for (let i = 0; i < 10; i++) second.audit.record(connected(`second-${i}`));
    await expect(second.audit.flush()).resolves.toBe(true);

    const { records } = await readAudit(second.file);
    expect(records.slice(0, before.length)).toEqual(before);
    expect(records[before.length]).toMatchObject({
      seq: before.length + 1,
      prev: before.at(-1)!.hash,
      event: 'audit.checkpoint',
      reason: 'start',
    });
    expect(records.filter((r) => r.conn?.startsWith('second-'))).toHaveLength(10);
    await expect(verifyAuditFile(second.file)).resolves.toEqual({
      ok: true,
      records: records.length,
      lastSeq: records.length,
      lastHash: records.at(-1)!.hash,
    });
  });

  it('reports a torn last line at restart, cuts it off and continues from the last complete record', async () => {
    const { dir, nodeId } = await setup('audit-torn');
    const first = await startAuditNode(dir, nodeId);
    for (let i = 0; i < 20; i++) first.audit.record(connected(`before-${i}`));
    await first.node.stop();
    const complete = (await readAudit(first.file)).records;
    // What a process killed in the middle of an append leaves: part of a line, no newline.
    const torn = '{"seq":' + (complete.length + 1) + ',"ts":"2025-01-01T00:00:00.000Z","node":"';
    await appendFile(first.file, torn);
    expect((await readAudit(first.file)).tornTail).toBe(true);

    const second = await startAuditNode(dir, nodeId);
    track(second.node);
    second.audit.record(connected('after-0'));
    await expect(second.audit.flush()).resolves.toBe(true);

    const warning = second.node.logs.records().find((l) => String(l.msg).includes('torn line'));
    expect(warning).toMatchObject({
      level: 'warn',
      tornBytes: Buffer.byteLength(torn),
      lastSeq: complete.length,
    });
    const { records, tornTail } = await readAudit(second.file);
    expect(tornTail).toBe(false);
    expect(records.slice(0, complete.length)).toEqual(complete);
    expect(records[complete.length]).toMatchObject({
      seq: complete.length + 1,
      prev: complete.at(-1)!.hash,
      event: 'audit.checkpoint',
      reason: 'start_torn_tail',
    });
    expect(records.at(-1)).toMatchObject({ conn: 'after-0' });
    await expect(verifyAuditFile(second.file)).resolves.toMatchObject({ ok: true });
    await expect(
      metric(second.node, 'carecast_audit_write_failures_total{reason="torn_tail"}'),
    ).resolves.toBe(1);
  });

  it('drops entries that cannot form a record (forged checkpoints, unknown events) and counts them', async () => {
    const { dir, nodeId } = await setup('audit-invalid');
    const { node, audit, file } = await startAuditNode(dir, nodeId);
    track(node);
    const forged = { event: 'audit.checkpoint', outcome: 'ok', reason: 'periodic', actor: 'x' };
    const unknown = { event: 'user.exported', outcome: 'ok', reason: 'r', actor: 'x' };
    expect(audit.record(unchecked(forged as AuditEntry))).toBeUndefined();
    expect(audit.record(unchecked(unknown as unknown as AuditEntry))).toBeUndefined();
    audit.record(connected('valid'));
    await expect(audit.flush()).resolves.toBe(true);

    const { records } = await readAudit(file);
    expect(records.map((r) => r.reason)).toEqual(['start', 'ticket_redeemed']);
    await expect(verifyAuditFile(file)).resolves.toMatchObject({ ok: true });
    await expect(
      metric(node, 'carecast_audit_write_failures_total{reason="invalid_entry"}'),
    ).resolves.toBe(2);
  });
});
