/**
 * Names of a node's audit files (contract §7) and when the active one is rotated. Pure.
 *
 * - Active file: `audit-<NODE_ID>.jsonl`, the one being appended to.
 * - Rotated file: `audit-<NODE_ID>.<first seq>-<last seq>.jsonl`, closed for good; its last
 *   record is a `rotation` checkpoint. Ordered by first seq, rotated files then the active file
 *   hold the node's chain without gap or overlap.
 */

export type AuditFileName =
  | { readonly kind: 'active'; readonly nodeId: string }
  | {
      readonly kind: 'rotated';
      readonly nodeId: string;
      readonly firstSeq: number;
      readonly lastSeq: number;
    };

const ROTATED = /^audit-(.+)\.(\d{1,15})-(\d{1,15})\.jsonl$/;
const ACTIVE = /^audit-(.+)\.jsonl$/;

export function activeFileName(nodeId: string): string {
  return `audit-${nodeId}.jsonl`;
}

export function rotatedFileName(nodeId: string, firstSeq: number, lastSeq: number): string {
  return `audit-${nodeId}.${firstSeq}-${lastSeq}.jsonl`;
}

/** What a file name says, or null when it is not an audit file's name. */
export function parseAuditFileName(name: string): AuditFileName | null {
  const rotated = ROTATED.exec(name);
  if (rotated !== null) {
    const [, nodeId, first, last] = rotated as unknown as [string, string, string, string];
    return { kind: 'rotated', nodeId, firstSeq: Number(first), lastSeq: Number(last) };
  }
  const active = ACTIVE.exec(name);
  return active === null ? null : { kind: 'active', nodeId: active[1] as string };
}

/** The rotated file of `nodeId` that ends the chain (highest last seq) among `names`. */
export function newestRotated(names: readonly string[], nodeId: string): string | null {
  let newest: { name: string; lastSeq: number } | null = null;
  for (const name of names) {
    const parsed = parseAuditFileName(name);
    if (parsed?.kind !== 'rotated' || parsed.nodeId !== nodeId) continue;
    if (newest === null || parsed.lastSeq > newest.lastSeq)
      newest = { name, lastSeq: parsed.lastSeq };
  }
  return newest?.name ?? null;
}

export interface RotationLimits {
  /** AUDIT_ROTATE_BYTES */
  readonly maxBytes: number;
  /** AUDIT_ROTATE_SECONDS */
  readonly maxSeconds: number;
}

export interface ActiveFileState {
  readonly bytes: number;
  /** Epoch ms of the active file's first record (or of its creation). */
  readonly startedAt: number;
}

/** The active file is due for rotation once it reaches either limit. */
export function rotationDue(file: ActiveFileState, now: number, limits: RotationLimits): boolean {
  return file.bytes >= limits.maxBytes || now - file.startedAt >= limits.maxSeconds * 1000;
}
