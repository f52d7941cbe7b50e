/**
 * Verifies audit files, given in chain order (rotated files by first seq, then the active file),
 * as one chain, streaming: between records it keeps only the chain head and a count, so memory
 * stays constant whatever the files' size.
 *
 * The first record of the first file may be past seq 1 when the files before it are not given
 * (rotated away, shipped): it must then be a correctly signed checkpoint that opens a file
 * (core `anchorOf`), and the chain is verified from it. Every later record must follow the one
 * before, across file boundaries too.
 */
import type { ChainHead } from '../core/audit-chain.js';
import {
  anchorOf,
  CHAIN_START,
  verifyEnd,
  verifyNext,
  type VerifyFailure,
  type VerifyOptions,
  type VerifyStep,
} from '../core/audit-verify.js';
import { forEachAuditLine } from './audit-lines.js';

export type FilesVerdict =
  | {
      readonly ok: true;
      readonly records: number;
      readonly head: ChainHead;
      /** Set when the first file continues a chain whose earlier records were not given. */
      readonly anchoredAt: number | null;
    }
  | {
      readonly ok: false;
      /** The file holding the first record that cannot be trusted (or that should have). */
      readonly file: string;
      readonly seq: number;
      readonly reason: VerifyFailure;
    };

export interface FilesVerifyHooks {
  /** A file ended in a torn line, which is not a record and was not verified. */
  onTornTail(file: string): void;
}

export async function verifyFiles(
  files: readonly string[],
  options: VerifyOptions,
  hooks: FilesVerifyHooks,
): Promise<FilesVerdict> {
  let head = CHAIN_START;
  let records = 0;
  let anchoredAt: number | null = null;
  let failure: FilesVerdict | null = null;
  for (const file of files) {
    const end = await forEachAuditLine(file, (value) => {
      if (records === 0) {
        const anchor = anchorOf(value, options);
        if (anchor !== null && !anchor.ok) failure = { ...anchor, file };
        if (anchor?.ok === true) {
          head = anchor.head;
          anchoredAt = anchor.head.seq + 1;
        }
      }
      const step = failure === null ? verifyNext(head, value, options) : null;
      if (step?.ok !== true) {
        failure ??= { ...(step as Extract<VerifyStep, { ok: false }>), file };
        return false;
      }
      head = step.head;
      records++;
      return true;
    });
    if (failure !== null) return failure;
    if (end.tornTail) hooks.onTornTail(file);
  }
  const end = verifyEnd(head, options);
  if (end !== null) return { ...end, file: files.at(-1) ?? '' };
  return { ok: true, records, head, anchoredAt };
}
