import { readFile } from 'node:fs/promises';
import type { SecureContextOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { PublicTls } from '../config/config.types.js';
import { DEV_CERT_FILE, loadOrCreateDevCertificate } from './dev-certificate.js';

/**
 * The public listener's TLS material, or null when a trusted proxy terminates TLS. The
 * self-signed certificate exists only outside production (parseConfig refuses it there); it
 * is kept in ./data beside the dev secrets so a browser that trusts it keeps trusting it.
 */
export async function publicTlsOptions(
  tls: PublicTls,
  logger: Pick<Logger, 'warn' | 'info'>,
): Promise<SecureContextOptions | null> {
  switch (tls.kind) {
    case 'files': {
      const [cert, key] = await Promise.all([readFile(tls.certFile), readFile(tls.keyFile)]);
      return { cert, key, minVersion: 'TLSv1.2' };
    }
    case 'self-signed': {
      const { cert, key, created, validTo } = await loadOrCreateDevCertificate();
      logger.warn(
        { certFile: DEV_CERT_FILE, created, validTo: validTo.toISOString() },
        'no TLS_CERT_FILE/TLS_KEY_FILE: serving the self-signed localhost development certificate',
      );
      return { cert, key, minVersion: 'TLSv1.2' };
    }
    case 'proxy':
      logger.info('TLS_TERMINATED_BY_PROXY: public listener speaks HTTP to trusted proxies only');
      return null;
  }
}
