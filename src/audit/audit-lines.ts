/**
 * Reads an audit file as a stream of parsed lines, in constant memory whatever its size: only
 * the current chunk, one partial line and one held-back line are kept.
 *
 * Torn tail, exactly as `parseJsonLines` defines it (and chain-tail.ts finds it at start-up):
 * bytes after the last newline, or a last newline-terminated line that does not parse. It is
 * not yielded; `tornTail` says it was there. The last complete line is therefore held back
 * until the next one (or the end) shows whether it is the file's last.
 */
import { createReadStream } from 'node:fs';
import { parseLine, UNPARSEABLE_LINE } from '../core/audit-chain.js';

const NL = 0x0a;
/** A record is well under 1 KiB: a longer line is not one of ours and is not kept whole. */
const MAX_LINE_BYTES = 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;

export interface LinesEnd {
  readonly tornTail: boolean;
}

/** Yields each line's value (or UNPARSEABLE_LINE); returns whether a torn tail was left out. */
export async function* readAuditLines(file: string): AsyncGenerator<unknown, LinesEnd> {
  const stream = createReadStream(file, { highWaterMark: CHUNK_BYTES });
  let partial: Buffer[] = [];
  let partialBytes = 0;
  let held: { value: unknown } | null = null;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let start = 0;
    for (let nl = chunk.indexOf(NL); nl !== -1; nl = chunk.indexOf(NL, start)) {
      const value = lineValue(partial, partialBytes, chunk.subarray(start, nl));
      partial = [];
      partialBytes = 0;
      start = nl + 1;
      if (held !== null) yield held.value;
      held = { value };
    }
    if (start < chunk.length) {
      partialBytes += chunk.length - start;
      // Past the cap only the length matters: the line will not parse.
      if (partialBytes <= MAX_LINE_BYTES) partial.push(chunk.subarray(start));
      else partial = [];
    }
  }
  if (partialBytes > 0) {
    if (held !== null) yield held.value;
    return { tornTail: true };
  }
  if (held === null) return { tornTail: false };
  if (held.value === UNPARSEABLE_LINE) return { tornTail: true };
  yield held.value;
  return { tornTail: false };
}

function lineValue(partial: Buffer[], partialBytes: number, rest: Buffer): unknown {
  if (partialBytes + rest.length > MAX_LINE_BYTES) return UNPARSEABLE_LINE;
  const bytes = partial.length === 0 ? rest : Buffer.concat([...partial, rest]);
  return parseLine(bytes.toString('utf8'));
}
