/**
 * The single writer of one node's audit file: opens a file session where the chain ends,
 * links batches, appends them durably, and keeps what a failed write must retry.
 *
 * Invariants:
 * - The chain head advances only after a batch is durable; a failed write leaves it at the
 *   file's end, and its accepted entries are written (re-linked) first next time.
 * - Every file session begins with a signed checkpoint whose reason says how it began
 *   (`start` / `recovered`, with `_torn_tail` when an interrupted append was cut off).
 * - A torn tail is never cut silently: it is logged and counted before the truncation.
 * Not reentrant: the caller (AuditService) runs one operation at a time.
 */
import { Logger } from '@nestjs/common';
import type { AuditKey, AuditRecord } from '../core/audit-chain.js';
import { Metrics } from '../metrics/metrics.js';
import { AuditFile, type FileEnd } from './audit-file.js';
import {
  type CheckpointReason,
  type LinkState,
  linkBatch,
  type PendingEntry,
} from './batch-linker.js';
import { CheckpointStore } from './checkpoint-store.js';

/** Contract §7: a checkpoint at least every 1000 records. */
export const CHECKPOINT_EVERY_RECORDS = 1000;

export interface AuditWriterOptions {
  readonly file: string;
  readonly nodeId: string;
  readonly key: AuditKey;
  readonly metrics: Metrics;
  readonly store: CheckpointStore;
}

export class AuditWriter {
  private readonly logger = new Logger('AuditWriter');
  private file: AuditFile | null = null;
  private state: LinkState = { head: null, sinceCheckpoint: 0 };
  private sessions = 0;
  /** A torn tail was cut off but no checkpoint saying so is durable yet. */
  private tornUnrecorded = false;
  /** Accepted entries of a failed write, and the records that write attempted. */
  private retry: PendingEntry[] = [];
  private attempted: AuditRecord[] = [];
  private settled = 0;

  constructor(private readonly options: AuditWriterOptions) {}

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
  async open(): Promise<void> {
    const { file, end } = await AuditFile.open(this.options.file, (torn) => this.onTorn(torn));
    this.file = file;
    if (!end.headVerifies) {
      this.logger.error(
        { seq: end.head?.seq },
        'the last audit record does not verify; continuing after it (the verifier names it)',
      );
    }
    this.skipAlreadyWritten(end);
    this.state = { head: end.head, sinceCheckpoint: 0 };
    this.options.store.beginSession(end.head);
    const reason = `${this.sessions === 0 ? 'start' : 'recovered'}${this.tornUnrecorded ? '_torn_tail' : ''}`;
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
