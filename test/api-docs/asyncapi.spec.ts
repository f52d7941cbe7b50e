import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Parser } from '@asyncapi/parser';
import { Ajv, type ValidateFunction } from 'ajv';
import { closeCodeOf } from '../../src/core/close-codes.js';
import { encodeNotificationFrame, type Notification } from '../../src/core/notification.js';
import type { OpaqueId } from '../../src/core/opaque-id.js';
import { encodeServerFrame, parseClientFrame, type ServerFrame } from '../../src/core/protocol.js';
import { retryAfterOf, upgradeStatusOf } from '../../src/gateway/upgrade-response.js';
import { startNode, type TestNode } from '../support/app.js';
import { CLOSE_REASONS, UPGRADE_REJECTIONS, WS_ERROR_CODES } from '../support/closed-unions.js';
import { CanaryWatch, PHI_CANARY_TEXT } from '../support/phi-canary.js';
import { addToCareTeam, publish, removeFromCareTeam, signedRequest } from '../support/publisher.js';
import { doctor, patient, ticketFor } from '../support/tokens.js';
import { connectOk, TEST_ORIGIN, type TestClient } from '../support/ws-client.js';

/**
 * docs/asyncapi.yaml is written by hand: this spec keeps it true. It must parse and validate
 * with @asyncapi/parser; its client frame schemas must accept exactly what the code's frame
 * parser accepts; everything the encoder emits, and every frame of a real session, must fit
 * its server frame schemas; its error codes, close codes and upgrade rejections must be the
 * code's own.
 */

const text = readFileSync(new URL('../../docs/asyncapi.yaml', import.meta.url), 'utf8');

const CLIENT_MESSAGES = ['subscribe', 'unsubscribe', 'refresh', 'ping'];
const SERVER_MESSAGES = [
  'welcome',
  'subscribeAck',
  'refreshAck',
  'ack',
  'error',
  'pong',
  'notification',
  'revoked',
];

// The code's closed unions as lists (test/support/closed-unions.ts): a member added to or
// removed from a union changes them, and the document (checked below) must follow.
interface Resolved {
  components: { messages: Record<string, { payload: object }>; schemas: Record<string, unknown> };
  channels: {
    session: {
      'x-close-codes': { code: number; reason: string }[];
      'x-upgrade-rejections': { status: number; error: string; headers?: Record<string, string> }[];
    };
  };
}

let resolved: Resolved;
let validators: Record<string, ValidateFunction>;

beforeAll(async () => {
  const { document, diagnostics } = await new Parser().parse(text);
  // Severity 0 is an error, 1 a warning; 2 and 3 are hints.
  const problems = diagnostics.filter((d) => d.severity <= 1);
  expect(problems.map((d) => `${d.code} ${d.message} at ${d.path.join('.')}`)).toEqual([]);
  resolved = document!.json() as unknown as Resolved;
  const ajv = new Ajv({ strict: false, allErrors: true });
  validators = Object.fromEntries(
    Object.entries(resolved.components.messages).map(([name, m]) => [name, ajv.compile(m.payload)]),
  );
});

/** The messages among `names` whose payload schema accepts the frame. */
function matching(names: string[], frame: unknown): string[] {
  return names.filter((name) => validators[name]!(frame));
}

function isJson(s: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(s) };
  } catch {
    return { ok: false };
  }
}

describe('docs/asyncapi.yaml', () => {
  it('is a valid AsyncAPI 3.0 document with every frame as a message', () => {
    expect(text).toMatch(/^asyncapi: 3\.0\.0$/m);
    expect(Object.keys(resolved.components.messages).sort()).toEqual(
      [...CLIENT_MESSAGES, ...SERVER_MESSAGES].sort(),
    );
  });

  const epoch = 'mbx3k1qz-9f0c2a7d41e6b835';
  const CLIENT_SAMPLES: string[] = [
    '{"type":"subscribe","id":"1","channel":"patient:pt-4c9a1b2e"}',
    `{"type":"subscribe","id":"5","channel":"patient:pt-4c9a1b2e","since":{"epoch":"${epoch}","seq":41}}`,
    '{"type":"subscribe","id":"a_B-9","channel":"ward:anything at all"}',
    '{"type":"unsubscribe","id":"2","channel":"patient:pt-4c9a1b2e"}',
    '{"type":"refresh","id":"3","ticket":"eyJ.x.y"}',
    '{"type":"ping","id":"4"}',
    `{"type":"ping","id":"${'x'.repeat(64)}"}`,
    // Refused by the parser, and by the schemas:
    `{"type":"ping","id":"${'x'.repeat(65)}"}`,
    '{"type":"ping","id":""}',
    '{"type":"ping","id":"a b"}',
    '{"type":"ping","id":4}',
    '{"type":"ping"}',
    '{"type":"ping","id":"4","extra":true}',
    '{"type":"pong","id":"4"}',
    '{"type":"Subscribe","id":"1","channel":"patient:pt-4c9a1b2e"}',
    '{"id":"1","channel":"patient:pt-4c9a1b2e"}',
    '{"type":"subscribe","id":"1"}',
    '{"type":"subscribe","id":"1","channel":""}',
    `{"type":"subscribe","id":"1","channel":"${'c'.repeat(201)}"}`,
    `{"type":"subscribe","id":"1","channel":"${'c'.repeat(200)}"}`,
    '{"type":"subscribe","id":"1","channel":7}',
    '{"type":"subscribe","id":"1","channel":"patient:pt-4c9a1b2e","since":null}',
    `{"type":"subscribe","id":"1","channel":"patient:pt-4c9a1b2e","since":{"epoch":"${epoch}"}}`,
    `{"type":"subscribe","id":"1","channel":"patient:pt-4c9a1b2e","since":{"epoch":"${epoch}","seq":-1}}`,
    `{"type":"subscribe","id":"1","channel":"patient:pt-4c9a1b2e","since":{"epoch":"${epoch}","seq":1.5}}`,
    `{"type":"subscribe","id":"1","channel":"patient:pt-4c9a1b2e","since":{"epoch":"${epoch}","seq":0,"x":1}}`,
    '{"type":"subscribe","id":"1","channel":"patient:pt-4c9a1b2e","since":{"epoch":"a/b","seq":0}}',
    '{"type":"unsubscribe","id":"2","channel":"patient:pt-4c9a1b2e","since":{"epoch":"e","seq":0}}',
    '{"type":"refresh","id":"3","ticket":""}',
    `{"type":"refresh","id":"3","ticket":"${'t'.repeat(4097)}"}`,
    `{"type":"refresh","id":"3","ticket":"${'t'.repeat(4096)}"}`,
    '{"type":"refresh","id":"3"}',
    // Contract §8 (break-glass): refused until the parser takes it; then this sample fails
    // until the subscribe schema describes it too.
    '{"type":"subscribe","id":"7","channel":"patient:pt-4c9a1b2e","breakGlass":{"reason":"emergency"}}',
    '[]',
    '"ping"',
    'null',
    'not json',
  ];

  it.each(CLIENT_SAMPLES.map((s) => [s.slice(0, 90), s]))(
    'accepts the client frame %s exactly when the parser does',
    (_, sample) => {
      const json = isJson(sample);
      const bySchema = json.ok ? matching(CLIENT_MESSAGES, json.value).length === 1 : false;
      expect(bySchema).toBe(parseClientFrame(sample).ok);
    },
  );

  const notification: Notification = {
    id: 'evt-2b7c9d1e' as OpaqueId,
    channel: { kind: 'patient', id: 'pt-4c9a1b2e' as OpaqueId },
    kind: 'appointment.updated',
    ref: 'apt-9x8c7v6b' as OpaqueId,
  };
  const SERVER_SAMPLES: [string, string][] = [
    [
      'welcome',
      encodeServerFrame({
        type: 'welcome',
        connectionId: 'U2ZCsjYYRTGHb93l',
        sessionExpiresAt: 1795000000000,
        heartbeatSeconds: 25,
      }),
    ],
    ['subscribeAck', encodeServerFrame({ type: 'ack', id: '1', epoch, seq: 0 })],
    ['subscribeAck', encodeServerFrame({ type: 'ack', id: '5', epoch, seq: 44, recovered: true })],
    ['refreshAck', encodeServerFrame({ type: 'ack', id: '3', sessionExpiresAt: 1795003600000 })],
    ['ack', encodeServerFrame({ type: 'ack', id: '2' })],
    ...WS_ERROR_CODES.map((code): [string, string] => [
      'error',
      encodeServerFrame({ type: 'error', id: '1', code } as ServerFrame),
    ]),
    ['error', encodeServerFrame({ type: 'error', code: 'bad_request' })],
    ['pong', encodeServerFrame({ type: 'pong', id: '4' })],
    ['notification', encodeNotificationFrame(notification, 1795000000123, 45)],
    ['revoked', encodeServerFrame({ type: 'revoked', channel: 'patient:pt-4c9a1b2e' })],
  ];

  it.each(SERVER_SAMPLES)('describes what the encoder emits as %s: %s', (message, frame) => {
    expect(matching(SERVER_MESSAGES, JSON.parse(frame))).toEqual([message]);
  });

  it('lists exactly the error codes of the code', () => {
    const schema = resolved.components.schemas.ErrorCode as { enum: string[] };
    expect([...schema.enum].sort()).toEqual([...WS_ERROR_CODES].sort());
  });

  it('lists every close code of the code, with its fixed reason', () => {
    const table = resolved.channels.session['x-close-codes'];
    for (const reason of CLOSE_REASONS) {
      expect(table).toContainEqual(expect.objectContaining({ code: closeCodeOf(reason), reason }));
    }
    const nodeCodes = table.filter((row) => row.reason !== '').map((row) => row.code);
    expect(nodeCodes.sort()).toEqual(CLOSE_REASONS.map(closeCodeOf).sort());
  });

  it('lists every upgrade rejection with the status and Retry-After the gateway answers', () => {
    const table = resolved.channels.session['x-upgrade-rejections'];
    expect(table.map((row) => row.error).sort()).toEqual([...UPGRADE_REJECTIONS].sort());
    for (const reason of UPGRADE_REJECTIONS) {
      const row = table.find((r) => r.error === reason)!;
      const retryAfter = retryAfterOf(reason);
      expect([reason, row.status, row.headers?.['Retry-After']]).toEqual([
        reason,
        upgradeStatusOf(reason),
        retryAfter === undefined ? undefined : String(retryAfter),
      ]);
    }
  });
});

describe('the frames of a real session fit docs/asyncapi.yaml (embedded node)', () => {
  let node: TestNode;
  const watch = new CanaryWatch();
  const clients: TestClient[] = [];

  beforeAll(async () => {
    node = await startNode({ ALLOWED_ORIGINS: TEST_ORIGIN });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await node?.stop();
  });

  async function open(token: string): Promise<TestClient> {
    const client = await connectOk(node, { ticket: await ticketFor(node, token) });
    clients.push(client);
    await client.next('welcome');
    return client;
  }

  it('every frame a patient and a doctor receive, and every close, is described', async () => {
    const pt = await open(await patient('pt-asyncapi01'));
    const sent: object[] = [
      { type: 'subscribe', id: 's1', channel: 'patient:pt-asyncapi01' },
      {
        type: 'subscribe',
        id: 's2',
        channel: 'patient:pt-asyncapi01',
        since: { epoch: 'gone', seq: 3 },
      },
      { type: 'subscribe', id: 's3', channel: 'patient:pt-someone01' },
      { type: 'refresh', id: 'r1', ticket: await ticketFor(node, await patient('pt-asyncapi01')) },
      { type: 'ping', id: 'p1' },
    ];
    for (const frame of sent) {
      expect(matching(CLIENT_MESSAGES, frame)).toHaveLength(1);
      pt.send(frame);
      await pt.next();
    }
    pt.send({ type: 'subscribe', id: 'bad1', channel: PHI_CANARY_TEXT });
    pt.send(`{"type":"subscribe","id":"bad2","note":"${PHI_CANARY_TEXT}"}`);
    pt.send({ type: 'fetch', id: 'bad3' });
    pt.ws.send(Buffer.from([1, 2, 3]));
    for (let i = 0; i < 4; i++) await pt.next('error');
    expect(
      (
        await publish(node, {
          id: 'evt-asyncapi1',
          channel: 'patient:pt-asyncapi01',
          kind: 'result.available',
          ref: 'res-asyncapi1',
        })
      ).status,
    ).toBe(202);
    await pt.next('notification');
    pt.send({ type: 'unsubscribe', id: 'u1', channel: 'patient:pt-asyncapi01' });
    await pt.next('ack');

    expect((await addToCareTeam(node, 'pt-asyncapi01', 'dr-asyncapi1')).status).toBe(204);
    const dr = await open(await doctor('dr-asyncapi1'));
    dr.send({ type: 'subscribe', id: 'd1', channel: 'patient:pt-asyncapi01' });
    await dr.next('ack');
    expect((await removeFromCareTeam(node, 'pt-asyncapi01', 'dr-asyncapi1')).status).toBe(204);
    await dr.next('revoked');
    const disconnect = await signedRequest(
      node,
      '/internal/v1/users/doctor:dr-asyncapi1/disconnect',
      {
        body: {},
      },
    );
    expect(disconnect.status).toBe(202);
    const closed = await dr.closedWithin(10_000);

    const frames = [...pt.frames, ...dr.frames];
    for (const frame of frames) watch.frame(frame);
    watch.closeReason(closed.reason);
    const undescribed = frames.filter((f) => matching(SERVER_MESSAGES, JSON.parse(f)).length !== 1);
    expect(undescribed).toEqual([]);
    const types = new Set(frames.map((f) => (JSON.parse(f) as { type: string }).type));
    expect([...types].sort()).toEqual(
      ['ack', 'error', 'notification', 'pong', 'revoked', 'welcome'].sort(),
    );
    expect(resolved.channels.session['x-close-codes']).toContainEqual(
      expect.objectContaining({ code: closed.code, reason: closed.reason }),
    );
    await watch.expectClean(node);
  });
});
