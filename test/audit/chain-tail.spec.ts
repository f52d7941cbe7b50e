import { describe, expect, it } from '@jest/globals';
import { analyzeTail } from '../../src/audit/chain-tail.js';
import {
  type AuditRecord,
  linkRecord,
  makeCheckpoint,
  parseJsonLines,
} from '../../src/core/audit-chain.js';

const at = (s: number) => ({
  ts: new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString(),
  node: 'n',
});

function records(n: number): AuditRecord[] {
  const out: AuditRecord[] = [makeCheckpoint(null, { ...at(0), key: 'k', reason: 'start' })];
  for (let i = 1; i < n; i++) {
    const entry = {
      event: 'ws.closed',
      outcome: 'ok',
      reason: 'client_closed',
      actor: 'u',
    } as const;
    out.push(linkRecord(out.at(-1)!, { ...entry, conn: `c${i}`, code: 1000 }, at(i)));
  }
  return out;
}

const lines = (rs: readonly AuditRecord[]) => rs.map((r) => JSON.stringify(r) + '\n').join('');
const three = records(3);
const clean = lines(three);

/** The analysis of a whole file, checked against the verifier's own torn-tail rule. */
function analyzeFile(text: string) {
  const result = analyzeTail(Buffer.from(text), 0);
  if (result.kind === 'ok') {
    const verifierView = parseJsonLines(text);
    expect(result.tornBytes > 0).toBe(verifierView.tornTail);
    expect(verifierView.records.at(-1) ?? null).toEqual(result.head);
  }
  return result;
}

describe('analyzeTail: where an audit file chain ends', () => {
  it.each([
    ['an empty file', '', null, 0, 0],
    ['a clean file', clean, three[2], clean.length, 0],
    ['a torn partial line', clean + '{"seq":4,"ts":"2026-', three[2], clean.length, 20],
    [
      'a torn line that is whole JSON but lacks its newline',
      clean + '{"seq":4}',
      three[2],
      clean.length,
      9,
    ],
    [
      'a final newline-terminated line that does not parse',
      clean + '{"seq":4,\n',
      three[2],
      clean.length,
      10,
    ],
    ['a file that is only a torn line', '{"seq":1,"t', null, 0, 11],
    ['a file whose only line does not parse', 'garbage\n', null, 0, 8],
  ])('finds the last complete record in %s', (_, text, head, keepBytes, tornBytes) => {
    expect(analyzeFile(text)).toEqual({
      kind: 'ok',
      head,
      keepBytes,
      tornBytes,
      headVerifies: true,
    });
  });

  it.each([
    ['two bad lines at the end (not one interrupted append)', clean + 'bad\nworse\n'],
    ['a bad line before a torn tail', clean + 'bad\n{"seq":'],
    ['JSON that is not a record', clean + '{"hello":"world"}\n'],
    ['a record without a hash', '{"seq":1,"prev":"' + '0'.repeat(64) + '"}\n'],
  ])('refuses to continue after %s', (_, text) => {
    expect(analyzeFile(text)).toEqual({ kind: 'unrecognised' });
  });

  it('flags a last record whose hash does not recompute, keeping it for the verifier to name', () => {
    const edited = { ...three[2]!, reason: 'edited' };
    const text = lines([three[0]!, three[1]!, edited]);
    expect(analyzeFile(text)).toMatchObject({ kind: 'ok', head: edited, headVerifies: false });
  });

  it('asks for more bytes until the window reaches back to the start of the last line', () => {
    const text = Buffer.from(lines(records(50)) + '{"torn":');
    const lastLineStart = text.lastIndexOf('\n', text.length - 10) + 1;
    const lineBefore = text.lastIndexOf('\n', lastLineStart - 2) + 1;
    expect(analyzeTail(text.subarray(lastLineStart), lastLineStart)).toEqual({ kind: 'need_more' });
    expect(analyzeTail(text.subarray(lineBefore), lineBefore)).toMatchObject({
      kind: 'ok',
      head: { seq: 50 },
      keepBytes: text.length - 8,
      tornBytes: 8,
    });
  });

  it('reports offsets in bytes, not characters', () => {
    const unicode =
      records(2)
        .map((r) => JSON.stringify(r))
        .join('\n') +
      '\n' +
      '{"reason":"é';
    const result = analyzeTail(Buffer.from(unicode), 0);
    expect(result).toMatchObject({ kind: 'ok', tornBytes: Buffer.byteLength('{"reason":"é') });
  });
});
