import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import WebSocket from 'ws';
import {
  CarecastClient,
  type Notification,
  type StateChange,
  TicketError,
} from '../../packages/client/src/carecast-client.js';
import { startNode, type TestNode } from '../support/app.js';
import { eventually, request } from '../support/http-client.js';
import { CanaryWatch } from '../support/phi-canary.js';
import { publish, signedRequest } from '../support/publisher.js';
import { patient } from '../support/tokens.js';
import { TEST_ORIGIN } from '../support/ws-client.js';

/*
 * The SDK in Node, as the docs show it: a `ws` factory that sets an allowlisted Origin, and a
 * getTicket that calls the ticket endpoint (here through the test's own HTTPS client, which
 * accepts the node's self-signed certificate).
 */
describe('the client SDK in Node against a node', () => {
  let node: TestNode;
  const watch = new CanaryWatch();
  const clients: CarecastClient[] = [];

  beforeAll(async () => {
    node = await startNode({ ALLOWED_ORIGINS: TEST_ORIGIN });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(async () => {
    await node.stop();
  });

  function client(patientId: string) {
    const states: StateChange[] = [];
    const c = new CarecastClient({
      getTicket: async () => {
        const res = await request(`${node.publicUrl}/v1/tickets`, {
          method: 'POST',
          headers: { authorization: `Bearer ${await patient(patientId)}` },
        });
        const body = res.json() as { error: string; ticket: string; protocol: string };
        if (res.status !== 201) throw new TicketError(res.status, body.error);
        // The test node listens on a port picked at start, which its PUBLIC_URL cannot name.
        const url = `${node.publicUrl.replace('https:', 'wss:')}/v1/ws`;
        return { ticket: body.ticket, expiresIn: 60, url, protocol: body.protocol };
      },
      webSocket: (url, protocols) => {
        const ws = new WebSocket(url, protocols, {
          origin: TEST_ORIGIN,
          rejectUnauthorized: false, // the node's self-signed development certificate
          perMessageDeflate: false,
        });
        ws.on('message', (data) => watch.frame(data as Buffer));
        return ws;
      },
      backoff: { initialMs: 100, maxMs: 500 },
    });
    c.on('state', (s) => states.push(s));
    clients.push(c);
    return { c, states };
  }

  it('connects, receives a notification, and stays closed after a block (4503)', async () => {
    const { c, states } = client('pt-sdknode1');
    const received: Notification[] = [];
    let subscribed = false;
    c.subscribe('patient:pt-sdknode1', {
      onNotification: (n) => received.push(n),
      onSubscribed: () => (subscribed = true),
    });
    c.connect();
    await eventually(async () => subscribed);
    const sent = {
      id: 'evt-sdknode01',
      channel: 'patient:pt-sdknode1',
      kind: 'message.received',
      ref: 'msg-sdknode01',
    };
    expect((await publish(node, sent)).status).toBe(202);
    await eventually(async () => received.length === 1);
    expect(received[0]).toMatchObject({ id: sent.id, ref: sent.ref, seq: 1 });

    const res = await signedRequest(node, '/internal/v1/users/patient:pt-sdknode1/disconnect', {
      body: { blockSeconds: 60 },
    });
    expect(res.status).toBe(202);
    await eventually(async () => c.state === 'closed');
    expect(states.at(-1)).toEqual({ state: 'closed', cause: 'close_code', closeCode: 4503 });
    await watch.expectClean(node);
  });

  it('stops at a ticket refused with user_blocked', async () => {
    const { c, states } = client('pt-sdknode1'); // still blocked by the test above
    c.connect();
    await eventually(async () => c.state === 'closed');
    expect(states).toEqual([
      { state: 'connecting', attempt: 0 },
      { state: 'closed', cause: 'ticket_refused', code: 'user_blocked' },
    ]);
  });
});
