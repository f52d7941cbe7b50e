/**
 * Principals (contract §2): who a verified access token speaks for, derived from its claims
 * alone. The claims must already be verified (signature, issuer, audience, exp); this module
 * only interprets them, and refuses whatever it cannot interpret exactly.
 *
 * Derivation order:
 * 1. `fhirUser` (SMART on FHIR): `Patient/<id>` is a patient, `Practitioner/<id>` a doctor,
 *    relative or as an absolute URL whose last two path segments are those.
 * 2. Otherwise `role` (`patient` | `doctor`) with `sub` as the id.
 * 3. Otherwise, or when the id is not an opaque id: `unsupported_principal`.
 *
 * Decisions where the contract leaves room (all deny by default):
 * - "Otherwise" in step 2 means "no fhirUser claim", not "a fhirUser we did not recognise".
 *   A present but unrecognised fhirUser (`RelatedPerson/...`, `patient/...`, a `_history`
 *   reference, `null`) is refused: the identity provider told us who the user is and we
 *   could not read it; re-reading the same user through `role` could turn, say, a
 *   RelatedPerson into a patient.
 * - When fhirUser is recognised, `role` and `sub` are ignored, as the order says.
 * - `role` must be exactly the string `patient` or `doctor`; arrays, other casing and
 *   padding are refused rather than guessed at.
 * - A doctor's launch context (`patient` claim) must be an opaque id when present; any other
 *   value refuses the whole token instead of silently dropping the context.
 * - A patient never carries a launch context. A `patient` claim equal to the patient's own
 *   id is tolerated (SMART servers add it to patient tokens, and it grants nothing); any
 *   other value makes the token ambiguous about who the patient is, and it is refused.
 * - Claims are read as own properties only, so nothing inherited from a prototype counts.
 */
import { type OpaqueId, isOpaqueId } from './opaque-id.js';

export type Principal =
  | { readonly role: 'patient'; readonly id: OpaqueId }
  | { readonly role: 'doctor'; readonly id: OpaqueId; readonly launchPatient: OpaqueId | null };

export type Role = Principal['role'];

/** `<role>:<id>`, e.g. `doctor:dr-7f3k2m9q`: the actor in audit records and limit keys. */
export type UserKey = `${Role}:${string}`;

export type PrincipalResult =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly error: 'unsupported_principal' };

/** Whether `s` is `<role>:<opaque id>`, as the internal API names users. */
export function isUserKey(s: string): s is UserKey {
  const i = s.indexOf(':');
  const role = s.slice(0, i);
  return (role === 'patient' || role === 'doctor') && isOpaqueId(s.slice(i + 1));
}

export function userKey(p: Principal): UserKey {
  return `${p.role}:${p.id}`;
}

const UNSUPPORTED: PrincipalResult = { ok: false, error: 'unsupported_principal' };

/** FHIR resource types are case-sensitive; only these two name a carecast user. */
const FHIR_ROLES: Readonly<Record<string, Role>> = { Patient: 'patient', Practitioner: 'doctor' };

/** Exactly `<Type>/<id>`: no base, no extra segments, no `_history`. */
const RELATIVE_REFERENCE = /^([A-Za-z]+)\/([^/]+)$/;

/**
 * `http(s)://host[:port][/base...]/<Type>/<id>`. Matched on the raw string, never through
 * a URL parser: a parser would resolve `..`, decode `%2F` and lower-case hosts, and the
 * identity must be what the provider signed, not what a normaliser made of it. Base
 * segments are restricted to unreserved characters and may not be `.` or `..` (checked
 * below); no userinfo, query or fragment.
 */
const ABSOLUTE_REFERENCE =
  /^https?:\/\/[A-Za-z0-9.-]+(?::[0-9]{1,5})?((?:\/[A-Za-z0-9._~-]+)*)\/([A-Za-z]+)\/([^/]+)$/;

export function derivePrincipal(claims: Record<string, unknown>): PrincipalResult {
  const fhirUser = ownClaim(claims, 'fhirUser');
  const identity = fhirUser === undefined ? fromRole(claims) : fromFhirUser(fhirUser);
  if (identity === null || !isOpaqueId(identity.id)) return UNSUPPORTED;
  return withLaunchContext(identity.role, identity.id, ownClaim(claims, 'patient'));
}

interface Identity {
  readonly role: Role;
  readonly id: string;
}

function fromFhirUser(value: unknown): Identity | null {
  if (typeof value !== 'string') return null;
  const relative = RELATIVE_REFERENCE.exec(value);
  if (relative !== null) return fromReference(relative[1], relative[2]);
  const absolute = ABSOLUTE_REFERENCE.exec(value);
  if (absolute === null) return null;
  const base = absolute[1] ?? '';
  if (base.split('/').some((segment) => segment === '.' || segment === '..')) return null;
  return fromReference(absolute[2], absolute[3]);
}

function fromReference(type: string | undefined, id: string | undefined): Identity | null {
  if (type === undefined || id === undefined) return null;
  // Own properties only: `constructor/...` or `__proto__/...` must not find anything.
  const role = Object.hasOwn(FHIR_ROLES, type) ? FHIR_ROLES[type] : undefined;
  return role === undefined ? null : { role, id };
}

function fromRole(claims: Record<string, unknown>): Identity | null {
  const role = ownClaim(claims, 'role');
  const sub = ownClaim(claims, 'sub');
  if (typeof sub !== 'string') return null;
  switch (role) {
    case 'patient':
    case 'doctor':
      return { role, id: sub };
    default:
      return null;
  }
}

function withLaunchContext(role: Role, id: OpaqueId, launch: unknown): PrincipalResult {
  switch (role) {
    case 'patient':
      // A launch context naming anyone but the patient themself is ambiguous: refuse.
      if (launch !== undefined && launch !== id) return UNSUPPORTED;
      return { ok: true, principal: { role, id } };
    case 'doctor':
      if (launch === undefined) return { ok: true, principal: { role, id, launchPatient: null } };
      if (!isOpaqueId(launch)) return UNSUPPORTED;
      return { ok: true, principal: { role, id, launchPatient: launch } };
    default:
      return assertNever(role);
  }
}

function ownClaim(claims: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(claims, name) ? claims[name] : undefined;
}

function assertNever(value: never): never {
  throw new Error(`unreachable: ${String(value)}`);
}
