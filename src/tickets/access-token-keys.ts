import { createPublicKey, KeyObject, webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';

/**
 * The locally held access-token keys: the PEM public keys of AUTH_PUBLIC_KEY_FILE, or the
 * HMAC secrets AUTH_HS256_SECRET and AUTH_HS256_SECRET_PREVIOUS. Several keys exist only so a
 * key can be rotated without JWKS: the new and the old key both verify during the roll.
 *
 * Invariants:
 * - A token verifies when one key that fits its `alg` verifies it; every other check
 *   (allowlist, iss, aud, exp, typ) is jose's, the same for each key.
 * - jose checks the algorithm allowlist before it asks for a key, so `alg: none` and
 *   algorithms outside the list never reach any key.
 * - A key whose type does not fit the token's `alg` is never tried (an RSA key for ES256, a
 *   public key for HS256), so the HS/RS confusion stays closed whatever the allowlist says.
 * - At most MAX_PUBLIC_KEYS keys: a token costs at most that many signature checks, and a
 *   file with more is refused at start rather than silently truncated.
 */

/** Enough for a new key beside the old one, with room for an overlapping second roll. */
export const MAX_PUBLIC_KEYS = 4;

export type LocalKey = KeyObject | webcrypto.CryptoKey;

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/**
 * Reads every PEM block of the file as a public key (a certificate or private key gives its
 * public half, as createPublicKey does). Throws on no block, too many, or one unreadable.
 */
export async function readPublicKeys(path: string): Promise<KeyObject[]> {
  const blocks = (await readFile(path, 'utf8')).match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw new Error('AUTH_PUBLIC_KEY_FILE holds no PEM key');
  if (blocks.length > MAX_PUBLIC_KEYS) {
    throw new Error(
      `AUTH_PUBLIC_KEY_FILE holds ${blocks.length} PEM blocks; at most ${MAX_PUBLIC_KEYS}`,
    );
  }
  return blocks.map((block) => createPublicKey(block));
}

/**
 * Imported once, as verify-only HMAC SHA-256 (the only algorithm parseConfig allows with this
 * source): given the raw bytes, jose would import them again on every call.
 */
export function hmacKeys(secrets: readonly string[]): Promise<webcrypto.CryptoKey[]> {
  return Promise.all(
    secrets.map((secret) =>
      webcrypto.subtle.importKey(
        'raw',
        new TextEncoder().encode(secret),
        { name: 'HMAC', hash: 'SHA-256' },
        false,
        ['verify'],
      ),
    ),
  );
}

/** Whether jose can verify `alg` with this key; the allowlist itself is checked by jose. */
export function fitsAlgorithm(key: LocalKey, alg: string | undefined): boolean {
  if (!(key instanceof KeyObject)) return alg === 'HS256' && key.algorithm.name === 'HMAC';
  switch (alg) {
    case 'RS256':
      return key.asymmetricKeyType === 'rsa';
    case 'ES256':
      return (
        key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
      );
    case 'EdDSA':
      return key.asymmetricKeyType === 'ed25519';
    default:
      return false;
  }
}

/** Tries each key that fits the token's `alg`, in file order, until one verifies it. */
export async function verifyWithAnyKey(
  token: string,
  keys: readonly LocalKey[],
  options: JWTVerifyOptions,
): Promise<JWTPayload> {
  let fitting: readonly LocalKey[] = [];
  try {
    // The resolver runs after jose's allowlist check and only picks candidates.
    const verified = await jwtVerify(
      token,
      (header) => {
        fitting = keys.filter((key) => fitsAlgorithm(key, header.alg));
        if (fitting.length === 0) throw new errors.JWKSNoMatchingKey();
        return fitting[0]!;
      },
      options,
    );
    return verified.payload;
  } catch (error) {
    if (!(error instanceof errors.JWSSignatureVerificationFailed)) throw error;
  }
  // Claims are checked only after a signature verifies, so a claim failure below is final.
  for (const key of fitting.slice(1)) {
    try {
      return (await jwtVerify(token, key, options)).payload;
    } catch (error) {
      if (!(error instanceof errors.JWSSignatureVerificationFailed)) throw error;
    }
  }
  throw new errors.JWSSignatureVerificationFailed();
}
