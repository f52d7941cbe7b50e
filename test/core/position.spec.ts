import { describe, expect, it } from '@jest/globals';
import {
  completeFrame,
  EPOCH,
  formatEpoch,
  isPastAck,
  type Position,
  parseSince,
  recoveryOf,
  replayCount,
} from '../../src/core/position.js';

const AT: Position = { epoch: 'e1', seq: 44 };
const frames = (n: number) => Array.from({ length: n }, (_, i) => `f${i}`);

describe(replayCount.name, () => {
  it.each<[string, Position, number | null]>([
    ['a client three behind', { epoch: 'e1', seq: 41 }, 3],
    ['a client up to date', { epoch: 'e1', seq: 44 }, 0],
    ['a client before the first notification', { epoch: 'e1', seq: 0 }, 44],
    ['another epoch', { epoch: 'e0', seq: 41 }, null],
    ['a position ahead of the channel', { epoch: 'e1', seq: 45 }, null],
  ])('answers %s', (_name, since, count) => {
    expect(replayCount(since, AT)).toBe(count);
  });
});

describe(recoveryOf.name, () => {
  it.each<[string, Position, number, boolean, boolean]>([
    ['every missed frame held', { epoch: 'e1', seq: 41 }, 3, true, true],
    ['nothing missed', { epoch: 'e1', seq: 44 }, 0, true, true],
    ['a gap beyond the history', { epoch: 'e1', seq: 41 }, 0, true, false],
    ['part of the gap held', { epoch: 'e1', seq: 41 }, 2, true, false],
    ['another epoch', { epoch: 'e0', seq: 44 }, 0, true, false],
    ['a position ahead', { epoch: 'e1', seq: 50 }, 0, true, false],
    ['history off, nothing missed', { epoch: 'e1', seq: 44 }, 0, false, false],
  ])('with %s', (_name, since, held, historyOn, recovered) => {
    expect(recoveryOf(since, AT, frames(held), historyOn)).toBe(recovered);
  });
});

describe(parseSince.name, () => {
  it.each<[string, unknown, Position | null]>([
    ['a position', { epoch: 'm1x-ab12', seq: 41 }, { epoch: 'm1x-ab12', seq: 41 }],
    ['seq 0', { epoch: 'e', seq: 0 }, { epoch: 'e', seq: 0 }],
    ['an array', ['e', 1], null],
    ['a string', 'e:1', null],
    ['a missing epoch', { seq: 1 }, null],
    ['an epoch with a colon', { epoch: 'a:b', seq: 1 }, null],
    ['an infinite seq', { epoch: 'e', seq: Infinity }, null],
  ])('reads %s', (_name, value, position) => {
    expect(parseSince(value)).toEqual(position);
  });
});

describe(formatEpoch.name, () => {
  it('makes a valid epoch that differs with time and with the random part', () => {
    const a = formatEpoch(1_800_000_000_000, '0123456789abcdef');
    expect(a).toMatch(EPOCH);
    expect(formatEpoch(1_800_000_000_001, '0123456789abcdef')).not.toBe(a);
    expect(formatEpoch(1_800_000_000_000, '0123456789abcdee')).not.toBe(a);
  });
});

describe(completeFrame.name, () => {
  it('appends the seq as the last field', () => {
    expect(JSON.parse(completeFrame('{"type":"notification","ts":1', 7))).toEqual({
      type: 'notification',
      ts: 1,
      seq: 7,
    });
  });
});

describe(isPastAck.name, () => {
  it.each<[number | null, number, boolean]>([
    [45, 44, true],
    [44, 44, false],
    [3, 44, false],
    [null, 44, true],
  ])('seq %p after an ack at %p: %p', (seq, ack, past) => {
    expect(isPastAck(seq, ack)).toBe(past);
  });
});
