/**
 * Verifying an audit chain (contract §7): every record's shape, `seq`, link, hash and, on
 * checkpoints, signature; optionally against the checkpoint kept outside the file (Redis).
 *
 * verifyNext is the one step: given the head before a record, it checks the record and returns
 * the new head. verifyChain folds it over an array; the command-line verifier folds it over a
 * stream of lines across several files, keeping only the head. Both therefore apply the same
 * rules and cannot disagree.
 */
import {
  type AuditKey,
  type AuditRecord,
  type ChainHead,
  checkpointSignature,
  GENESIS_HASH,
  hashRecord,
  toAuditRecord,
} from './audit-chain.js';

export type VerifyFailure =
  | 'malformed_record'
  | 'hash_mismatch'
  | 'broken_link'
  | 'seq_gap'
  | 'seq_repeat'
  | 'bad_checkpoint_signature'
  | 'behind_external_checkpoint';

/** On failure, `seq` is the first seq that cannot be trusted: all records before it verified. */
export type VerifyResult =
  | { ok: true; records: number; lastSeq: number; lastHash: string }
  | { ok: false; seq: number; reason: VerifyFailure };

export interface VerifyOptions {
  readonly key: AuditKey;
  /** The latest checkpoint kept outside the file (Redis); the file must reach and match it. */
  readonly externalCheckpoint?: ChainHead;
}

export function verifyChain(records: readonly unknown[], options: VerifyOptions): VerifyResult {
  let head = CHAIN_START;
  for (const value of records) {
    const step = verifyNext(head, value, options);
    if (!step.ok) return step;
    head = step.head;
  }
  const failure = verifyEnd(head, options);
  if (failure !== null) return failure;
  return { ok: true, records: records.length, lastSeq: head.seq, lastHash: head.hash };
}

/** Where every chain begins: before seq 1. */
export const CHAIN_START: ChainHead = { seq: 0, hash: GENESIS_HASH };

export type VerifyStep =
  | { readonly ok: true; readonly head: ChainHead }
  | { readonly ok: false; readonly seq: number; readonly reason: VerifyFailure };

/**
 * One record of a chain, given the head before it: the step that verifyChain and the streaming
 * verifier (which keeps only the head between records) both take, so they cannot disagree.
 */
export function verifyNext(head: ChainHead, value: unknown, options: VerifyOptions): VerifyStep {
  const seq = head.seq + 1;
  const failure = checkRecord(value, head, options.key);
  if (failure !== null) return { ok: false, seq, reason: failure };
  const record = value as AuditRecord;
  const next = { seq: record.seq, hash: record.hash };
  if (disagrees(next, options.externalCheckpoint)) {
    return { ok: false, seq, reason: 'behind_external_checkpoint' };
  }
  return { ok: true, head: next };
}

/** After the last record: the chain must reach the external checkpoint. */
export function verifyEnd(
  head: ChainHead,
  options: VerifyOptions,
): Extract<VerifyStep, { ok: false }> | null {
  const external = options.externalCheckpoint;
  if (external === undefined || head.seq >= external.seq) return null;
  return { ok: false, seq: head.seq + 1, reason: 'behind_external_checkpoint' };
}

/**
 * Checkpoint reasons that may open a file: the node started on it, or it continues the chain
 * after a rotation. A file that does not hold the chain from seq 1 (rotated away) is verified
 * from such a checkpoint, the file's first record.
 */
export const FILE_OPENING_REASONS: ReadonlySet<string> = new Set([
  'start',
  'start_torn_tail',
  'after_rotation',
]);

/**
 * The head a chain continued from when `value`, the first record of the first file given, is a
 * correctly signed file-opening checkpoint past seq 1: its `prev` stands for the records not
 * given. Null otherwise (the chain is verified from CHAIN_START and such a file fails at once).
 */
export function anchorOf(value: unknown, options: VerifyOptions): VerifyStep | null {
  const record = toAuditRecord(value);
  if (record === null || record.seq <= 1 || record.event !== 'audit.checkpoint') return null;
  if (!FILE_OPENING_REASONS.has(record.reason)) return null;
  const head = { seq: record.seq - 1, hash: record.prev };
  if (checkRecord(record, head, options.key) !== null) return null;
  if (disagrees(head, options.externalCheckpoint)) {
    return { ok: false, seq: record.seq, reason: 'behind_external_checkpoint' };
  }
  return { ok: true, head };
}

function disagrees(head: ChainHead, external: ChainHead | undefined): boolean {
  return external !== undefined && head.seq === external.seq && head.hash !== external.hash;
}

function checkRecord(value: unknown, head: ChainHead, key: AuditKey): VerifyFailure | null {
  const record = toAuditRecord(value);
  if (record === null) return 'malformed_record';
  if (record.seq > head.seq + 1) return 'seq_gap';
  if (record.seq <= head.seq) return 'seq_repeat';
  if (record.prev !== head.hash) return 'broken_link';
  if (hashRecord(record) !== record.hash) return 'hash_mismatch';
  if (record.event !== 'audit.checkpoint') return null;
  // Verification runs offline over a file: no timing side channel to guard against.
  const sig = checkpointSignature(key, record.node, record.seq, record.hash);
  return record.sig === sig ? null : 'bad_checkpoint_signature';
}
