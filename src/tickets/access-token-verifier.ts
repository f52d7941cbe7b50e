import { Inject, Injectable, Logger, type OnModuleInit, Optional } from '@nestjs/common';
import {
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import { CONFIG } from '../config/config.module.js';
import type { AccessTokenKeySource, Config } from '../config/config.types.js';
import { hmacKeys, type LocalKey, readPublicKeys, verifyWithAnyKey } from './access-token-keys.js';

/**
 * Verifies the app's OIDC access tokens (contract §2) with exactly the configured key source,
 * issuer, audience, algorithm allowlist and clock tolerance; `exp` is required.
 *
 * Invariants:
 * - Every failure that is the token's fault is `invalid_token` (401). Only a key set that
 *   cannot be fetched or read (identity provider down, slow, or serving garbage) is
 *   `unavailable` (503): the token may be fine, and the client should retry, not re-login.
 * - The algorithm allowlist is checked by jose before any key is resolved, so `alg: none`
 *   and algorithms outside the list never reach a key, and junk tokens never trigger a
 *   JWKS fetch. HS/RS confusion is closed twice: config never mixes HS256 with public-key
 *   algorithms, and jose refuses to use a public key as an HMAC secret.
 * - Neither the token nor any claim value is ever logged: only the error class and code.
 * - A key file or HS256 secret pair holds a few keys (access-token-keys.ts): the token
 *   verifies when any key fitting its `alg` does, with the same checks for each.
 * - Keys from a JWKS are cached and rotated by jose: an unknown `kid` refetches the set at
 *   most once per cooldown, so a stream of forged kids cannot hammer the provider. A stale
 *   set is never served past `cacheMaxAge` when the provider is down: a rotated-out
 *   (possibly compromised) key must stop working, so such tokens get 503 instead.
 */

export type AccessTokenVerification =
  | {
      readonly ok: true;
      readonly claims: JWTPayload;
      /** `exp` in ms. */ readonly expiresAt: number;
    }
  | { readonly ok: false; readonly error: 'invalid_token' | 'unavailable' };

/** JWKS caching knobs; the defaults suit production, tests shorten the cooldown. */
export interface JwksCacheOptions {
  /** Minimum time between refetches triggered by an unknown `kid`. */
  readonly cooldownMs: number;
  /** How long a fetched key set is used before it is fetched again. */
  readonly cacheMaxAgeMs: number;
  /** Fetch timeout; kept short so the ticket endpoint can answer 503 promptly. */
  readonly timeoutMs: number;
}

export const DEFAULT_JWKS_CACHE: JwksCacheOptions = {
  cooldownMs: 30_000,
  cacheMaxAgeMs: 600_000,
  timeoutMs: 1_000,
};

/**
 * Far above any real access token; longer input is refused before it is parsed. Real
 * tokens with many scopes stay under 4 KiB; browsers cap headers around 8-16 KiB.
 */
const MAX_TOKEN_CHARS = 16_384;

/** Thrown by the JWKS key resolver when the key set itself cannot be had. */
class KeySetUnavailable extends Error {}

/**
 * Errors from the key resolver that describe the token (its header), not the key set.
 * JWKSMultipleMatchingKeys is not a failure: `verifyWith` tries each candidate.
 */
const TOKEN_FAULTS_IN_KEY_LOOKUP = [
  errors.JWKSNoMatchingKey,
  errors.JWKSMultipleMatchingKeys,
  errors.JOSENotSupported,
] as const;

/** The JWKS resolver, or the keys held locally (a PEM file, the HS256 secrets). */
type VerificationKeys =
  | { readonly kind: 'remote'; readonly getKey: JWTVerifyGetKey }
  | { readonly kind: 'local'; readonly keys: readonly LocalKey[] };

@Injectable()
export class AccessTokenVerifier implements OnModuleInit {
  private readonly logger = new Logger(AccessTokenVerifier.name);
  private readonly auth: Config['auth'];
  private readonly cache: JwksCacheOptions;
  private readonly options: JWTVerifyOptions;
  private readonly logoutOptions: JWTVerifyOptions;
  private keys: Promise<VerificationKeys> | null = null;

  constructor(@Inject(CONFIG) config: Config, @Optional() cache?: Partial<JwksCacheOptions>) {
    this.auth = config.auth;
    this.cache = { ...DEFAULT_JWKS_CACHE, ...cache };
    this.options = {
      issuer: this.auth.issuer,
      audience: this.auth.audience,
      algorithms: [...this.auth.algorithms],
      clockTolerance: this.auth.clockToleranceSeconds,
      requiredClaims: ['exp'],
    };
    // Back-channel logout tokens (contract §8): the same key source, issuer, algorithms and
    // tolerance; their own audience; `exp` optional (providers often omit it). The logout
    // claims (iat window, jti, events, sub/sid, nonce) are checked by core/logout-token.ts.
    this.logoutOptions = {
      issuer: this.auth.issuer,
      audience: this.auth.logoutAudience,
      algorithms: [...this.auth.algorithms],
      clockTolerance: this.auth.clockToleranceSeconds,
    };
  }

  /** Loads the keys at start, so a missing, unreadable or overfull PEM file stops the node. */
  async onModuleInit(): Promise<void> {
    await this.verificationKeys();
  }

  async verify(token: string): Promise<AccessTokenVerification> {
    return this.verifyAgainst(token, this.options);
  }

  /** A back-channel logout token: signature, `iss`, `aud`, algorithm, `exp` when present. */
  async verifyLogoutToken(token: string): Promise<AccessTokenVerification> {
    return this.verifyAgainst(token, this.logoutOptions);
  }

  private async verifyAgainst(
    token: string,
    options: JWTVerifyOptions,
  ): Promise<AccessTokenVerification> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_CHARS) {
      return { ok: false, error: 'invalid_token' };
    }
    const keys = await this.verificationKeys();
    try {
      const payload =
        keys.kind === 'remote'
          ? await this.verifyWithKeySet(token, keys.getKey, options)
          : await verifyWithAnyKey(token, keys.keys, options);
      // For access tokens, requiredClaims + jose's type check guarantee a numeric exp here.
      const exp = typeof payload.exp === 'number' ? payload.exp * 1000 : Number.NaN;
      return { ok: true, claims: payload, expiresAt: exp };
    } catch (error) {
      const unavailable = error instanceof KeySetUnavailable;
      const cause = unavailable ? error.cause : error;
      this.logger.debug(
        {
          errorType: (cause as object | null)?.constructor?.name ?? typeof cause,
          code: (cause as { code?: unknown } | null)?.code,
        },
        unavailable ? 'access token key set unavailable' : 'access token refused',
      );
      return { ok: false, error: unavailable ? 'unavailable' : 'invalid_token' };
    }
  }

  private async verifyWithKeySet(
    token: string,
    key: JWTVerifyGetKey,
    options: JWTVerifyOptions,
  ): Promise<JWTPayload> {
    try {
      return (await jwtVerify(token, key, options)).payload;
    } catch (error) {
      if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
      // A token without `kid` while the set holds several keys of its type (typically
      // during a rotation): every candidate is a trusted key, so try each in turn.
      for await (const candidate of error) {
        try {
          return (await jwtVerify(token, candidate, options)).payload;
        } catch (inner) {
          if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
        }
      }
      throw new errors.JWSSignatureVerificationFailed();
    }
  }

  /** Resolved once; a failed PEM read is retried on the next call rather than cached. */
  private verificationKeys(): Promise<VerificationKeys> {
    if (this.keys === null) {
      this.keys = loadKeys(this.auth.keySource, this.cache);
      this.keys.catch(() => {
        this.keys = null;
      });
    }
    return this.keys;
  }
}

async function loadKeys(
  source: AccessTokenKeySource,
  cache: JwksCacheOptions,
): Promise<VerificationKeys> {
  switch (source.kind) {
    case 'jwks':
      return { kind: 'remote', getKey: remoteKeySet(source.url, cache) };
    case 'public-key-file':
      // A KeyObject carries its type (rsa, ec, ed25519), so each key is tried only for the
      // allowlisted algorithm that fits it. createPublicKey also accepts a certificate or a
      // private key and keeps only the public half.
      return { kind: 'local', keys: await readPublicKeys(source.path) };
    case 'hs256':
      return {
        kind: 'local',
        keys: await hmacKeys(
          source.previousSecret === null ? [source.secret] : [source.secret, source.previousSecret],
        ),
      };
    default:
      return assertNever(source);
  }
}

function remoteKeySet(url: string, cache: JwksCacheOptions): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(new URL(url), {
    cooldownDuration: cache.cooldownMs,
    cacheMaxAge: cache.cacheMaxAgeMs,
    timeoutDuration: cache.timeoutMs,
  });
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (error) {
      // Everything else here is the key set's fault: JWKSTimeout, a refused connection
      // (fetch's TypeError), a non-200 answer, unparsable JSON, a malformed or private JWK.
      if (TOKEN_FAULTS_IN_KEY_LOOKUP.some((fault) => error instanceof fault)) throw error;
      throw new KeySetUnavailable('JWKS unavailable', { cause: error });
    }
  };
}

function assertNever(value: never): never {
  throw new Error(`unreachable key source: ${JSON.stringify(value)}`);
}
