/**
 * Client-side pacing against a server's fixed-window limit (`N/Ws`). The server's windows
 * are not aligned with the client's clock, so the client keeps a sliding log: if no span of
 * `windowMs` (plus a little slack for network jitter) holds more than `limit` sends, no fixed
 * window on the server can either.
 */
export interface RateLimit {
  readonly limit: number;
  readonly windowMs: number;
}

/** Frames sent close together can arrive at the server a little further apart, or closer. */
const SLACK_MS = 250;

export class SlidingWindow {
  private readonly sent: number[] = [];

  constructor(private readonly rate: RateLimit) {}

  /**
   * Milliseconds until one more send fits, keeping `reserve` slots free (0 when it fits now).
   * A `reserve` lets control frames (refresh, ping) through while subscribes are paced.
   */
  waitMs(now: number, reserve = 0): number {
    this.forget(now);
    const allowed = Math.max(1, this.rate.limit - reserve);
    if (this.sent.length < allowed) return 0;
    const oldestThatMustExpire = this.sent[this.sent.length - allowed]!;
    return Math.max(1, oldestThatMustExpire + this.span - now);
  }

  record(now: number): void {
    this.sent.push(now);
  }

  private get span(): number {
    return this.rate.windowMs + SLACK_MS;
  }

  private forget(now: number): void {
    while (this.sent.length > 0 && this.sent[0]! + this.span <= now) this.sent.shift();
  }
}
