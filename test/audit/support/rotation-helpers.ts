import { expect } from '@jest/globals';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAuditFileName } from '../../../src/audit/audit-file-names.js';
import { type FilesVerdict, verifyFiles } from '../../../src/audit/file-chain-verifier.js';
import type { AuditRecord, ChainHead } from '../../../src/core/audit-chain.js';
import { readAudit, TEST_AUDIT_KEY } from './audit-helpers.js';

/** A node's audit files in chain order: rotated files by first seq, then the active file. */
export async function chainFiles(dir: string, nodeId: string): Promise<string[]> {
  const rotated: { name: string; first: number }[] = [];
  let active: string | null = null;
  for (const name of await readdir(dir)) {
    const parsed = parseAuditFileName(name);
    if (parsed?.nodeId !== nodeId) continue;
    if (parsed.kind === 'active') active = name;
    else rotated.push({ name, first: parsed.firstSeq });
  }
  rotated.sort((a, b) => a.first - b.first);
  const names = [...rotated.map((r) => r.name), ...(active === null ? [] : [active])];
  return names.map((name) => path.join(dir, name));
}

/** All of a node's files, concatenated in chain order, as the bytes are on disk. */
export async function chainText(dir: string, nodeId: string): Promise<string> {
  const texts = await Promise.all((await chainFiles(dir, nodeId)).map((f) => readFile(f, 'utf8')));
  return texts.join('');
}

/** The streaming verifier over the node's files (what `npm run audit:verify` runs). */
export async function verifyNodeFiles(
  dir: string,
  nodeId: string,
  externalCheckpoint?: ChainHead,
): Promise<FilesVerdict> {
  const files = await chainFiles(dir, nodeId);
  return verifyFiles(files, { key: TEST_AUDIT_KEY, externalCheckpoint }, { onTornTail: () => {} });
}

/**
 * Checks what rotation promises of each rotated file: its name gives its first and last seq,
 * and its last record is the `rotation` checkpoint. Returns each file's records.
 */
export async function rotatedFilesHold(dir: string, nodeId: string): Promise<AuditRecord[][]> {
  const files = await chainFiles(dir, nodeId);
  const contents: AuditRecord[][] = [];
  for (const file of files) {
    const { records, tornTail } = await readAudit(file);
    const name = parseAuditFileName(path.basename(file));
    if (name?.kind === 'rotated') {
      expect(tornTail).toBe(false);
      expect([records[0]?.seq, records.at(-1)?.seq]).toEqual([name.firstSeq, name.lastSeq]);
      expect(records.at(-1)).toMatchObject({ event: 'audit.checkpoint', reason: 'rotation' });
    }
    contents.push(records);
  }
  return contents;
}
