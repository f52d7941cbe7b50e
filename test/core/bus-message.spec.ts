import {
  type BusMessage,
  messageOfFrame,
  notificationMessage,
} from '../../src/core/bus-message.js';
import { encodeNotificationFrame, type Notification } from '../../src/core/notification.js';
import type { OpaqueId } from '../../src/core/opaque-id.js';

const NOTIFICATION: Notification = {
  id: 'nt-4c9a1b2e' as OpaqueId,
  channel: { kind: 'doctor', id: 'dr-7f3k2m9q' as OpaqueId },
  kind: 'lab_result',
  ref: 'lab-0a1b2c3d' as OpaqueId,
};
const TS = 1_750_000_000_000;
const SEQ = 12;
const FRAME = encodeNotificationFrame(NOTIFICATION, TS, SEQ);

describe(notificationMessage.name, () => {
  it('carries the id, publish time and seq beside the frame subscribers receive', () => {
    expect(notificationMessage(NOTIFICATION, TS, SEQ)).toEqual({
      id: 'nt-4c9a1b2e',
      ts: TS,
      seq: SEQ,
      frame: FRAME,
    });
  });
});

describe(messageOfFrame.name, () => {
  it.each<[string, string, Omit<BusMessage, 'frame'>]>([
    ['a notification frame', FRAME, { id: 'nt-4c9a1b2e', ts: TS, seq: SEQ }],
    ['text that is not JSON', 'for a', { id: null, ts: null, seq: null }],
    ['the empty string', '', { id: null, ts: null, seq: null }],
    ['a JSON array', '["nt-4c9a1b2e",1]', { id: null, ts: null, seq: null }],
    ['JSON null', 'null', { id: null, ts: null, seq: null }],
    [
      'a frame without id and ts',
      '{"type":"notification","ref":"apt-1"}',
      { id: null, ts: null, seq: null },
    ],
    ['an id that is not a string', '{"id":7,"ts":1}', { id: null, ts: 1, seq: null }],
    [
      'a ts that is a string',
      '{"id":"nt-4c9a1b2e","ts":"1"}',
      { id: 'nt-4c9a1b2e', ts: null, seq: null },
    ],
    [
      'a seq that is not an integer',
      '{"id":"nt-4c9a1b2e","seq":1.5}',
      { id: 'nt-4c9a1b2e', ts: null, seq: null },
    ],
    ['a frame with a seq', '{"seq":3}', { id: null, ts: null, seq: 3 }],
    [
      'a ts too large to be finite',
      '{"id":"nt-4c9a1b2e","ts":1e999}',
      { id: 'nt-4c9a1b2e', ts: null, seq: null },
    ],
  ])('reads %s', (_name, frame, expected) => {
    expect(messageOfFrame(frame)).toEqual({ ...expected, frame });
  });

  it('gives back exactly what notificationMessage sent over a frame-only wire', () => {
    const sent = notificationMessage(NOTIFICATION, TS, SEQ);
    expect(messageOfFrame(sent.frame)).toEqual(sent);
  });
});
