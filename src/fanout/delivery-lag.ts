import { Injectable } from '@nestjs/common';

/** Length of one measuring window. */
const WINDOW_MS = 500;
/**
 * Deliveries a window needs before its smallest lag counts as a standing queue (40/s). A
 * queue that publishing must drain carries traffic; a quiet window with a few late messages
 * (a GC pause, a loaded test machine, a publishing node's clock a little ahead) is not one,
 * and must never shed the next publisher.
 */
export const MIN_DELIVERIES_PER_WINDOW = 20;

/**
 * How far delivery on this node is behind what was published, as a standing queue: the
 * smallest publish-to-socket lag among the notifications delivered in the last complete
 * half-second window (CoDel's signal). One slow message (a GC pause, an audit batch) raises
 * the worst lag but not the smallest; only a queue that every message waits in does, and
 * that queue is what shedding publishes drains. Delivery notes each message's lag; publish
 * admission (PublishAdmissionGuard) reads the standing lag. A window without deliveries
 * counts as no lag, so a node that shed load takes publishes again once it has caught up, and
 * so does a window with fewer than MIN_DELIVERIES_PER_WINDOW deliveries.
 */
@Injectable()
export class DeliveryLag {
  private windowStart = 0;
  /** Smallest lag in the current window; Infinity while it has none. */
  private current = Number.POSITIVE_INFINITY;
  /** Deliveries noted in the current window. */
  private count = 0;
  /** Smallest lag of the last complete window; 0 when it had no deliveries. */
  private previous = 0;

  note(lagMs: number, nowMs: number): void {
    this.roll(nowMs);
    this.count += 1;
    if (lagMs < this.current) this.current = lagMs;
  }

  standingMs(nowMs: number): number {
    this.roll(nowMs);
    return this.previous;
  }

  private roll(nowMs: number): void {
    const elapsed = nowMs - this.windowStart;
    if (elapsed < WINDOW_MS) return;
    // A window that ended long ago says nothing about now.
    const complete = elapsed < 2 * WINDOW_MS && this.count >= MIN_DELIVERIES_PER_WINDOW;
    this.previous = complete ? this.current : 0;
    this.current = Number.POSITIVE_INFINITY;
    this.count = 0;
    this.windowStart = nowMs;
  }
}
