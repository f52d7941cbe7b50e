import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import type { AuditLogEntry } from '../core/audit-entries.js';
import { Metrics } from '../metrics/metrics.js';
import { RedisService } from '../redis/redis.service.js';
import { auditFilePath } from './audit-file.js';
import { AUDIT_MAX_BATCH, AUDIT_QUEUE_CAPACITY, BoundedQueue } from './audit-queue.js';
import { AuditWriter } from './audit-writer.js';
import type { CheckpointReason, PendingEntry } from './batch-linker.js';
import { CheckpointStore } from './checkpoint-store.js';

/** Contract §7: a checkpoint at least every 10 s (when there is anything new to cover). */
export const AUDIT_CHECKPOINT_INTERVAL_MS = 10_000;
/** While the sink fails, how often the writer tries to reopen the file. */
export const AUDIT_RETRY_MS = 1_000;

/**
 * The node's audit log (contract §7). `record()` is the only call features make: it queues
 * the entry and returns; one writer appends queued entries in group-commit batches to
 * `AUDIT_DIR/audit-<NODE_ID>.jsonl`, each batch fsynced before it counts as written.
 *
 * Invariants:
 * - `record()` never blocks, never awaits and never throws into its caller.
 * - One writer: at most one drain runs at a time, so records keep the order of `record()`.
 * - `ts` is the time of the `record()` call, so an outage delays records but never re-dates them.
 * - When the sink fails or the queue overflows, the node reports not-ready (`isAvailable`),
 *   counts the failure, keeps serving, and retries until writes succeed again.
 * - Rotation is done by the same single writer, between batches: checked after every write
 *   (size) and on the checkpoint interval (age, so an idle node rotates too).
 */
@Injectable()
export class AuditService
  implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger(AuditService.name);
  private readonly queue = new BoundedQueue<PendingEntry>(AUDIT_QUEUE_CAPACITY);
  private readonly store: CheckpointStore;
  private readonly writer: AuditWriter;
  private checkpointWanted: CheckpointReason | null = null;
  private running: Promise<void> | null = null;
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private intervalTimer: NodeJS.Timeout | null = null;
  /** Entries ever accepted into the queue; flush() waits until the writer has settled these. */
  private accepted = 0;
  private waiters: { readonly target: number; resolve(durable: boolean): void }[] = [];
  private sinkHealthy = true;
  private overflowed = false;
  /** Shutting down: no rotation now, so the file ends with the `shutdown` checkpoint. */
  private shuttingDown = false;
  /** No more records are accepted (final shutdown phase). */
  private closed = false;
  /** The file is closed: nothing more is written or retried. */
  private stopped = false;

  constructor(
    @Inject(CONFIG) config: Config,
    private readonly metrics: Metrics,
    redis: RedisService,
  ) {
    this.store = new CheckpointStore(redis, config.nodeId);
    this.writer = new AuditWriter({
      file: auditFilePath(config.audit.dir, config.nodeId),
      nodeId: config.nodeId,
      key: config.audit.signingKey,
      metrics,
      store: this.store,
      rotation: { maxBytes: config.audit.rotateBytes, maxSeconds: config.audit.rotateSeconds },
    });
  }

  /** Queues one audit entry, made by a constructor of core/audit-entries (ids, fixed reasons). */
  record(entry: AuditLogEntry): void {
    try {
      if (this.closed) {
        this.metrics.auditWriteFailures.inc({ reason: 'closed' });
        return;
      }
      if (!this.queue.push({ entry, at: Date.now() })) return this.dropped();
      this.accepted++;
      this.schedule();
    } catch {
      // Auditing must never break the request that is being audited.
    }
  }

  /**
   * Records `entry` with a signed checkpoint right after it (no other record between them),
   * and writes both now. Resolves true once both are durable, false when the sink fails or
   * the queue is full (the caller must then not act as if it were recorded).
   */
  recordSealed(entry: AuditLogEntry): Promise<boolean> {
    try {
      if (this.closed || !this.queue.push({ entry, at: Date.now(), seal: true })) {
        this.metrics.auditWriteFailures.inc({ reason: this.closed ? 'closed' : 'queue_full' });
        return Promise.resolve(false);
      }
      this.accepted++;
    } catch {
      return Promise.resolve(false);
    }
    return this.flush();
  }

  /** Records queued and not yet handed to the writer: what publish admission keeps bounded. */
  get backlog(): number {
    return this.queue.size;
  }

  /** False while the sink fails or records were dropped since the last successful write. */
  isAvailable(): boolean {
    return this.sinkHealthy && !this.overflowed;
  }

  /**
   * Writes everything recorded so far (and a requested checkpoint) now, even during a retry
   * back-off. Resolves true once it is durable, false as soon as the sink fails. Records made
   * after the call do not delay it.
   */
  flush(): Promise<boolean> {
    const target = this.accepted;
    if (this.stopped) return Promise.resolve(this.writer.settledEntries >= target);
    return new Promise((resolve) => {
      this.waiters.push({ target, resolve });
      this.settle(null);
      void this.run();
    });
  }

  async onModuleInit(): Promise<void> {
    this.intervalTimer = setInterval(() => this.onInterval(), AUDIT_CHECKPOINT_INTERVAL_MS);
    this.intervalTimer.unref();
    // Opens the file (cutting off a torn tail) and writes the start checkpoint before serving.
    await this.run();
  }

  /** Redis is still connected here (it closes in onApplicationShutdown): store a checkpoint. */
  async beforeApplicationShutdown(): Promise<void> {
    this.shuttingDown = true;
    this.checkpointWanted = 'shutdown';
    await this.flush();
    await this.store.idle();
  }

  /** Last: covers records made while other modules shut down, then closes the file. */
  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    if (this.intervalTimer !== null) clearInterval(this.intervalTimer);
    if (this.writer.sinceCheckpoint > 0 || this.queue.size > 0 || this.writer.retrying > 0) {
      this.checkpointWanted = 'shutdown';
    }
    await this.flush();
    this.stopped = true;
    // flush() resolves once entries are durable; a rotation may still be finishing.
    while (this.running !== null) await this.running;
    this.settle(false);
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    const lost = this.queue.clear() + this.writer.retrying;
    if (lost > 0) {
      this.metrics.auditWriteFailures.inc({ reason: 'closed' }, lost);
      this.logger.error({ count: lost }, 'audit sink unavailable at shutdown: records lost');
    }
    await this.writer.close().catch(() => undefined);
  }

  private onInterval(): void {
    if (this.rotationDue()) this.schedule();
    if (this.writer.sinceCheckpoint === 0 && this.queue.size === 0) return;
    this.checkpointWanted ??= 'interval';
    this.schedule();
  }

  /** Starts a drain on the next turn of the event loop, so one batch gathers many callers. */
  private schedule(): void {
    if (this.scheduled || this.running !== null || this.retryTimer !== null || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.run();
    });
  }

  /** The single writer: runs a drain unless one is running, and returns it. */
  private run(): Promise<void> {
    this.running ??= this.drain()
      .catch((error: unknown) => {
        this.sinkFailed(error);
        this.settle(false);
      })
      .finally(() => {
        this.running = null;
        // Entries recorded after the drain's last look are picked up by the next one.
        if (this.queue.size > 0 || this.checkpointWanted !== null) this.schedule();
      });
    return this.running;
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      if (!this.writer.isOpen && !(await this.attempt(() => this.writer.open()))) return;
      if (this.rotationDue() && !(await this.attempt(() => this.writer.rotate()))) return;
      const checkpoint = this.checkpointWanted;
      const batch = this.queue.take(AUDIT_MAX_BATCH);
      if (batch.length === 0 && checkpoint === null && this.writer.retrying === 0) return;
      this.checkpointWanted = null;
      if (!(await this.attempt(() => this.writer.write(batch, checkpoint)))) return;
    }
  }

  private rotationDue(): boolean {
    return !this.shuttingDown && this.writer.rotationDue(Date.now());
  }

  private async attempt(operation: () => Promise<void>): Promise<boolean> {
    try {
      await operation();
    } catch (error) {
      this.sinkFailed(error);
      this.settle(false);
      return false;
    }
    this.overflowed = false;
    if (!this.sinkHealthy) this.logger.log('audit sink recovered; writing again');
    this.sinkHealthy = true;
    this.settle(null);
    return true;
  }

  /** Resolves flush() waiters: all with `outcome` if given, else those whose entries are durable. */
  private settle(outcome: boolean | null): void {
    const settled = this.writer.settledEntries;
    const done = (w: { target: number }) =>
      outcome !== null || (settled >= w.target && this.checkpointWanted === null);
    for (const w of this.waiters.filter(done)) w.resolve(outcome ?? true);
    this.waiters = this.waiters.filter((w) => !done(w));
  }

  private sinkFailed(error: unknown): void {
    this.metrics.auditWriteFailures.inc({ reason: 'sink_error' });
    const { code, syscall } = error as { code?: unknown; syscall?: unknown };
    if (this.sinkHealthy) {
      this.logger.error(
        { code, syscall, queueCapacity: AUDIT_QUEUE_CAPACITY },
        'audit sink failed: holding records in memory and retrying; node not ready',
      );
    } else {
      this.logger.debug({ code, syscall }, 'audit sink still failing');
    }
    this.sinkHealthy = false;
    if (this.retryTimer !== null || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.run();
    }, AUDIT_RETRY_MS);
    this.retryTimer.unref();
  }

  private dropped(): void {
    this.metrics.auditWriteFailures.inc({ reason: 'queue_full' });
    if (!this.overflowed) {
      this.logger.error(
        { queueCapacity: AUDIT_QUEUE_CAPACITY },
        'audit queue full: dropping records until the writer catches up; node not ready',
      );
    }
    this.overflowed = true;
  }
}
