/**
 * The on-disk side of rotating a node's active audit file: renaming it to its rotated name, and
 * what start-up needs after a crash in the middle of a rotation (see AuditWriter.rotate).
 *
 * Invariants:
 * - Only a file whose last record is a durable `rotation` checkpoint is ever renamed, never over
 *   an existing file, and the rename is made durable (directory fsync) before anything follows.
 * - When the active file holds no record, the chain continues from the newest rotated file.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Logger } from '@nestjs/common';
import type { AuditRecord } from '../core/audit-chain.js';
import { AuditFile } from './audit-file.js';
import { newestRotated, rotatedFileName } from './audit-file-names.js';

export class RotatedFiles {
  private readonly logger = new Logger('AuditRotation');
  private readonly dir: string;

  constructor(
    private readonly active: string,
    private readonly nodeId: string,
  ) {
    this.dir = path.dirname(active);
  }

  /** Renames the (closed) active file `audit-<node>.<first>-<last>.jsonl`, durably. */
  async rename(firstSeq: number, lastSeq: number): Promise<void> {
    const rotated = path.join(this.dir, rotatedFileName(this.nodeId, firstSeq, lastSeq));
    await AuditFile.renameDurably(this.active, rotated);
  }

  /** An active file whose last record is a `rotation` checkpoint was not renamed: rename it. */
  async finishInterrupted(): Promise<void> {
    const end = await AuditFile.readEnd(this.active);
    const head = end.head;
    if (head?.event !== 'audit.checkpoint' || head.reason !== 'rotation' || end.tornBytes > 0) {
      return;
    }
    const start = await AuditFile.readStart(this.active);
    this.logger.warn(
      { lastSeq: head.seq },
      'finishing an audit rotation interrupted after its checkpoint',
    );
    await this.rename(start?.seq ?? head.seq, head.seq);
  }

  /** Where the chain ends when the active file holds none of it: the newest rotated file. */
  async newestHead(): Promise<AuditRecord | null> {
    const newest = newestRotated(await readdir(this.dir), this.nodeId);
    if (newest === null) return null;
    return (await AuditFile.readEnd(path.join(this.dir, newest))).head;
  }
}
