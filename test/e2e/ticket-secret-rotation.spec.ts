import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startNode, type TestNode, uniquePrefix } from '../support/app.js';
import { CanaryWatch, PHI_CANARY, PHI_CANARY_TEXT } from '../support/phi-canary.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { doctor, ticketFor } from '../support/tokens.js';
import { connect, connectOk, TEST_ORIGIN } from '../support/ws-client.js';
import { untilReady } from '../support/readiness.js';

/**
 * Rotating TICKET_SECRET without refusing anyone (docs/runbook.md, "Rotate the ticket
 * secret"): nodes over one Redis, each in one state of the rolling procedure. Tickets are
 * signed with TICKET_SECRET only and verified with TICKET_SECRET or TICKET_SECRET_PREVIOUS.
 */

const OLD = 'old-ticket-secret-0123456789abcdef0123456789';
const NEW = 'new-ticket-secret-0123456789abcdef0123456789';
const WARNING = 'accepting tickets of a second secret (TICKET_SECRET_PREVIOUS)';

describe('ticket secret rotation over Redis', () => {
  let redis: RedisServerHandle;
  /** Not yet restarted: signs and verifies with the old secret only. */
  let old: TestNode;
  /** First roll of the procedure: still signs with the old secret, already accepts the new. */
  let accepting: TestNode;
  /** Second roll: signs with the new secret, still accepts the old (TICKET_SECRET_PREVIOUS). */
  let rotated: TestNode;
  /** Done: TICKET_SECRET_PREVIOUS removed. */
  let done: TestNode;

  beforeAll(async () => {
    redis = await startRedisServer();
    const shared = {
      ALLOWED_ORIGINS: TEST_ORIGIN,
      RATE_TICKETS_PER_USER: '1000/60s',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix('ticket-rotation'),
    };
    old = await startNode({ ...shared, NODE_ID: 'rotation-old', TICKET_SECRET: OLD });
    accepting = await startNode({
      ...shared,
      NODE_ID: 'rotation-accepting',
      TICKET_SECRET: OLD,
      TICKET_SECRET_PREVIOUS: NEW,
    });
    rotated = await startNode({
      ...shared,
      NODE_ID: 'rotation-rotated',
      TICKET_SECRET: NEW,
      TICKET_SECRET_PREVIOUS: OLD,
    });
    done = await startNode({ ...shared, NODE_ID: 'rotation-done', TICKET_SECRET: NEW });
    await untilReady([old, accepting, rotated, done]);
  }, 60_000);
  afterAll(async () => {
    for (const node of [old, accepting, rotated, done]) await node?.stop();
    await redis?.stop();
  });

  async function expectRedeemed(node: TestNode, ticket: string): Promise<void> {
    const client = await connectOk(node, { ticket });
    expect(await client.next('welcome')).toMatchObject({ type: 'welcome' });
    client.close();
    await client.closedWithin(5000);
  }

  async function expectRefused(node: TestNode, ticket: string): Promise<void> {
    expect(await connect(node, { ticket })).toMatchObject({
      ok: false,
      status: 401,
      body: '{"error":"ticket_invalid"}',
    });
  }

  it('redeems on a node with the new secret and the old as previous a ticket of an old node', async () => {
    await expectRedeemed(rotated, await ticketFor(old, await doctor('dr-rotate001')));
  });

  it('refuses an old ticket once TICKET_SECRET_PREVIOUS is removed, without burning it', async () => {
    const ticket = await ticketFor(old, await doctor('dr-rotate002'));
    await expectRefused(done, ticket);
    // Verification comes before redemption: the refused ticket is still good elsewhere.
    await expectRedeemed(rotated, ticket);
  });

  it('signs with TICKET_SECRET only: a rotated node’s ticket needs the new secret', async () => {
    const ticket = await ticketFor(rotated, await doctor('dr-rotate003'));
    await expectRefused(old, ticket);
    await expectRedeemed(done, ticket);
  });

  it('lets a node of the first roll redeem tickets of nodes already on the new secret', async () => {
    // Why the procedure first rolls the new secret in as an accepted one: once every node
    // accepts it, no node signing with it can be refused anywhere.
    await expectRedeemed(accepting, await ticketFor(rotated, await doctor('dr-rotate004')));
    await expectRedeemed(rotated, await ticketFor(accepting, await doctor('dr-rotate005')));
  });

  it('accepts an in-band refresh with a ticket of the previous secret', async () => {
    const client = await connectOk(rotated, {
      ticket: await ticketFor(rotated, await doctor('dr-rotate006')),
    });
    await client.next('welcome');
    const ticket = await ticketFor(old, await doctor('dr-rotate006'));
    client.send({ type: 'refresh', id: 'r1', ticket });
    expect(await client.next()).toMatchObject({ type: 'ack', id: 'r1' });
    const refused = await ticketFor(old, await doctor('dr-rotate006'));
    const other = await connectOk(done, {
      ticket: await ticketFor(done, await doctor('dr-rotate006')),
    });
    await other.next('welcome');
    other.send({ type: 'refresh', id: 'r2', ticket: refused });
    expect(await other.next()).toEqual({ type: 'error', id: 'r2', code: 'invalid_ticket' });
    client.close();
    other.close();
    await client.closedWithin(5000);
    await other.closedWithin(5000);
  });

  it('reminds the operator at start, naming the variable and never a secret', () => {
    for (const node of [accepting, rotated]) {
      const warning = node.logs.records().find((r) => String(r.msg).startsWith(WARNING));
      expect(warning).toMatchObject({ variable: 'TICKET_SECRET_PREVIOUS' });
    }
    expect(old.logs.text).not.toContain(WARNING);
    expect(done.logs.text).not.toContain(WARNING);
    for (const node of [old, accepting, rotated, done]) {
      expect(node.logs.text).not.toContain(OLD);
      expect(node.logs.text).not.toContain(NEW);
    }
  });

  it('never lets the PHI canary out when a ticket is checked against both secrets', async () => {
    const watch = new CanaryWatch();
    const ticket = await ticketFor(old, await doctor('dr-rotate007'));
    const [header, payload] = ticket.split('.');
    const outcomes = await Promise.all([
      connect(rotated, { ticket: `${header}.${payload}.${PHI_CANARY.mrn.replace(' ', '-')}` }),
      connect(rotated, { ticket: PHI_CANARY.name.replace(' ', '.') }),
      connect(done, { ticket, headers: { 'x-patient': PHI_CANARY_TEXT } }),
    ]);
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({ ok: false, status: 401 });
      if (!outcome.ok) {
        watch.frame(outcome.body, 'refusal body');
        watch.frame(JSON.stringify(outcome.headers), 'refusal headers');
      }
    }
    await watch.expectClean(old, accepting, rotated, done);
  });
});
