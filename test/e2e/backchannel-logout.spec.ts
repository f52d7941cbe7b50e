import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { auditFilePath } from '../../src/audit/audit-file.js';
import { type AuditRecord, parseJsonLines } from '../../src/core/audit-chain.js';
import { type RunningNode, startNode, TEST_DEV_SECRETS, type TestNode } from '../support/app.js';
import { eventually, request } from '../support/http-client.js';
import { logoutToken, postLogout } from '../support/logout.js';
import { CanaryWatch, PHI_CANARY, PHI_CANARY_TEXT } from '../support/phi-canary.js';
import { startTwoNodes, type TwoNodes } from '../support/two-nodes.js';
import { doctor, ticketFor } from '../support/tokens.js';
import { connect, connectOk, TEST_ORIGIN, type TestClient } from '../support/ws-client.js';

/*
 * OIDC back-channel logout (contract §8), end to end: on two nodes sharing Redis (the logout
 * posted to one, sessions on both), and on one embedded node with in-memory stores.
 */

const nowSeconds = () => Math.floor(Date.now() / 1000);
let users = 0;
const nextUser = () => `dr-logout${String(++users).padStart(3, '0')}x`;

async function session(node: RunningNode, token: string): Promise<TestClient> {
  const client = await connectOk(node as TestNode, {
    ticket: await ticketFor(node as TestNode, token),
  });
  await client.next('welcome');
  return client;
}

/** Still open: a ping is answered. */
async function expectOpen(client: TestClient): Promise<void> {
  client.send({ type: 'ping', id: 'alive' });
  expect(await client.next('pong')).toEqual({ type: 'pong', id: 'alive' });
}

/** Every audit record the node has written so far. */
async function auditOf(node: RunningNode): Promise<AuditRecord[]> {
  const file = auditFilePath(node.config.audit.dir, node.config.nodeId);
  const text = await readFile(file, 'utf8').catch(() => '');
  return parseJsonLines(text).records as AuditRecord[];
}

function ticketStatus(node: RunningNode, token: string): Promise<number> {
  return request(`${node.publicUrl}/v1/tickets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  }).then((res) => res.status);
}

/** The scenarios, run against `nodes()`: [where the logout is posted, the other node]. */
function scenarios(nodes: () => [RunningNode, RunningNode]) {
  it("closes the user's sockets on every node with 4503, refuses older tokens, accepts a newer one", async () => {
    const [posted, other] = nodes();
    const id = nextUser();
    const old = await doctor(id, { sid: 'kc-session-a', issuedAt: nowSeconds() - 10 });
    const onPosted = await session(posted, old);
    const onOther = await session(other, old);
    // A ticket minted before the logout, not yet used: it must not open a session after it.
    const early = await ticketFor(other as TestNode, old);
    const earlyRefresh = await ticketFor(other as TestNode, old);
    const bystander = await session(other, await doctor(nextUser(), { sid: 'kc-session-a' }));

    const res = await postLogout(posted, await logoutToken({ sub: id }));
    const after = nowSeconds();
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toBe('');

    expect(await onPosted.closedWithin(5000)).toEqual({ code: 4503, reason: 'access_revoked' });
    expect(await onOther.closedWithin(5000)).toEqual({ code: 4503, reason: 'access_revoked' });
    await expectOpen(bystander);

    expect(await ticketStatus(posted, old)).toBe(401);
    expect(await ticketStatus(other, old)).toBe(401);
    const refused = await connect(other as TestNode, { ticket: early });
    expect(refused).toMatchObject({ ok: false, status: 401 });

    // Audited where it was received, and by each node for the user whose sessions it closed.
    await eventually(async () =>
      (await auditOf(posted)).some(
        (r) => r.event === 'user.logged_out' && r.outcome === 'allow' && r.reason === 'backchannel',
      ),
    );
    for (const node of new Set([posted, other])) {
      await eventually(async () =>
        (await auditOf(node)).some(
          (r) => r.event === 'user.logged_out' && r.outcome === 'ok' && r.actor === `doctor:${id}`,
        ),
      );
    }

    const newer = await doctor(id, { sid: 'kc-session-b', issuedAt: after + 1 });
    const back = await session(other, newer);
    await expectOpen(back);
    // Nor may a pre-logout ticket extend the newer session in band; it is refused unspent.
    back.send({ type: 'refresh', id: 'r-old', ticket: earlyRefresh });
    expect(await back.next()).toEqual({ type: 'error', id: 'r-old', code: 'invalid_ticket' });
    await eventually(async () =>
      (await auditOf(other)).some(
        (r) => r.event === 'ws.refreshed' && r.outcome === 'deny' && r.reason === 'ticket_invalid',
      ),
    );
    back.send({ type: 'refresh', id: 'r-new', ticket: await ticketFor(other as TestNode, newer) });
    expect((await back.next()).type).toBe('ack');
    back.close();
    bystander.close();
  });

  it('with sub and sid closes only that provider session of the user', async () => {
    const [posted, other] = nodes();
    const id = nextUser();
    const a = await doctor(id, { sid: 'kc-session-1', issuedAt: nowSeconds() - 5 });
    const b = await doctor(id, { sid: 'kc-session-2', issuedAt: nowSeconds() - 5 });
    const onA = await session(other, a);
    const onB = await session(other, b);
    const res = await postLogout(posted, await logoutToken({ sub: id, sid: 'kc-session-1' }));
    expect(res.status).toBe(200);
    expect(await onA.closedWithin(5000)).toEqual({ code: 4503, reason: 'access_revoked' });
    await expectOpen(onB);
    expect(await ticketStatus(posted, a)).toBe(401);
    expect(await ticketStatus(posted, b)).toBe(201);
    onB.close();
  });

  it('with sid only closes the sessions of that provider session', async () => {
    const [posted, other] = nodes();
    const sid = `kc-sid-only-${nextUser()}`;
    const token = await doctor(nextUser(), { sid, issuedAt: nowSeconds() - 5 });
    const onOther = await session(other, token);
    expect((await postLogout(posted, await logoutToken({ sid }))).status).toBe(200);
    expect(await onOther.closedWithin(5000)).toEqual({ code: 4503, reason: 'access_revoked' });
    expect(await ticketStatus(other, token)).toBe(401);
  });

  it('answers every invalid logout token 400 invalid_request, with no effect', async () => {
    const [posted, other] = nodes();
    const id = nextUser();
    const token = await doctor(id, { sid: 'kc-session-x', issuedAt: nowSeconds() - 5 });
    const live = await session(other, token);
    const watch = new CanaryWatch();

    // A replayed jti: its first use logs out someone else, the replay must do nothing more.
    const jti = `replayed-jti-${nextUser()}`;
    const replayTarget = nextUser();
    expect((await postLogout(posted, await logoutToken({ sub: replayTarget, jti }))).status).toBe(
      200,
    );
    const after = nowSeconds();
    const replayedUser = await session(other, await doctor(replayTarget, { issuedAt: after + 1 }));

    const variants: [string, Promise<string> | string, { body?: string; contentType?: string }?][] =
      [
        [
          'bad signature',
          logoutToken({ sub: id, secret: 'another-secret-0123456789abcdef012345' }),
        ],
        ['wrong aud', logoutToken({ sub: id, audience: 'someone-else' })],
        ['wrong iss', logoutToken({ sub: id, issuer: 'https://evil.example' })],
        ['missing events', logoutToken({ sub: id, events: null })],
        ['events without the logout member', logoutToken({ sub: id, events: { other: {} } })],
        ['nonce present', logoutToken({ sub: id, nonce: 'n-0123' })],
        ['stale iat', logoutToken({ sub: id, iat: nowSeconds() - 200 })],
        ['iat in the future', logoutToken({ sub: id, iat: nowSeconds() + 200 })],
        ['replayed jti', logoutToken({ sub: replayTarget, jti })],
        ['neither sub nor sid', logoutToken({})],
        ['an access token', doctor(id)],
        ['not a JWT', PHI_CANARY_TEXT],
        ['no logout_token field', '', { body: `token=${encodeURIComponent(PHI_CANARY.email)}` }],
        [
          'a JSON body',
          '',
          {
            contentType: 'application/json',
            body: JSON.stringify({ logout_token: PHI_CANARY.name }),
          },
        ],
        ['a broken form encoding', '', { body: 'logout_token=%E0%A4%A' }],
      ];
    for (const [name, pending, options] of variants) {
      const res = watch.response(await postLogout(posted, await pending, options), name);
      expect([name, res.status, res.body]).toEqual([name, 400, '{"error":"invalid_request"}']);
      expect(res.headers['cache-control']).toBe('no-store');
    }
    await expectOpen(live);
    await expectOpen(replayedUser);
    await eventually(async () => {
      const reasons = new Set((await auditOf(posted)).map((r) => r.reason));
      return [
        'backchannel_refused:invalid_token',
        'backchannel_refused:missing_events',
        'backchannel_refused:nonce_present',
        'backchannel_refused:stale_iat',
        'backchannel_refused:replayed',
        'backchannel_refused:missing_subject',
        'backchannel_refused:malformed_request',
      ].every((r) => reasons.has(r));
    });
    expect(await ticketStatus(posted, token)).toBe(201);
    live.close();
    replayedUser.close();
    await watch.expectClean(posted, other);
  });

  it('keeps the canary out of responses, frames, close reasons, logs, audit and metrics', async () => {
    const [posted, other] = nodes();
    const watch = new CanaryWatch();
    const id = nextUser();
    const token = await doctor(id, { sid: PHI_CANARY_TEXT, issuedAt: nowSeconds() - 5 });
    const client = await session(other, token);
    const res = await postLogout(
      posted,
      await logoutToken({ sub: id, sid: PHI_CANARY_TEXT, extra: { name: PHI_CANARY.name } }),
    );
    watch.response(res, 'logout');
    expect(res.status).toBe(200);
    const closed = await client.closedWithin(5000);
    watch.closeReason(closed.reason);
    for (const frame of client.frames) watch.frame(frame);
    await watch.expectClean(posted, other);
  });
}

describe('back-channel logout across two nodes over Redis', () => {
  let a: TestNode;
  let b: RunningNode;
  let nodes: TwoNodes | undefined;

  beforeAll(async () => {
    nodes = await startTwoNodes('logout', {}, ['node-a', 'node-b']);
    ({ a, b } = nodes);
  });
  afterAll(async () => {
    await nodes?.stop();
  });

  describe('posted to the in-process node', () => scenarios(() => [a, b]));
  describe('posted to the other process', () => scenarios(() => [b, a]));
});

describe('back-channel logout on one embedded node', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startNode({ ALLOWED_ORIGINS: TEST_ORIGIN });
  });
  afterAll(async () => {
    await node?.stop();
  });

  scenarios(() => [node, node]);

  it('refuses logouts past RATE_BACKCHANNEL_LOGOUT with 400, audited', async () => {
    const limited = await startNode({
      ALLOWED_ORIGINS: TEST_ORIGIN,
      RATE_BACKCHANNEL_LOGOUT: '2/1h',
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++)
        statuses.push((await postLogout(limited, await logoutToken({ sub: nextUser() }))).status);
      expect(statuses).toEqual([200, 200, 400]);
      const metrics = (await request(`${limited.internalUrl}/metrics`)).body;
      expect(metrics).toMatch(/^carecast_backchannel_logouts_total\{outcome="rate_limited"\} 1$/m);
      expect(metrics).toMatch(/^carecast_backchannel_logouts_total\{outcome="logged_out"\} 2$/m);
    } finally {
      await limited.stop();
    }
  });

  it('accepts logout tokens of either secret while AUTH_HS256_SECRET rolls, no third one', async () => {
    const previous = TEST_DEV_SECRETS.accessTokenSecret;
    const next = 'next-idp-hs256-secret-0123456789abcdefghij';
    const rolling = await startNode({
      ALLOWED_ORIGINS: TEST_ORIGIN,
      AUTH_HS256_SECRET: next,
      AUTH_HS256_SECRET_PREVIOUS: previous,
    });
    const watch = new CanaryWatch();
    try {
      for (const secret of [next, previous]) {
        const id = nextUser();
        const client = await session(
          rolling,
          await doctor(id, { secret, sid: PHI_CANARY_TEXT, issuedAt: nowSeconds() - 5 }),
        );
        const res = watch.response(
          await postLogout(rolling, await logoutToken({ sub: id, secret, sid: PHI_CANARY_TEXT })),
          'logout',
        );
        expect(res.status).toBe(200);
        expect(await client.closedWithin(5000)).toEqual({ code: 4503, reason: 'access_revoked' });
      }
      const id = nextUser();
      const live = await session(rolling, await doctor(id, { secret: next }));
      const stranger = `${next}-stranger`;
      const refused = watch.response(
        await postLogout(rolling, await logoutToken({ sub: id, secret: stranger })),
        'stranger',
      );
      expect([refused.status, refused.body]).toEqual([400, '{"error":"invalid_request"}']);
      await expectOpen(live);
      live.close();
      await watch.expectClean(rolling);
      // A reminder to finish the rotation, naming the variable, never a secret.
      const warning = rolling.logs
        .records()
        .find((r) => String(r.msg).startsWith('accepting access tokens of a second secret'));
      expect(warning).toMatchObject({ variable: 'AUTH_HS256_SECRET_PREVIOUS' });
      expect(rolling.logs.text).not.toContain(previous);
      expect(rolling.logs.text).not.toContain(next);
    } finally {
      await rolling.stop();
    }
  });
});
