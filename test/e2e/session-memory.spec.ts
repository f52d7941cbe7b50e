import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { IncomingMessage, Server } from 'node:http';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import WebSocket from 'ws';
import { startNode, type TestNode } from '../support/app.js';
import { patient, ticketFor } from '../support/tokens.js';
import { connectOk, TEST_ORIGIN, type TestClient } from '../support/ws-client.js';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** Collects until `ref` is gone, or gives up after `timeoutMs`; true when it was collected. */
async function collected(ref: WeakRef<object>, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    collectGarbage();
    await nextTurn();
    if (ref.deref() === undefined) return true;
  }
  return false;
}

/**
 * What an idle session keeps alive is its memory cost per connection (docs/performance.md):
 * the upgrade request, with its headers and read buffer, must not be part of it.
 */
describe('an open session', () => {
  let node: TestNode;
  const requests: WeakRef<IncomingMessage>[] = [];

  beforeAll(async () => {
    node = await startNode({ ALLOWED_ORIGINS: TEST_ORIGIN });
    const server = node.app.nest.getHttpServer() as Server;
    server.on('upgrade', (req: IncomingMessage) => requests.push(new WeakRef(req)));
  });
  afterAll(async () => {
    await node?.stop();
  });

  async function open(id: string): Promise<TestClient> {
    const client = await connectOk(node, { ticket: await ticketFor(node, await patient(id)) });
    await client.next('welcome');
    return client;
  }

  it('keeps nothing of its upgrade request once it is open', async () => {
    const first = await open('pt-memory001');
    // A second upgrade after it: Nest's connection stream remembers the latest connection's
    // arguments (one per node, not per connection), so the first is the one to watch.
    const second = await open('pt-memory002');
    expect(requests).toHaveLength(2);
    const firstRequest = requests[0]!;

    expect(await collected(firstRequest)).toBe(true);
    // The session itself is alive and answers.
    expect(first.ws.readyState).toBe(WebSocket.OPEN);
    first.send({ type: 'ping', id: 'still-here' });
    expect(await first.next('pong')).toEqual({ type: 'pong', id: 'still-here' });
    first.close();
    second.close();
  });
});
