import type { Clock, TimerHandle } from '../../src/clock.js';

interface Pending {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/** Lets the promise jobs that a timer callback started (getTicket, replies) run to the end. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Virtual time: timers fire only inside advance(), in order, with promise jobs settled between. */
export class FakeClock implements Clock {
  private time = 1_800_000_000_000;
  private nextId = 1;
  private pending: Pending[] = [];

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, at: this.time + Math.max(0, ms), callback };
    this.pending.push(timer);
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.pending = this.pending.filter((t) => t.id !== handle);
  }

  /** Runs every timer due within `ms`, earliest first, then stops at now + ms. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    await settle();
    for (;;) {
      const due = this.pending
        .filter((t) => t.at <= target)
        .sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due === undefined) break;
      this.pending = this.pending.filter((t) => t !== due);
      this.time = due.at;
      due.callback();
      await settle();
    }
    this.time = target;
  }

  /** When the earliest pending timer fires, relative to now (null when none). */
  nextTimerIn(): number | null {
    if (this.pending.length === 0) return null;
    return Math.min(...this.pending.map((t) => t.at)) - this.time;
  }
}
