import { describe, expect, it } from '@jest/globals';
import { RefusalLog } from '../../src/logging/refusal-log.js';

/** A log sink and a clock the test moves by hand. */
function harness(linesPerWindow = 3, windowMs = 1000) {
  const lines: { level: 'log' | 'warn'; fields: Record<string, unknown>; msg: string }[] = [];
  let now = 0;
  const sink = {
    log: (fields: Record<string, unknown>, msg: string) =>
      lines.push({ level: 'log', fields, msg }),
    warn: (fields: Record<string, unknown>, msg: string) =>
      lines.push({ level: 'warn', fields, msg }),
  };
  const log = new RefusalLog(sink, linesPerWindow, windowMs, () => now);
  return { log, lines, advance: (ms: number) => (now += ms) };
}

describe('RefusalLog', () => {
  it('writes one line per refusal with the reason code (and an upgrade status) only', () => {
    const { log, lines } = harness();
    log.refused('ticket', 'invalid_token');
    log.refused('upgrade', 'origin_not_allowed', 403);
    expect(lines).toEqual([
      { level: 'log', fields: { reason: 'invalid_token' }, msg: 'ticket request refused' },
      {
        level: 'log',
        fields: { reason: 'origin_not_allowed', status: 403 },
        msg: 'websocket upgrade refused',
      },
    ]);
  });

  it('stops writing past the limit of a window, then says how many were left out, by reason', () => {
    const { log, lines, advance } = harness(3, 1000);
    for (let i = 0; i < 1000; i++)
      log.refused('ticket', i % 2 === 0 ? 'invalid_token' : 'rate_limited');
    log.refused('upgrade', 'ticket_reused', 401);
    expect(lines).toHaveLength(3);

    advance(999);
    log.refused('ticket', 'invalid_token');
    expect(lines).toHaveLength(3);

    advance(1);
    log.refused('upgrade', 'ticket_expired', 401);
    expect(lines).toHaveLength(5);
    expect(lines[3]).toEqual({
      level: 'warn',
      fields: {
        leftOut: {
          'ticket:invalid_token': 499,
          'ticket:rate_limited': 499,
          'upgrade:ticket_reused': 1,
        },
        total: 999,
        windowMs: 1000,
      },
      msg: 'refusals not logged (rate limit); metrics and the audit log count them all',
    });
    expect(lines[4]?.fields).toEqual({ reason: 'ticket_expired', status: 401 });
  });

  it('writes no summary after a window in which nothing was left out', () => {
    const { log, lines, advance } = harness(3, 1000);
    log.refused('ticket', 'bad_request');
    advance(5000);
    log.refused('ticket', 'bad_request');
    expect(lines.map((l) => l.level)).toEqual(['log', 'log']);
  });
});
