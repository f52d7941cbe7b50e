import {
  countBadFrame,
  countStrike,
  countInWindow,
  FRESH_WINDOW,
  MAX_BAD_FRAMES,
  MAX_RATE_LIMIT_STRIKES,
  type SubscribeAnswer,
  type RateWindow,
} from '../../src/core/session-counters.js';

const RATE = { limit: 3, windowMs: 10_000 };

describe(countInWindow.name, () => {
  it.each<[string, RateWindow, number, RateWindow, boolean]>([
    ['the first subscribe of a session', FRESH_WINDOW, 50_000, { startMs: 50_000, count: 1 }, true],
    ['one below the limit', { startMs: 1000, count: 1 }, 5000, { startMs: 1000, count: 2 }, true],
    ['exactly the limit', { startMs: 1000, count: 2 }, 5000, { startMs: 1000, count: 3 }, true],
    [
      'one past the limit (still counted)',
      { startMs: 1000, count: 3 },
      5000,
      { startMs: 1000, count: 4 },
      false,
    ],
    [
      'the last millisecond of the window',
      { startMs: 1000, count: 3 },
      10_999,
      { startMs: 1000, count: 4 },
      false,
    ],
    [
      'the window has run its length',
      { startMs: 1000, count: 9 },
      11_000,
      { startMs: 11_000, count: 1 },
      true,
    ],
    [
      'long after the window',
      { startMs: 1000, count: 9 },
      99_000,
      { startMs: 99_000, count: 1 },
      true,
    ],
  ])('%s', (_name, window, nowMs, next, admitted) => {
    expect(countInWindow(window, RATE, nowMs)).toEqual({ window: next, admitted });
  });
});

describe(countBadFrame.name, () => {
  it.each<[string, number, number, boolean]>([
    ['the first bad frame', 0, 1, false],
    ['reaching the limit', MAX_BAD_FRAMES - 1, MAX_BAD_FRAMES, false],
    ['one past the limit', MAX_BAD_FRAMES, MAX_BAD_FRAMES + 1, true],
  ])('%s', (_name, before, badFrames, exceeded) => {
    expect(countBadFrame(before)).toEqual({ badFrames, exceeded });
  });
});

describe(countStrike.name, () => {
  it.each<[string, number, SubscribeAnswer, number, boolean]>([
    ['a success clears the strikes', 4, 'ok', 0, false],
    ['a success with no strikes', 0, 'ok', 0, false],
    ['another refusal leaves them', 3, 'refused', 3, false],
    ['the first rate limit', 0, 'rate_limited', 1, false],
    [
      'reaching the limit',
      MAX_RATE_LIMIT_STRIKES - 1,
      'rate_limited',
      MAX_RATE_LIMIT_STRIKES,
      false,
    ],
    [
      'one past the limit',
      MAX_RATE_LIMIT_STRIKES,
      'rate_limited',
      MAX_RATE_LIMIT_STRIKES + 1,
      true,
    ],
  ])('%s', (_name, before, answer, strikes, exceeded) => {
    expect(countStrike(before, answer)).toEqual({ strikes, exceeded });
  });
});
