import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { auditFilePath } from '../../src/audit/audit-file.js';
import { type AuditRecord, checkpointSignature } from '../../src/core/audit-chain.js';
import { type RunningNode, startNode, type TestNode } from '../support/app.js';
import { eventually, request } from '../support/http-client.js';
import { CanaryWatch, PHI_CANARY_TEXT } from '../support/phi-canary.js';
import { startTwoNodes, type TwoNodes } from '../support/two-nodes.js';
import { addToCareTeam, publish } from '../support/publisher.js';
import { doctor, ticketFor } from '../support/tokens.js';
import { connectOk, TEST_ORIGIN, type TestClient } from '../support/ws-client.js';
import { readAudit, TEST_AUDIT_KEY, verifyAuditFile } from '../audit/support/audit-helpers.js';

/*
 * Break-glass subscribe (contract §8), end to end on an embedded node: the scope, each reason,
 * the rate, the sealed audit record, history recovery within the grant, and the grant's end.
 */

type Frame = Record<string, unknown> & { type: string };

const SCOPE = 'openid carecast/break-glass';
const REASONS = ['emergency', 'coverage', 'patient_request'] as const;
let ids = 0;
const nextDoctor = () => `dr-glass${String(++ids).padStart(4, '0')}x`;
const nextPatient = () => `pt-glass${String(++ids).padStart(4, '0')}x`;
let events = 0;
const nextEvent = () => `evt-glass${String(++events).padStart(5, '0')}`;

async function session(node: RunningNode, token: string): Promise<TestClient> {
  const client = await connectOk(node as TestNode, {
    ticket: await ticketFor(node as TestNode, token),
  });
  await client.next('welcome');
  return client;
}

/** Sends a subscribe and answers its reply (ack or error), with any replay before it. */
async function subscribe(
  client: TestClient,
  channel: string,
  extra: Record<string, unknown> = {},
): Promise<{ answer: Frame; before: Frame[] }> {
  const id = `s${++events}`;
  client.send({ type: 'subscribe', id, channel, ...extra });
  const before: Frame[] = [];
  for (;;) {
    const frame = await client.next();
    if (frame.type === 'notification') before.push(frame);
    else return { answer: frame, before };
  }
}

const breakGlass = (reason: string) => ({ breakGlass: { reason } });

async function metricValue(node: RunningNode, sample: string): Promise<number> {
  const { body } = await request(`${node.internalUrl}/metrics`);
  const line = body.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? Number.NaN : Number(line.slice(sample.length + 1));
}

async function auditRecords(node: TestNode): Promise<AuditRecord[]> {
  return (await readAudit(auditFilePath(node.config.audit.dir, node.config.nodeId))).records;
}

describe('break-glass subscribe on one embedded node', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startNode({ ALLOWED_ORIGINS: TEST_ORIGIN });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('without the scope is forbidden, audited as a ws.subscribe denial', async () => {
    const client = await session(node, await doctor(nextDoctor(), { scope: 'openid profile' }));
    const channel = `patient:${nextPatient()}`;
    const { answer } = await subscribe(client, channel, breakGlass('emergency'));
    expect(answer).toEqual({ type: 'error', id: expect.any(String), code: 'forbidden' });
    // Ordinary records are written in the background: wait for this one.
    await eventually(async () =>
      (await auditRecords(node)).some(
        (r) =>
          r.event === 'ws.subscribe' &&
          r.outcome === 'deny' &&
          r.reason === 'break_glass_no_scope' &&
          r.channel === channel,
      ),
    );
    client.close();
  });

  it('grants each reason, delivers the channel, counts it, and refuses past the rate', async () => {
    const client = await session(node, await doctor(nextDoctor(), { scope: SCOPE }));
    const before = await Promise.all(
      REASONS.map((r) => metricValue(node, `carecast_break_glass_total{reason="${r}"}`)),
    );
    const patients = REASONS.map(() => nextPatient());
    for (const [i, reason] of REASONS.entries()) {
      const { answer } = await subscribe(client, `patient:${patients[i]}`, breakGlass(reason));
      expect(answer).toMatchObject({ type: 'ack', seq: 0 });
    }
    const after = await Promise.all(
      REASONS.map((r) => metricValue(node, `carecast_break_glass_total{reason="${r}"}`)),
    );
    expect(after).toEqual(before.map((n) => n + 1));

    const note = {
      id: nextEvent(),
      channel: `patient:${patients[0]}`,
      kind: 'result.available',
      ref: 'res-4k2m9q7z',
    };
    expect((await publish(node, note)).status).toBe(202);
    expect(await client.next('notification')).toMatchObject({ channel: note.channel, id: note.id });

    const { answer } = await subscribe(client, `patient:${nextPatient()}`, breakGlass('emergency'));
    expect(answer).toMatchObject({ type: 'error', code: 'rate_limited' });
    client.close();
  });

  it('refuses a reason outside BREAK_GLASS_REASONS with bad_request, echoing nothing', async () => {
    const watch = new CanaryWatch();
    const client = await session(node, await doctor(nextDoctor(), { scope: SCOPE }));
    for (const reason of ['curiosity', PHI_CANARY_TEXT.slice(0, 60)]) {
      const { answer } = await subscribe(client, `patient:${nextPatient()}`, breakGlass(reason));
      expect(answer).toMatchObject({ type: 'error', code: 'bad_request' });
    }
    for (const frame of client.frames) watch.frame(frame);
    client.close();
    await watch.expectClean(node);
  });

  it('is an ordinary subscribe for a care-team member: no grant, no count', async () => {
    const id = nextDoctor();
    const pt = nextPatient();
    expect((await addToCareTeam(node, pt, id)).status).toBe(204);
    const client = await session(node, await doctor(id, { scope: SCOPE }));
    const before = await metricValue(node, 'carecast_break_glass_total{reason="emergency"}');
    const { answer } = await subscribe(client, `patient:${pt}`, breakGlass('emergency'));
    expect(answer).toMatchObject({ type: 'ack' });
    expect(await metricValue(node, 'carecast_break_glass_total{reason="emergency"}')).toBe(before);
    client.close();
  });

  it('seals the grant: access.break_glass followed at once by a signed checkpoint', async () => {
    const client = await session(node, await doctor(nextDoctor(), { scope: SCOPE }));
    const channel = `patient:${nextPatient()}`;
    const { answer } = await subscribe(client, channel, breakGlass('coverage'));
    expect(answer).toMatchObject({ type: 'ack' });
    // Durable before the ack went out: no flush, no wait.
    const records = await auditRecords(node);
    const i = records.findIndex((r) => r.event === 'access.break_glass' && r.channel === channel);
    expect(records[i]).toMatchObject({
      outcome: 'allow',
      reason: 'coverage',
      actor: expect.stringMatching(/^doctor:/),
      conn: expect.any(String),
    });
    const seal = records[i + 1]!;
    expect(seal).toMatchObject({
      event: 'audit.checkpoint',
      reason: 'sealed',
      seq: records[i]!.seq + 1,
    });
    expect(seal.sig).toBe(checkpointSignature(TEST_AUDIT_KEY, seal.node, seal.seq, seal.hash));
    expect(
      await verifyAuditFile(auditFilePath(node.config.audit.dir, node.config.nodeId)),
    ).toMatchObject({ ok: true });
    client.close();
  });

  it('recovers history within the grant, without spending another', async () => {
    const client = await session(node, await doctor(nextDoctor(), { scope: SCOPE }));
    const channel = `patient:${nextPatient()}`;
    const { answer } = await subscribe(client, channel, breakGlass('patient_request'));
    const position = { epoch: answer.epoch, seq: answer.seq };
    client.send({ type: 'unsubscribe', id: 'u1', channel });
    expect(await client.next('ack')).toEqual({ type: 'ack', id: 'u1' });
    const missed = [nextEvent(), nextEvent()];
    for (const id of missed) {
      const res = await publish(node, {
        id,
        channel,
        kind: 'appointment.updated',
        ref: 'apt-9x8c7v6b',
      });
      expect(res.status).toBe(202);
    }
    const count = await metricValue(node, 'carecast_break_glass_total{reason="patient_request"}');
    const again = await subscribe(client, channel, {
      since: position,
      ...breakGlass('patient_request'),
    });
    expect(again.answer).toMatchObject({ type: 'ack', recovered: true });
    expect(again.before.map((f) => f.id)).toEqual(missed);
    // Within the grant even without breakGlass: the session holds it.
    client.send({ type: 'unsubscribe', id: 'u2', channel });
    await client.next('ack');
    expect((await subscribe(client, channel, { since: position })).answer).toMatchObject({
      type: 'ack',
      recovered: true,
    });
    expect(await metricValue(node, 'carecast_break_glass_total{reason="patient_request"}')).toBe(
      count,
    );
    client.close();
  });
});

describe('break-glass grants end with revoked', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startNode({ ALLOWED_ORIGINS: TEST_ORIGIN, BREAK_GLASS_SECONDS: '1' });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('ends the subscription with a revoked frame when the grant runs out', async () => {
    const client = await session(node, await doctor(nextDoctor(), { scope: SCOPE }));
    const channel = `patient:${nextPatient()}`;
    const { answer } = await subscribe(client, channel, breakGlass('emergency'));
    expect(answer).toMatchObject({ type: 'ack' });
    expect(await client.next('revoked', 10_000)).toEqual({ type: 'revoked', channel });
    // The channel is gone: a plain subscribe is the ordinary policy's again.
    expect((await subscribe(client, channel)).answer).toMatchObject({ code: 'forbidden' });
    await eventually(async () =>
      (await auditRecords(node)).some(
        (r) =>
          r.event === 'ws.revoked' && r.reason === 'break_glass_expired' && r.channel === channel,
      ),
    );
    client.close();
  });
});

describe('break-glass rate across two nodes over Redis', () => {
  let a: TestNode;
  let b: RunningNode;
  let nodes: TwoNodes | undefined;

  beforeAll(async () => {
    nodes = await startTwoNodes('glass', { RATE_BREAK_GLASS_PER_USER: '2/1h' }, [
      'glass-a',
      'glass-b',
    ]);
    ({ a, b } = nodes);
  });
  afterAll(async () => {
    await nodes?.stop();
  });

  it("counts one user's grants cluster-wide", async () => {
    const token = await doctor(nextDoctor(), { scope: SCOPE });
    const onA = await session(a, token);
    const onB = await session(b, token);
    expect(
      (await subscribe(onA, `patient:${nextPatient()}`, breakGlass('emergency'))).answer,
    ).toMatchObject({ type: 'ack' });
    expect(
      (await subscribe(onB, `patient:${nextPatient()}`, breakGlass('emergency'))).answer,
    ).toMatchObject({ type: 'ack' });
    expect(
      (await subscribe(onA, `patient:${nextPatient()}`, breakGlass('emergency'))).answer,
    ).toMatchObject({ code: 'rate_limited' });
    expect(
      (await subscribe(onB, `patient:${nextPatient()}`, breakGlass('emergency'))).answer,
    ).toMatchObject({ code: 'rate_limited' });
    onA.close();
    onB.close();
  });
});
