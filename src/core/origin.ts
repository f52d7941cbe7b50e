/**
 * The Origin rule shared by both public transports (contract §3 and §4): an origin passes
 * only as an exact `ALLOWED_ORIGINS` entry, with no suffix, prefix, scheme, port or case
 * leniency (`null` is never an entry: entries are validated as `scheme://host[:port]`).
 *
 * Whether a request must name its origin depends on what it is:
 * - `required`: a WebSocket upgrade (browsers always send one; a missing one is refused like
 *   a wrong one) and a CORS preflight (which is cross-origin by definition);
 * - `optional`: a ticket request, which native apps and servers send without an Origin. That
 *   is safe because the request carries a bearer token, never a cookie.
 */
export type OriginRule = 'required' | 'optional';

export function originAllowed(
  origin: string | undefined,
  allowed: readonly string[],
  rule: OriginRule,
): boolean {
  if (origin === undefined) return rule === 'optional';
  return allowed.includes(origin);
}
