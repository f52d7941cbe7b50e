/**
 * The typed configuration every module receives. It is shaped for use, not a mirror of the
 * environment: durations are numbers with units in their names, lists are arrays, choices
 * are discriminated unions. `parseConfig` is the only producer.
 */

export type RuntimeEnv = 'development' | 'test' | 'production';

/** A fixed-window limit such as `20/10s`: at most `limit` events per `windowMs`. */
export interface RateLimit {
  readonly limit: number;
  readonly windowMs: number;
}

/** How the public listener gets TLS. A plaintext public session is never possible. */
export type PublicTls =
  | { readonly kind: 'files'; readonly certFile: string; readonly keyFile: string }
  | { readonly kind: 'self-signed' }
  | { readonly kind: 'proxy'; readonly trustedProxies: readonly string[] };

/** Exactly one source of keys for verifying the app's access tokens. */
export type AccessTokenKeySource =
  | { readonly kind: 'jwks'; readonly url: string }
  /** A PEM file of one to MAX_PUBLIC_KEYS public keys: during a rotation the new and the old. */
  | { readonly kind: 'public-key-file'; readonly path: string }
  /**
   * `secret` (AUTH_HS256_SECRET) verifies and signs dev tokens; `previousSecret`
   * (AUTH_HS256_SECRET_PREVIOUS) only verifies, so tokens of either secret pass during a roll.
   */
  | { readonly kind: 'hs256'; readonly secret: string; readonly previousSecret: string | null };

export type AccessTokenAlgorithm = 'RS256' | 'ES256' | 'EdDSA' | 'HS256';

export type RedisTopology =
  | { readonly kind: 'embedded' }
  | { readonly kind: 'standalone'; readonly url: string }
  | {
      readonly kind: 'cluster';
      readonly nodes: readonly { readonly host: string; readonly port: number }[];
    };

export interface Config {
  readonly env: RuntimeEnv;
  readonly nodeId: string;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  readonly publicListener: {
    readonly host: string;
    readonly port: number;
    readonly tls: PublicTls;
    /** Origin (`https://host[:port]`) the gateway advertises; the ws url derives from it. */
    readonly publicUrl: string;
  };
  readonly internalListener: { readonly host: string; readonly port: number };
  readonly allowedOrigins: readonly string[];
  readonly auth: {
    readonly keySource: AccessTokenKeySource;
    readonly issuer: string;
    readonly audience: string;
    readonly algorithms: readonly AccessTokenAlgorithm[];
    readonly clockToleranceSeconds: number;
    /** `aud` a back-channel logout token must contain (AUTH_LOGOUT_AUDIENCE, default the audience). */
    readonly logoutAudience: string;
    /**
     * The longest an access token of the identity provider lives (`exp - iat`): how long a
     * back-channel logout keeps refusing tickets for that user's older tokens.
     */
    readonly maxTokenLifetimeSeconds: number;
    /** RATE_BACKCHANNEL_LOGOUT: logout requests the cluster accepts, all callers together. */
    readonly logoutRate: RateLimit;
  };
  /** Break-glass subscribe (contract §8). */
  readonly breakGlass: {
    /** The access-token scope that allows it. */
    readonly scope: string;
    /** The reason codes a client may give; each is also an audit reason and a metric label. */
    readonly reasons: readonly string[];
    readonly ratePerUser: RateLimit;
    readonly grantSeconds: number;
  };
  readonly tickets: {
    /** TICKET_SECRET: signs every ticket, and verifies them. */
    readonly secret: string;
    /**
     * TICKET_SECRET_PREVIOUS: also verifies tickets (never signs), so that during a rolling
     * rotation every node accepts the tickets of nodes on the other secret (the new one
     * before it signs anything, the old one until its last tickets have expired).
     */
    readonly previousSecret: string | null;
    readonly ttlSeconds: number;
    readonly ratePerUser: RateLimit;
  };
  readonly websocket: {
    readonly maxPayloadBytes: number;
    readonly maxBufferedBytes: number;
    readonly heartbeatSeconds: number;
    readonly sessionMaxSeconds: number;
    readonly maxConnectionsPerUser: number;
    readonly maxSubscriptionsPerConnection: number;
    /** Every client frame of one connection counts against it (contract §4). */
    readonly frameRatePerConnection: RateLimit;
    readonly subscribeRatePerConnection: RateLimit;
    readonly subscribeRatePerUser: RateLimit;
  };
  readonly publish: {
    /** Key id to secret; several keys allow rotation without downtime. */
    readonly keys: ReadonlyMap<string, string>;
    readonly notificationKinds: readonly string[];
    readonly ratePerKey: RateLimit;
    /** Notifications of publish requests a node works on at once; past it, 503 (admission). */
    readonly maxInFlight: number;
  };
  /** Per channel: the last `size` notification frames, kept `ttlSeconds` after the last one. */
  readonly history: { readonly size: number; readonly ttlSeconds: number };
  readonly redis: { readonly topology: RedisTopology; readonly keyPrefix: string };
  readonly audit: {
    readonly dir: string;
    readonly signingKey: string;
    /** The active file is rotated once it reaches this size (AUDIT_ROTATE_BYTES)... */
    readonly rotateBytes: number;
    /** ...or this age, from its first record (AUDIT_ROTATE_SECONDS). */
    readonly rotateSeconds: number;
  };
  /** Names of variables that were missing and filled with generated development secrets. */
  readonly generatedDevSecrets: readonly string[];
}

/** Secrets a development node uses when the environment gives none (see main.ts). */
export interface DevSecrets {
  readonly ticketSecret: string;
  readonly auditSigningKey: string;
  readonly accessTokenSecret: string;
  readonly publisherSecret: string;
}

/** Facts about the running process that defaults depend on, passed in to keep parsing pure. */
export interface ConfigRuntime {
  readonly hostname: string;
  readonly pid: number;
  /** Generated secrets for development; null in production, which must be given every one. */
  readonly devSecrets: DevSecrets | null;
}

export interface ConfigProblem {
  /** The environment variable at fault. Never its value: some are secrets. */
  readonly variable: string;
  readonly problem: string;
}

export type ConfigResult =
  | { readonly ok: true; readonly config: Config }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

/** Issuer and audience of the tokens `npm run token` signs for a development node. */
export const DEV_TOKEN_ISSUER = 'carecast-dev';
export const DEV_TOKEN_AUDIENCE = 'carecast-dev';
export const DEV_PUBLISHER_KEY_ID = 'dev';
