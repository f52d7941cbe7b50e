import { describe, expect, it } from '@jest/globals';
import { backoffCeiling, backoffDelay, DEFAULT_BACKOFF, retryDelay } from '../src/backoff.js';
import { closeClass } from '../src/close-codes.js';
import { DEFAULT_REFRESH, leaseExtended, refreshDelayMs } from '../src/refresh-timing.js';
import { SlidingWindow } from '../src/sliding-window.js';
import { classifyTicketFailure, TicketError } from '../src/ticket.js';

const backoff = DEFAULT_BACKOFF; // 500 ms doubling, capped at 30 s

describe('reconnect backoff (full jitter, capped)', () => {
  it.each([
    [0, 500],
    [1, 1000],
    [2, 2000],
    [5, 16_000],
    [6, 30_000],
    [50, 30_000],
    [10_000, 30_000],
  ])('attempt %i has ceiling %i ms', (attempt, ceiling) => {
    expect(backoffCeiling(attempt, backoff)).toBe(ceiling);
  });

  it.each([
    [3, 0, 0],
    [3, 0.5, 2000],
    [3, 0.999999, 3999],
    [9, 0.999999, 29_999],
  ])('attempt %i with draw %f waits %i ms: anywhere from 0 to the ceiling', (attempt, r, ms) => {
    expect(backoffDelay(attempt, backoff, r)).toBe(ms);
  });

  it.each([
    // attempt, draw, Retry-After, delay: never before Retry-After, spread over at most as long again
    [0, 0, 7, 7000],
    [0, 0.999, 7, 7499],
    [9, 0.5, 7, 10_500],
    [9, 0.999999, 1, 1999],
    [2, 0.5, null, 1000],
  ])('attempt %i, draw %f, Retry-After %p: %i ms', (attempt, r, retryAfter, ms) => {
    expect(retryDelay(attempt, backoff, r, retryAfter)).toBe(ms);
  });
});

describe('close-code classes', () => {
  it.each([
    [1000, 'reconnect'],
    [1001, 'reconnect'], // drain: another node takes the client
    [1006, 'reconnect'], // dropped, or a refused upgrade (browsers hide the status)
    [1011, 'reconnect'],
    [4001, 'reconnect'], // session expired
    [4002, 'reconnect'],
    [4008, 'reconnect'],
    [4009, 'reconnect'],
    [4499, 'reconnect'],
    [4500, 'final'], // protocol error: a client bug
    [4503, 'final'], // access revoked
    [4999, 'final'],
    [1002, 'final'],
    [1007, 'final'],
    [1008, 'final'],
    [1009, 'final'],
  ] as const)('%i means %s', (code, expected) => {
    expect(closeClass(code)).toBe(expected);
  });
});

describe('ticket refusals', () => {
  it.each([
    [new TicketError(403, 'user_blocked'), { kind: 'final', code: 'user_blocked' }],
    [new TicketError(403, 'origin_not_allowed'), { kind: 'final', code: 'origin_not_allowed' }],
    [new TicketError(400, 'bad_request'), { kind: 'final', code: 'bad_request' }],
    [
      new TicketError(401, 'invalid_token'),
      { kind: 'retry', code: 'invalid_token', retryAfterSeconds: null },
    ],
    [
      new TicketError(429, 'rate_limited', 42),
      { kind: 'retry', code: 'rate_limited', retryAfterSeconds: 42 },
    ],
    [
      new TicketError(503, 'unavailable', 1),
      { kind: 'retry', code: 'unavailable', retryAfterSeconds: 1 },
    ],
    [
      new TypeError('Failed to fetch'),
      { kind: 'retry', code: 'network_error', retryAfterSeconds: null },
    ],
  ])('%p is %p', (error, expected) => {
    expect(classifyTicketFailure(error)).toEqual(expected);
  });
});

describe('refresh timing', () => {
  it.each([
    // remaining, draw, delay: margin 60 s + up to 30 s jitter, at most half of a short lease
    [3_600_000, 0, 3_540_000],
    [3_600_000, 0.5, 3_525_000],
    [3_600_000, 0.999999, 3_510_000],
    [120_000, 0, 60_000],
    [20_000, 0.7, 10_000],
    [0, 0.5, 0],
  ])('lease ending in %i ms, draw %f: refresh after %i ms', (remaining, r, delay) => {
    expect(refreshDelayMs(remaining, DEFAULT_REFRESH, r)).toBe(delay);
  });

  it.each([
    [1000, 3000, true],
    [1000, 2000, false],
    [5000, 4000, false],
  ])('lease end %i then %i: extended %p', (before, after, extended) => {
    expect(leaseExtended(before, after)).toBe(extended);
  });
});

describe('pacing within a fixed-window limit', () => {
  it('allows `limit` sends in any window, then waits for the oldest to leave it', () => {
    const window = new SlidingWindow({ limit: 3, windowMs: 1000 });
    for (const t of [0, 10, 20]) {
      expect(window.waitMs(t)).toBe(0);
      window.record(t);
    }
    // 1000 ms plus 250 ms of slack after the first send
    expect(window.waitMs(30)).toBe(1220);
    expect(window.waitMs(1250)).toBe(0);
  });

  it('keeps reserved slots free', () => {
    const window = new SlidingWindow({ limit: 3, windowMs: 1000 });
    window.record(0);
    expect(window.waitMs(5, 2)).toBe(1245);
    expect(window.waitMs(5)).toBe(0);
  });
});
