/**
 * A subscribe reads the channel's position (and replay) on Redis's command connection, while
 * live messages come on the subscriber connection: a notification published just before the
 * read can reach the node after the ack went out, though the ack (or the replay) already
 * covered it. The soak found it as a repeated seq (docs/performance.md); here the late copy is
 * handed to Delivery directly, as the bus would, so the race is reproduced on purpose.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { messageOfFrame } from '../../src/core/bus-message.js';
import { Delivery } from '../../src/gateway/delivery.js';
import { startNode, type TestNode } from '../support/app.js';
import { CanaryWatch, PHI_CANARY_TEXT } from '../support/phi-canary.js';
import { publish } from '../support/publisher.js';
import { patient, ticketFor } from '../support/tokens.js';
import { connectOk, TEST_ORIGIN, type TestClient } from '../support/ws-client.js';

const PATIENT = 'pt-latebus1';
const CHANNEL = `patient:${PATIENT}`;

function notification(n: number) {
  return { id: `evt-latebus${n}`, channel: CHANNEL, kind: 'message.received', ref: `msg-late${n}` };
}

describe('a bus message arriving after the catch-up that covered it', () => {
  let node: TestNode;
  let delivery: Delivery;
  const watch = new CanaryWatch();
  const clients: TestClient[] = [];

  beforeAll(async () => {
    node = await startNode({ ALLOWED_ORIGINS: TEST_ORIGIN });
    delivery = node.app.nest.get(Delivery);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await node.stop();
  });

  async function subscribed(since?: { epoch: string; seq: number }) {
    const client = await connectOk(node, { ticket: await ticketFor(node, await patient(PATIENT)) });
    clients.push(client);
    await client.next('welcome');
    client.send({ type: 'subscribe', id: 's', channel: CHANNEL, ...(since ? { since } : {}) });
    return { client, ack: await client.next('ack') };
  }

  /** Notification frames the client has received so far. */
  const notifications = (c: TestClient) => c.frames.filter((f) => f.includes('"notification"'));

  /** Everything written before the pong has arrived: the socket keeps order. */
  async function settled(c: TestClient, id: string): Promise<void> {
    c.send({ type: 'ping', id });
    await c.next('pong');
  }

  it('writes it to no subscriber the ack or the replay covered, then ends the floor', async () => {
    expect((await publish(node, notification(1))).status).toBe(202);
    const plain = await subscribed();
    expect(plain.ack).toMatchObject({ seq: 1 });
    const recovering = await subscribed({ epoch: plain.ack.epoch as string, seq: 0 });
    expect(recovering.ack).toMatchObject({ seq: 1, recovered: true });
    expect(await recovering.client.next('notification')).toMatchObject({ seq: 1 });
    const [replayed] = notifications(recovering.client);
    expect(JSON.parse(replayed!)).toMatchObject({ id: 'evt-latebus1', seq: 1 });

    // The late copy of seq 1, as the bus hands it over.
    delivery.deliver(CHANNEL, messageOfFrame(replayed!));
    for (const c of [plain.client, recovering.client]) await settled(c, 'late');
    expect(notifications(plain.client)).toEqual([]);
    expect(notifications(recovering.client)).toEqual([replayed]);

    // The next notification is live as ever, and ends the floor: a lower seq after it (a new
    // epoch, once Redis lost the history) is written again.
    expect((await publish(node, notification(2))).status).toBe(202);
    for (const c of [plain.client, recovering.client]) {
      expect(await c.next('notification')).toMatchObject({ id: 'evt-latebus2', seq: 2 });
    }
    delivery.deliver(CHANNEL, messageOfFrame(replayed!));
    for (const c of [plain.client, recovering.client]) {
      expect(await c.next('notification')).toMatchObject({ id: 'evt-latebus1', seq: 1 });
    }

    for (const c of clients) for (const f of c.frames) watch.frame(f);
    watch.response(await publish(node, { ...notification(3), ref: PHI_CANARY_TEXT }));
    await watch.expectClean(node);
  });
});
