import { signatureHeader } from '../../src/core/publisher-signature.js';
import { DEV_PUBLISHER_KEY_ID } from '../../src/config/config.types.js';
import { TEST_DEV_SECRETS, type RunningNode } from './app.js';
import { type HttpResponse, request } from './http-client.js';

export interface SignedCall {
  method?: string;
  body?: unknown;
  /** Raw body text, sent as is (for malformed bodies). */
  rawBody?: string;
  kid?: string;
  secret?: string;
  /** Unix seconds for the signature; now by default. */
  t?: number;
  /** Replaces the signature header entirely (or removes it with null). */
  signature?: string | null;
}

/** A request to the internal API signed the way a publishing service signs it. */
export function signedRequest(
  node: RunningNode,
  path: string,
  call: SignedCall = {},
): Promise<HttpResponse> {
  const method = call.method ?? 'POST';
  const raw = call.rawBody ?? (call.body === undefined ? '' : JSON.stringify(call.body));
  const t = call.t ?? Math.floor(Date.now() / 1000);
  const header =
    call.signature === undefined
      ? signatureHeader(
          call.kid ?? DEV_PUBLISHER_KEY_ID,
          call.secret ?? TEST_DEV_SECRETS.publisherSecret,
          t,
          method,
          path,
          raw,
        )
      : call.signature;
  const headers: Record<string, string> = raw === '' ? {} : { 'content-type': 'application/json' };
  if (header !== null) headers['carecast-signature'] = header;
  return request(`${node.internalUrl}${path}`, {
    method,
    headers,
    body: raw === '' ? undefined : raw,
  });
}

export function publish(
  node: RunningNode,
  body: unknown,
  call: SignedCall = {},
): Promise<HttpResponse> {
  return signedRequest(node, '/internal/v1/notifications', { ...call, body });
}

export function addToCareTeam(
  node: RunningNode,
  patientId: string,
  doctorId: string,
): Promise<HttpResponse> {
  return signedRequest(node, `/internal/v1/care-teams/${patientId}/members/${doctorId}`, {
    method: 'PUT',
  });
}

export function removeFromCareTeam(
  node: RunningNode,
  patientId: string,
  doctorId: string,
): Promise<HttpResponse> {
  return signedRequest(node, `/internal/v1/care-teams/${patientId}/members/${doctorId}`, {
    method: 'DELETE',
  });
}
