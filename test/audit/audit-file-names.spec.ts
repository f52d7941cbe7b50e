import { describe, expect, it } from '@jest/globals';
import {
  type AuditFileName,
  newestRotated,
  parseAuditFileName,
  rotatedFileName,
  rotationDue,
} from '../../src/audit/audit-file-names.js';

describe(parseAuditFileName.name, () => {
  it.each<[string, AuditFileName | null]>([
    ['audit-gw-1.jsonl', { kind: 'active', nodeId: 'gw-1' }],
    ['audit-gw-1.1-1042.jsonl', { kind: 'rotated', nodeId: 'gw-1', firstSeq: 1, lastSeq: 1042 }],
    ['audit-gw.eu.7-9.jsonl', { kind: 'rotated', nodeId: 'gw.eu', firstSeq: 7, lastSeq: 9 }],
    ['audit-gw.eu.jsonl', { kind: 'active', nodeId: 'gw.eu' }],
    ['gw-1.jsonl', null],
    ['audit-gw-1.jsonl.1843', null],
  ])('reads %s', (name, expected) => {
    expect(parseAuditFileName(name)).toEqual(expected);
  });

  it('reads back the name it gives a rotated file', () => {
    expect(parseAuditFileName(rotatedFileName('n-1', 1001, 2002))).toEqual({
      kind: 'rotated',
      nodeId: 'n-1',
      firstSeq: 1001,
      lastSeq: 2002,
    });
  });
});

describe(newestRotated.name, () => {
  it.each<[string, string[], string | null]>([
    ['none', ['audit-a.jsonl'], null],
    [
      'the highest last seq, not the last in name order',
      ['audit-a.1-9.jsonl', 'audit-a.10-20.jsonl'],
      'audit-a.10-20.jsonl',
    ],
    ['only the node asked for', ['audit-a.1-9.jsonl', 'audit-b.10-20.jsonl'], 'audit-a.1-9.jsonl'],
  ])('finds %s', (_name, names, expected) => {
    expect(newestRotated(names, 'a')).toBe(expected);
  });
});

describe(rotationDue.name, () => {
  const limits = { maxBytes: 1000, maxSeconds: 60 };
  it.each<[string, number, number, boolean]>([
    ['a small young file', 999, 59_999, false],
    ['a file that reached the size', 1000, 0, true],
    ['a file that reached the age', 0, 60_000, true],
  ])('%s', (_name, bytes, age, due) => {
    expect(rotationDue({ bytes, startedAt: 1_000_000 }, 1_000_000 + age, limits)).toBe(due);
  });
});
