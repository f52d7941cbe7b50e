/**
 * Channels (contract §2): the names clients subscribe to and publishers address.
 *
 * Invariant: a channel is exactly `<kind>:<opaqueId>` for a kind from a closed set. Nothing
 * is normalised: no trimming, no case folding, no second colon, no empty or non-opaque id.
 * Because the opaque-id grammar has no `:`, whitespace, `/` or `.`, the first colon is the
 * only colon, and a parsed channel formats back to the very string it came from. That makes
 * the formatted name safe to use as a Redis channel, a map key, an audit field and a frame
 * field as is.
 *
 * Adding a kind means adding a member to `Channel` and an entry to `CHANNEL_KINDS` (a
 * compile error until then); every decision that switches on `kind` (policy.ts) then fails
 * to compile until it handles the new kind.
 */
import { type OpaqueId, isOpaqueId } from './opaque-id.js';

export type Channel =
  | { readonly kind: 'patient'; readonly id: OpaqueId }
  | { readonly kind: 'doctor'; readonly id: OpaqueId };

export type ChannelKind = Channel['kind'];

/** The string form of a channel, e.g. `patient:pt-4c9a1b2e`. */
export type ChannelName = `${ChannelKind}:${string}`;

export type ChannelResult =
  | { readonly ok: true; readonly channel: Channel }
  | { readonly ok: false; readonly error: 'invalid_channel' };

/**
 * The closed set of kinds. A mapped type over `ChannelKind`, so the set and the union can
 * never drift apart: a kind missing here, or one here that the union lacks, does not compile.
 */
const KINDS: { readonly [K in ChannelKind]: K } = { patient: 'patient', doctor: 'doctor' };

export const CHANNEL_KINDS: readonly ChannelKind[] = Object.freeze(Object.values(KINDS));

const INVALID: ChannelResult = { ok: false, error: 'invalid_channel' };

export function parseChannel(s: string): ChannelResult {
  if (typeof s !== 'string') return INVALID;
  const colon = s.indexOf(':');
  if (colon <= 0) return INVALID;
  const kind = s.slice(0, colon);
  const id = s.slice(colon + 1);
  // Own properties only: `constructor:...` or `__proto__:...` must not find a kind.
  if (!Object.hasOwn(KINDS, kind) || !isOpaqueId(id)) return INVALID;
  return { ok: true, channel: { kind: KINDS[kind as ChannelKind], id } };
}

export function formatChannel(c: Channel): ChannelName {
  return `${c.kind}:${c.id}`;
}

/** Two channels name the same stream. */
export function sameChannel(a: Channel, b: Channel): boolean {
  return a.kind === b.kind && a.id === b.id;
}
