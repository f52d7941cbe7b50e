/**
 * Turns queued entries into the next records of the chain: one group-commit batch.
 *
 * Pure: the clock and the key come in as arguments. The caller commits the returned state only
 * once the batch is durable, so a failed write leaves the chain head where the file ends.
 */
import {
  type AuditEntry,
  type AuditKey,
  type AuditRecord,
  type ChainHead,
  linkRecord,
  makeCheckpoint,
} from '../core/audit-chain.js';

/** An entry waiting in the queue; `at` is the epoch ms at which the caller recorded it. */
export interface PendingEntry {
  readonly entry: AuditEntry;
  readonly at: number;
  /**
   * A signed checkpoint follows this record at once, with nothing between them (contract §8:
   * a break-glass grant is sealed before anything else happens).
   */
  readonly seal?: boolean;
}

/**
 * Why a checkpoint was written; its record's `reason`. `start*` and `recovered*` open a file
 * session (the `_torn_tail` forms say that an interrupted write was cut off first); `rotation`
 * is the last record of a file about to be rotated, `after_rotation` the first of the next;
 * `sealed` follows a record that must be sealed at once (PendingEntry.seal).
 */
export type CheckpointReason =
  | 'start'
  | 'start_torn_tail'
  | 'recovered'
  | 'recovered_torn_tail'
  | 'count'
  | 'interval'
  | 'shutdown'
  | 'rotation'
  | 'after_rotation'
  | 'sealed';

export interface LinkState {
  /** The last record of the chain; null while the file holds none. */
  readonly head: ChainHead | null;
  /** Ordinary records since the last checkpoint. */
  readonly sinceCheckpoint: number;
}

export interface LinkOptions {
  readonly node: string;
  readonly key: AuditKey;
  /** Epoch ms, the `ts` of checkpoints made now. */
  readonly now: number;
  /** A checkpoint follows every this many ordinary records (contract §7: at most 1000). */
  readonly checkpointEvery: number;
  /** A checkpoint to add after the entries; `interval` is skipped when nothing is new. */
  readonly checkpoint: CheckpointReason | null;
}

export interface LinkedBatch {
  readonly records: AuditRecord[];
  /** The entries that became records, in order: what must be retried if the write fails. */
  readonly accepted: PendingEntry[];
  /** Entries that cannot form a valid record (a caller's bug); they are dropped. */
  readonly rejected: number;
  readonly state: LinkState;
}

export function linkBatch(
  state: LinkState,
  pending: readonly PendingEntry[],
  options: LinkOptions,
): LinkedBatch {
  const { node, key, checkpointEvery } = options;
  const records: AuditRecord[] = [];
  const accepted: PendingEntry[] = [];
  let { head, sinceCheckpoint } = state;
  let rejected = 0;
  const checkpoint = (reason: CheckpointReason): void => {
    const record = makeCheckpoint(head, { ts: iso(options.now), node, key, reason });
    records.push(record);
    head = record;
    sinceCheckpoint = 0;
  };
  // Entries recorded in one request share their millisecond: format each time once.
  const isoOf = lastValueCache(iso);
  for (const item of pending) {
    const record = linkEntry(head, item, node, isoOf);
    if (record === null) {
      rejected++;
      continue;
    }
    records.push(record);
    accepted.push(item);
    head = record;
    if (item.seal === true) checkpoint('sealed');
    else if (++sinceCheckpoint >= checkpointEvery) checkpoint('count');
  }
  const wanted = options.checkpoint;
  if (wanted !== null && (wanted !== 'interval' || sinceCheckpoint > 0)) checkpoint(wanted);
  return { records, accepted, rejected, state: { head, sinceCheckpoint } };
}

function linkEntry(
  head: ChainHead | null,
  item: PendingEntry,
  node: string,
  isoOf: (epochMs: number) => string,
): AuditRecord | null {
  // Only the writer signs checkpoints: a caller's `audit.checkpoint` would be an unsigned forgery.
  if (item.entry.event === 'audit.checkpoint') return null;
  try {
    const entry = item.entry as Parameters<typeof linkRecord>[1];
    return linkRecord(head, entry, { ts: isoOf(item.at), node });
  } catch {
    return null;
  }
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/** `f`, remembering its last argument and result. */
function lastValueCache(f: (epochMs: number) => string): (epochMs: number) => string {
  let lastIn = Number.NaN;
  let lastOut = '';
  return (epochMs) => {
    if (epochMs !== lastIn) {
      lastOut = f(epochMs);
      lastIn = epochMs;
    }
    return lastOut;
  };
}
