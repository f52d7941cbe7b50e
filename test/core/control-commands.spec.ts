import { describe, expect, it } from '@jest/globals';
import {
  type ControlCommand,
  decodeControl,
  encodeControl,
} from '../../src/core/control-commands.js';
import { idpDigest } from '../../src/core/idp-session.js';

const SUB = idpDigest('sub', 'u-1');
const SID = idpDigest('sid', 's-1');

describe('control commands', () => {
  it.each<[string, ControlCommand]>([
    [
      'a care-team removal',
      { type: 'careteam.removed', patient: 'pt-4c9a1b2e', doctor: 'dr-7f3k2m9q' },
    ],
    ['a disconnect', { type: 'user.disconnect', user: 'doctor:dr-7f3k2m9q' }],
    ['a logout of a sub', { type: 'user.logout', target: { sub: SUB, sid: null } }],
    ['a logout of a sid', { type: 'user.logout', target: { sub: null, sid: SID } }],
    ['a logout of both', { type: 'user.logout', target: { sub: SUB, sid: SID } }],
  ])('round-trips %s', (_name, command) => {
    expect(decodeControl(encodeControl(command))).toEqual(command);
  });

  it.each([
    ['a logout naming nobody', { type: 'user.logout', target: { sub: null, sid: null } }],
    ['a logout with a raw identifier', { type: 'user.logout', target: { sub: 'u-1', sid: null } }],
    ['a logout without target', { type: 'user.logout' }],
    ['an unknown type', { type: 'user.promote', user: 'doctor:dr-7f3k2m9q' }],
  ])('refuses %s', (_name, value) => {
    expect(decodeControl(JSON.stringify(value))).toBeNull();
  });

  it('refuses what is not JSON', () => {
    expect(decodeControl('{')).toBeNull();
  });
});
