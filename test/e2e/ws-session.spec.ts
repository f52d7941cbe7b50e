import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startNode, type TestNode } from '../support/app.js';
import { eventually, request } from '../support/http-client.js';
import { doctor, patient, ticketFor } from '../support/tokens.js';
import { connectOk, TEST_ORIGIN, type TestClient } from '../support/ws-client.js';

describe('a WebSocket session', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startNode({ ALLOWED_ORIGINS: TEST_ORIGIN, WS_MAX_PAYLOAD_BYTES: '1024' });
  });
  afterAll(async () => {
    await node?.stop();
  });

  let users = 0;
  /** Each session of its own user, so per-user ticket limits never couple the tests. */
  async function open(token?: string): Promise<TestClient> {
    const own = `pt-session${String(++users).padStart(3, '0')}`;
    const client = await connectOk(node, {
      ticket: await ticketFor(node, token ?? (await patient(own))),
    });
    await client.next('welcome');
    return client;
  }

  it('answers ping with pong carrying the same id', async () => {
    const client = await open();
    client.send({ type: 'ping', id: 'abc-123' });
    expect(await client.next()).toEqual({ type: 'pong', id: 'abc-123' });
    client.close();
  });

  it.each([
    ['text that is not JSON', 'hello', { type: 'error', code: 'bad_request' }],
    [
      'an unknown type',
      '{"type":"publish","id":"9"}',
      { type: 'error', id: '9', code: 'unknown_type' },
    ],
    ['a frame without id', '{"type":"ping"}', { type: 'error', code: 'bad_request' }],
    [
      'an extra field',
      '{"type":"ping","id":"5","x":1}',
      { type: 'error', id: '5', code: 'bad_request' },
    ],
    [
      'a refresh without ticket',
      '{"type":"refresh","id":"6"}',
      { type: 'error', id: '6', code: 'bad_request' },
    ],
  ])('answers %s with an error frame instead of dropping it', async (_label, text, expected) => {
    const client = await open();
    client.send(text);
    expect(await client.next()).toEqual(expected);
    client.close();
  });

  it('answers a binary frame with bad_request', async () => {
    const client = await open();
    client.ws.send(Buffer.from('{"type":"ping","id":"1"}'), { binary: true });
    expect(await client.next()).toEqual({ type: 'error', code: 'bad_request' });
    client.close();
  });

  it('closes 4500 protocol_error after a client keeps sending malformed frames', async () => {
    const client = await open();
    for (let i = 0; i < 11; i++) client.send('nonsense');
    expect(await client.closedWithin(3000)).toEqual({ code: 4500, reason: 'protocol_error' });
  });

  it('closes 1009 when a frame is larger than WS_MAX_PAYLOAD_BYTES', async () => {
    const client = await open();
    client.send({ type: 'ping', id: 'x'.repeat(2000) });
    expect((await client.closedWithin(3000)).code).toBe(1009);
  });

  it('closes 1007 on invalid UTF-8 in a text frame', async () => {
    const client = await open();
    client.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await client.closedWithin(3000)).code).toBe(1007);
  });

  describe('refresh', () => {
    it('extends the session with a fresh ticket of the same user', async () => {
      const client = await open(await doctor('dr-refresh01', { expiresIn: 600 }));
      const fresh = await ticketFor(node, await doctor('dr-refresh01', { expiresIn: 1200 }));
      client.send({ type: 'refresh', id: 'r1', ticket: fresh });
      const ack = await client.next();
      expect(ack).toEqual({ type: 'ack', id: 'r1', sessionExpiresAt: expect.any(Number) });
      const tokenExpiry = (Math.floor(Date.now() / 1000) + 1200) * 1000;
      expect(Math.abs((ack.sessionExpiresAt as number) - tokenExpiry)).toBeLessThanOrEqual(2000);
      client.close();
    });

    it('refuses a ticket of another user, and a ticket used twice, with invalid_ticket', async () => {
      const client = await open(await doctor('dr-refresh02'));
      const other = await ticketFor(node, await doctor('dr-someone02'));
      client.send({ type: 'refresh', id: 'r2', ticket: other });
      expect(await client.next()).toEqual({ type: 'error', id: 'r2', code: 'invalid_ticket' });
      // The other user's ticket was not spent on this session: it still opens its own.
      (await connectOk(node, { ticket: other })).close();

      const mine = await ticketFor(node, await doctor('dr-refresh02'));
      client.send({ type: 'refresh', id: 'r3', ticket: mine });
      expect((await client.next()).type).toBe('ack');
      client.send({ type: 'refresh', id: 'r4', ticket: mine });
      expect(await client.next()).toEqual({ type: 'error', id: 'r4', code: 'invalid_ticket' });
      client.send({ type: 'refresh', id: 'r5', ticket: 'not-a-ticket' });
      expect(await client.next()).toEqual({ type: 'error', id: 'r5', code: 'invalid_ticket' });
      client.close();
    });
  });

  it('counts open sessions and closes by code in /metrics', async () => {
    const client = await open();
    const before = (await request(`${node.internalUrl}/metrics`)).body;
    expect(before).toMatch(/^carecast_ws_connections [1-9]/m);
    client.close();
    await client.closed;
    await eventually(async () =>
      /^carecast_ws_closes_total\{code="1005"\} [1-9]/m.test(
        (await request(`${node.internalUrl}/metrics`)).body,
      ),
    );
  });
});

describe('session lease and heartbeat', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startNode({ ALLOWED_ORIGINS: TEST_ORIGIN, WS_HEARTBEAT_SECONDS: '1' });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('closes 4001 session_expired within a second of the lease end', async () => {
    // The access token ends in 2 s, so the lease does too (it is earlier than SESSION_MAX_SECONDS).
    const token = await patient('pt-lease0001', { expiresIn: 2 });
    const client = await connectOk(node, { ticket: await ticketFor(node, token) });
    const welcome = await client.next('welcome');
    const closed = await client.closedWithin(5000);
    expect(closed).toEqual({ code: 4001, reason: 'session_expired' });
    const late = Date.now() - (welcome.sessionExpiresAt as number);
    expect(late).toBeGreaterThanOrEqual(-100);
    expect(late).toBeLessThan(1100);
  });

  it('keeps a refreshed session open past the old lease, until the new one', async () => {
    const client = await connectOk(node, {
      ticket: await ticketFor(node, await patient('pt-lease0002', { expiresIn: 2 })),
    });
    const oldLease = (await client.next('welcome')).sessionExpiresAt as number;
    client.send({
      type: 'refresh',
      id: 'r',
      ticket: await ticketFor(node, await patient('pt-lease0002', { expiresIn: 4 })),
    });
    const newLease = (await client.next('ack')).sessionExpiresAt as number;
    expect(newLease).toBeGreaterThan(oldLease);
    expect(await client.closedWithin(6000)).toEqual({ code: 4001, reason: 'session_expired' });
    expect(Date.now()).toBeGreaterThanOrEqual(newLease - 100);
  });

  it('closes 4002 heartbeat_timeout when the client stops answering pings', async () => {
    const client = await connectOk(node, {
      ticket: await ticketFor(node, await patient('pt-silent001')),
      autoPong: false,
    });
    expect(await client.closedWithin(5000)).toEqual({ code: 4002, reason: 'heartbeat_timeout' });
  });

  it('keeps a client that answers pings open across heartbeats', async () => {
    const client = await connectOk(node, {
      ticket: await ticketFor(node, await patient('pt-alive0001')),
    });
    let pings = 0;
    await new Promise<void>((resolve) => client.ws.on('ping', () => ++pings === 3 && resolve()));
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    client.close();
  });
});

describe('drain', () => {
  it('closes every session with 1001 going_away on shutdown', async () => {
    const node = await startNode({ ALLOWED_ORIGINS: TEST_ORIGIN });
    const client = await connectOk(node, { ticket: await ticketFor(node, await patient()) });
    await client.next('welcome');
    await node.stop();
    expect(await client.closedWithin(3000)).toEqual({ code: 1001, reason: 'going_away' });
  });
});
