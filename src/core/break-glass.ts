/**
 * Break-glass subscribe (contract §8): a doctor outside a patient's care team may subscribe to
 * `patient:<P>` in an emergency, with the access token's break-glass scope, an allowlisted
 * reason, and within the per-user grant rate. Pure: the shell gathers the facts (care team,
 * scope, rate) and acts on the decision.
 *
 * Decisions where the contract leaves room:
 * - The reason is checked first: a reason outside BREAK_GLASS_REASONS is `bad_request` whoever
 *   asks, so a client learns of its mistake before anything else is decided.
 * - When the ordinary policy already allows the subscription (own channel, launch context, care
 *   team), break-glass is not needed: it is an ordinary subscribe on that basis, with no grant,
 *   no rate spent, no break-glass record and no alert.
 * - Only a doctor asking for a patient channel can break glass; anything else the policy
 *   refused stays refused on the policy's reason (`forbidden`).
 * - The scope is checked before the rate, so a doctor without the scope never spends grants.
 * - A grant ends at BREAK_GLASS_SECONDS from now or at the session's lease, whichever is first.
 */
import type { Channel } from './channel.js';
import { authorizeSubscribe, type CareTeamFacts, type DenyReason } from './policy.js';
import type { Principal } from './principal.js';

/** What the frame asked for: `"breakGlass":{"reason":"..."}`. */
export interface BreakGlassRequest {
  readonly reason: string;
}

export type BreakGlassDenial =
  /** The reason is not in BREAK_GLASS_REASONS. */
  | 'break_glass_bad_reason'
  /** The access token behind the session lacks BREAK_GLASS_SCOPE. */
  | 'break_glass_no_scope'
  /** RATE_BREAK_GLASS_PER_USER is spent. */
  | 'break_glass_rate';

export interface BreakGlassFacts extends CareTeamFacts {
  /** The session's access token carried BREAK_GLASS_SCOPE. */
  readonly hasScope: boolean;
  /** The grant rate admitted one more grant (only asked when `breakGlassNeedsRate`). */
  readonly rateAllowed: boolean;
}

export type BreakGlassDecision =
  /** The ordinary policy allows it: subscribe on that basis, break-glass unused. */
  | { readonly kind: 'ordinary'; readonly basis: 'own_channel' | 'care_team' | 'launch_context' }
  | { readonly kind: 'grant'; readonly reason: string }
  | {
      readonly kind: 'deny';
      readonly code: 'bad_request' | 'forbidden' | 'rate_limited';
      readonly reason: BreakGlassDenial | DenyReason;
    };

export function decideBreakGlass(
  principal: Principal,
  channel: Channel,
  request: BreakGlassRequest,
  allowedReasons: readonly string[],
  facts: BreakGlassFacts,
): BreakGlassDecision {
  if (!allowedReasons.includes(request.reason)) {
    return { kind: 'deny', code: 'bad_request', reason: 'break_glass_bad_reason' };
  }
  const ordinary = authorizeSubscribe(principal, channel, facts);
  if (ordinary.allow) return { kind: 'ordinary', basis: ordinary.basis };
  if (ordinary.reason !== 'not_on_care_team') {
    return { kind: 'deny', code: 'forbidden', reason: ordinary.reason };
  }
  if (!facts.hasScope) return { kind: 'deny', code: 'forbidden', reason: 'break_glass_no_scope' };
  if (!facts.rateAllowed) return { kind: 'deny', code: 'rate_limited', reason: 'break_glass_rate' };
  return { kind: 'grant', reason: request.reason };
}

/**
 * True exactly when `decideBreakGlass` with these facts reads `rateAllowed`: the shell counts
 * a grant against the rate only then, so refusals and ordinary subscribes never spend one.
 */
export function breakGlassNeedsRate(
  principal: Principal,
  channel: Channel,
  request: BreakGlassRequest,
  allowedReasons: readonly string[],
  facts: Omit<BreakGlassFacts, 'rateAllowed'>,
): boolean {
  const granted = decideBreakGlass(principal, channel, request, allowedReasons, {
    ...facts,
    rateAllowed: true,
  });
  const refused = decideBreakGlass(principal, channel, request, allowedReasons, {
    ...facts,
    rateAllowed: false,
  });
  return granted.kind !== refused.kind;
}

/** When a grant made at `nowMs` ends: its length, cut at the session's lease. */
export function breakGlassUntil(
  nowMs: number,
  grantSeconds: number,
  sessionEndsAt: number,
): number {
  return Math.min(nowMs + grantSeconds * 1000, sessionEndsAt);
}

/** Whether `scope` is among the access token's scopes (`scope` or `scp`, string or array). */
export function hasScope(claims: Readonly<Record<string, unknown>>, scope: string): boolean {
  for (const name of ['scope', 'scp']) {
    const value = Object.hasOwn(claims, name) ? claims[name] : undefined;
    const scopes = typeof value === 'string' ? value.split(' ') : Array.isArray(value) ? value : [];
    if (scopes.includes(scope)) return true;
  }
  return false;
}
