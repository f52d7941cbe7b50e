import { readFile } from 'node:fs/promises';
import type { SecureContextOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { PublicTls } from '../config/config.types.js';
import { selfSignedLocalhost } from './self-signed-localhost.js';

/**
 * The public listener's TLS material, or null when a trusted proxy terminates TLS. The
 * self-signed certificate exists only outside production (parseConfig refuses it there) and
 * is made in memory at each start: nothing to leak from disk.
 */
export async function publicTlsOptions(
  tls: PublicTls,
  logger: Logger,
): Promise<SecureContextOptions | null> {
  switch (tls.kind) {
    case 'files': {
      const [cert, key] = await Promise.all([readFile(tls.certFile), readFile(tls.keyFile)]);
      return { cert, key, minVersion: 'TLSv1.2' };
    }
    case 'self-signed': {
      const { cert, key } = await selfSignedLocalhost();
      logger.warn(
        'no TLS_CERT_FILE/TLS_KEY_FILE: serving a self-signed localhost certificate (development only)',
      );
      return { cert, key, minVersion: 'TLSv1.2' };
    }
    case 'proxy':
      logger.info('TLS_TERMINATED_BY_PROXY: public listener speaks HTTP to trusted proxies only');
      return null;
  }
}
