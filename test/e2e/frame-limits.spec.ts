import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { startNode, type TestNode } from '../support/app.js';
import { eventually, request } from '../support/http-client.js';
import { CanaryWatch, PHI_CANARY_TEXT } from '../support/phi-canary.js';
import { patient, ticketFor } from '../support/tokens.js';
import { connectOk, TEST_ORIGIN, type TestClient } from '../support/ws-client.js';

/**
 * The per-connection frame budget (RATE_FRAMES_PER_CONNECTION) and back-pressure on every
 * frame the node writes (WS_MAX_BUFFERED_BYTES), over real TLS sockets on one embedded node.
 */

type AuditRecord = Record<string, unknown>;

async function auditRecords(node: TestNode): Promise<AuditRecord[]> {
  const file = path.join(node.config.audit.dir, `audit-${node.config.nodeId}.jsonl`);
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as AuditRecord);
}

async function metric(node: TestNode, series: string): Promise<number> {
  const res = await request(`${node.internalUrl}/metrics`);
  const line = res.body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

async function open(node: TestNode, id: string, watch?: CanaryWatch): Promise<TestClient> {
  const c = await connectOk(node, { ticket: await ticketFor(node, await patient(id)) });
  if (watch) c.ws.on('message', (data: Buffer) => watch.frame(data));
  if (watch) void c.closed.then(({ reason }) => watch.closeReason(reason));
  await c.next('welcome');
  return c;
}

describe('frame budget', () => {
  let node: TestNode;
  const watch = new CanaryWatch();

  beforeAll(async () => {
    node = await startNode({
      ALLOWED_ORIGINS: TEST_ORIGIN,
      RATE_FRAMES_PER_CONNECTION: '8/60s',
      RATE_SUBSCRIBE_PER_CONNECTION: '100/60s',
    });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('answers every frame past the budget rate_limited, echoing its id, pings included', async () => {
    const c = await open(node, 'pt-budget001', watch);
    for (let i = 0; i < 8; i++) {
      c.send({ type: 'ping', id: `p${i}` });
      expect(await c.next()).toEqual({ type: 'pong', id: `p${i}` });
    }
    c.send({ type: 'ping', id: 'p8' });
    expect(await c.next()).toEqual({ type: 'error', id: 'p8', code: 'rate_limited' });
    // A frame carrying the canary is refused the same way and its content never echoed.
    c.send({ type: 'subscribe', id: 'canary', channel: PHI_CANARY_TEXT });
    expect(await c.next()).toEqual({ type: 'error', id: 'canary', code: 'rate_limited' });
    c.send('not json at all');
    expect(await c.next()).toEqual({ type: 'error', code: 'rate_limited' });
    expect(c.ws.readyState).toBe(c.ws.OPEN);
    c.close();
  });

  it('counts a repeated subscribe to a channel already held', async () => {
    const c = await open(node, 'pt-budget002', watch);
    const answers: unknown[] = [];
    for (let i = 0; i < 9; i++) {
      c.send({ type: 'subscribe', id: `s${i}`, channel: 'patient:pt-budget002' });
      const answer = await c.next();
      answers.push(answer.type === 'ack' ? 'ack' : answer.code);
    }
    expect(answers).toEqual([...Array<string>(8).fill('ack'), 'rate_limited']);
    c.close();
  });

  it('closes 4008 a client that keeps sending past the budget, and audits each refusal', async () => {
    const c = await open(node, 'pt-budget003', watch);
    for (let i = 0; i < 8; i++) c.send({ type: 'ping', id: `p${i}` });
    for (let i = 0; i < 8; i++) await c.next('pong');
    for (let i = 0; i < 10; i++) c.send({ type: 'ping', id: `over${i}` });
    expect(await c.closedWithin(5000)).toEqual({ code: 4008, reason: 'rate_limited' });
    const errors = c.frames
      .map((f) => JSON.parse(f) as AuditRecord)
      .filter((f) => f.type === 'error');
    // MAX_RATE_LIMIT_STRIKES (5) refusals in a row are answered; the sixth closes.
    expect(errors.length).toBe(6);
    await eventually(async () => {
      const limited = (await auditRecords(node)).filter(
        (r) =>
          r.event === 'rate.limited' &&
          r.reason === 'frame_rate' &&
          r.actor === 'patient:pt-budget003',
      );
      return (
        limited.length === 6 &&
        limited.every((r) => typeof r.conn === 'string' && !('channel' in r))
      );
    });
    await eventually(async () =>
      (await auditRecords(node)).some(
        (r) =>
          r.event === 'ws.closed' &&
          r.reason === 'rate_limited' &&
          r.actor === 'patient:pt-budget003',
      ),
    );
  });

  it('counts WebSocket-level pings too, and still answers them with a pong within the budget', async () => {
    const c = await open(node, 'pt-budget004', watch);
    const pongs: string[] = [];
    c.ws.on('pong', (data: Buffer) => pongs.push(data.toString()));
    for (let i = 0; i < 8; i++) c.ws.ping(`w${i}`);
    await eventually(async () => pongs.length === 8);
    expect(pongs).toEqual(Array.from({ length: 8 }, (_, i) => `w${i}`));
    c.ws.ping('over');
    expect(await c.next()).toEqual({ type: 'error', code: 'rate_limited' });
    expect(pongs).toHaveLength(8);
    c.close();
  });

  it('never lets the canary reach frames, close reasons, logs, audit or metrics', async () => {
    await watch.expectClean(node);
  });
});

describe('back-pressure on every frame', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startNode({
      ALLOWED_ORIGINS: TEST_ORIGIN,
      RATE_FRAMES_PER_CONNECTION: '10000000/10s',
      RATE_SUBSCRIBE_PER_CONNECTION: '10000000/10s',
      RATE_SUBSCRIBE_PER_USER: '10000000/10s',
      WS_MAX_BUFFERED_BYTES: '1024',
      // No heartbeat close (4002) during the test: only the buffer limit may close.
      WS_HEARTBEAT_SECONDS: '300',
    });
  });
  afterAll(async () => {
    await node?.stop();
  });

  const SHED = 'carecast_delivery_failures_total{reason="slow_consumer"}';

  /**
   * Stops reading the socket, then sends frames whose answers are pongs or errors until the
   * node sheds the connection (its slow-consumer count goes up: the client cannot see the
   * close frame while it does not read), then reads again. A node that writes answers without
   * the limit never sheds, and the test fails on the frame bound or the close.
   */
  async function floodUnread(c: TestClient, frame: (i: number) => string): Promise<void> {
    const shedBefore = await metric(node, SHED);
    const shed = async (): Promise<boolean> => (await metric(node, SHED)) > shedBefore;
    const socket = (c.ws as unknown as { _socket: TLSSocket })._socket;
    socket.pause();
    let sent = 0;
    try {
      while (c.ws.readyState === c.ws.OPEN && !(await shed())) {
        if (sent >= 2_000_000) throw new Error(`not shed after ${sent} frames`);
        // Our own queue drains first, so the node has read what we sent before the next batch.
        if (c.ws.bufferedAmount > 1_000_000) {
          await new Promise<void>((resolve) => setTimeout(resolve, 10));
          continue;
        }
        for (let i = 0; i < 2000; i++) c.ws.send(frame(sent + i));
        sent += 2000;
      }
    } finally {
      socket.resume();
    }
  }

  it('closes 4009 a client that stops reading while provoking pongs', async () => {
    const failuresBefore = await metric(node, SHED);
    const c = await open(node, 'pt-slowpong1');
    await floodUnread(c, (i) => `{"type":"ping","id":"p${i}"}`);
    expect(await c.closedWithin(15_000)).toEqual({ code: 4009, reason: 'slow_consumer' });
    expect(await metric(node, SHED)).toBe(failuresBefore + 1);
    await eventually(async () => {
      const records = await auditRecords(node);
      const failed = records.filter(
        (r) => r.event === 'notification.delivery_failed' && r.actor === 'patient:pt-slowpong1',
      );
      return (
        failed.length === 1 &&
        failed[0]!.reason === 'slow_consumer' &&
        failed[0]!.code === 4009 &&
        !('channel' in failed[0]!) &&
        !('notification' in failed[0]!)
      );
    });
  }, 60_000);

  it('closes 4009 a client that stops reading while provoking errors', async () => {
    const c = await open(node, 'pt-slowerr01');
    // A refused subscribe: a well-formed frame answered with an error, never a bad-frame strike.
    await floodUnread(
      c,
      (i) => `{"type":"subscribe","id":"e${i}","channel":"patient:pt-other001"}`,
    );
    expect(await c.closedWithin(15_000)).toEqual({ code: 4009, reason: 'slow_consumer' });
  }, 60_000);
  it('closes 4009 a client that stops reading while provoking acks', async () => {
    const c = await open(node, 'pt-slowack01');
    c.send({ type: 'subscribe', id: 'first', channel: 'patient:pt-slowack01' });
    expect(await c.next()).toMatchObject({ type: 'ack', id: 'first' });
    // Repeated subscribes to the channel held: each answered with an ack and its position.
    await floodUnread(
      c,
      (i) => `{"type":"subscribe","id":"a${i}","channel":"patient:pt-slowack01"}`,
    );
    expect(await c.closedWithin(15_000)).toEqual({ code: 4009, reason: 'slow_consumer' });
  }, 60_000);
});
