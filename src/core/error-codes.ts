/**
 * Every error code an HTTP client of carecast can see, as `{"error":"<code>"}`. Fixed strings:
 * no request value ever reaches a response body. Each transport maps codes in one function.
 */
export type HttpErrorCode =
  | 'bad_request'
  /** `POST /v1/backchannel-logout` refused (OIDC Back-Channel Logout 1.0 §2.8). */
  | 'invalid_request'
  | 'invalid_token'
  | 'invalid_signature'
  | 'tls_required'
  | 'origin_not_allowed'
  | 'unsupported_principal'
  | 'user_blocked'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'invalid_payload'
  | 'rate_limited'
  | 'internal_error'
  | 'unavailable';
