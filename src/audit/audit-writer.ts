/**
 * The single writer of one node's audit file: opens a file session where the chain ends,
 * links batches, appends them durably, and keeps what a failed write must retry.
 *
 * Invariants:
 * - The chain head advances only after a batch is durable; a failed write leaves it at the
 *   file's end, and its accepted entries are written (re-linked) first next time.
 * - Every file session begins with a signed checkpoint whose reason says how it began
 *   (`start` / `recovered`, with `_torn_tail` when an interrupted append was cut off, or
 *   `after_rotation` in the file that follows a rotated one).
 * - A torn tail is never cut silently: it is logged and counted before the truncation.
 * - Rotation (see rotate) ends the active file with a durable `rotation` checkpoint before
 *   renaming it, and whatever step a crash interrupts, the next open finishes or continues it:
 *   an active file ending in a `rotation` checkpoint is renamed first, and an active file that
 *   is missing or empty continues the chain from the newest rotated file.
 * Not reentrant: the caller (AuditService) runs one operation at a time.
 */
import { Logger } from '@nestjs/common';
import type { AuditKey, AuditRecord, ChainHead } from '../core/audit-chain.js';
import { Metrics } from '../metrics/metrics.js';
import { AuditFile, type FileEnd } from './audit-file.js';
import { rotationDue, type RotationLimits } from './audit-file-names.js';
import {
  type CheckpointReason,
  type LinkState,
  linkBatch,
  type PendingEntry,
} from './batch-linker.js';
import { CheckpointStore } from './checkpoint-store.js';
import { RotatedFiles } from './rotated-files.js';

/** Contract §7: a checkpoint at least every 1000 records. */
export const CHECKPOINT_EVERY_RECORDS = 1000;

export interface AuditWriterOptions {
  readonly file: string;
  readonly nodeId: string;
  readonly key: AuditKey;
  readonly metrics: Metrics;
  readonly store: CheckpointStore;
  readonly rotation: RotationLimits;
}

/** The active file's first record: its seq names the file once rotated, its time ages it. */
interface ActiveStart {
  readonly seq: number;
  readonly at: number;
}

export class AuditWriter {
  private readonly logger = new Logger('AuditWriter');
  private file: AuditFile | null = null;
  private start: ActiveStart = { seq: 1, at: 0 };
  private state: LinkState = { head: null, sinceCheckpoint: 0 };
  private sessions = 0;
  /** A torn tail was cut off but no checkpoint saying so is durable yet. */
  private tornUnrecorded = false;
  /** Accepted entries of a failed write, and the records that write attempted. */
  private retry: PendingEntry[] = [];
  private attempted: AuditRecord[] = [];
  private settled = 0;

  private readonly rotated: RotatedFiles;

  constructor(private readonly options: AuditWriterOptions) {
    this.rotated = new RotatedFiles(options.file, options.nodeId);
  }

  get isOpen(): boolean {
    return this.file !== null;
  }

  get sinceCheckpoint(): number {
    return this.state.sinceCheckpoint;
  }

  /** Entries given to write() that are done with: durable, or dropped as invalid. */
  get settledEntries(): number {
    return this.settled;
  }

  /** Entries held for retry after a failed write. */
  get retrying(): number {
    return this.retry.length;
  }

  /** Opens a file session and writes its opening checkpoint. Throws when the sink fails. */
  open(): Promise<void> {
    return this.openSession(null);
  }

  /** True once the active file reaches AUDIT_ROTATE_BYTES or AUDIT_ROTATE_SECONDS. */
  rotationDue(now: number): boolean {
    const file = this.file;
    if (file === null) return false;
    return rotationDue({ bytes: file.bytes, startedAt: this.start.at }, now, this.options.rotation);
  }

  /**
   * Ends the active file with a `rotation` checkpoint (durable, and stored in Redis), renames it
   * `audit-<node>.<first>-<last>.jsonl` (durably), and continues the chain in a new active
   * file that opens with an `after_rotation` checkpoint. Throws when the sink fails; the next
   * open() then finishes the rotation.
   */
  async rotate(): Promise<void> {
    await this.commit([], 'rotation', false);
    const last = this.state.head as ChainHead;
    await this.close();
    await this.rotated.rename(this.start.seq, last.seq);
    await this.openSession('after_rotation');
  }

  private async openSession(reasonIfClean: 'after_rotation' | null): Promise<void> {
    const active = this.options.file;
    await this.rotated.finishInterrupted();
    const { file, end } = await AuditFile.open(active, (torn) => this.onTorn(torn));
    this.file = file;
    if (!end.headVerifies) {
      this.logger.error(
        { seq: end.head?.seq },
        'the last audit record does not verify; continuing after it (the verifier names it)',
      );
    }
    this.skipAlreadyWritten(end);
    const head = end.head ?? (await this.rotated.newestHead());
    const now = Date.now();
    const start = end.head === null ? null : await AuditFile.readStart(active);
    // A first line that is not a record (the verifier names it) ages the file from now.
    this.start = start ?? { seq: (head?.seq ?? 0) + 1, at: now };
    this.state = { head, sinceCheckpoint: 0 };
    this.options.store.beginSession(head);
    const opening = this.sessions === 0 ? 'start' : 'recovered';
    const reason = this.tornUnrecorded ? `${opening}_torn_tail` : (reasonIfClean ?? opening);
    await this.commit([], reason as CheckpointReason, false);
    this.sessions++;
    this.tornUnrecorded = false;
  }

  /** Appends `pending` (after any retried entries) and an optional checkpoint, durably. */
  async write(pending: PendingEntry[], checkpoint: CheckpointReason | null): Promise<void> {
    const entries = this.retry.length === 0 ? pending : [...this.retry, ...pending];
    await this.commit(entries, checkpoint, true);
  }

  async close(): Promise<void> {
    const file = this.file;
    this.file = null;
    await file?.close();
  }

  /** `retryable`: the entries are what `retry` holds plus new ones, and replace it. */
  private async commit(
    entries: PendingEntry[],
    checkpoint: CheckpointReason | null,
    retryable: boolean,
  ): Promise<void> {
    const file = this.file;
    if (file === null) throw new Error('audit file is not open');
    const { metrics, nodeId, key } = this.options;
    const batch = linkBatch(this.state, entries, {
      node: nodeId,
      key,
      now: Date.now(),
      checkpointEvery: CHECKPOINT_EVERY_RECORDS,
      checkpoint,
    });
    if (batch.rejected > 0) {
      metrics.auditWriteFailures.inc({ reason: 'invalid_entry' }, batch.rejected);
      this.logger.error(
        { count: batch.rejected },
        'dropped audit entries that form no valid record',
      );
    }
    const lines = batch.records.map((r) => JSON.stringify(r) + '\n').join('');
    try {
      if (lines !== '') await file.append(Buffer.from(lines, 'utf8'));
    } catch (error) {
      if (retryable) {
        this.retry = batch.accepted;
        this.attempted = batch.records;
        this.settled += batch.rejected;
      }
      this.file = null;
      await file.close().catch(() => undefined);
      throw error;
    }
    if (retryable) {
      this.retry = [];
      this.attempted = [];
      this.settled += entries.length;
    }
    this.state = batch.state;
    this.written(batch.records);
  }

  /** After a failed write, records that reached the file anyway must not be written twice. */
  private skipAlreadyWritten(end: FileEnd): void {
    const head = end.head;
    const last = this.attempted.findIndex((r) => r.seq === head?.seq && r.hash === head.hash);
    if (last >= 0) {
      const landed = this.attempted.slice(0, last + 1);
      const entries = landed.filter((r) => r.event !== 'audit.checkpoint').length;
      this.retry = this.retry.slice(entries);
      this.settled += entries;
      // Counted, but not sent to Redis: the opening checkpoint that follows covers them.
      this.written(landed, false);
    }
    this.attempted = [];
  }

  private written(records: readonly AuditRecord[], storeCheckpoint = true): void {
    const { metrics, store } = this.options;
    const counts = new Map<string, number>();
    let checkpoint: AuditRecord | null = null;
    for (const record of records) {
      counts.set(record.event, (counts.get(record.event) ?? 0) + 1);
      if (record.event === 'audit.checkpoint') checkpoint = record;
    }
    for (const [event, n] of counts) metrics.auditRecords.inc({ event }, n);
    if (checkpoint === null) return;
    metrics.auditLastCheckpoint.set(Date.parse(checkpoint.ts) / 1000);
    if (storeCheckpoint) store.save(checkpoint);
  }

  private onTorn(end: FileEnd): void {
    this.tornUnrecorded = true;
    this.options.metrics.auditWriteFailures.inc({ reason: 'torn_tail' });
    this.logger.warn(
      { tornBytes: end.tornBytes, lastSeq: end.head?.seq ?? 0 },
      'audit file ends in a torn line (an interrupted write); cutting it off and continuing ' +
        'the chain from the last complete record',
    );
  }
}
