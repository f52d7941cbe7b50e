import { describe, expect, it } from '@jest/globals';
import {
  type BreakGlassDecision,
  breakGlassNeedsRate,
  breakGlassUntil,
  decideBreakGlass,
  hasScope,
} from '../../src/core/break-glass.js';
import type { Channel } from '../../src/core/channel.js';
import type { OpaqueId } from '../../src/core/opaque-id.js';
import type { Principal } from '../../src/core/principal.js';

/*
 * Every combination of the facts break-glass turns on: who asks (a doctor, or a patient),
 * which channel, the scope, the care team, the launch context, the reason and the rate. The
 * expected decision of each row is written out below in the contract's words (§8), not
 * computed by the function under test.
 */
const P = 'pt-4c9a1b2e' as OpaqueId;
const OTHER_PATIENT = 'pt-9z8y7x6w' as OpaqueId;
const DOCTOR = 'dr-7f3k2m9q' as OpaqueId;
const REASONS = ['emergency', 'coverage', 'patient_request'];

type Launch = 'none' | 'names P' | 'names another';
type Asker = 'doctor' | 'patient P' | 'patient other';
type Target = 'patient:P' | 'doctor:own' | 'doctor:other';

function principalOf(asker: Asker, launch: Launch): Principal {
  switch (asker) {
    case 'doctor':
      return {
        role: 'doctor',
        id: DOCTOR,
        launchPatient: launch === 'none' ? null : launch === 'names P' ? P : OTHER_PATIENT,
      };
    case 'patient P':
      return { role: 'patient', id: P };
    case 'patient other':
      return { role: 'patient', id: OTHER_PATIENT };
  }
}

function channelOf(target: Target): Channel {
  switch (target) {
    case 'patient:P':
      return { kind: 'patient', id: P };
    case 'doctor:own':
      return { kind: 'doctor', id: DOCTOR };
    case 'doctor:other':
      return { kind: 'doctor', id: 'dr-0a1b2c3d' as OpaqueId };
  }
}

interface Row {
  asker: Asker;
  target: Target;
  scope: boolean;
  careTeam: boolean;
  launch: Launch;
  reason: string;
  rate: boolean;
}

/** The contract, in order: reason, ordinary policy, doctor on a patient channel, scope, rate. */
function expected(row: Row): BreakGlassDecision {
  if (!REASONS.includes(row.reason))
    return { kind: 'deny', code: 'bad_request', reason: 'break_glass_bad_reason' };
  if (row.asker === 'patient P') {
    return row.target === 'patient:P'
      ? { kind: 'ordinary', basis: 'own_channel' }
      : { kind: 'deny', code: 'forbidden', reason: 'role_cannot_subscribe' };
  }
  if (row.asker === 'patient other') {
    return row.target === 'patient:P'
      ? { kind: 'deny', code: 'forbidden', reason: 'not_own_channel' }
      : { kind: 'deny', code: 'forbidden', reason: 'role_cannot_subscribe' };
  }
  if (row.target === 'doctor:own') return { kind: 'ordinary', basis: 'own_channel' };
  if (row.target === 'doctor:other')
    return { kind: 'deny', code: 'forbidden', reason: 'not_own_channel' };
  if (row.launch === 'names P') return { kind: 'ordinary', basis: 'launch_context' };
  if (row.careTeam) return { kind: 'ordinary', basis: 'care_team' };
  if (!row.scope) return { kind: 'deny', code: 'forbidden', reason: 'break_glass_no_scope' };
  if (!row.rate) return { kind: 'deny', code: 'rate_limited', reason: 'break_glass_rate' };
  return { kind: 'grant', reason: row.reason };
}

const rows: Row[] = [];
for (const asker of ['doctor', 'patient P', 'patient other'] as const)
  for (const target of ['patient:P', 'doctor:own', 'doctor:other'] as const)
    for (const scope of [true, false])
      for (const careTeam of [true, false])
        for (const launch of ['none', 'names P', 'names another'] as const)
          for (const reason of [...REASONS, 'curiosity', 'Emergency'])
            for (const rate of [true, false])
              rows.push({ asker, target, scope, careTeam, launch, reason, rate });

const label = (r: Row) =>
  `${r.asker} -> ${r.target}, scope ${r.scope}, care team ${r.careTeam}, launch ${r.launch}, ` +
  `reason ${r.reason}, rate ${r.rate ? 'left' : 'spent'}`;

describe('decideBreakGlass: every combination', () => {
  it('has all of them', () => {
    expect(rows).toHaveLength(3 * 3 * 2 * 2 * 3 * 5 * 2);
  });

  it.each(rows.map((r) => [label(r), r] as const))('%s', (_label, row) => {
    const decision = decideBreakGlass(
      principalOf(row.asker, row.launch),
      channelOf(row.target),
      { reason: row.reason },
      REASONS,
      { hasScope: row.scope, careTeamMember: row.careTeam, rateAllowed: row.rate },
    );
    expect(decision).toEqual(expected(row));
  });

  it('spends the rate exactly when the rate decides: never for refusals or ordinary subscribes', () => {
    for (const row of rows) {
      const needs = breakGlassNeedsRate(
        principalOf(row.asker, row.launch),
        channelOf(row.target),
        { reason: row.reason },
        REASONS,
        { hasScope: row.scope, careTeamMember: row.careTeam },
      );
      expect([label(row), needs]).toEqual([
        label(row),
        expected({ ...row, rate: true }).kind === 'grant',
      ]);
    }
  });
});

describe('breakGlassUntil', () => {
  it('lasts BREAK_GLASS_SECONDS from now', () => {
    expect(breakGlassUntil(1_000_000, 900, 9_000_000)).toBe(1_900_000);
  });

  it('never outlives the session', () => {
    expect(breakGlassUntil(1_000_000, 900, 1_500_000)).toBe(1_500_000);
  });
});

describe('hasScope', () => {
  it.each([
    ['a space-separated scope claim', { scope: 'openid carecast/break-glass profile' }, true],
    ['an scp array (Okta)', { scp: ['openid', 'carecast/break-glass'] }, true],
    ['an scp string (Entra ID)', { scp: 'carecast/break-glass' }, true],
    ['a prefix only', { scope: 'carecast/break-glass-extra' }, false],
    ['no scope claim', {}, false],
    ['a scope of another type', { scope: 7 }, false],
  ])('%s', (_name, claims, has) => {
    expect(hasScope(claims, 'carecast/break-glass')).toBe(has);
  });
});
