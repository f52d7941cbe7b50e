import { describe, expect, it } from '@jest/globals';
import {
  type BodyShape,
  jsonBody,
  NO_BODY,
  shapeBody,
  type ShapedBody,
  TEXT_BODY,
} from '../../src/http/response-shape.js';
import { PHI_CANARY } from '../support/phi-canary.js';

const PUBLISH = jsonBody({ accepted: [{ id: 'string', duplicate: 'boolean' }] });
const READY = jsonBody({ status: 'string', reasons: ['string'] });
const TICKET = jsonBody({
  ticket: 'string',
  expiresIn: 'number',
  url: 'string',
  protocol: 'string',
});
const NESTED = jsonBody({ user: { id: 'string', flags: { active: 'boolean' } } });

const sent = (body: unknown, removed = 0): ShapedBody => ({ ok: true, body, removed });

describe(shapeBody.name, () => {
  it.each<[string, BodyShape | undefined, unknown, ShapedBody]>([
    [
      'a body exactly in shape',
      TICKET,
      { ticket: 't', expiresIn: 60, url: 'wss://x', protocol: 'p' },
      sent({ ticket: 't', expiresIn: 60, url: 'wss://x', protocol: 'p' }),
    ],
    ['a body with a declared field absent', READY, { status: 'ready' }, sent({ status: 'ready' })],
    [
      'an undeclared top-level field',
      READY,
      { status: 'ok', patient: PHI_CANARY.name },
      sent({ status: 'ok' }, 1),
    ],
    [
      'a declared field of the wrong type',
      TICKET,
      { ticket: { name: PHI_CANARY.name }, expiresIn: 60 },
      sent({ expiresIn: 60 }, 1),
    ],
    ['a number that JSON would turn into null', TICKET, { expiresIn: Number.NaN }, sent({}, 1)],
    [
      'extra fields inside array items',
      PUBLISH,
      { accepted: [{ id: 'a', duplicate: false, mrn: PHI_CANARY.mrn }] },
      sent({ accepted: [{ id: 'a', duplicate: false }] }, 1),
    ],
    [
      'array items of the wrong kind',
      PUBLISH,
      { accepted: [PHI_CANARY.name, { id: 'a', duplicate: true }, null] },
      sent({ accepted: [{ id: 'a', duplicate: true }] }, 2),
    ],
    ['an array where an object is declared', NESTED, { user: [{ id: 'u' }] }, sent({}, 1)],
    ['an object where an array is declared', PUBLISH, { accepted: { id: 'a' } }, sent({}, 1)],
    [
      'strings in a declared string array, with a stray object',
      READY,
      { status: 'not_ready', reasons: ['draining', { email: PHI_CANARY.email }] },
      sent({ status: 'not_ready', reasons: ['draining'] }, 1),
    ],
    [
      'nested objects, extra fields at every depth',
      NESTED,
      { user: { id: 'u', name: PHI_CANARY.name, flags: { active: true, note: 'x' } }, extra: 1 },
      sent({ user: { id: 'u', flags: { active: true } } }, 3),
    ],
    ['a class instance where an object is declared', NESTED, { user: new Date(0) }, sent({}, 1)],
    [
      'fields whose value is undefined (JSON never sends them)',
      READY,
      { status: 'ok', reasons: undefined, other: undefined },
      sent({ status: 'ok' }),
    ],
    [
      'an inherited field name (no prototype lookups)',
      jsonBody({}),
      { toString: 'x' },
      sent({}, 1),
    ],
    ['no body on a no-body route', NO_BODY, undefined, sent(undefined)],
    [
      'a body on a no-body route',
      NO_BODY,
      { name: PHI_CANARY.name, mrn: PHI_CANARY.mrn },
      sent(undefined, 2),
    ],
    ['text on a text route', TEXT_BODY, 'carecast_up 1\n', sent('carecast_up 1\n')],
    [
      'an object on a text route',
      TEXT_BODY,
      { name: PHI_CANARY.name },
      { ok: false, reason: 'wrong_kind' },
    ],
    ['a string on a JSON route', READY, PHI_CANARY.name, { ok: false, reason: 'wrong_kind' }],
    ['an array on a JSON route', PUBLISH, [{ id: 'a' }], { ok: false, reason: 'wrong_kind' }],
    ['nothing on a JSON route', READY, undefined, { ok: false, reason: 'wrong_kind' }],
    [
      'any body on a route that declares no shape',
      undefined,
      { status: 'ok' },
      { ok: false, reason: 'undeclared' },
    ],
  ])('%s', (_case, shape, body, expected) => {
    expect(shapeBody(shape, body)).toEqual(expected);
  });

  it('returns fresh objects, never the handler result itself', () => {
    const body = { status: 'ok' };
    const shaped = shapeBody(READY, body);
    expect(shaped.ok && shaped.body).not.toBe(body);
  });
});
