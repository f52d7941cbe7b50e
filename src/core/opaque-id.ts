/**
 * Opaque ids (contract §2): the only identifiers carecast accepts for users, channels,
 * notifications and references.
 *
 * Invariant: an opaque id is 8-64 characters of `[A-Za-z0-9_-]` with at least one letter.
 * The letter requirement is what keeps bare medical record numbers and SSN-shaped values
 * (`123-45-6789`) out: those are PHI, and an id that must contain a letter cannot be one of
 * them by accident. The character set leaves no room for path segments (`/`, `.`), URL
 * encoding (`%`), whitespace or non-ASCII look-alikes, so an opaque id is safe to embed in a
 * channel name, a Redis key, a log line or an audit record as is.
 */

export const OPAQUE_ID = /^(?=.*[A-Za-z])[A-Za-z0-9_-]{8,64}$/;

declare const opaqueIdBrand: unique symbol;

/** A string that has passed `isOpaqueId`; only that guard produces one. */
export type OpaqueId = string & { readonly [opaqueIdBrand]: true };

export function isOpaqueId(s: unknown): s is OpaqueId {
  return typeof s === 'string' && OPAQUE_ID.test(s);
}
