import { applyDecorators } from '@nestjs/common';
import { ApiResponse, ApiSecurity } from '@nestjs/swagger';
import type { HttpErrorCode } from '../core/error-codes.js';
import { httpStatusOf } from '../http/http-status.js';

/**
 * The OpenAPI decorators every route shares, so a controller states only its own facts:
 * which error codes it can answer (`@ApiErrors(...)`), whether it needs a publisher
 * signature (`@PublisherSigned()`). Statuses come from the one code-to-status mapping
 * (src/http/http-status.ts), so the document cannot disagree with what is sent.
 */

/** The name of the `Carecast-Signature` scheme in `components.securitySchemes`. */
export const PUBLISHER_SIGNATURE_SCHEME = 'publisherSignature';
/** The name of the access-token scheme of `POST /v1/tickets`. */
export const ACCESS_TOKEN_SCHEME = 'accessToken';

/** A header value documented on a response. */
const RETRY_AFTER = {
  'Retry-After': {
    description: 'Seconds to wait before retrying.',
    schema: { type: 'integer', minimum: 1 },
  },
};
const NO_STORE = {
  'Cache-Control': {
    description: 'Always `no-store`.',
    schema: { type: 'string', const: 'no-store' },
  },
};

/** Error codes whose answer carries `Retry-After` (contract §3, §5). */
const RETRYABLE: ReadonlySet<HttpErrorCode> = new Set(['rate_limited', 'unavailable']);

/**
 * `{"error":"<code>"}` and nothing else; `invalid_payload` adds the names (never values) of
 * the fields at fault.
 */
function errorBodySchema(codes: readonly HttpErrorCode[]): Record<string, unknown> {
  const withFields = codes.includes('invalid_payload');
  return {
    type: 'object',
    required: ['error'],
    additionalProperties: false,
    properties: {
      error: { type: 'string', enum: [...codes] },
      ...(withFields
        ? { fields: { type: 'array', items: { type: 'string' }, description: 'Field names only.' } }
        : {}),
    },
  };
}

/** The documented answer with these codes (all of one status): headers and exact body. */
export function errorResponse(codes: readonly HttpErrorCode[]) {
  return {
    description: codes.map((c) => `\`${c}\``).join(', '),
    headers: {
      ...NO_STORE,
      ...(codes.some((c) => RETRYABLE.has(c)) ? RETRY_AFTER : {}),
      ...(codes.includes('invalid_token')
        ? {
            'WWW-Authenticate': {
              description: '`Bearer error="invalid_token"`',
              schema: { type: 'string' },
            },
          }
        : {}),
    },
    content: { 'application/json': { schema: errorBodySchema(codes) } },
  };
}

/**
 * One documented response per status the codes map to, each with the exact error body.
 * What any route can answer (`500 internal_error`; `403 tls_required` on the public listener
 * behind a proxy) is added by the document builder.
 */
export function ApiErrors(...codes: HttpErrorCode[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, HttpErrorCode[]>();
  for (const code of codes) {
    const status = httpStatusOf(code);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return applyDecorators(
    ...[...byStatus].map(([status, statusCodes]) =>
      ApiResponse({ status, ...errorResponse(statusCodes) }),
    ),
  );
}

/**
 * An `/internal/v1/*` route: signed with `Carecast-Signature` by a key of `PUBLISHER_KEYS`
 * (contract §5); a bad signature is 401 `invalid_signature`, and a body that is not
 * `application/json` is 415 `unsupported_media_type`, checked before the signature.
 */
export function PublisherSigned(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiSecurity(PUBLISHER_SIGNATURE_SCHEME),
    ApiErrors('invalid_signature', 'unsupported_media_type'),
  );
}
