/**
 * Tickets: what `getTicket` must return, how its failures are reported, and a ready-made
 * `getTicket` for apps that call `POST /v1/tickets` with their access token directly.
 */

/** The 201 answer of `POST /v1/tickets`. */
export interface TicketResponse {
  readonly ticket: string;
  readonly expiresIn: number;
  /** The WebSocket URL to open, `wss://<gateway>/v1/ws`. */
  readonly url: string;
  /** Always `carecast.v1`. */
  readonly protocol: string;
}

/**
 * A refused ticket request. `getTicket` implementations throw it (or anything else, which
 * counts as a network failure) so the client can tell "retry later" from "stop".
 */
export class TicketError extends Error {
  constructor(
    /** The HTTP status of the refusal. */
    readonly status: number,
    /** The `error` code of the body, e.g. `user_blocked`, `rate_limited`. */
    readonly code: string,
    /** `Retry-After` in seconds when the response carried one the caller could read. */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(`ticket request refused: ${status} ${code}`);
    this.name = 'TicketError';
  }
}

export type TicketFailure =
  /** 403 (`user_blocked`, `origin_not_allowed`, `unsupported_principal`) or 400: stop. */
  | { readonly kind: 'final'; readonly code: string }
  /** 401 (the app renews its token), 429, 503, network: retry, not before `retryAfterSeconds`. */
  | { readonly kind: 'retry'; readonly code: string; readonly retryAfterSeconds: number | null };

export function classifyTicketFailure(error: unknown): TicketFailure {
  if (!(error instanceof TicketError)) {
    // fetch rejects on network failures and on CORS refusals alike; a browser cannot tell
    // them apart, so both are retried with backoff.
    return { kind: 'retry', code: 'network_error', retryAfterSeconds: null };
  }
  if (error.status === 400 || error.status === 403) return { kind: 'final', code: error.code };
  return { kind: 'retry', code: error.code, retryAfterSeconds: error.retryAfterSeconds };
}

/** The part of `fetch` this module uses; the host's `fetch` by default. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string> },
) => Promise<{
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  json(): Promise<unknown>;
}>;

export interface TicketEndpointOptions {
  /** The gateway's public origin, e.g. `https://gw.example.com`. */
  readonly gatewayUrl: string;
  /** The app's current access token (renewed by its OIDC library as needed). */
  readonly accessToken: () => string | Promise<string>;
  readonly fetch?: FetchLike;
}

/**
 * A `getTicket` that calls `POST <gatewayUrl>/v1/tickets` with the access token, without
 * cookies. A browser cannot read `Retry-After` (the gateway exposes no headers to CORS), so
 * `retryAfterSeconds` is then null and the client's own backoff applies.
 */
export function ticketEndpoint(options: TicketEndpointOptions): () => Promise<TicketResponse> {
  const endpoint = `${options.gatewayUrl.replace(/\/+$/, '')}/v1/tickets`;
  return async () => {
    const fetchImpl = options.fetch ?? (globalThis as unknown as { fetch: FetchLike }).fetch;
    const res = await fetchImpl(endpoint, {
      method: 'POST',
      headers: { Authorization: `Bearer ${await options.accessToken()}` },
    });
    const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
    if (res.status === 201 && isTicketResponse(body)) return body;
    const code = typeof body?.error === 'string' ? body.error : 'unexpected_response';
    throw new TicketError(res.status, code, retryAfter(res.headers.get('retry-after')));
  };
}

function isTicketResponse(
  body: Record<string, unknown> | null,
): body is TicketResponse & Record<string, unknown> {
  return (
    body !== null &&
    typeof body.ticket === 'string' &&
    typeof body.url === 'string' &&
    typeof body.protocol === 'string' &&
    typeof body.expiresIn === 'number'
  );
}

function retryAfter(header: string | null): number | null {
  if (header === null || !/^\d+$/.test(header.trim())) return null;
  return Number(header.trim());
}
