import { DeliveryLag, MIN_DELIVERIES_PER_WINDOW } from '../../src/fanout/delivery-lag.js';

/** Notes enough deliveries at `lagMs` (at `atMs`) for a window to count. */
function busy(lag: DeliveryLag, lagMs: number, atMs: number): void {
  for (let i = 0; i < MIN_DELIVERIES_PER_WINDOW; i++) lag.note(lagMs, atMs);
}

describe(DeliveryLag.name, () => {
  it('reports the smallest lag of the last complete window: a standing queue', () => {
    const lag = new DeliveryLag();
    busy(lag, 300, 1_000);
    lag.note(250, 1_100);
    lag.note(400, 1_200);
    // The window is not complete yet: nothing is known about a standing queue.
    expect(lag.standingMs(1_300)).toBe(0);
    lag.note(20, 1_600);
    expect(lag.standingMs(1_700)).toBe(250);
  });

  it('ignores one slow message among fast ones', () => {
    const lag = new DeliveryLag();
    busy(lag, 5, 1_000);
    lag.note(900, 1_100);
    lag.note(4, 1_200);
    expect(lag.standingMs(1_500)).toBe(4);
  });

  it('falls back to 0 once deliveries stop, so a node that shed load takes publishes again', () => {
    const lag = new DeliveryLag();
    busy(lag, 900, 1_000);
    expect(lag.standingMs(1_500)).toBe(900);
    expect(lag.standingMs(2_000)).toBe(0);
  });

  it('forgets a window that ended long ago', () => {
    const lag = new DeliveryLag();
    busy(lag, 700, 1_000);
    expect(lag.standingMs(5_000)).toBe(0);
  });

  it('sees no standing queue in a quiet window, however late its few messages', () => {
    const lag = new DeliveryLag();
    for (let i = 1; i < MIN_DELIVERIES_PER_WINDOW; i++) lag.note(900, 1_000);
    expect(lag.standingMs(1_500)).toBe(0);
  });
});
