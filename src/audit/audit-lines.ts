/**
 * Reads an audit file as a stream of parsed lines, in constant memory whatever its size: one
 * reused read buffer, one partial line and the lines of one chunk are all that is kept.
 *
 * Torn tail, exactly as `parseJsonLines` defines it (and chain-tail.ts finds it at start-up):
 * bytes after the last newline, or a last newline-terminated line that does not parse. It is
 * not yielded; `tornTail` says it was there. The last complete line is therefore held back
 * until more bytes (or the end) show whether it is the file's last.
 */
import { open } from 'node:fs/promises';
import { parseLine, UNPARSEABLE_LINE } from '../core/audit-chain.js';

const NL = 0x0a;
/** A record is well under 1 KiB: a longer line is not one of ours and is not kept whole. */
const MAX_LINE_BYTES = 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;

export interface LinesEnd {
  readonly tornTail: boolean;
}

/**
 * Calls `visit` with the value of each of the file's lines in order (UNPARSEABLE_LINE for one
 * that does not parse) until it returns false. Each value is visited as soon as the next line
 * shows it is not the torn tail, so nothing parsed outlives the next line (it dies young:
 * memory stays flat however long the file).
 */
export async function forEachAuditLine(
  file: string,
  visit: (value: unknown) => boolean,
): Promise<LinesEnd & { readonly stopped: boolean }> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let partial: Buffer[] = [];
    let partialBytes = 0;
    let held: { value: unknown } | null = null;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, null);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      let start = 0;
      for (let nl = chunk.indexOf(NL); nl !== -1; nl = chunk.indexOf(NL, start)) {
        const value = lineValue(partial, partialBytes, chunk.subarray(start, nl));
        partial = [];
        partialBytes = 0;
        start = nl + 1;
        if (held !== null && !visit(held.value)) return { tornTail: false, stopped: true };
        held = { value };
      }
      if (start < bytesRead) {
        partialBytes += bytesRead - start;
        // Copied: the buffer is reused. Past the cap only the length matters (it cannot parse).
        if (partialBytes <= MAX_LINE_BYTES) partial.push(Buffer.from(chunk.subarray(start)));
        else partial = [];
      }
    }
    const torn = partialBytes > 0 || held?.value === UNPARSEABLE_LINE;
    const last = partialBytes > 0 || !torn ? held : null;
    const stopped = last !== null && !visit(last.value);
    return { tornTail: torn, stopped };
  } finally {
    await handle.close();
  }
}

function lineValue(partial: Buffer[], partialBytes: number, rest: Buffer): unknown {
  if (partialBytes + rest.length > MAX_LINE_BYTES) return UNPARSEABLE_LINE;
  const bytes = partial.length === 0 ? rest : Buffer.concat([...partial, rest]);
  return parseLine(bytes.toString('utf8'));
}
