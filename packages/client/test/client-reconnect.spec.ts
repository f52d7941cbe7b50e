import { describe, expect, it } from '@jest/globals';
import { harness, ticket, TicketError } from './support/harness.js';

describe('CarecastClient: connecting and reconnecting', () => {
  it('opens the ticket url offering carecast.v1 and the ticket, and reports connected', async () => {
    const h = harness();
    await h.connected();
    expect(h.server.last.url).toBe('wss://gw.test/v1/ws');
    expect(h.server.last.protocols).toEqual(['carecast.v1', 'ticket.tkt-1']);
    expect(h.states.map((s) => s.state)).toEqual(['connecting', 'connected']);
    expect(h.client.state).toBe('connected');
  });

  it('uses a new ticket for every attempt, with full-jitter delays that grow to the cap', async () => {
    // Draws near 1 show each delay at the top of its range.
    const h = harness({ draws: Array(12).fill(0.999) });
    h.client.connect();
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      await h.clock.advance(0);
      h.server.last.drop(1006); // refused upgrade, as a browser sees it
      await h.clock.advance(0);
      const change = h.states.at(-1)!;
      if (change.state !== 'disconnected') throw new Error(`unexpected ${change.state}`);
      delays.push(change.retryInMs);
      expect(h.clock.nextTimerIn()).toBe(change.retryInMs);
      await h.clock.advance(change.retryInMs);
    }
    expect(delays).toEqual([499, 999, 1998, 3996, 7992, 15_984, 29_970, 29_970]);
    expect(h.server.sockets.map((s) => s.protocols[1])).toEqual(
      Array.from({ length: 9 }, (_, i) => `ticket.tkt-${i + 1}`),
    );
  });

  it('resets the backoff after a connection stayed up for stableAfterMs, not before', async () => {
    const h = harness({ draws: Array(20).fill(0.999), backoff: { stableAfterMs: 10_000 } });
    h.client.connect();
    for (let i = 0; i < 3; i++) {
      await h.clock.advance(0);
      h.server.last.drop(1006);
      await h.clock.advance(h.clock.nextTimerIn()!);
    }
    h.server.last.accept();
    await h.clock.advance(9_000); // up, but not yet stable
    h.server.last.drop(1011);
    await h.clock.advance(0);
    expect(h.states.at(-1)).toMatchObject({ state: 'disconnected', retryInMs: 3996 });
    await h.clock.advance(3996);
    h.server.last.accept();
    await h.clock.advance(10_000);
    h.server.last.drop(1001);
    await h.clock.advance(0);
    expect(h.states.at(-1)).toMatchObject({
      state: 'disconnected',
      closeCode: 1001,
      retryInMs: 499,
    });
  });

  it.each([4500, 4503, 1009])('does not reconnect after close %i', async (code) => {
    const h = harness();
    const socket = await h.connected();
    socket.drop(code);
    await h.clock.advance(600_000);
    expect(h.states.at(-1)).toEqual({ state: 'closed', cause: 'close_code', closeCode: code });
    expect(h.server.sockets).toHaveLength(1);
    expect(h.ticketCalls).toBe(1);
  });

  it.each([1001, 1006, 1011, 4001, 4002, 4008, 4009])('reconnects after close %i', async (code) => {
    const h = harness();
    const socket = await h.connected();
    socket.drop(code);
    await h.clock.advance(1000);
    expect(h.states.at(-2)).toMatchObject({ state: 'disconnected', closeCode: code });
    expect(h.server.sockets).toHaveLength(2);
  });

  it('stops when getTicket reports the user blocked (403), and on no other retryable refusal', async () => {
    const h = harness({ tickets: () => new TicketError(403, 'user_blocked') });
    h.client.connect();
    await h.clock.advance(600_000);
    expect(h.states).toEqual([
      { state: 'connecting', attempt: 0 },
      { state: 'closed', cause: 'ticket_refused', code: 'user_blocked' },
    ]);
    expect(h.ticketCalls).toBe(1);
    expect(h.server.sockets).toHaveLength(0);
  });

  it.each([
    [429, 'rate_limited', 30],
    [503, 'unavailable', 1],
  ])('honours Retry-After on %i %s', async (status, code, seconds) => {
    const h = harness({
      draws: [0],
      tickets: (n) => (n === 1 ? new TicketError(status, code, seconds) : ticket(n)),
    });
    h.client.connect();
    await h.clock.advance(0);
    expect(h.states.at(-1)).toMatchObject({
      state: 'disconnected',
      code,
      retryInMs: seconds * 1000,
    });
    await h.clock.advance(seconds * 1000 - 1);
    expect(h.ticketCalls).toBe(1);
    await h.clock.advance(1);
    expect(h.ticketCalls).toBe(2);
    expect(h.server.sockets).toHaveLength(1);
  });

  it('retries a network failure of getTicket with backoff', async () => {
    const h = harness({ tickets: (n) => (n < 3 ? new TypeError('Failed to fetch') : ticket(n)) });
    h.client.connect();
    await h.clock.advance(10_000);
    expect(h.errors).toEqual([
      { source: 'ticket', code: 'network_error' },
      { source: 'ticket', code: 'network_error' },
    ]);
    expect(h.server.last.protocols[1]).toBe('ticket.tkt-3');
  });

  it('close() stops reconnecting, and connect() starts again', async () => {
    const h = harness();
    const socket = await h.connected();
    h.client.close();
    expect(socket.closedByClient).toBe(1000);
    await h.clock.advance(600_000);
    expect(h.server.sockets).toHaveLength(1);
    expect(h.client.state).toBe('closed');
    h.client.connect();
    await h.clock.advance(0);
    expect(h.server.sockets).toHaveLength(2);
  });

  it('gives up on an attempt that gets no welcome within the connect timeout', async () => {
    const h = harness({ connectTimeoutMs: 5000 });
    h.client.connect();
    await h.clock.advance(5000);
    expect(h.server.sockets[0]!.closedByClient).toBe(4004);
    expect(h.states.at(-1)).toMatchObject({ state: 'disconnected', cause: 'connect_timeout' });
  });
});

describe('CarecastClient: heartbeat watchdog', () => {
  it('pings after one silent heartbeat interval and reconnects after two', async () => {
    const h = harness();
    const socket = await h.connected({ heartbeatSeconds: 10 });
    socket.answerPings = false;
    await h.clock.advance(9_999);
    expect(socket.take('ping')).toEqual([]);
    await h.clock.advance(1);
    const [ping] = socket.take('ping');
    expect(ping).toMatchObject({ type: 'ping' });
    await h.clock.advance(9_999);
    expect(h.client.state).toBe('connected');
    await h.clock.advance(1);
    expect(socket.closedByClient).toBe(4002);
    expect(h.states.at(-1)).toMatchObject({ state: 'disconnected', cause: 'heartbeat_timeout' });
  });

  it('keeps a connection that answers its pings', async () => {
    const h = harness();
    const socket = await h.connected({ heartbeatSeconds: 10 });
    await h.clock.advance(100_000);
    expect(socket.log.filter((l) => l.frame.type === 'ping').length).toBeGreaterThanOrEqual(4);
    expect(h.client.state).toBe('connected');
    expect(h.server.sockets).toHaveLength(1);
  });
});

describe('CarecastClient: session refresh', () => {
  it('refreshes with a new ticket before sessionExpiresAt (margin + jitter), again after each extension', async () => {
    const h2 = harness({ draws: [0.5] }); // jitter 15 s: refresh 75 s before the end
    const s2 = await h2.connected({ sessionExpiresAt: h2.clock.now() + 600_000 });
    await h2.clock.advance(600_000 - 75_000 - 1);
    expect(s2.take('refresh')).toEqual([]);
    await h2.clock.advance(1);
    const [refresh] = s2.take('refresh');
    expect(refresh).toMatchObject({ type: 'refresh', ticket: 'tkt-2' });
    s2.push({ type: 'ack', id: refresh!.id, sessionExpiresAt: h2.clock.now() + 600_000 });
    await h2.clock.advance(600_000 - 75_000);
    expect(s2.take('refresh')).toMatchObject([{ ticket: 'tkt-3' }]);
    expect(h2.server.sockets).toHaveLength(1);
  });

  it('retries a refused refresh while the lease has room, and stops when the lease did not move', async () => {
    const h = harness({ draws: [0] });
    const socket = await h.connected({ sessionExpiresAt: h.clock.now() + 600_000 });
    await h.clock.advance(540_000);
    const [first] = socket.take('refresh');
    socket.push({ type: 'error', id: first!.id, code: 'invalid_ticket' });
    await h.clock.advance(1000);
    const [second] = socket.take('refresh');
    expect(second).toMatchObject({ ticket: 'tkt-3' });
    const sameEnd = h.clock.now() + 59_000; // the access token did not get younger
    socket.push({ type: 'ack', id: second!.id, sessionExpiresAt: sameEnd });
    await h.clock.advance(59_000);
    expect(socket.take('refresh')).toEqual([]);
    expect(h.errors).toEqual([{ source: 'refresh', code: 'invalid_ticket' }]);
  });
});
