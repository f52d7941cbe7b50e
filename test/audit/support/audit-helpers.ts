import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { auditFilePath } from '../../../src/audit/audit-file.js';
import { AuditService } from '../../../src/audit/audit.service.js';
import {
  type AuditEntry,
  type AuditRecord,
  parseJsonLines,
} from '../../../src/core/audit-chain.js';
import { verifyChain, type VerifyResult } from '../../../src/core/audit-verify.js';
import type { AuditLogEntry } from '../../../src/core/audit-entries.js';
import { startNode, TEST_DEV_SECRETS, type TestNode } from '../../support/app.js';
import { request } from '../../support/http-client.js';

/** The key test nodes sign checkpoints with (their generated development AUDIT_SIGNING_KEY). */
export const TEST_AUDIT_KEY = TEST_DEV_SECRETS.auditSigningKey;

/** A node id no other test uses, so files and Redis keys never collide. */
export function uniqueNodeId(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

/** A temporary directory, removed by the returned `remove`. */
export async function tempDir(label: string): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `carecast-${label}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A node writing its audit file to `dir` as `nodeId`; the file survives `stop()`. */
export async function startAuditNode(
  dir: string,
  nodeId: string,
  env: Record<string, string> = {},
): Promise<{ node: TestNode; audit: AuditService; file: string }> {
  const node = await startNode({ AUDIT_DIR: dir, NODE_ID: nodeId, ...env });
  return { node, audit: node.app.nest.get(AuditService), file: auditFilePath(dir, nodeId) };
}

/**
 * Any entry, past the typed constructors that features must use: the writer's own tests
 * exercise the chain and the sink, and some feed it entries no constructor would make.
 */
export function unchecked(entry: AuditEntry): AuditLogEntry {
  return entry as AuditLogEntry;
}

export function connected(conn: string, actor = 'user-1'): AuditLogEntry {
  return unchecked({
    event: 'ws.connected',
    outcome: 'ok',
    reason: 'ticket_redeemed',
    actor,
    conn,
  });
}

export async function readAudit(
  file: string,
): Promise<{ records: AuditRecord[]; tornTail: boolean }> {
  const { records, tornTail } = parseJsonLines(await readFile(file, 'utf8'));
  return { records: records as AuditRecord[], tornTail };
}

export async function verifyAuditFile(
  file: string,
  externalCheckpoint?: { seq: number; hash: string },
): Promise<VerifyResult> {
  const { records } = await readAudit(file);
  return verifyChain(records, { key: TEST_AUDIT_KEY, externalCheckpoint });
}

export function checkpoints(records: readonly AuditRecord[]): AuditRecord[] {
  return records.filter((r) => r.event === 'audit.checkpoint');
}

/** The value of one sample on the node's /metrics, e.g. `name{label="v"}`; NaN if absent. */
export async function metric(node: TestNode, sample: string): Promise<number> {
  const { body } = await request(`${node.internalUrl}/metrics`);
  const line = body.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? Number.NaN : Number(line.slice(sample.length + 1));
}

export async function readiness(node: TestNode): Promise<{ status: number; reasons: string[] }> {
  const res = await request(`${node.internalUrl}/readyz`);
  const body = res.json() as { reasons?: string[] };
  return { status: res.status, reasons: body.reasons ?? [] };
}
