import type { HttpErrorCode } from '../core/error-codes.js';

/** Thrown by handlers to answer `{"error": code}` with the code's status and extra headers. */
export class ApiError extends Error {
  constructor(
    readonly code: HttpErrorCode,
    readonly headers: Readonly<Record<string, string>> = {},
    /** Field names (never values) for `invalid_payload`. */
    readonly fields?: readonly string[],
  ) {
    super(code);
    this.name = 'ApiError';
  }
}

/** Awaits `work`; any failure (a store or the bus down) becomes 503 `unavailable`. */
export async function unavailableOnFailure<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch {
    throw new ApiError('unavailable', { 'Retry-After': '1' });
  }
}
