/**
 * CORS for the ticket endpoint: answered only for exact ALLOWED_ORIGINS entries, never with
 * credentials (the access token travels in Authorization, not in cookies).
 */
export function corsHeaders(origin: string): Record<string, string> {
  // Retry-After must be readable by browser code that backs off on 429 and 503.
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Expose-Headers': 'Retry-After',
    Vary: 'Origin',
  };
}

export function preflightHeaders(origin: string): Record<string, string> {
  return {
    ...corsHeaders(origin),
    'Access-Control-Allow-Methods': 'POST',
    'Access-Control-Allow-Headers': 'Authorization, Content-Type',
    'Access-Control-Max-Age': '600',
  };
}

/** Absent Origin (native apps, servers) is allowed; a present one must be listed exactly. */
export function originAllowed(origin: string | undefined, allowed: readonly string[]): boolean {
  return origin === undefined || allowed.includes(origin);
}
