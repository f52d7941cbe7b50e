import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { rootCertificates } from 'node:tls';
import type { Config } from '../config/config.types.js';
import { DEV_CERT_FILE } from '../tls/dev-certificate.js';

/**
 * The certificates `dev:listen` trusts for the node's public listener: the development
 * certificate in ./data when the node serves it (so nothing skips verification), the
 * TLS_CERT_FILE chain plus the system's roots when it serves files, the system's roots behind
 * a proxy.
 */
export async function trustedCertificates(config: Config): Promise<string[]> {
  const tls = config.publicListener.tls;
  switch (tls.kind) {
    case 'self-signed':
      return [await readFile(DEV_CERT_FILE, 'utf8')];
    case 'files':
      return [...rootCertificates, await readFile(tls.certFile, 'utf8')];
    case 'proxy':
      return [...rootCertificates];
  }
}

export interface TicketAnswer {
  readonly status: number;
  readonly body: string;
}

/** `POST /v1/tickets` with the access token, as a server-side app would: no Origin, no CORS. */
export function requestTicket(
  publicUrl: string,
  accessToken: string,
  ca: readonly string[],
): Promise<TicketAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL('/v1/tickets', publicUrl),
      {
        method: 'POST',
        headers: { authorization: `Bearer ${accessToken}` },
        ca: [...ca],
        timeout: 5000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
    req.end();
  });
}
