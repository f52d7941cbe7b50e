import { applyDecorators, Header } from '@nestjs/common';

/**
 * CORS for the ticket endpoint: answered only for exact ALLOWED_ORIGINS entries (OriginGuard
 * decides), never with credentials (the access token travels in Authorization, not in
 * cookies).
 */
export function corsHeaders(origin: string): Record<string, string> {
  // Retry-After must be readable by browser code that backs off on 429 and 503.
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Expose-Headers': 'Retry-After',
    Vary: 'Origin',
  };
}

const PREFLIGHT_HEADERS: Readonly<Record<string, string>> = {
  'Access-Control-Allow-Methods': 'POST',
  'Access-Control-Allow-Headers': 'Authorization, Content-Type',
  'Access-Control-Max-Age': '600',
};

/**
 * What an allowed preflight adds to OriginGuard's CORS headers. Nest sets these on the
 * handler's answer only, so a refused preflight never carries them.
 */
export function PreflightHeaders(): MethodDecorator {
  return applyDecorators(
    ...Object.entries(PREFLIGHT_HEADERS).map(([name, value]) => Header(name, value)),
  );
}
