import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { forEachAuditLine } from '../../src/audit/audit-lines.js';
import { parseJsonLines } from '../../src/core/audit-chain.js';
import { tempDir } from './support/audit-helpers.js';

let dir: string;
let remove: () => Promise<void>;
beforeAll(async () => ({ dir, remove } = await tempDir('lines')));
afterAll(() => remove());

const line = (i: number) => JSON.stringify({ seq: i, pad: 'x'.repeat(i % 300) });
// Over two 1 MiB read chunks, so lines are split across reads.
const long = Array.from({ length: 12_000 }, (_, i) => line(i)).join('\n') + '\n';

describe(forEachAuditLine.name, () => {
  // The streaming reader must see exactly what parseJsonLines sees, torn tail included.
  it.each<[string, string]>([
    ['an empty file', ''],
    ['terminated lines', `${line(1)}\n${line(2)}\n`],
    ['a complete final line without a newline (torn)', `${line(1)}\n${line(2)}`],
    ['a cut final line (torn)', `${line(1)}\n${line(2).slice(0, 9)}`],
    ['a terminated final line that does not parse (torn)', `${line(1)}\n{"seq":\n`],
    ['an unparseable middle line', `${line(1)}\n{oops\n${line(2)}\n`],
    ['a blank middle line', `${line(1)}\n\n${line(2)}\n`],
    ['lines across read chunks', long],
    ['lines across read chunks with a torn tail', long + line(5).slice(0, 7)],
  ])('reads %s as parseJsonLines does', async (_name, text) => {
    const file = path.join(dir, 'f.jsonl');
    await writeFile(file, text);
    const values: unknown[] = [];
    const end = await forEachAuditLine(file, (value) => values.push(value) > 0);
    expect({ records: values, tornTail: end.tornTail }).toEqual(parseJsonLines(text));
  });

  it('stops as soon as the visitor says so', async () => {
    const file = path.join(dir, 'stop.jsonl');
    await writeFile(file, long);
    let seen = 0;
    const end = await forEachAuditLine(file, () => ++seen < 3);
    expect({ seen, stopped: end.stopped }).toEqual({ seen: 3, stopped: true });
  });
});
