/**
 * The latest checkpoint of each node, kept in Redis outside the file, so that a file cut short
 * (its tail deleted) no longer reaches it and fails verification.
 *
 * Invariants:
 * - Best effort: nothing here blocks or fails audit writing. Saves run one at a time in the
 *   background and only the newest pending checkpoint is sent (an older one never overwrites a
 *   newer one).
 * - A checkpoint is stored only after its record is durable in the file, so Redis never runs
 *   ahead of an intact file.
 * - The stored checkpoint is never moved backwards: when a file session starts behind it (the
 *   file was truncated or replaced), nothing is stored until an operator has looked into it
 *   and deleted the key; overwriting it would erase the evidence.
 */
import { Logger } from '@nestjs/common';
import { type AuditRecord, type ChainHead, GENESIS_HASH } from '../core/audit-chain.js';
import { RedisService } from '../redis/redis.service.js';

/** The stored JSON value. */
export interface StoredCheckpoint {
  readonly seq: number;
  readonly hash: string;
  readonly sig: string;
  readonly ts: string;
}

/** Key parts after the prefix: `<prefix>audit:checkpoint:<node>`. */
export function checkpointKeyParts(nodeId: string): string[] {
  return ['audit', 'checkpoint', nodeId];
}

export function parseStoredCheckpoint(text: string | null): StoredCheckpoint | null {
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    const valid =
      Number.isSafeInteger(v.seq) &&
      typeof v.hash === 'string' &&
      typeof v.sig === 'string' &&
      typeof v.ts === 'string';
    return valid ? (v as unknown as StoredCheckpoint) : null;
  } catch {
    return null;
  }
}

/** True when a file whose chain ends at `head` lacks the stored checkpoint. */
export function isBehind(head: ChainHead, stored: Pick<StoredCheckpoint, 'seq' | 'hash'>): boolean {
  return stored.seq > head.seq || (stored.seq === head.seq && stored.hash !== head.hash);
}

export class CheckpointStore {
  private readonly logger = new Logger('AuditCheckpointStore');
  /** Where the current file session began; checked against Redis before the first save. */
  private sessionStart: ChainHead = { seq: 0, hash: GENESIS_HASH };
  private consistent = false;
  private reportedBehind = false;
  private failing = false;
  private latest: AuditRecord | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly redis: RedisService,
    private readonly nodeId: string,
  ) {}

  /** A file session starts (open or reopen) with `head` as the file's last record. */
  beginSession(head: ChainHead | null): void {
    this.sessionStart = head ?? { seq: 0, hash: GENESIS_HASH };
    this.consistent = false;
    this.reportedBehind = false;
  }

  /** Queues `checkpoint` (durable in the file) to be stored; returns at once. */
  save(checkpoint: AuditRecord): void {
    this.latest = checkpoint;
    this.pump();
  }

  /** Resolves once no save is pending or running. */
  async idle(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  private pump(): void {
    if (this.running !== null || this.latest === null) return;
    const checkpoint = this.latest;
    this.latest = null;
    this.running = this.store(checkpoint).finally(() => {
      this.running = null;
      this.pump();
    });
  }

  private async store(checkpoint: AuditRecord): Promise<void> {
    if (this.redis.embedded || !this.redis.isReady()) return;
    const key = this.redis.key(...checkpointKeyParts(this.nodeId));
    try {
      if (!this.consistent) {
        const stored = parseStoredCheckpoint(await this.redis.run((c) => c.get(key)));
        if (stored !== null && isBehind(this.sessionStart, stored)) return this.behind(stored);
        this.consistent = true;
      }
      const { seq, hash, sig, ts } = checkpoint;
      await this.redis.run((c) => c.set(key, JSON.stringify({ seq, hash, sig, ts })));
      if (this.failing) this.logger.log('audit checkpoints reach Redis again');
      this.failing = false;
    } catch {
      if (!this.failing)
        this.logger.warn('could not store the audit checkpoint in Redis; will retry');
      this.failing = true;
    }
  }

  private behind(stored: StoredCheckpoint): void {
    if (this.reportedBehind) return;
    this.reportedBehind = true;
    this.logger.error(
      { storedSeq: stored.seq, fileSeq: this.sessionStart.seq },
      'the audit file is behind the checkpoint kept in Redis (truncated or replaced?); ' +
        'not overwriting it: verify the file, then delete the key to resume',
    );
  }
}
