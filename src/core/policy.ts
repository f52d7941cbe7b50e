/**
 * Subscription authorization (contract §2). Deny by default; the only grants are:
 * - a patient: `patient:<own id>` (basis `own_channel`);
 * - a doctor: `doctor:<own id>` (basis `own_channel`);
 * - a doctor: `patient:<P>` while the token's SMART launch context names P (basis
 *   `launch_context`), or while the doctor is on P's care team (basis `care_team`).
 *
 * Decisions where the contract leaves room:
 * - Ids are compared within a role only. A doctor whose id happens to equal a patient's id
 *   gains nothing on `patient:<that id>`, and a patient never reads a `doctor:` channel,
 *   even one with their own id string (`role_cannot_subscribe`).
 * - The launch context is checked before the care team, so when both hold the basis is
 *   `launch_context`. That subscription does not depend on the care team: removing the
 *   doctor from P's care team must not revoke it (it lives as long as the token's session).
 *   `needsCareTeamLookup` is exactly "this decision depends on care-team membership", so the
 *   shell uses it both to skip the Redis lookup and to find what a care-team removal revokes.
 * - Care-team membership arrives as a fact, looked up by the shell for this doctor and this
 *   patient; it is ignored for every other question.
 *
 * Every decision is a `switch` over the role and then over the channel kind, closed with a
 * `never` check: a new role or channel kind does not compile until each one decides it.
 */
import type { Channel } from './channel.js';
import type { Principal } from './principal.js';

export type AllowBasis = 'own_channel' | 'care_team' | 'launch_context';

export type DenyReason =
  /** The channel belongs to another user of the principal's own role. */
  | 'not_own_channel'
  /** A doctor asked for a patient channel without care-team membership or launch context. */
  | 'not_on_care_team'
  /** The principal's role may never subscribe to this channel kind. */
  | 'role_cannot_subscribe';

export type SubscribeDecision =
  | { readonly allow: true; readonly basis: AllowBasis }
  | { readonly allow: false; readonly reason: DenyReason };

export interface CareTeamFacts {
  /** Whether the doctor is currently on the care team of the patient the channel names. */
  readonly careTeamMember: boolean;
}

const allow = (basis: AllowBasis): SubscribeDecision => ({ allow: true, basis });
const deny = (reason: DenyReason): SubscribeDecision => ({ allow: false, reason });

export function authorizeSubscribe(
  principal: Principal,
  channel: Channel,
  facts: CareTeamFacts,
): SubscribeDecision {
  switch (principal.role) {
    case 'patient':
      switch (channel.kind) {
        case 'patient':
          return channel.id === principal.id ? allow('own_channel') : deny('not_own_channel');
        case 'doctor':
          return deny('role_cannot_subscribe');
        default:
          return assertNever(channel);
      }
    case 'doctor':
      switch (channel.kind) {
        case 'doctor':
          return channel.id === principal.id ? allow('own_channel') : deny('not_own_channel');
        case 'patient':
          if (principal.launchPatient === channel.id) return allow('launch_context');
          return facts.careTeamMember ? allow('care_team') : deny('not_on_care_team');
        default:
          return assertNever(channel);
      }
    default:
      return assertNever(principal);
  }
}

/**
 * True exactly when `authorizeSubscribe` for this principal and channel reads
 * `facts.careTeamMember`: a doctor asking for a patient channel that their launch context
 * does not name. For every other pair the decision is the same whatever the facts say, so
 * the shell passes `{ careTeamMember: false }` without asking the care-team store.
 */
export function needsCareTeamLookup(principal: Principal, channel: Channel): boolean {
  switch (principal.role) {
    case 'patient':
      return false;
    case 'doctor':
      switch (channel.kind) {
        case 'doctor':
          return false;
        case 'patient':
          return principal.launchPatient !== channel.id;
        default:
          return assertNever(channel);
      }
    default:
      return assertNever(principal);
  }
}

function assertNever(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}
