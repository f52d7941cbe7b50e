import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type CertificatePair, selfSignedLocalhost } from './self-signed-localhost.js';

/** Beside ./data/dev-secrets.json: the development node's self-signed certificate and key. */
export const DEV_CERT_FILE = './data/dev-tls-cert.pem';
export const DEV_KEY_FILE = './data/dev-tls-key.pem';

/**
 * A certificate this close to its end is replaced at start, so a node never begins a working
 * session with a certificate that expires during it.
 */
const RENEW_BEFORE_MS = 7 * 24 * 3600 * 1000;

export interface DevCertificate extends CertificatePair {
  /** Whether this start made a new certificate (a browser must trust it again). */
  readonly created: boolean;
  readonly validTo: Date;
}

/**
 * The development node's self-signed localhost certificate, kept in ./data (owner-only files)
 * so a browser exception or a trust-store entry survives restarts. Reused while it parses,
 * matches its key, names localhost and has more than a week left; otherwise a new one
 * replaces it. Files are written to a temporary name and renamed, so a node starting at the
 * same moment never reads half a file. Development only: production refuses self-signed TLS.
 */
export async function loadOrCreateDevCertificate(
  certFile = DEV_CERT_FILE,
  keyFile = DEV_KEY_FILE,
  now = Date.now(),
): Promise<DevCertificate> {
  const stored = await readPair(certFile, keyFile);
  const validTo = stored === null ? null : usableUntil(stored, now);
  if (stored !== null && validTo !== null) return { ...stored, created: false, validTo };

  const fresh = await selfSignedLocalhost();
  await mkdir(dirname(certFile), { recursive: true });
  await writeAtomically(keyFile, fresh.key);
  await writeAtomically(certFile, fresh.cert);
  return { ...fresh, created: true, validTo: new X509Certificate(fresh.cert).validToDate };
}

async function readPair(certFile: string, keyFile: string): Promise<CertificatePair | null> {
  try {
    const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
    return { cert, key };
  } catch {
    return null;
  }
}

/** The pair's end of validity when it may be served now, else null (regenerate). */
function usableUntil(pair: CertificatePair, now: number): Date | null {
  try {
    const x509 = new X509Certificate(pair.cert);
    const fits =
      x509.checkPrivateKey(createPrivateKey(pair.key)) &&
      x509.checkHost('localhost') !== undefined &&
      x509.validFromDate.getTime() <= now &&
      x509.validToDate.getTime() - now > RENEW_BEFORE_MS;
    return fits ? x509.validToDate : null;
  } catch {
    return null;
  }
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const temporary = join(dirname(file), `.${process.pid}-${Date.now()}.tmp`);
  await writeFile(temporary, text, { mode: 0o600 });
  await rename(temporary, file);
}
