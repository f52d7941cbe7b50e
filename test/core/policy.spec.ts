import type { Channel } from '../../src/core/channel.js';
import type { OpaqueId } from '../../src/core/opaque-id.js';
import {
  type CareTeamFacts,
  type SubscribeDecision,
  authorizeSubscribe,
  needsCareTeamLookup,
} from '../../src/core/policy.js';
import type { Principal } from '../../src/core/principal.js';

/**
 * The matrix: who asks × which channel kind × how the asker relates to the id the channel
 * names (X). "self" means the principal's id is X, "other" that it is Y. Both channel kinds
 * name the same id string X, so a row also shows that an id grants nothing across roles.
 *
 * Relations:
 * - `member`: on X's care team (facts say so), no launch context;
 * - `not member`: off the care team, no launch context;
 * - `launch names X`: the token's launch context is X, off the care team;
 * - `launch names other`: the launch context is Z, off the care team.
 * A patient's token never carries a launch context (the Principal type has no room for one),
 * so for patients the two launch relations are the same patient with the facts saying "no".
 */
const X = 'subject-x1';
const Y = 'subject-y2';
const Z = 'subject-z3';

type Who = 'patient self' | 'patient other' | 'doctor self' | 'doctor other';
type Relation = 'member' | 'not member' | 'launch names X' | 'launch names other';

const ALLOW = (basis: 'own_channel' | 'care_team' | 'launch_context'): SubscribeDecision => ({
  allow: true,
  basis,
});
const DENY = (
  reason: 'not_own_channel' | 'not_on_care_team' | 'role_cannot_subscribe',
): SubscribeDecision => ({ allow: false, reason });

function principalFor(who: Who, relation: Relation): Principal {
  const id = (who.endsWith('self') ? X : Y) as OpaqueId;
  if (who.startsWith('patient')) return { role: 'patient', id };
  const launch = relation === 'launch names X' ? X : relation === 'launch names other' ? Z : null;
  return { role: 'doctor', id, launchPatient: launch as OpaqueId | null };
}

const factsFor = (relation: Relation): CareTeamFacts => ({
  careTeamMember: relation === 'member',
});
const channelOf = (kind: Channel['kind']): Channel => ({ kind, id: X as OpaqueId });

const MATRIX: [Who, Channel['kind'], Relation, SubscribeDecision][] = [
  ['patient self', 'patient', 'member', ALLOW('own_channel')],
  ['patient self', 'patient', 'not member', ALLOW('own_channel')],
  ['patient self', 'patient', 'launch names X', ALLOW('own_channel')],
  ['patient self', 'patient', 'launch names other', ALLOW('own_channel')],
  ['patient self', 'doctor', 'member', DENY('role_cannot_subscribe')],
  ['patient self', 'doctor', 'not member', DENY('role_cannot_subscribe')],
  ['patient self', 'doctor', 'launch names X', DENY('role_cannot_subscribe')],
  ['patient self', 'doctor', 'launch names other', DENY('role_cannot_subscribe')],

  ['patient other', 'patient', 'member', DENY('not_own_channel')],
  ['patient other', 'patient', 'not member', DENY('not_own_channel')],
  ['patient other', 'patient', 'launch names X', DENY('not_own_channel')],
  ['patient other', 'patient', 'launch names other', DENY('not_own_channel')],
  ['patient other', 'doctor', 'member', DENY('role_cannot_subscribe')],
  ['patient other', 'doctor', 'not member', DENY('role_cannot_subscribe')],
  ['patient other', 'doctor', 'launch names X', DENY('role_cannot_subscribe')],
  ['patient other', 'doctor', 'launch names other', DENY('role_cannot_subscribe')],

  ['doctor self', 'patient', 'member', ALLOW('care_team')],
  ['doctor self', 'patient', 'not member', DENY('not_on_care_team')],
  ['doctor self', 'patient', 'launch names X', ALLOW('launch_context')],
  ['doctor self', 'patient', 'launch names other', DENY('not_on_care_team')],
  ['doctor self', 'doctor', 'member', ALLOW('own_channel')],
  ['doctor self', 'doctor', 'not member', ALLOW('own_channel')],
  ['doctor self', 'doctor', 'launch names X', ALLOW('own_channel')],
  ['doctor self', 'doctor', 'launch names other', ALLOW('own_channel')],

  ['doctor other', 'patient', 'member', ALLOW('care_team')],
  ['doctor other', 'patient', 'not member', DENY('not_on_care_team')],
  ['doctor other', 'patient', 'launch names X', ALLOW('launch_context')],
  ['doctor other', 'patient', 'launch names other', DENY('not_on_care_team')],
  ['doctor other', 'doctor', 'member', DENY('not_own_channel')],
  ['doctor other', 'doctor', 'not member', DENY('not_own_channel')],
  ['doctor other', 'doctor', 'launch names X', DENY('not_own_channel')],
  ['doctor other', 'doctor', 'launch names other', DENY('not_own_channel')],
];

describe(authorizeSubscribe.name, () => {
  it('covers every role × channel kind × relation exactly once', () => {
    const keys = MATRIX.map(([who, kind, relation]) => `${who}|${kind}|${relation}`);
    expect(new Set(keys).size).toBe(4 * 2 * 4);
  });

  it.each(MATRIX)('%s asking for a %s channel (%s) gets %j', (who, kind, relation, expected) => {
    expect(
      authorizeSubscribe(principalFor(who, relation), channelOf(kind), factsFor(relation)),
    ).toEqual(expected);
  });

  it.each<[string, Principal, CareTeamFacts, SubscribeDecision]>([
    [
      'names the launch context when it and the care team both grant',
      { role: 'doctor', id: Y as OpaqueId, launchPatient: X as OpaqueId },
      { careTeamMember: true },
      ALLOW('launch_context'),
    ],
    [
      'allows through the care team when the launch context names someone else',
      { role: 'doctor', id: Y as OpaqueId, launchPatient: Z as OpaqueId },
      { careTeamMember: true },
      ALLOW('care_team'),
    ],
  ])('%s', (_name, principal, facts, expected) => {
    expect(authorizeSubscribe(principal, channelOf('patient'), facts)).toEqual(expected);
  });

  it('allows the contract example of a patient on their own channel', () => {
    const principal: Principal = { role: 'patient', id: 'pt-4c9a1b2e' as OpaqueId };
    const channel: Channel = { kind: 'patient', id: 'pt-4c9a1b2e' as OpaqueId };
    expect(authorizeSubscribe(principal, channel, { careTeamMember: false })).toEqual(
      ALLOW('own_channel'),
    );
  });

  it('denies a doctor off the care team', () => {
    const principal: Principal = {
      role: 'doctor',
      id: 'dr-7f3k2m9q' as OpaqueId,
      launchPatient: null,
    };
    const channel: Channel = { kind: 'patient', id: 'pt-4c9a1b2e' as OpaqueId };
    expect(authorizeSubscribe(principal, channel, { careTeamMember: false })).toEqual(
      DENY('not_on_care_team'),
    );
  });

  it('throws rather than decide for a role it does not know', () => {
    const alien = { role: 'nurse', id: X } as unknown as Principal;
    expect(() => authorizeSubscribe(alien, channelOf('patient'), { careTeamMember: true })).toThrow(
      'unreachable',
    );
  });

  it('throws rather than decide for a channel kind it does not know', () => {
    const alien = { kind: 'ward', id: X } as unknown as Channel;
    const doctor: Principal = { role: 'doctor', id: X as OpaqueId, launchPatient: X as OpaqueId };
    expect(() => authorizeSubscribe(doctor, alien, { careTeamMember: true })).toThrow(
      'unreachable',
    );
  });
});

describe(needsCareTeamLookup.name, () => {
  it.each(MATRIX)('%s asking for a %s channel (%s)', (who, kind, relation) => {
    const principal = principalFor(who, relation);
    const channel = channelOf(kind);
    const expected =
      who.startsWith('doctor') && kind === 'patient' && relation !== 'launch names X';
    expect(needsCareTeamLookup(principal, channel)).toBe(expected);
  });

  it.each(MATRIX)(
    'is false only where the facts cannot change the decision: %s, %s channel, %s',
    (who, kind, relation) => {
      const principal = principalFor(who, relation);
      const channel = channelOf(kind);
      const member = authorizeSubscribe(principal, channel, { careTeamMember: true });
      const nonMember = authorizeSubscribe(principal, channel, { careTeamMember: false });
      if (needsCareTeamLookup(principal, channel)) {
        expect([member, nonMember]).toEqual([ALLOW('care_team'), DENY('not_on_care_team')]);
      } else {
        expect(member).toEqual(nonMember);
      }
    },
  );
});
