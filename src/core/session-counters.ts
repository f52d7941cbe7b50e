/**
 * The counting rules of one WebSocket session: the per-connection frame budget and subscribe
 * window, the bad-frame limit and rate-limit strikes. Pure: the session holds the counts, the caller
 * brings the clock reading, and each rule returns the next count with its verdict.
 */

/** A client that keeps sending malformed or unknown frames is closed 4500 after this many. */
export const MAX_BAD_FRAMES = 10;

/** After this many rate-limit errors in a row, the client is closed 4008. */
export const MAX_RATE_LIMIT_STRIKES = 5;

/**
 * A fixed window: at most `limit` events per `windowMs` (RATE_FRAMES_PER_CONNECTION for every
 * client frame, RATE_SUBSCRIBE_PER_CONNECTION for subscribes).
 */
export interface WindowRate {
  readonly limit: number;
  readonly windowMs: number;
}

/** A session's current window of one rate: when it began and the events counted in it. */
export interface RateWindow {
  readonly startMs: number;
  readonly count: number;
}

export const FRESH_WINDOW: RateWindow = { startMs: 0, count: 0 };

/**
 * Counts one frame or subscribe. A window that has run its length starts over at `nowMs`;
 * refused ones count too, so a client cannot hammer at the limit for free. Two numbers per
 * session and no timer: the hot path stays one comparison.
 */
export function countInWindow(
  window: RateWindow,
  rate: WindowRate,
  nowMs: number,
): { window: RateWindow; admitted: boolean } {
  const current = nowMs - window.startMs >= rate.windowMs ? { startMs: nowMs, count: 0 } : window;
  const next = { startMs: current.startMs, count: current.count + 1 };
  return { window: next, admitted: next.count <= rate.limit };
}

/** Counts one malformed or unknown frame; `exceeded` once past MAX_BAD_FRAMES. */
export function countBadFrame(badFrames: number): { badFrames: number; exceeded: boolean } {
  const next = badFrames + 1;
  return { badFrames: next, exceeded: next > MAX_BAD_FRAMES };
}

/**
 * How a frame was answered, as far as strikes are concerned: a subscribe or unsubscribe, or
 * any frame refused by the frame budget (`rate_limited`). `unavailable` is a `refused`: a store
 * being down is never the client's strike.
 */
export type SubscribeAnswer = 'ok' | 'rate_limited' | 'refused';

/**
 * Rate-limit strikes: `rate_limited` answers in a row. A successful (un)subscribe clears
 * them, another refusal (or a ping, a refresh) leaves them as they are; `exceeded` once past MAX_RATE_LIMIT_STRIKES.
 */
export function countStrike(
  strikes: number,
  answer: SubscribeAnswer,
): { strikes: number; exceeded: boolean } {
  switch (answer) {
    case 'ok':
      return { strikes: 0, exceeded: false };
    case 'refused':
      return { strikes, exceeded: false };
    case 'rate_limited': {
      const next = strikes + 1;
      return { strikes: next, exceeded: next > MAX_RATE_LIMIT_STRIKES };
    }
  }
}
