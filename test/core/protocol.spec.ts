import { describe, expect, it } from '@jest/globals';
import { encodeServerFrame, parseClientFrame } from '../../src/core/protocol.js';

describe(parseClientFrame.name, () => {
  it.each([
    [
      '{"type":"subscribe","id":"1","channel":"patient:pt-4c9a1b2e"}',
      { type: 'subscribe', id: '1', channel: 'patient:pt-4c9a1b2e' },
    ],
    [
      '{"type":"unsubscribe","id":"a_B-9","channel":"doctor:dr-7f3k2m9q"}',
      { type: 'unsubscribe', id: 'a_B-9', channel: 'doctor:dr-7f3k2m9q' },
    ],
    ['{"type":"refresh","id":"3","ticket":"x.y.z"}', { type: 'refresh', id: '3', ticket: 'x.y.z' }],
    ['{"type":"ping","id":"4"}', { type: 'ping', id: '4' }],
    [
      '{"type":"subscribe","id":"5","channel":"patient:pt-4c9a1b2e","since":{"epoch":"m1x-ab12","seq":41}}',
      {
        type: 'subscribe',
        id: '5',
        channel: 'patient:pt-4c9a1b2e',
        since: { epoch: 'm1x-ab12', seq: 41 },
      },
    ],
    [
      '{"type":"subscribe","id":"6","channel":"doctor:dr-7f3k2m9q","since":{"seq":0,"epoch":"e"}}',
      { type: 'subscribe', id: '6', channel: 'doctor:dr-7f3k2m9q', since: { epoch: 'e', seq: 0 } },
    ],
    [
      '{"type":"subscribe","id":"7","channel":"patient:pt-4c9a1b2e","breakGlass":{"reason":"emergency"}}',
      {
        type: 'subscribe',
        id: '7',
        channel: 'patient:pt-4c9a1b2e',
        breakGlass: { reason: 'emergency' },
      },
    ],
    [
      '{"type":"subscribe","id":"8","channel":"patient:pt-4c9a1b2e","since":{"epoch":"e","seq":2},"breakGlass":{"reason":"anything-else"}}',
      {
        type: 'subscribe',
        id: '8',
        channel: 'patient:pt-4c9a1b2e',
        since: { epoch: 'e', seq: 2 },
        breakGlass: { reason: 'anything-else' },
      },
    ],
  ])('accepts %s', (text, frame) => {
    expect(parseClientFrame(text)).toEqual({ ok: true, frame });
  });

  // prettier-ignore
  it.each([
    ['not JSON', 'hello', { code: 'bad_request' }],
    ['a JSON array', '[1,2]', { code: 'bad_request' }],
    ['a JSON string', '"ping"', { code: 'bad_request' }],
    ['null', 'null', { code: 'bad_request' }],
    ['no type', '{"id":"1"}', { code: 'bad_request', id: '1' }],
    ['a numeric type', '{"type":1,"id":"1"}', { code: 'bad_request', id: '1' }],
    ['an unknown type', '{"type":"publish","id":"7"}', { code: 'unknown_type', id: '7' }],
    ['an inherited property as type', '{"type":"toString","id":"7"}', { code: 'unknown_type', id: '7' }],
    ['an unknown type with a bad id', '{"type":"publish","id":"a b"}', { code: 'unknown_type' }],
    ['no id', '{"type":"ping"}', { code: 'bad_request' }],
    ['an empty id', '{"type":"ping","id":""}', { code: 'bad_request' }],
    ['a 65-character id', `{"type":"ping","id":"${'a'.repeat(65)}"}`, { code: 'bad_request' }],
    ['an id with spaces', '{"type":"ping","id":"Zelda Q"}', { code: 'bad_request' }],
    ['a numeric id', '{"type":"ping","id":4}', { code: 'bad_request' }],
    ['an extra field', '{"type":"ping","id":"4","note":"x"}', { code: 'bad_request', id: '4' }],
    ['a subscribe without channel', '{"type":"subscribe","id":"1"}', { code: 'bad_request', id: '1' }],
    ['an empty channel', '{"type":"subscribe","id":"1","channel":""}', { code: 'bad_request', id: '1' }],
    ['an oversized channel', `{"type":"subscribe","id":"1","channel":"${'p'.repeat(201)}"}`, { code: 'bad_request', id: '1' }],
    ['a channel object', '{"type":"subscribe","id":"1","channel":{}}', { code: 'bad_request', id: '1' }],
    ['a refresh without ticket', '{"type":"refresh","id":"1"}', { code: 'bad_request', id: '1' }],
    ['a since that is null', '{"type":"subscribe","id":"1","channel":"patient:pt-1","since":null}', { code: 'bad_request', id: '1' }],
    ['a since without seq', '{"type":"subscribe","id":"1","channel":"patient:pt-1","since":{"epoch":"e"}}', { code: 'bad_request', id: '1' }],
    ['a since with an extra field', '{"type":"subscribe","id":"1","channel":"patient:pt-1","since":{"epoch":"e","seq":1,"x":1}}', { code: 'bad_request', id: '1' }],
    ['a negative seq', '{"type":"subscribe","id":"1","channel":"patient:pt-1","since":{"epoch":"e","seq":-1}}', { code: 'bad_request', id: '1' }],
    ['a fractional seq', '{"type":"subscribe","id":"1","channel":"patient:pt-1","since":{"epoch":"e","seq":1.5}}', { code: 'bad_request', id: '1' }],
    ['a seq as text', '{"type":"subscribe","id":"1","channel":"patient:pt-1","since":{"epoch":"e","seq":"1"}}', { code: 'bad_request', id: '1' }],
    ['an unsafe seq', '{"type":"subscribe","id":"1","channel":"patient:pt-1","since":{"epoch":"e","seq":9007199254740993}}', { code: 'bad_request', id: '1' }],
    ['an empty epoch', '{"type":"subscribe","id":"1","channel":"patient:pt-1","since":{"epoch":"","seq":1}}', { code: 'bad_request', id: '1' }],
    ['a 65-character epoch', `{"type":"subscribe","id":"1","channel":"patient:pt-1","since":{"epoch":"${'e'.repeat(65)}","seq":1}}`, { code: 'bad_request', id: '1' }],
    ['an epoch carrying text', '{"type":"subscribe","id":"1","channel":"patient:pt-1","since":{"epoch":"Zelda Q","seq":1}}', { code: 'bad_request', id: '1' }],
    ['a breakGlass that is not an object', '{"type":"subscribe","id":"1","channel":"patient:pt-1","breakGlass":"emergency"}', { code: 'bad_request', id: '1' }],
    ['a breakGlass without reason', '{"type":"subscribe","id":"1","channel":"patient:pt-1","breakGlass":{}}', { code: 'bad_request', id: '1' }],
    ['a breakGlass with an extra field', '{"type":"subscribe","id":"1","channel":"patient:pt-1","breakGlass":{"reason":"emergency","note":"x"}}', { code: 'bad_request', id: '1' }],
    ['a breakGlass reason that is not a string', '{"type":"subscribe","id":"1","channel":"patient:pt-1","breakGlass":{"reason":1}}', { code: 'bad_request', id: '1' }],
    ['an empty breakGlass reason', '{"type":"subscribe","id":"1","channel":"patient:pt-1","breakGlass":{"reason":""}}', { code: 'bad_request', id: '1' }],
    ['a breakGlass on an unsubscribe', '{"type":"unsubscribe","id":"1","channel":"patient:pt-1","breakGlass":{"reason":"emergency"}}', { code: 'bad_request', id: '1' }],
    ['a since on an unsubscribe', '{"type":"unsubscribe","id":"1","channel":"patient:pt-1","since":{"epoch":"e","seq":1}}', { code: 'bad_request', id: '1' }],
  ])('rejects %s', (_label, text, error) => {
    expect(parseClientFrame(text)).toEqual({ ok: false, error });
  });
});

describe(encodeServerFrame.name, () => {
  it('encodes the contract shapes as JSON text', () => {
    expect(JSON.parse(encodeServerFrame({ type: 'error', id: '1', code: 'forbidden' }))).toEqual({
      type: 'error',
      id: '1',
      code: 'forbidden',
    });
    expect(encodeServerFrame({ type: 'pong', id: '4' })).toBe('{"type":"pong","id":"4"}');
  });
});
