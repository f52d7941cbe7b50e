import { describe, expect, it } from '@jest/globals';
import { TLS_CIPHERS, transportFacts } from '../../src/core/transport.js';

describe(transportFacts.name, () => {
  it.each([
    [
      'TLS 1.3 with a listed suite',
      'TLSv1.3',
      'TLS_AES_256_GCM_SHA384',
      'tls1.3:TLS_AES_256_GCM_SHA384',
    ],
    [
      'TLS 1.2 with a listed suite',
      'TLSv1.2',
      'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
      'tls1.2:TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
    ],
    ['an old protocol', 'TLSv1', 'TLS_AES_128_GCM_SHA256', 'other:TLS_AES_128_GCM_SHA256'],
    ['a suite outside the list', 'TLSv1.2', 'TLS_RSA_WITH_AES_128_CBC_SHA', 'tls1.2:other'],
    ['a string a peer could have chosen', 'TLSv1.3', 'Zelda Quixotica', 'tls1.3:other'],
    ['nothing reported', null, null, 'other:other'],
  ])('%s', (_name, protocol, cipher, facts) => {
    expect(transportFacts({ protocol, cipher })).toBe(facts);
  });

  it('says tls_at_proxy when the node did not terminate TLS', () => {
    expect(transportFacts(null)).toBe('tls_at_proxy');
  });

  it('keeps every value bounded: protocols and suites are closed lists', () => {
    for (const cipher of TLS_CIPHERS) expect(cipher).toMatch(/^TLS_[A-Z0-9_]+$/);
  });
});
