import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AUDIT_QUEUE_CAPACITY } from '../../src/audit/audit-queue.js';
import {
  connected,
  metric,
  readAudit,
  readiness,
  startAuditNode,
  tempDir,
  uniqueNodeId,
  verifyAuditFile,
} from '../audit/support/audit-helpers.js';
import { eventually, request } from '../support/http-client.js';

const SINK_ERRORS = 'carecast_audit_write_failures_total{reason="sink_error"}';
const QUEUE_FULL = 'carecast_audit_write_failures_total{reason="queue_full"}';
const cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

// Tests run as root, so permissions cannot stop a write: a regular file where the audit
// directory (or one of its parents) should be makes every open fail instead.
describe('audit sink failures', () => {
  it('reports not-ready and counts failures while the audit directory cannot be created, then recovers', async () => {
    const { dir: root, remove } = await tempDir('audit-blocked');
    cleanup.push(remove);
    const blocker = path.join(root, 'not-a-directory');
    await writeFile(blocker, 'a regular file in the way\n');
    const dir = path.join(blocker, 'audit');
    const { node, audit, file } = await startAuditNode(dir, uniqueNodeId('blocked'));
    cleanup.push(() => node.stop());

    await expect(readiness(node)).resolves.toEqual({ status: 503, reasons: ['audit_unavailable'] });
    expect(await metric(node, SINK_ERRORS)).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 100; i++) expect(audit.record(connected(`outage-${i}`))).toBeUndefined();
    await expect(audit.flush()).resolves.toBe(false);
    // Not ready, but alive and serving: nothing restarts the node over its audit sink.
    await expect(request(`${node.internalUrl}/healthz`)).resolves.toMatchObject({ status: 200 });

    await rm(blocker);
    await mkdir(blocker);
    await eventually(async () => (await readiness(node)).status === 200);
    await expect(audit.flush()).resolves.toBe(true);
    const { records } = await readAudit(file);
    expect(records[0]).toMatchObject({ seq: 1, event: 'audit.checkpoint', reason: 'start' });
    expect(records.slice(1).map((r) => r.conn)).toEqual(
      Array.from({ length: 100 }, (_, i) => `outage-${i}`),
    );
    await expect(verifyAuditFile(file)).resolves.toMatchObject({ ok: true });
    await expect(metric(node, QUEUE_FULL)).resolves.toBe(0);
  });

  it('bounds the queue during an outage: drops and counts what does not fit, writes the rest', async () => {
    const { dir: root, remove } = await tempDir('audit-full');
    cleanup.push(remove);
    const blocker = path.join(root, 'blocker');
    await writeFile(blocker, '');
    const dir = path.join(blocker, 'audit');
    const { node, audit, file } = await startAuditNode(dir, uniqueNodeId('full'));
    cleanup.push(() => node.stop());

    const overflow = 25;
    const returned = new Set<unknown>();
    for (let i = 0; i < AUDIT_QUEUE_CAPACITY + overflow; i++) {
      returned.add(audit.record(connected(`q-${i}`)));
    }
    expect([...returned]).toEqual([undefined]);
    await expect(metric(node, QUEUE_FULL)).resolves.toBe(overflow);
    await expect(readiness(node)).resolves.toEqual({ status: 503, reasons: ['audit_unavailable'] });

    await rm(blocker);
    await eventually(async () => (await readiness(node)).status === 200);
    await expect(audit.flush()).resolves.toBe(true);
    const { records } = await readAudit(file);
    const written = records.filter((r) => r.event === 'ws.connected').map((r) => r.conn);
    expect(written).toEqual(Array.from({ length: AUDIT_QUEUE_CAPACITY }, (_, i) => `q-${i}`));
    await expect(verifyAuditFile(file)).resolves.toMatchObject({ ok: true });
  });

  it('leaves a file that ends in something other than a record alone, not ready until it is moved', async () => {
    const { dir, remove } = await tempDir('audit-foreign');
    cleanup.push(remove);
    const nodeId = uniqueNodeId('foreign');
    const file = path.join(dir, `audit-${nodeId}.jsonl`);
    const foreign = '{"not":"an audit record"}\n';
    await writeFile(file, foreign);
    const { node, audit } = await startAuditNode(dir, nodeId);
    cleanup.push(() => node.stop());

    audit.record(connected('held'));
    await expect(audit.flush()).resolves.toBe(false);
    await expect(readiness(node)).resolves.toEqual({ status: 503, reasons: ['audit_unavailable'] });
    await expect(readFile(file, 'utf8')).resolves.toBe(foreign);

    await rename(file, `${file}.quarantined`);
    await eventually(async () => (await readiness(node)).status === 200);
    await expect(audit.flush()).resolves.toBe(true);
    const { records } = await readAudit(file);
    expect(records.map((r) => r.conn ?? r.reason)).toEqual(['start', 'held']);
  });

  it('notices the audit file being deleted while open, and starts a new verifiable file once it can', async () => {
    const { dir: root, remove } = await tempDir('audit-deleted');
    cleanup.push(remove);
    const dir = path.join(root, 'audit');
    const { node, audit, file } = await startAuditNode(dir, uniqueNodeId('deleted'));
    cleanup.push(() => node.stop());
    audit.record(connected('before'));
    await expect(audit.flush()).resolves.toBe(true);

    await rm(dir, { recursive: true });
    await writeFile(dir, 'the directory is gone and a file took its place\n');
    const failuresBefore = await metric(node, SINK_ERRORS);
    expect(audit.record(connected('during-0'))).toBeUndefined();
    await expect(audit.flush()).resolves.toBe(false);
    await expect(readiness(node)).resolves.toEqual({ status: 503, reasons: ['audit_unavailable'] });
    expect(await metric(node, SINK_ERRORS)).toBeGreaterThan(failuresBefore);
    audit.record(connected('during-1'));

    await rm(dir);
    await eventually(async () => (await readiness(node)).status === 200);
    await expect(audit.flush()).resolves.toBe(true);
    const { records } = await readAudit(file);
    // A new chain: the old file is gone, which the checkpoint kept in Redis would expose.
    expect(records[0]).toMatchObject({ seq: 1, event: 'audit.checkpoint', reason: 'recovered' });
    expect(records.slice(1).map((r) => r.conn)).toEqual(['during-0', 'during-1']);
    await expect(verifyAuditFile(file)).resolves.toMatchObject({ ok: true });
  });
});
