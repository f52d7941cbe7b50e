/**
 * What the audit keeps about the transport of an accepted WebSocket connection (HIPAA
 * 164.312(e)(1), transmission security): the TLS protocol version and cipher suite, as closed
 * values. Anything not in the lists is `other`, so a record never holds a string the peer or
 * the TLS library chose, and never an address or certificate contents.
 */

/** TLS versions the public listener can negotiate (minVersion TLSv1.2). */
export type TlsProtocol = 'tls1.2' | 'tls1.3' | 'other';

/**
 * IANA names of the suites Node's default cipher list negotiates at TLS 1.2 and 1.3 (forward
 * secret, AEAD only). An operator who widens the list sees the rest as `other`.
 */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
  'TLS_DHE_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_DHE_RSA_WITH_AES_256_GCM_SHA384',
] as const;

export type TlsCipher = (typeof TLS_CIPHERS)[number] | 'other';

/**
 * `<protocol>:<cipher>` of a connection whose TLS this node terminated, or `tls_at_proxy` when
 * a trusted proxy terminated it (TLS_TERMINATED_BY_PROXY): the node cannot see that session.
 */
export type TransportFacts = `${TlsProtocol}:${TlsCipher}` | 'tls_at_proxy';

/** What the TLS socket reports: `getProtocol()` and `getCipher().standardName`, if any. */
export interface TlsReport {
  readonly protocol: string | null;
  readonly cipher: string | null;
}

const CIPHERS: ReadonlySet<string> = new Set(TLS_CIPHERS);

/** The bounded facts of one connection; null `tls` means the node did not terminate TLS. */
export function transportFacts(tls: TlsReport | null): TransportFacts {
  if (tls === null) return 'tls_at_proxy';
  return `${tlsProtocolOf(tls.protocol)}:${tlsCipherOf(tls.cipher)}`;
}

function tlsProtocolOf(protocol: string | null): TlsProtocol {
  switch (protocol) {
    case 'TLSv1.2':
      return 'tls1.2';
    case 'TLSv1.3':
      return 'tls1.3';
    default:
      return 'other';
  }
}

function tlsCipherOf(cipher: string | null): TlsCipher {
  return cipher !== null && CIPHERS.has(cipher) ? (cipher as TlsCipher) : 'other';
}
