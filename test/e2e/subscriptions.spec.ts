import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { startNode, type TestNode } from '../support/app.js';
import { eventually, request } from '../support/http-client.js';
import { CanaryWatch, PHI_CANARY, PHI_CANARY_TEXT } from '../support/phi-canary.js';
import { publish, signedRequest } from '../support/publisher.js';
import { doctor, patient, ticketFor } from '../support/tokens.js';
import { connectOk, TEST_ORIGIN, type TestClient } from '../support/ws-client.js';

/** Subscription rules and limits on one embedded node (in-memory stores and bus). */
describe('subscriptions', () => {
  let node: TestNode;
  let frames = 0;

  beforeAll(async () => {
    node = await startNode({
      ALLOWED_ORIGINS: TEST_ORIGIN,
      MAX_SUBSCRIPTIONS_PER_CONNECTION: '2',
      RATE_SUBSCRIBE_PER_CONNECTION: '4/60s',
      RATE_SUBSCRIBE_PER_USER: '6/60s',
    });
  });
  afterAll(async () => {
    await node?.stop();
  });

  async function open(token: string): Promise<TestClient> {
    const c = await connectOk(node, { ticket: await ticketFor(node, token) });
    await c.next('welcome');
    return c;
  }

  async function send(c: TestClient, type: 'subscribe' | 'unsubscribe', channel: string) {
    const id = `f${++frames}`;
    c.send({ type, id, channel });
    const answer = await c.next();
    expect(answer.id).toBe(id);
    return answer;
  }

  it.each([
    ['an unknown kind', 'ward:w-12345678'],
    ['a non-opaque id', 'patient:123456789'],
    ['an SSN-shaped id', 'patient:123-45-6789'],
    ['extra segments', 'patient:pt-4c9a1b2e:x'],
    ['upper case', 'PATIENT:pt-4c9a1b2e'],
  ])('answers invalid_channel to %s', async (_label, channel) => {
    const c = await open(await patient(`pt-invalid${++frames}`));
    expect(await send(c, 'subscribe', channel)).toMatchObject({
      type: 'error',
      code: 'invalid_channel',
    });
    c.close();
  });

  it('acks a repeated subscribe and an unsubscribe, and stops delivery after unsubscribe', async () => {
    const c = await open(await patient('pt-unsub0001'));
    expect(await send(c, 'subscribe', 'patient:pt-unsub0001')).toMatchObject({ type: 'ack' });
    expect(await send(c, 'subscribe', 'patient:pt-unsub0001')).toMatchObject({ type: 'ack' });
    expect(await send(c, 'unsubscribe', 'patient:pt-unsub0001')).toMatchObject({ type: 'ack' });
    await publish(node, {
      id: 'evt-unsub0001',
      channel: 'patient:pt-unsub0001',
      kind: 'message.received',
      ref: 'msg-0000001a',
    });
    // Still connected and answering; the notification never arrived before this pong.
    c.send({ type: 'ping', id: 'after' });
    expect(await c.next()).toEqual({ type: 'pong', id: 'after' });
    c.close();
  });

  it('answers too_many_subscriptions past MAX_SUBSCRIPTIONS_PER_CONNECTION', async () => {
    await signedRequest(node, '/internal/v1/care-teams/pt-cap000001/members/dr-capped001', {
      method: 'PUT',
    });
    const c = await open(await doctor('dr-capped001'));
    expect(await send(c, 'subscribe', 'doctor:dr-capped001')).toMatchObject({ type: 'ack' });
    expect(await send(c, 'subscribe', 'patient:pt-cap000001')).toMatchObject({ type: 'ack' });
    await signedRequest(node, '/internal/v1/care-teams/pt-cap000002/members/dr-capped001', {
      method: 'PUT',
    });
    expect(await send(c, 'subscribe', 'patient:pt-cap000002')).toMatchObject({
      type: 'error',
      code: 'too_many_subscriptions',
    });
    c.close();
  });

  it('rate-limits subscribes per connection, then closes 4008 when the client keeps going', async () => {
    const c = await open(await patient('pt-rated0001'));
    const answers = [];
    for (let i = 0; i < 4; i++)
      answers.push((await send(c, 'subscribe', 'patient:pt-other0001')).code);
    expect(answers).toEqual(['forbidden', 'forbidden', 'forbidden', 'forbidden']);
    expect(await send(c, 'subscribe', 'patient:pt-rated0001')).toMatchObject({
      code: 'rate_limited',
    });
    for (let i = 0; i < 5; i++)
      c.send({ type: 'subscribe', id: `x${i}`, channel: 'patient:pt-rated0001' });
    expect(await c.closedWithin(3000)).toEqual({ code: 4008, reason: 'rate_limited' });
  });

  it('rate-limits subscribes per user across connections', async () => {
    const first = await open(await patient('pt-userrate1'));
    const second = await open(await patient('pt-userrate1'));
    for (let i = 0; i < 3; i++) await send(first, 'subscribe', 'patient:pt-userrate9');
    for (let i = 0; i < 3; i++) await send(second, 'subscribe', 'patient:pt-userrate9');
    expect(await send(second, 'subscribe', 'patient:pt-userrate1')).toMatchObject({
      code: 'rate_limited',
    });
    first.close();
    second.close();
  });

  it('revokes a launch-context subscription when a refresh drops that context', async () => {
    const c = await open(await doctor('dr-launched2', { patient: 'pt-launchctx' }));
    expect(await send(c, 'subscribe', 'patient:pt-launchctx')).toMatchObject({ type: 'ack' });
    const plain = await ticketFor(node, await doctor('dr-launched2'));
    c.send({ type: 'refresh', id: 'r', ticket: plain });
    expect(await c.next()).toEqual({ type: 'revoked', channel: 'patient:pt-launchctx' });
    expect(await c.next()).toMatchObject({ type: 'ack', id: 'r' });
    c.close();
  });

  it('audits each decision with its reason', async () => {
    const file = path.join(node.config.audit.dir, `audit-${node.config.nodeId}.jsonl`);
    await eventually(async () => {
      const text = await readFile(file, 'utf8').catch(() => '');
      return (
        text.includes('"event":"ws.subscribe","outcome":"allow","reason":"own_channel"') &&
        text.includes('"event":"ws.subscribe","outcome":"deny","reason":"not_own_channel"') &&
        text.includes('"event":"rate.limited"')
      );
    });
  });

  it('disconnects every connection of a user with 4503 and refuses their tickets while blocked', async () => {
    const c1 = await open(await doctor('dr-blocked01'));
    const c2 = await open(await doctor('dr-blocked01'));
    const other = await open(await doctor('dr-notblock1'));
    const res = await signedRequest(node, '/internal/v1/users/doctor:dr-blocked01/disconnect', {
      body: { blockSeconds: 60 },
    });
    expect(res.status).toBe(202);
    expect(await c1.closedWithin(3000)).toEqual({ code: 4503, reason: 'access_revoked' });
    expect(await c2.closedWithin(3000)).toEqual({ code: 4503, reason: 'access_revoked' });
    const ticket = await request(`${node.publicUrl}/v1/tickets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await doctor('dr-blocked01')}` },
    });
    expect(ticket.status).toBe(403);
    expect(ticket.json()).toEqual({ error: 'user_blocked' });
    other.send({ type: 'ping', id: 'p' });
    expect(await other.next()).toEqual({ type: 'pong', id: 'p' });
    other.close();
  });

  it('refuses malformed disconnect requests with 422 naming fields', async () => {
    const badUser = await signedRequest(
      node,
      `/internal/v1/users/${encodeURIComponent('admin:root')}/disconnect`,
      { body: {} },
    );
    expect(badUser.json()).toEqual({ error: 'invalid_payload', fields: ['user'] });
    const badBlock = await signedRequest(
      node,
      '/internal/v1/users/doctor:dr-blocked02/disconnect',
      {
        body: { blockSeconds: -1 },
      },
    );
    expect(badBlock.json()).toEqual({ error: 'invalid_payload', fields: ['blockSeconds'] });
  });

  it('audits care-team changes and disconnects with the user as actor, never a user key as reason or channel', async () => {
    const member = '/internal/v1/care-teams/pt-auditct1/members/dr-auditct1';
    expect((await signedRequest(node, member, { method: 'PUT' })).status).toBe(204);
    expect((await signedRequest(node, member, { method: 'DELETE' })).status).toBe(204);
    const disconnect = '/internal/v1/users/doctor:dr-auditdc1/disconnect';
    expect((await signedRequest(node, disconnect, { body: {} })).status).toBe(202);

    const file = path.join(node.config.audit.dir, `audit-${node.config.nodeId}.jsonl`);
    const recordsOf = async (actor: string) =>
      (await readFile(file, 'utf8'))
        .split('\n')
        .filter((line) => line.includes(`"actor":"${actor}"`))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    let careTeam: Record<string, unknown>[] = [];
    let disconnected: Record<string, unknown>[] = [];
    await eventually(async () => {
      careTeam = await recordsOf('doctor:dr-auditct1');
      disconnected = await recordsOf('doctor:dr-auditdc1');
      return careTeam.length === 2 && disconnected.length === 1;
    });
    const fields = ({ event, outcome, reason, actor, channel }: Record<string, unknown>) => ({
      event,
      outcome,
      reason,
      actor,
      channel,
    });
    expect(careTeam.map(fields)).toEqual([
      {
        event: 'careteam.added',
        outcome: 'ok',
        reason: 'care_team_member_added',
        actor: 'doctor:dr-auditct1',
        channel: 'patient:pt-auditct1',
      },
      {
        event: 'careteam.removed',
        outcome: 'ok',
        reason: 'care_team_member_removed',
        actor: 'doctor:dr-auditct1',
        channel: 'patient:pt-auditct1',
      },
    ]);
    expect(disconnected.map(fields)).toEqual([
      {
        event: 'user.disconnected',
        outcome: 'ok',
        reason: 'disconnected',
        actor: 'doctor:dr-auditdc1',
        channel: undefined,
      },
    ]);
  });

  it('keeps the PHI canary out of subscription answers, close reasons, logs, audit and metrics', async () => {
    const watch = new CanaryWatch();
    const c = await open(await patient('pt-canary001'));
    for (const channel of [
      `patient:${PHI_CANARY.mrn}`,
      PHI_CANARY_TEXT,
      `doctor:${PHI_CANARY.email}`,
    ]) {
      c.send({ type: 'subscribe', id: `c${++frames}`, channel });
      watch.frame(JSON.stringify(await c.next()));
    }
    watch.response(
      await signedRequest(
        node,
        `/internal/v1/users/${encodeURIComponent(`patient:${PHI_CANARY.name}`)}/disconnect`,
        {
          body: {},
        },
      ),
    );
    watch.response(
      await signedRequest(
        node,
        `/internal/v1/care-teams/${PHI_CANARY.mrn}/members/${encodeURIComponent(PHI_CANARY.email)}`,
        {
          method: 'PUT',
        },
      ),
    );
    c.close();
    watch.closeReason((await c.closed).reason);
    await watch.expectClean(node);
  });
});

describe('publisher rate limit', () => {
  it('answers 429 with Retry-After past RATE_PUBLISH_PER_KEY, per key', async () => {
    const node = await startNode({ RATE_PUBLISH_PER_KEY: '2/1h' });
    try {
      const body = (i: number) => ({
        id: `evt-rate0000${i}`,
        channel: 'patient:pt-4c9a1b2e',
        kind: 'result.available',
        ref: 'res-0000001a',
      });
      expect((await publish(node, body(1))).status).toBe(202);
      expect((await publish(node, body(2))).status).toBe(202);
      const limited = await publish(node, body(3));
      expect(limited.status).toBe(429);
      expect(limited.json()).toEqual({ error: 'rate_limited' });
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await node.stop();
    }
  });
});
