/**
 * The tamper-evident audit chain (contract §7): record types, linking, checkpoints, verify.
 *
 * Chain rule: `hash` = hex SHA-256 of `prev` followed by canonicalJson(record without `hash`
 * and without `sig`); `prev` is the previous record's `hash`, GENESIS_HASH for seq 1.
 *
 * Checkpoint rule: an `audit.checkpoint` record carries `sig` = hex HMAC-SHA256(key,
 * `<node>.<seq>.<hash>`) over its OWN seq and hash. `sig` is computed from `hash`, so it cannot
 * be inside the hashed bytes; it is excluded from the hash instead. The signature therefore
 * authenticates the checkpoint record itself and, through `prev`, every record before it.
 * A verifier (audit-verify.ts) recomputes the hash (sig ignored), compares it, then checks
 * `sig` against it. Because `sig` is outside the hash, only checkpoints may carry it: a `sig` on any other
 * record is malformed, and a checkpoint without a valid `sig` fails.
 */
import { createHash, createHmac } from 'node:crypto';
import { auditRecordJson } from './audit-record-json.js';
import { canonicalJson } from './canonical-json.js';

export const AUDIT_EVENTS = [
  'ticket.issued',
  'ticket.rejected',
  'ws.upgrade_rejected',
  'ws.connected',
  'ws.closed',
  'ws.subscribe',
  'ws.unsubscribe',
  'ws.revoked',
  'ws.refreshed',
  'notification.published',
  'notification.rejected',
  'notification.delivery_failed',
  'careteam.added',
  'careteam.removed',
  'user.disconnected',
  'user.logged_out',
  'access.break_glass',
  'rate.limited',
  'audit.checkpoint',
] as const;
export type AuditEvent = (typeof AUDIT_EVENTS)[number];

/**
 * `allow` / `deny`: an authorization decision (ticket, upgrade, subscribe, refresh, rate limit).
 * `ok`: something happened as intended (closed, published, care team changed, checkpoint).
 * `error`: something failed that was not a decision (delivery failure, internal error).
 */
export const AUDIT_OUTCOMES = ['allow', 'deny', 'ok', 'error'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** The fields the chain links; features record constructor output (audit-entries.ts) only. */
export interface AuditEntry {
  readonly event: AuditEvent;
  readonly outcome: AuditOutcome;
  readonly reason: string;
  /** User key, or `service:<kid>` for a publishing service. */
  readonly actor: string;
  readonly jti?: string;
  readonly conn?: string;
  readonly channel?: string;
  readonly notification?: string;
  /** WebSocket close code or HTTP status. */
  readonly code?: number;
}

export interface AuditRecord extends AuditEntry {
  readonly seq: number;
  readonly ts: string;
  readonly node: string;
  readonly prev: string;
  readonly hash: string;
  /** Only on `audit.checkpoint`. */
  readonly sig?: string;
}

export type ChainHead = Pick<AuditRecord, 'seq' | 'hash'>;
export type AuditKey = Uint8Array | string;
/** Where and when a record is written; `ts` comes from the caller's clock. */
export type AuditStamp = Pick<AuditRecord, 'ts' | 'node'>;

export const GENESIS_HASH = '0'.repeat(64);

const OPTIONAL_STRINGS = ['jti', 'conn', 'channel', 'notification'] as const;
const RECORD_KEYS: ReadonlySet<string> = new Set([
  ...['seq', 'ts', 'node', 'event', 'outcome', 'reason', 'actor', 'prev', 'hash', 'sig'],
  ...OPTIONAL_STRINGS,
  'code',
]);
const HEX_64 = /^[0-9a-f]{64}$/;
const NON_EMPTY = /./;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

/** Accepts a whole record too: `hash` and `sig` are never part of the hashed bytes. */
export function hashRecord(record: Omit<AuditRecord, 'hash'> & { readonly hash?: string }): string {
  const text = auditRecordJson(record) ?? canonicalJsonWithoutHash(record);
  return createHash('sha256').update(record.prev).update(text).digest('hex');
}

function canonicalJsonWithoutHash(record: Readonly<Record<string, unknown>>): string {
  const { hash: _hash, sig: _sig, ...hashed } = record;
  return canonicalJson(hashed);
}

export function checkpointSignature(
  key: AuditKey,
  node: string,
  seq: number,
  hash: string,
): string {
  return createHmac('sha256', key).update(`${node}.${seq}.${hash}`).digest('hex');
}

/** Appends one ordinary entry; checkpoints are made with makeCheckpoint. Throws on bad input. */
export function linkRecord(
  previous: ChainHead | null,
  entry: AuditEntry & { readonly event: Exclude<AuditEvent, 'audit.checkpoint'> },
  at: AuditStamp,
): AuditRecord {
  return link(previous, entry, at, null);
}

export function makeCheckpoint(
  previous: ChainHead | null,
  at: AuditStamp & { readonly key: AuditKey; readonly reason?: string },
): AuditRecord {
  const reason = at.reason ?? 'periodic';
  const entry: AuditEntry = { event: 'audit.checkpoint', outcome: 'ok', reason, actor: 'system' };
  return link(previous, entry, at, at.key);
}

function link(
  previous: ChainHead | null,
  entry: AuditEntry,
  at: AuditStamp,
  key: AuditKey | null,
): AuditRecord {
  const [seq, prev] = previous === null ? [1, GENESIS_HASH] : [previous.seq + 1, previous.hash];
  const { event, outcome, reason, actor } = entry;
  const { ts, node } = at;
  const body: Record<string, unknown> = { seq, ts, node, event, outcome, reason, actor, prev };
  // Copied field by field so that extra properties on `entry` never reach the log.
  for (const name of [...OPTIONAL_STRINGS, 'code'] as const) {
    if (entry[name] !== undefined) body[name] = entry[name];
  }
  const hash = hashRecord(body as unknown as Omit<AuditRecord, 'hash'>);
  const record = { ...body, hash } as unknown as AuditRecord;
  const result =
    key === null ? record : { ...record, sig: checkpointSignature(key, node, seq, hash) };
  // Invariant: whatever is written here, the verifier (audit-verify.ts) accepts as well-formed.
  if (toAuditRecord(result) !== null) return result;
  throw new TypeError('audit: entry does not form a valid record');
}

/** Shape check only (no hashing): exactly the fields of §7, with the right types. */
export function toAuditRecord(value: unknown): AuditRecord | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const r = value as Record<string, unknown>;
  if (Object.keys(r).some((k) => !RECORD_KEYS.has(k))) return null;
  const valid =
    Number.isSafeInteger(r.seq) &&
    (r.seq as number) >= 1 &&
    matches(ISO_8601, r.ts) &&
    matches(NON_EMPTY, r.node) &&
    (AUDIT_EVENTS as readonly unknown[]).includes(r.event) &&
    (AUDIT_OUTCOMES as readonly unknown[]).includes(r.outcome) &&
    typeof r.reason === 'string' &&
    typeof r.actor === 'string' &&
    OPTIONAL_STRINGS.every((k) => r[k] === undefined || typeof r[k] === 'string') &&
    (r.code === undefined || Number.isSafeInteger(r.code)) &&
    matches(HEX_64, r.prev) &&
    matches(HEX_64, r.hash) &&
    (r.event === 'audit.checkpoint'
      ? r.sig === undefined || typeof r.sig === 'string'
      : r.sig === undefined);
  return valid ? (r as unknown as AuditRecord) : null;
}

function matches(pattern: RegExp, value: unknown): boolean {
  return typeof value === 'string' && pattern.test(value);
}

/** Marks a line that did not parse; the verifier reports it as malformed_record. */
export const UNPARSEABLE_LINE: unique symbol = Symbol('unparseable audit line');

/**
 * Splits a JSON-lines file. The final line is a torn tail (an interrupted append) when it has
 * no trailing newline or does not parse; it is left out of `records` and reported.
 */
export function parseJsonLines(text: string): { records: unknown[]; tornTail: boolean } {
  const lines = text.split('\n');
  const unterminated = lines.pop() ?? '';
  const records: unknown[] = lines.map(parseLine);
  if (unterminated !== '') return { records, tornTail: true };
  if (records.length > 0 && records[records.length - 1] === UNPARSEABLE_LINE) {
    records.pop();
    return { records, tornTail: true };
  }
  return { records, tornTail: false };
}

/** One line of an audit file (without its newline): the value, or UNPARSEABLE_LINE. */
export function parseLine(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return UNPARSEABLE_LINE;
  }
}
