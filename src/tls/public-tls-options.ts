import { readFile } from 'node:fs/promises';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { PublicTls } from '../config/config.types.js';
import { DEV_CERT_FILE, loadOrCreateDevCertificate } from './dev-certificate.js';

/** What the public HTTPS server is created with: its key material and ALPN selection. */
export type PublicTlsOptions = SecureContextOptions & Pick<TlsOptions, 'ALPNCallback'>;

/**
 * HTTP/1.1 when the client offers it, else the handshake fails with `no_application_protocol`,
 * as the https module's default `ALPNProtocols: ['http/1.1']` does. A callback, not that list:
 * Node copies a server's ALPN list into every TLS socket, a few bytes from the shared 64 KB
 * Buffer pool, and each copy pins its pool slab for the socket's life (about 2.3 KB per idle
 * connection measured, docs/performance.md); the callback is shared.
 */
function selectHttp1({ protocols }: { protocols: string[] }): string | undefined {
  return protocols.includes('http/1.1') ? 'http/1.1' : undefined;
}

/**
 * The public listener's TLS material, or null when a trusted proxy terminates TLS. The
 * self-signed certificate exists only outside production (parseConfig refuses it there); it
 * is kept in ./data beside the dev secrets so a browser that trusts it keeps trusting it.
 */
export async function publicTlsOptions(
  tls: PublicTls,
  logger: Pick<Logger, 'warn' | 'info'>,
): Promise<PublicTlsOptions | null> {
  switch (tls.kind) {
    case 'files': {
      const [cert, key] = await Promise.all([readFile(tls.certFile), readFile(tls.keyFile)]);
      return { cert, key, minVersion: 'TLSv1.2', ALPNCallback: selectHttp1 };
    }
    case 'self-signed': {
      const { cert, key, created, validTo } = await loadOrCreateDevCertificate();
      logger.warn(
        { certFile: DEV_CERT_FILE, created, validTo: validTo.toISOString() },
        'no TLS_CERT_FILE/TLS_KEY_FILE: serving the self-signed localhost development certificate',
      );
      return { cert, key, minVersion: 'TLSv1.2', ALPNCallback: selectHttp1 };
    }
    case 'proxy':
      logger.info('TLS_TERMINATED_BY_PROXY: public listener speaks HTTP to trusted proxies only');
      return null;
  }
}
