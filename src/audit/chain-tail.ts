/**
 * Where an audit file's chain ends, found from the bytes at the end of the file, so that a
 * restart reads kilobytes rather than the whole history (the verifier reads it all).
 *
 * Torn tail, exactly as `parseJsonLines` (and so the verifier) defines it: bytes after the last
 * newline, or else a last newline-terminated line that does not parse. It is the remains of an
 * append that never completed, so it was never acknowledged as durable. Anything else wrong at
 * the end (a second bad line, JSON that is not a record) is not a torn write: the file is left
 * alone and reported as unrecognised.
 */
import { type AuditRecord, hashRecord } from '../core/audit-chain.js';

export type TailAnalysis =
  /** The window does not reach back to the start of the line needed: read more. */
  | { readonly kind: 'need_more' }
  | {
      readonly kind: 'ok';
      /** The last complete record; null when the file holds none. */
      readonly head: AuditRecord | null;
      /** Offset just after the head's newline: where the file must end. */
      readonly keepBytes: number;
      /** Bytes of torn tail after keepBytes (0 when the file ends cleanly). */
      readonly tornBytes: number;
      /** False when the head's own hash does not recompute; the verifier will name it. */
      readonly headVerifies: boolean;
    }
  | { readonly kind: 'unrecognised' };

const NL = 0x0a;
const HEX_64 = /^[0-9a-f]{64}$/;

/**
 * `window` holds the file's bytes from offset `windowStart` to its end. Offsets returned are
 * file offsets.
 */
export function analyzeTail(window: Buffer, windowStart: number): TailAnalysis {
  const fileEnd = windowStart + window.length;
  const lastNl = window.lastIndexOf(NL);
  if (lastNl === -1) {
    if (windowStart > 0) return { kind: 'need_more' };
    return ok(null, 0, fileEnd, true);
  }
  const unterminated = window.length - (lastNl + 1);
  let lineEnd = lastNl;
  let lineStart = startOfLine(window, lineEnd);
  if (lineStart === 0 && windowStart > 0) return { kind: 'need_more' };
  let parsed = parseLine(window.subarray(lineStart, lineEnd));
  if (parsed === undefined) {
    // An unparseable terminated line is torn only when it is the very last thing in the file.
    if (unterminated > 0) return { kind: 'unrecognised' };
    if (lineStart === 0) return ok(null, 0, fileEnd, true);
    lineEnd = lineStart - 1;
    lineStart = startOfLine(window, lineEnd);
    if (lineStart === 0 && windowStart > 0) return { kind: 'need_more' };
    parsed = parseLine(window.subarray(lineStart, lineEnd));
    if (parsed === undefined) return { kind: 'unrecognised' };
  }
  const head = asChainRecord(parsed);
  if (head === null) return { kind: 'unrecognised' };
  const keepBytes = windowStart + lineEnd + 1;
  return ok(head, keepBytes, fileEnd - keepBytes, recomputes(head));
}

function ok(
  head: AuditRecord | null,
  keepBytes: number,
  tornBytes: number,
  headVerifies: boolean,
): TailAnalysis {
  return { kind: 'ok', head, keepBytes, tornBytes, headVerifies };
}

/** Index of the first byte of the line that ends (exclusive) at `lineEnd`. */
function startOfLine(window: Buffer, lineEnd: number): number {
  // Buffer.lastIndexOf treats a negative offset as counted from the end: guard lineEnd 0.
  return lineEnd === 0 ? 0 : window.lastIndexOf(NL, lineEnd - 1) + 1;
}

function parseLine(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** Enough of a record to continue the chain from: its seq and hash (and a hashable body). */
function asChainRecord(value: unknown): AuditRecord | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const r = value as Record<string, unknown>;
  const valid =
    Number.isSafeInteger(r.seq) &&
    (r.seq as number) >= 1 &&
    typeof r.hash === 'string' &&
    HEX_64.test(r.hash) &&
    typeof r.prev === 'string' &&
    HEX_64.test(r.prev);
  return valid ? (r as unknown as AuditRecord) : null;
}

function recomputes(record: AuditRecord): boolean {
  try {
    return hashRecord(record) === record.hash;
  } catch {
    return false;
  }
}
