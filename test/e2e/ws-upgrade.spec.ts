import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeJwt, generateKeyPair, SignJWT } from 'jose';
import { startNode, TEST_DEV_SECRETS, type TestNode } from '../support/app.js';
import { eventually, request } from '../support/http-client.js';
import { CanaryWatch, PHI_CANARY, PHI_CANARY_TEXT } from '../support/phi-canary.js';
import { doctor, patient, ticketFor } from '../support/tokens.js';
import { connect, connectOk, TEST_ORIGIN } from '../support/ws-client.js';

const ticketKey = new TextEncoder().encode(TEST_DEV_SECRETS.ticketSecret);

/** A ticket signed with the real ticket secret but claims of the test's choosing. */
function forgeTicket(claims: Record<string, unknown>, header: Record<string, unknown> = {}) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'carecast-ticket+jwt', ...header })
    .sign(ticketKey);
}

async function auditRecords(node: TestNode): Promise<Record<string, unknown>[]> {
  const file = path.join(node.config.audit.dir, `audit-${node.config.nodeId}.jsonl`);
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('WebSocket upgrade over TLS', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startNode({ ALLOWED_ORIGINS: TEST_ORIGIN });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('connects once with a fresh ticket, selects carecast.v1 and refuses the same ticket after', async () => {
    const ticket = await ticketFor(node, await doctor());
    const client = await connectOk(node, { ticket });
    expect(client.ws.protocol).toBe('carecast.v1');
    const welcome = await client.next('welcome');
    expect(welcome).toEqual({
      type: 'welcome',
      connectionId: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/),
      sessionExpiresAt: expect.any(Number),
      heartbeatSeconds: 25,
    });
    const again = await connect(node, { ticket });
    expect(again).toMatchObject({ ok: false, status: 401, body: '{"error":"ticket_reused"}' });
    client.close();
  });

  it('lets exactly one of 50 parallel upgrades with one ticket through', async () => {
    const ticket = await ticketFor(node, await patient('pt-parallel01'));
    const results = await Promise.all(Array.from({ length: 50 }, () => connect(node, { ticket })));
    const opened = results.filter((r) => r.ok);
    expect(opened).toHaveLength(1);
    expect(results.filter((r) => !r.ok && r.status === 401)).toHaveLength(49);
    for (const r of opened) if (r.ok) r.client.close();
  });

  it.each([
    ['a cross-site origin', 'https://evil.example'],
    ['a suffix lookalike', `${TEST_ORIGIN}.evil.example`],
    ['a prefix lookalike', 'https://evilapp.carecast.test'],
    ['another scheme', TEST_ORIGIN.replace('https:', 'http:')],
    ['another port', `${TEST_ORIGIN}:8443`],
    ['the null origin', 'null'],
    ['a trailing slash', `${TEST_ORIGIN}/`],
    ['no origin at all', null],
  ])('answers 403 to %s without consuming the ticket', async (_label, origin) => {
    const ticket = await ticketFor(node, await doctor('dr-origin001'));
    const refused = await connect(node, { ticket, origin });
    expect(refused).toMatchObject({
      ok: false,
      status: 403,
      body: '{"error":"origin_not_allowed"}',
    });
    const client = await connectOk(node, { ticket });
    client.close();
  });

  it('answers 426 to WebSocket version 8', async () => {
    const ticket = await ticketFor(node, await doctor());
    // Version 8 clients send Sec-WebSocket-Origin; give the Origin too, so only the version is wrong.
    const refused = await connect(node, {
      ticket,
      protocolVersion: 8,
      headers: { Origin: TEST_ORIGIN },
    });
    expect(refused).toMatchObject({ ok: false, status: 426 });
    expect(!refused.ok && refused.headers['sec-websocket-version']).toBe('13');
  });

  it('answers 400 without carecast.v1 and 401 without a ticket', async () => {
    const ticket = await ticketFor(node, await doctor());
    expect(await connect(node, { protocols: [`ticket.${ticket}`] })).toMatchObject({
      ok: false,
      status: 400,
    });
    expect(await connect(node, { protocols: ['carecast.v1'] })).toMatchObject({
      ok: false,
      status: 401,
      body: '{"error":"ticket_missing"}',
    });
  });

  it('answers 404 to upgrades on other paths', async () => {
    const ticket = await ticketFor(node, await doctor());
    const refused = await connect(node, {
      ticket,
      url: `${node.publicUrl.replace('https', 'wss')}/v1/other`,
    });
    expect(refused).toMatchObject({ ok: false, status: 404 });
  });

  describe('refuses tickets that are not genuine and fresh with 401', () => {
    it('an access token presented as a ticket (wrong audience and type)', async () => {
      expect(await connect(node, { ticket: await doctor() })).toMatchObject({
        ok: false,
        status: 401,
      });
    });

    it('alg none', async () => {
      const real = decodeJwt(await ticketFor(node, await doctor()));
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const unsigned = `${b64({ alg: 'none', typ: 'carecast-ticket+jwt' })}.${b64(real)}.`;
      expect(await connect(node, { ticket: unsigned })).toMatchObject({
        ok: false,
        status: 401,
        body: '{"error":"ticket_invalid"}',
      });
    });

    it('an RS256 ticket signed by someone else (HS/RS confusion)', async () => {
      const { privateKey } = await generateKeyPair('RS256');
      const real = decodeJwt(await ticketFor(node, await doctor()));
      const forged = await new SignJWT(real)
        .setProtectedHeader({ alg: 'RS256', typ: 'carecast-ticket+jwt' })
        .sign(privateKey);
      expect(await connect(node, { ticket: forged })).toMatchObject({ ok: false, status: 401 });
    });

    it('an expired ticket', async () => {
      const now = Math.floor(Date.now() / 1000);
      const expired = await forgeTicket({
        aud: 'ws',
        sub: 'dr-7f3k2m9q',
        role: 'doctor',
        jti: 'expiredexpiredexpired0',
        iat: now - 120,
        exp: now - 60,
        lease: now + 3600,
      });
      expect(await connect(node, { ticket: expired })).toMatchObject({
        ok: false,
        status: 401,
        body: '{"error":"ticket_expired"}',
      });
    });

    it('a forged signature, which cannot burn the real ticket it copies', async () => {
      const ticket = await ticketFor(node, await doctor('dr-forged001'));
      const [header, , signature] = ticket.split('.');
      const claims = { ...decodeJwt(ticket), sub: 'dr-someone01' };
      const tampered = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
      expect(await connect(node, { ticket: tampered })).toMatchObject({
        ok: false,
        status: 401,
        body: '{"error":"ticket_invalid"}',
      });
      (await connectOk(node, { ticket })).close();
    });
  });

  it('answers 429 with Retry-After to a sixth connection of one user', async () => {
    const clients = [];
    for (let i = 0; i < 5; i++) {
      clients.push(
        await connectOk(node, { ticket: await ticketFor(node, await patient('pt-capped001')) }),
      );
    }
    const sixth = await connect(node, {
      ticket: await ticketFor(node, await patient('pt-capped001')),
    });
    expect(sixth).toMatchObject({
      ok: false,
      status: 429,
      body: '{"error":"too_many_connections"}',
    });
    expect(!sixth.ok && Number(sixth.headers['retry-after'])).toBeGreaterThan(0);
    // Another user is not affected, and a closed slot frees room.
    (
      await connectOk(node, { ticket: await ticketFor(node, await patient('pt-other0001')) })
    ).close();
    clients[0]!.close();
    await clients[0]!.closed;
    await eventually(async () => {
      const r = await connect(node, {
        ticket: await ticketFor(node, await patient('pt-capped001')),
      });
      if (r.ok) clients.push(r.client);
      return r.ok;
    });
    for (const c of clients) c.close();
  });

  it('refuses plaintext on the TLS port: no session without TLS', async () => {
    const ticket = await ticketFor(node, await doctor());
    await expect(
      connect(node, { ticket, url: `${node.publicUrl.replace('https', 'ws')}/v1/ws` }),
    ).rejects.toThrow();
  });

  it('audits each refusal with its reason and counts it by reason', async () => {
    await connect(node, { protocols: ['carecast.v1'] });
    await eventually(async () =>
      (await auditRecords(node)).some(
        (r) => r.event === 'ws.upgrade_rejected' && r.reason === 'ticket_missing',
      ),
    );
    const metrics = (await request(`${node.internalUrl}/metrics`)).body;
    expect(metrics).toMatch(
      /^carecast_ws_upgrades_rejected_total\{reason="origin_not_allowed"\} [1-9]/m,
    );
    expect(metrics).toMatch(
      /^carecast_ws_upgrades_rejected_total\{reason="ticket_reused"\} [1-9]/m,
    );
    expect(metrics).toMatch(
      /^carecast_ws_handshake_duration_seconds_count\{outcome="accepted"\} [1-9]/m,
    );
    const connected = (await auditRecords(node)).find((r) => r.event === 'ws.connected');
    expect(connected).toMatchObject({
      outcome: 'allow',
      actor: expect.stringMatching(/^(doctor|patient):/),
    });
    expect(connected?.jti).toEqual(expect.any(String));
    expect(connected?.conn).toEqual(expect.any(String));
  });

  it('never lets the PHI canary out of the handshake', async () => {
    const watch = new CanaryWatch();
    const ticket = await ticketFor(node, await doctor());
    const outcomes = await Promise.all([
      connect(node, { ticket: PHI_CANARY.mrn.replace(' ', '-') }),
      connect(node, { ticket, origin: `https://${PHI_CANARY.email.replace('@', '.')}` }),
      connect(node, { ticket, headers: { 'x-patient': PHI_CANARY_TEXT } }),
      connect(node, {
        ticket,
        url: `${node.publicUrl.replace('https', 'wss')}/v1/ws?name=${PHI_CANARY.mrn}`,
      }),
    ]);
    for (const outcome of outcomes) {
      if (outcome.ok) {
        const welcome = await outcome.client.next('welcome');
        watch.frame(JSON.stringify(welcome));
        // A well-formed id is echoed by contract; the canary goes where nothing is echoed.
        outcome.client.send({ type: 'ping', id: PHI_CANARY.name });
        outcome.client.send(JSON.stringify({ type: 'ping', id: '1', note: PHI_CANARY_TEXT }));
        outcome.client.send(PHI_CANARY_TEXT);
        for (let i = 0; i < 3; i++) watch.frame(JSON.stringify(await outcome.client.next('error')));
        outcome.client.close();
        watch.closeReason((await outcome.client.closed).reason);
      } else {
        watch.frame(outcome.body, 'refusal body');
        watch.frame(JSON.stringify(outcome.headers), 'refusal headers');
      }
    }
    await watch.expectClean(node);
  });
});

describe('WebSocket upgrade behind a trusted TLS proxy', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startNode({
      ALLOWED_ORIGINS: TEST_ORIGIN,
      TLS_TERMINATED_BY_PROXY: 'true',
      TRUSTED_PROXIES: '127.0.0.1,::1',
    });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('answers 403 not_tls to a plaintext upgrade the proxy did not mark https', async () => {
    const ticket = await ticketFor(node, await doctor('dr-proxied01')).catch(() => null);
    // The ticket endpoint itself refuses plaintext, so forge nothing: the upgrade must fail first.
    expect(ticket).toBeNull();
    const refused = await connect(node, { ticket: 'x.y.z' });
    expect(refused).toMatchObject({ ok: false, status: 403, body: '{"error":"not_tls"}' });
  });

  it('accepts the upgrade when the trusted proxy forwarded https', async () => {
    const headers = { 'x-forwarded-proto': 'https' };
    const res = await request(`${node.publicUrl}/v1/tickets`, {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${await doctor('dr-proxied01')}` },
    });
    expect(res.status).toBe(201);
    const { ticket } = res.json() as { ticket: string };
    const client = await connectOk(node, { ticket, headers });
    expect((await client.next('welcome')).type).toBe('welcome');
    client.close();
  });
});
