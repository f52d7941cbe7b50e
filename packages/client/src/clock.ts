/**
 * Time and timers as one injectable dependency, so the unit tests drive the client with a
 * fake clock. The package compiles against the ECMAScript library only (no DOM, no Node
 * types), so the host's timer functions are reached through `globalThis`.
 */
export type TimerHandle = unknown;

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

interface HostTimers {
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

const host = globalThis as unknown as HostTimers;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => host.setTimeout(callback, ms),
  clearTimeout: (handle) => host.clearTimeout(handle),
};

/** One pending callback at most: starting it again replaces the previous one. */
export class Timer {
  private handle: TimerHandle | undefined;

  constructor(private readonly clock: Clock) {}

  start(ms: number, callback: () => void): void {
    this.stop();
    this.handle = this.clock.setTimeout(() => {
      this.handle = undefined;
      callback();
    }, ms);
  }

  stop(): void {
    if (this.handle === undefined) return;
    this.clock.clearTimeout(this.handle);
    this.handle = undefined;
  }

  get pending(): boolean {
    return this.handle !== undefined;
  }
}
