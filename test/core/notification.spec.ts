import type { Channel } from '../../src/core/channel.js';
import {
  BODY_FIELD,
  MAX_BATCH,
  MAX_REPORTED_FIELDS,
  type Notification,
  UNKNOWN_FIELD,
  encodeNotificationFrame,
  encodeNotificationHead,
  parsePublishBody,
} from '../../src/core/notification.js';
import type { OpaqueId } from '../../src/core/opaque-id.js';
import { completeFrame } from '../../src/core/position.js';

const KINDS = [
  'appointment.created',
  'appointment.updated',
  'appointment.cancelled',
  'message.received',
  'result.available',
];

const GOOD = {
  id: 'evt-2b7c9d1e',
  channel: 'patient:pt-4c9a1b2e',
  kind: 'appointment.updated',
  ref: 'apt-9x8c7v6b',
};

const PARSED: Notification = {
  id: 'evt-2b7c9d1e' as OpaqueId,
  channel: { kind: 'patient', id: 'pt-4c9a1b2e' as OpaqueId },
  kind: 'appointment.updated',
  ref: 'apt-9x8c7v6b' as OpaqueId,
};

const item = (i: number) => ({ ...GOOD, id: `evt-${String(i).padStart(8, '0')}` });
const batch = (n: number) => ({ notifications: Array.from({ length: n }, (_, i) => item(i)) });
const without = (field: keyof typeof GOOD) =>
  Object.fromEntries(Object.entries(GOOD).filter(([k]) => k !== field));

/** Appears in inputs below; must never appear in any output. */
const CANARY = 'Canary7Q';

describe(parsePublishBody.name, () => {
  it('accepts the contract example as a single notification', () => {
    expect(parsePublishBody(GOOD, KINDS)).toEqual({ ok: true, notifications: [PARSED] });
  });

  it('accepts a doctor channel', () => {
    const result = parsePublishBody({ ...GOOD, channel: 'doctor:dr-7f3k2m9q' }, KINDS);
    expect(result.ok && result.notifications[0]?.channel).toEqual({
      kind: 'doctor',
      id: 'dr-7f3k2m9q',
    });
  });

  it.each([1, 2, MAX_BATCH])('accepts a batch of %i in order', (n) => {
    const result = parsePublishBody(batch(n), KINDS);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.notifications.map((x) => x.id)).toEqual(batch(n).notifications.map((x) => x.id));
  });

  it('leaves duplicate ids inside a batch to the idempotency store', () => {
    const result = parsePublishBody({ notifications: [GOOD, GOOD] }, KINDS);
    expect(result).toEqual({ ok: true, notifications: [PARSED, PARSED] });
  });

  it.each<[string, unknown, string[]]>([
    ['an empty batch', { notifications: [] }, ['notifications']],
    ['a batch of 101', batch(MAX_BATCH + 1), ['notifications']],
    ['a batch that is an object', { notifications: GOOD }, ['notifications']],
    ['a batch that is null', { notifications: null }, ['notifications']],
    ['a batch that is a string', { notifications: 'x' }, ['notifications']],
    ['an empty object', {}, ['id', 'channel', 'kind', 'ref']],
    ['a missing id', without('id'), ['id']],
    ['a missing channel', without('channel'), ['channel']],
    ['a missing kind', without('kind'), ['kind']],
    ['a missing ref', without('ref'), ['ref']],
    ['a numeric id', { ...GOOD, id: 12345678 }, ['id']],
    ['a null ref', { ...GOOD, ref: null }, ['ref']],
    ['an id that is too short', { ...GOOD, id: 'evt-1' }, ['id']],
    ['an invalid channel', { ...GOOD, channel: 'nurse:pt-4c9a1b2e' }, ['channel']],
    ['a channel with whitespace', { ...GOOD, channel: 'patient: pt-4c9a1b2e' }, ['channel']],
    ['a channel that is an object', { ...GOOD, channel: { kind: 'patient' } }, ['channel']],
    ['a kind outside the allowlist', { ...GOOD, kind: 'lab.result' }, ['kind']],
    ['a kind in another case', { ...GOOD, kind: 'Appointment.Updated' }, ['kind']],
    ['a kind with padding', { ...GOOD, kind: ' appointment.updated' }, ['kind']],
    ['a kind that is an array', { ...GOOD, kind: ['appointment.updated'] }, ['kind']],
    ['an unknown field', { ...GOOD, patientName: 'x' }, ['patientName']],
    ['a data field', { ...GOOD, data: { a: 1 } }, ['data']],
    ['a type field', { ...GOOD, type: 'notification' }, ['type']],
    ['a ts field', { ...GOOD, ts: 1 }, ['ts']],
    ['an unknown field and a bad ref', { ...GOOD, ref: '1', note: 'x' }, ['note', 'ref']],
    [
      'a __proto__ field',
      JSON.parse(`{"__proto__":{},"id":"evt-2b7c9d1e"}`),
      ['__proto__', 'channel', 'kind', 'ref'],
    ],
    ['an envelope with an extra field', { ...batch(1), source: 'x' }, ['source']],
    [
      'an envelope mixed with a notification',
      { ...GOOD, ...batch(1) },
      ['id', 'channel', 'kind', 'ref'],
    ],
    [
      'a batch item that is not an object',
      { notifications: [GOOD, 'x', GOOD] },
      ['notifications[1]'],
    ],
    ['a batch item that is an array', { notifications: [[GOOD]] }, ['notifications[0]']],
    ['a batch item that is null', { notifications: [null] }, ['notifications[0]']],
    [
      'field errors in several batch items',
      { notifications: [GOOD, { ...GOOD, ref: 'x' }, GOOD, { ...GOOD, kind: 'x', extra: 1 }] },
      ['notifications[1].ref', 'notifications[3].extra', 'notifications[3].kind'],
    ],
    [
      'a nested batch',
      { notifications: [batch(1)] },
      [
        'notifications[0].notifications',
        'notifications[0].id',
        'notifications[0].channel',
        'notifications[0].kind',
        'notifications[0].ref',
      ],
    ],
  ])('refuses %s, naming the fields', (_name, body, fields) => {
    expect(parsePublishBody(body, KINDS)).toEqual({ ok: false, fields });
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['undefined', undefined],
    ['a string', JSON.stringify(GOOD)],
    ['a number', 42],
    ['a boolean', true],
    ['an array of notifications', [GOOD]],
    ['an empty array', []],
  ])('refuses a body that is %s as the body itself', (_name, body) => {
    expect(parsePublishBody(body, KINDS)).toEqual({ ok: false, fields: [BODY_FIELD] });
  });

  it.each<[string, keyof typeof GOOD, string]>([
    ['an email as ref', 'ref', 'jane.doe@example.com'],
    ['a name with a space as ref', 'ref', 'Jane Doe'],
    ['an SSN as ref', 'ref', '123-45-6789'],
    ['an MRN of digits only as ref', 'ref', '0012345678'],
    ['an SSN as id', 'id', '123-45-6789'],
    ['an MRN as id', 'id', '12345678'],
    ['an email as channel id', 'channel', 'patient:jane.doe@example.com'],
    ['an SSN as channel id', 'channel', 'patient:123-45-6789'],
    ['an MRN as channel id', 'channel', 'patient:00123456'],
    ['a name as channel id', 'channel', 'patient:Jane Doe'],
    ['a sentence as kind', 'kind', 'Jane Doe has an appointment'],
  ])('refuses a PHI-shaped value (%s) by field name only', (_name, field, value) => {
    const result = parsePublishBody({ ...GOOD, [field]: value }, KINDS);
    expect(result).toEqual({ ok: false, fields: [field] });
    expect(JSON.stringify(result)).not.toContain(value);
  });

  it('refuses every kind when the allowlist is empty', () => {
    expect(parsePublishBody(GOOD, [])).toEqual({ ok: false, fields: ['kind'] });
  });

  it.each<[string, string]>([
    ['an email', `jane.${CANARY}@example.com`],
    ['a name', `Jane ${CANARY}`],
    ['a path', `../${CANARY}`],
    ['a quote', `"${CANARY}`],
  ])('reports an unknown field named like %s without its name', (_name, key) => {
    const result = parsePublishBody({ ...GOOD, [key]: 1 }, KINDS);
    expect(result).toEqual({ ok: false, fields: [UNKNOWN_FIELD] });
    expect(JSON.stringify(result)).not.toContain(CANARY);
  });

  it('never puts an input value into its output', () => {
    const phi = `${CANARY} 123-45-6789 jane.${CANARY}@example.com`;
    const bodies: unknown[] = [
      { id: phi, channel: `patient:${phi}`, kind: phi, ref: phi, [`x ${CANARY}`]: phi },
      { notifications: [{ ...GOOD, ref: phi }, phi, { note: phi }] },
      { notifications: phi, extra: phi },
      { ...GOOD, [`x-${CANARY}`]: phi },
      phi,
      [phi],
    ];
    for (const body of bodies) {
      const result = parsePublishBody(body, KINDS);
      expect(result.ok).toBe(false);
      expect(JSON.stringify(result)).not.toContain(CANARY);
    }
  });

  it(`reports at most ${MAX_REPORTED_FIELDS} field names, each once`, () => {
    const body = { notifications: Array.from({ length: MAX_BATCH }, () => ({ a: 1, b: 2 })) };
    const result = parsePublishBody(body, KINDS);
    if (result.ok) throw new Error('expected a failure');
    expect(result.fields).toHaveLength(MAX_REPORTED_FIELDS);
    expect(new Set(result.fields).size).toBe(MAX_REPORTED_FIELDS);
    expect(result.fields.slice(0, 6)).toEqual([
      'notifications[0].a',
      'notifications[0].b',
      'notifications[0].id',
      'notifications[0].channel',
      'notifications[0].kind',
      'notifications[0].ref',
    ]);
  });

  it('does not read fields inherited from a prototype', () => {
    const body = Object.assign(Object.create(GOOD) as object, { id: GOOD.id });
    expect(parsePublishBody(body, KINDS)).toEqual({
      ok: false,
      fields: ['channel', 'kind', 'ref'],
    });
  });
});

describe(encodeNotificationFrame.name, () => {
  it('encodes exactly the contract frame, keys in order', () => {
    expect(encodeNotificationFrame(PARSED, 1795000000123, 45)).toBe(
      '{"type":"notification","channel":"patient:pt-4c9a1b2e","id":"evt-2b7c9d1e",' +
        '"kind":"appointment.updated","ref":"apt-9x8c7v6b","ts":1795000000123,"seq":45}',
    );
  });

  it('formats a doctor channel', () => {
    const channel: Channel = { kind: 'doctor', id: 'dr-7f3k2m9q' as OpaqueId };
    const frame = JSON.parse(encodeNotificationFrame({ ...PARSED, channel }, 1, 1)) as unknown;
    expect(frame).toEqual({
      ...GOOD,
      type: 'notification',
      channel: 'doctor:dr-7f3k2m9q',
      ts: 1,
      seq: 1,
    });
  });

  it('round-trips a parsed body into a frame', () => {
    const parsed = parsePublishBody(GOOD, KINDS);
    if (!parsed.ok) throw new Error('expected notifications');
    const frame = JSON.parse(encodeNotificationFrame(parsed.notifications[0]!, 7, 3)) as unknown;
    expect(frame).toEqual({ type: 'notification', ...GOOD, ts: 7, seq: 3 });
  });
});

describe(encodeNotificationHead.name, () => {
  it.each([1, 9, 10, 45, 1000, 2 ** 40])(
    'completed with seq %d is exactly the encoded frame',
    (seq) => {
      const head = encodeNotificationHead(PARSED, 1795000000123);
      expect(completeFrame(head, seq)).toBe(encodeNotificationFrame(PARSED, 1795000000123, seq));
    },
  );

  it('is the frame up to its seq, without the closing brace', () => {
    expect(encodeNotificationHead(PARSED, 5)).toBe(
      '{"type":"notification","channel":"patient:pt-4c9a1b2e","id":"evt-2b7c9d1e",' +
        '"kind":"appointment.updated","ref":"apt-9x8c7v6b","ts":5',
    );
  });
});
