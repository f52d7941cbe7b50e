import { generate } from 'selfsigned';

export interface CertificatePair {
  /** PEM certificate. */
  readonly cert: string;
  /** PEM private key. */
  readonly key: string;
}

const VALID_DAYS = 30;

/**
 * A self-signed certificate for `localhost`, 127.0.0.1 and ::1 (EC P-256, SHA-256, 30 days),
 * made in memory: the development node's public listener, the browser demo's page server and
 * the tests that need a certificate file all use this one recipe. Never for production
 * (parseConfig refuses a self-signed public listener there).
 */
export async function selfSignedLocalhost(): Promise<CertificatePair> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + VALID_DAYS * 24 * 3600 * 1000),
    extensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
