/**
 * `Carecast-Signature` on internal API requests (contract §5):
 *
 *     Carecast-Signature: t=<unix seconds>,kid=<key id>,v1=<hex HMAC-SHA256>
 *
 * The MAC is HMAC-SHA256 with the secret of key `kid` over the bytes of
 * `<t>.<METHOD>.<path>.<raw body>`, where:
 * - `t` is the header's `t` exactly as sent (decimal, no sign, no leading zeros);
 * - `METHOD` is the request method in upper case (`POST`, `PUT`, `DELETE`);
 * - `path` is the request path as sent on the request line (percent-encoding untouched),
 *   WITHOUT the query string: everything from the first `?` on is dropped, by the signer
 *   and by the verifier alike;
 * - the raw body is the bytes received, before any JSON parsing (empty for no body).
 *
 * Header grammar, strict: exactly the three parts in the order above, no whitespace, `t` a
 * decimal of at most 12 digits, `kid` 1-64 of `[A-Za-z0-9._-]` (the key-id grammar of
 * `PUBLISHER_KEYS`), `v1` 1-128 hex digits (either case). A `v1` of the wrong length parses
 * but never verifies.
 *
 * Verification fails, always as `invalid_signature`, when the header is malformed, `t` is
 * more than `toleranceSeconds` (300) away from the server clock in either direction, the kid
 * is unknown, or the MAC differs. The MAC comparison is constant-time: `timingSafeEqual`
 * always runs over two buffers of the expected length, and a length mismatch is folded in
 * afterwards, so neither the position of the first differing byte nor the length of the
 * offered MAC shows in the timing. `reason` says which check failed, for the audit log and
 * metrics only; it never goes back to the client. Several keys verify side by side (rotation):
 * the kid selects the secret.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'carecast-signature';
export const DEFAULT_TOLERANCE_SECONDS = 300;

export type SignatureHeader = { readonly t: number; readonly kid: string; readonly v1: string };

export type ParsedSignatureHeader =
  ({ readonly ok: true } & SignatureHeader) | { readonly ok: false };

export type SignatureFailure = 'malformed' | 'clock_skew' | 'unknown_kid' | 'mismatch';

export type SignatureVerification =
  | { readonly ok: true; readonly kid: string }
  | { readonly ok: false; readonly error: 'invalid_signature'; readonly reason: SignatureFailure };

export interface SignedRequest {
  /** The raw `Carecast-Signature` header; `undefined` when absent. */
  readonly header: string | undefined;
  readonly method: string;
  /** The request path; a query string, if present, is ignored. */
  readonly path: string;
  readonly rawBody: Buffer | string;
  /** The server clock in unix seconds. */
  readonly nowSeconds: number;
  /** kid -> secret, from `PUBLISHER_KEYS`. */
  readonly keys: ReadonlyMap<string, string>;
  readonly toleranceSeconds?: number;
}

const HEADER = /^t=(0|[1-9][0-9]{0,11}),kid=([A-Za-z0-9._-]{1,64}),v1=([0-9A-Fa-f]{1,128})$/;

export function parseSignatureHeader(h: string | undefined): ParsedSignatureHeader {
  if (typeof h !== 'string') return { ok: false };
  const match = HEADER.exec(h);
  if (match === null) return { ok: false };
  const [, t, kid, v1] = match as unknown as [string, string, string, string];
  return { ok: true, t: Number(t), kid, v1: v1.toLowerCase() };
}

/** The bytes the MAC covers: `<t>.<METHOD>.<path without query>.<raw body>`. */
export function signingString(
  t: number,
  method: string,
  path: string,
  rawBody: Buffer | string,
): Buffer {
  const query = path.indexOf('?');
  const bare = query === -1 ? path : path.slice(0, query);
  const head = Buffer.from(`${t}.${method.toUpperCase()}.${bare}.`, 'utf8');
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
  return Buffer.concat([head, body]);
}

/** Lower-case hex HMAC-SHA256, what a publisher puts in `v1`. */
export function expectedSignature(
  secret: string,
  t: number,
  method: string,
  path: string,
  rawBody: Buffer | string,
): string {
  return createHmac('sha256', secret)
    .update(signingString(t, method, path, rawBody))
    .digest('hex');
}

/** The full header value a publisher sends; used by tests, the docs and the dev tooling. */
export function signatureHeader(
  kid: string,
  secret: string,
  t: number,
  method: string,
  path: string,
  rawBody: Buffer | string,
): string {
  return `t=${t},kid=${kid},v1=${expectedSignature(secret, t, method, path, rawBody)}`;
}

export function verifySignature(request: SignedRequest): SignatureVerification {
  const tolerance = request.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const header = parseSignatureHeader(request.header);
  if (!header.ok) return failure('malformed');
  if (!(Math.abs(request.nowSeconds - header.t) <= tolerance)) return failure('clock_skew');
  const secret = request.keys.get(header.kid);
  if (secret === undefined) return failure('unknown_kid');
  const expected = expectedSignature(
    secret,
    header.t,
    request.method,
    request.path,
    request.rawBody,
  );
  return macsEqual(expected, header.v1) ? { ok: true, kid: header.kid } : failure('mismatch');
}

/** Constant-time over the expected length; `offered` is already lower case. */
function macsEqual(expected: string, offered: string): boolean {
  const want = Buffer.from(expected, 'latin1');
  const got = Buffer.from(offered, 'latin1');
  const sameLength = got.length === want.length;
  // Compare against `want` itself on a length mismatch, so the same work is always done.
  const equal = timingSafeEqual(sameLength ? got : want, want);
  return sameLength && equal;
}

function failure(reason: SignatureFailure): SignatureVerification {
  return { ok: false, error: 'invalid_signature', reason };
}
