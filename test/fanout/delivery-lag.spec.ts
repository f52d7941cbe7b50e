import { DeliveryLag } from '../../src/fanout/delivery-lag.js';

describe(DeliveryLag.name, () => {
  it('reports the worst lag noted in the current and the previous window', () => {
    const lag = new DeliveryLag();
    lag.note(30, 1_000);
    lag.note(120, 1_100);
    lag.note(40, 1_200);
    expect(lag.worstMs(1_300)).toBe(120);
    // Next window: the previous one still counts.
    lag.note(10, 1_600);
    expect(lag.worstMs(1_700)).toBe(120);
  });

  it('falls back to 0 once deliveries stop, so a node that shed load takes publishes again', () => {
    const lag = new DeliveryLag();
    lag.note(900, 1_000);
    expect(lag.worstMs(1_000)).toBe(900);
    expect(lag.worstMs(1_600)).toBe(900);
    expect(lag.worstMs(2_200)).toBe(0);
  });

  it('forgets a window that ended long ago', () => {
    const lag = new DeliveryLag();
    lag.note(700, 1_000);
    expect(lag.worstMs(5_000)).toBe(0);
  });
});
