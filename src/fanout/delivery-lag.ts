import { Injectable } from '@nestjs/common';

/** Length of one measuring window; the worst lag covers the current and the previous one. */
const WINDOW_MS = 500;

/**
 * The worst publish-to-socket lag of the notifications this node delivered in the last half
 * second to second: how far delivery here is behind what was published. Delivery notes each
 * message's lag; publish admission (PublishAdmissionGuard) reads the worst. Once deliveries
 * stop, the figure falls back to 0 within two windows, so a node that shed load takes
 * publishes again as soon as it has caught up.
 */
@Injectable()
export class DeliveryLag {
  private windowStart = 0;
  private current = 0;
  private previous = 0;

  note(lagMs: number, nowMs: number): void {
    this.roll(nowMs);
    if (lagMs > this.current) this.current = lagMs;
  }

  worstMs(nowMs: number): number {
    this.roll(nowMs);
    return Math.max(this.current, this.previous);
  }

  private roll(nowMs: number): void {
    const elapsed = nowMs - this.windowStart;
    if (elapsed < WINDOW_MS) return;
    this.previous = elapsed < 2 * WINDOW_MS ? this.current : 0;
    this.current = 0;
    this.windowStart = nowMs;
  }
}
