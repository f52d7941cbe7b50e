import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Bus } from '../../src/fanout/bus.js';
import type { RunningNode, TestNode } from '../support/app.js';
import { eventually, request } from '../support/http-client.js';
import { CanaryWatch, PHI_CANARY, PHI_CANARY_TEXT } from '../support/phi-canary.js';
import { startTwoNodes, type TwoNodes } from '../support/two-nodes.js';
import { addToCareTeam, publish, removeFromCareTeam } from '../support/publisher.js';
import type { RedisServerHandle } from '../support/redis-server.js';
import { doctor, patient, ticketFor } from '../support/tokens.js';
import { connectOk, type TestClient } from '../support/ws-client.js';
import { untilReady } from '../support/readiness.js';

/*
 * Two gateway nodes share one Redis: clients connect to node A, services publish through
 * node B. "Receives nothing" is always proven by a later message that does arrive first.
 * Node B runs as its own process (dist/main.js): metrics live in a process-wide registry, so
 * each node's /metrics shows only its own counts.
 */
describe('fan-out across two nodes', () => {
  let redis: RedisServerHandle;
  let a: TestNode;
  let b: RunningNode;
  let nodes: TwoNodes | undefined;
  let events = 0;
  const nextId = () => `evt-${String(++events).padStart(6, '0')}x`;

  beforeAll(async () => {
    nodes = await startTwoNodes('fanout', {}, ['node-a', 'node-b']);
    ({ redis, a, b } = nodes);
  });
  afterAll(async () => {
    await nodes?.stop();
  });

  async function client(token: string): Promise<TestClient> {
    const c = await connectOk(a, { ticket: await ticketFor(a, token) });
    await c.next('welcome');
    return c;
  }

  async function subscribe(c: TestClient, channel: string): Promise<Record<string, unknown>> {
    const id = `s${++events}`;
    c.send({ type: 'subscribe', id, channel });
    return c.next();
  }

  function notification(channel: string, id = nextId(), ref = 'apt-9x8c7v6b') {
    return { id, channel, kind: 'appointment.updated', ref };
  }

  it('delivers a notification published through the other node to the subscribed patient', async () => {
    const p = await client(await patient('pt-4c9a1b2e'));
    expect(await subscribe(p, 'patient:pt-4c9a1b2e')).toMatchObject({ type: 'ack' });
    const sent = notification('patient:pt-4c9a1b2e');
    const res = await publish(b, sent);
    expect(res.status).toBe(202);
    expect(res.json()).toEqual({ accepted: [{ id: sent.id, duplicate: false }] });
    const frame = await p.next('notification');
    expect(frame).toEqual({
      type: 'notification',
      ...sent,
      ts: expect.any(Number),
      seq: expect.any(Number),
    });
    expect(Object.keys(frame)).toEqual(['type', 'channel', 'id', 'kind', 'ref', 'ts', 'seq']);
    p.close();
  });

  it('answers another patient forbidden and gives them nothing of that channel', async () => {
    const owner = await client(await patient('pt-owner001'));
    const other = await client(await patient('pt-other001'));
    await subscribe(owner, 'patient:pt-owner001');
    expect(await subscribe(other, 'patient:pt-owner001')).toMatchObject({
      type: 'error',
      code: 'forbidden',
    });
    expect(await subscribe(other, 'patient:pt-other001')).toMatchObject({ type: 'ack' });
    await publish(b, notification('patient:pt-owner001'));
    const own = notification('patient:pt-other001');
    await publish(b, own);
    expect(await owner.next('notification')).toMatchObject({ channel: 'patient:pt-owner001' });
    expect(await other.next('notification')).toMatchObject({ id: own.id });
    owner.close();
    other.close();
  });

  it('delivers to a doctor on the care team, not to one off it, and revokes on removal', async () => {
    expect((await addToCareTeam(b, 'pt-team0001', 'dr-onteam01')).status).toBe(204);
    const on = await client(await doctor('dr-onteam01'));
    const off = await client(await doctor('dr-offteam1'));
    expect(await subscribe(on, 'patient:pt-team0001')).toMatchObject({ type: 'ack' });
    expect(await subscribe(off, 'patient:pt-team0001')).toMatchObject({
      type: 'error',
      code: 'forbidden',
    });
    const sent = notification('patient:pt-team0001');
    await publish(b, sent);
    expect(await on.next('notification')).toMatchObject({ id: sent.id });

    expect((await removeFromCareTeam(b, 'pt-team0001', 'dr-onteam01')).status).toBe(204);
    expect(await on.next('revoked')).toEqual({ type: 'revoked', channel: 'patient:pt-team0001' });
    await subscribe(on, 'doctor:dr-onteam01');
    await publish(b, notification('patient:pt-team0001'));
    const mine = notification('doctor:dr-onteam01');
    await publish(b, mine);
    expect(await on.next('notification')).toMatchObject({ id: mine.id });
    on.close();
    off.close();
  });

  it('lets a doctor follow the patient named by the SMART launch context', async () => {
    const d = await client(await doctor('dr-launch01', { patient: 'pt-launched1' }));
    expect(await subscribe(d, 'patient:pt-launched1')).toMatchObject({ type: 'ack' });
    expect(await subscribe(d, 'patient:pt-notlaunch')).toMatchObject({
      type: 'error',
      code: 'forbidden',
    });
    d.close();
  });

  it('delivers a duplicate id once and says it was a duplicate', async () => {
    const p = await client(await patient('pt-dupes001'));
    await subscribe(p, 'patient:pt-dupes001');
    const sent = notification('patient:pt-dupes001');
    expect((await publish(b, sent)).json()).toEqual({
      accepted: [{ id: sent.id, duplicate: false }],
    });
    expect((await publish(a, sent)).json()).toEqual({
      accepted: [{ id: sent.id, duplicate: true }],
    });
    const after = notification('patient:pt-dupes001');
    await publish(b, after);
    expect(await p.next('notification')).toMatchObject({ id: sent.id });
    expect(await p.next('notification')).toMatchObject({ id: after.id });
    p.close();
  });

  it('publishes a batch and answers each id', async () => {
    const p = await client(await patient('pt-batch001'));
    await subscribe(p, 'patient:pt-batch001');
    const batch = [notification('patient:pt-batch001'), notification('patient:pt-batch001')];
    const res = await publish(b, { notifications: batch });
    expect(res.json()).toEqual({ accepted: batch.map((n) => ({ id: n.id, duplicate: false })) });
    expect(await p.next('notification')).toMatchObject({ id: batch[0]!.id });
    expect(await p.next('notification')).toMatchObject({ id: batch[1]!.id });
    p.close();
  });

  it('refuses extra fields and PHI-shaped values with 422 naming fields only', async () => {
    const watch = new CanaryWatch();
    const extra = watch.response(
      await publish(b, { ...notification('patient:pt-4c9a1b2e'), patientName: PHI_CANARY.name }),
    );
    expect(extra.status).toBe(422);
    expect(extra.json()).toEqual({ error: 'invalid_payload', fields: ['patientName'] });
    const phiRef = watch.response(
      await publish(b, notification('patient:pt-4c9a1b2e', nextId(), PHI_CANARY.email)),
    );
    expect(phiRef.json()).toEqual({ error: 'invalid_payload', fields: ['ref'] });
    const phiChannel = watch.response(await publish(b, notification(`patient:${PHI_CANARY_TEXT}`)));
    expect(phiChannel.json()).toEqual({ error: 'invalid_payload', fields: ['channel'] });
    const badKind = watch.response(
      await publish(b, { ...notification('patient:pt-4c9a1b2e'), kind: 'lab.result' }),
    );
    expect(badKind.json()).toEqual({ error: 'invalid_payload', fields: ['kind'] });
    await watch.expectClean(a, b);
  });

  it('refuses a bad or stale signature with 401', async () => {
    const body = notification('patient:pt-4c9a1b2e');
    const cases = [
      await publish(b, body, { secret: 'another-secret-of-enough-length-0123456789' }),
      await publish(b, body, { t: Math.floor(Date.now() / 1000) - 301 }),
      await publish(b, body, { kid: 'nobody' }),
      await publish(b, body, { signature: null }),
      await publish(b, body, { signature: 't=1,kid=dev,v1=00' }),
    ];
    for (const res of cases) {
      expect(res.status).toBe(401);
      expect(res.json()).toEqual({ error: 'invalid_signature' });
    }
  });

  it('closes a client that stops reading with 4009 while others keep receiving', async () => {
    const slow = await client(await patient('pt-slow0001'));
    const fast = await client(await patient('pt-slow0001'));
    await subscribe(slow, 'patient:pt-slow0001');
    await subscribe(fast, 'patient:pt-slow0001');
    // The slow client stops reading its socket: frames pile up on the server's side.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    // Large frames straight onto node A's bus fill the kernel buffers quickly; the delivery
    // path is the same as for API-published notifications.
    const bus = a.app.nest.get(Bus);
    const ts = Date.now();
    const frame = JSON.stringify({
      type: 'notification',
      channel: 'patient:pt-slow0001',
      id: 'x',
      kind: 'k',
      ref: 'r'.repeat(65_536),
      ts,
    });
    const big = { id: 'x', ts, seq: null, frame };
    const closed = slow.closed;
    let sent = 0;
    let done = false;
    void closed.then(() => (done = true));
    while (!done && sent < 400) {
      await bus.publish('patient:pt-slow0001', big);
      sent += 1;
      await fast.next('notification');
    }
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await slow.closedWithin(5000)).toEqual({ code: 4009, reason: 'slow_consumer' });
    const after = notification('patient:pt-slow0001');
    await publish(b, after);
    await eventually(async () => {
      const f = await fast.next('notification', 1000);
      return f.id === after.id;
    });
    fast.close();
  });

  it('answers 503 within a second with Redis stopped, keeps clients, and resumes delivery after', async () => {
    const p = await client(await patient('pt-outage01'));
    await subscribe(p, 'patient:pt-outage01');
    await redis.stop();
    try {
      const started = Date.now();
      const res = await publish(b, notification('patient:pt-outage01'));
      expect(Date.now() - started).toBeLessThan(1000);
      expect(res.status).toBe(503);
      expect(res.json()).toEqual({ error: 'unavailable' });
      p.send({ type: 'ping', id: 'still-here' });
      expect(await p.next('pong')).toEqual({ type: 'pong', id: 'still-here' });
    } finally {
      await redis.start();
    }
    await untilReady([b, a], { timeoutMs: 5000 });
    const after = notification('patient:pt-outage01');
    await eventually(async () => (await publish(b, after)).status === 202, { timeoutMs: 5000 });
    expect(await p.next('notification')).toMatchObject({ id: after.id });
    p.close();
  });

  it('counts published and delivered notifications in /metrics', async () => {
    const metricsB = (await request(`${b.internalUrl}/metrics`)).body;
    expect(metricsB).toMatch(
      /^carecast_notifications_published_total\{result="published"\} [1-9]/m,
    );
    const metricsA = (await request(`${a.internalUrl}/metrics`)).body;
    // The duplicate went through node A: idempotency holds across nodes.
    expect(metricsA).toMatch(
      /^carecast_notifications_published_total\{result="duplicate"\} [1-9]/m,
    );
    expect(metricsA).toMatch(/^carecast_notifications_delivered_total [1-9]/m);
    expect(metricsA).toMatch(/^carecast_delivery_failures_total\{reason="slow_consumer"\} [1-9]/m);
    expect(metricsA).toMatch(/^carecast_delivery_latency_seconds_count [1-9]/m);
  });
});
