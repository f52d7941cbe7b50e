import {
  type AccessTokenAlgorithm,
  type AccessTokenKeySource,
  type Config,
  type ConfigProblem,
  type ConfigResult,
  type ConfigRuntime,
  type DevSecrets,
  type PublicTls,
  type RedisTopology,
  DEV_PUBLISHER_KEY_ID,
  DEV_TOKEN_AUDIENCE,
  DEV_TOKEN_ISSUER,
} from './config.types.js';
import { splitHostPort } from './env-fields.js';
import { envSchema, type ParsedEnv } from './env-schema.js';

const ASYMMETRIC: readonly AccessTokenAlgorithm[] = ['RS256', 'ES256', 'EdDSA'];

/**
 * Parses the environment once into a typed Config, or into every problem found, each naming
 * its variable and never its value. Pure: the process facts it needs come in `runtime`.
 */
export function parseConfig(
  env: Readonly<Record<string, string | undefined>>,
  runtime: ConfigRuntime,
): ConfigResult {
  // An empty variable means "unset": shells and compose files leave `FOO=` behind.
  const present = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  );
  const fieldProblems = fieldCheck(present);
  // Variables that failed their own check are set aside so that the rules joining several
  // variables still run, and one message names every bad variable.
  const failing = new Set(fieldProblems.map((p) => p.variable));
  const retry = envSchema.safeParse(
    Object.fromEntries(Object.entries(present).filter(([k]) => !failing.has(k))),
  );
  if (!retry.success) return { ok: false, problems: fieldProblems };
  const e = retry.data;
  const problems: ConfigProblem[] = [];
  const generated: string[] = [];
  const production = e.NODE_ENV === 'production';
  const need = (variable: string, problem: string) => problems.push({ variable, problem });

  /** A secret from the environment, or outside production the generated one. */
  const devFallback = (
    variable: string,
    given: string | undefined,
    dev: keyof DevSecrets,
  ): string => {
    if (given !== undefined) return given;
    if (production || runtime.devSecrets === null) {
      need(variable, 'is required in production');
      return '';
    }
    generated.push(variable);
    return runtime.devSecrets[dev];
  };

  const tls = publicTls(e, production, need);
  const auth = accessTokenKeys(e, production, need, devFallback);
  const redis = redisTopology(e, need);
  if (production && e.PUBLIC_URL === undefined) need('PUBLIC_URL', 'is required in production');
  const publicUrl = e.PUBLIC_URL ?? `https://localhost:${e.PORT}`;
  if (production && e.ALLOWED_ORIGINS.length === 0) {
    need('ALLOWED_ORIGINS', 'must list at least one origin in production');
  }
  const publisherPairs =
    e.PUBLISHER_KEYS.length > 0
      ? e.PUBLISHER_KEYS
      : [`${DEV_PUBLISHER_KEY_ID}:${devFallback('PUBLISHER_KEYS', undefined, 'publisherSecret')}`];
  const ticketSecret = devFallback('TICKET_SECRET', e.TICKET_SECRET, 'ticketSecret');
  const auditKey = devFallback('AUDIT_SIGNING_KEY', e.AUDIT_SIGNING_KEY, 'auditSigningKey');
  const joined = problems.filter((p) => !failing.has(p.variable));
  if (fieldProblems.length + joined.length > 0) {
    return { ok: false, problems: dedupe([...fieldProblems, ...joined]) };
  }

  const config: Config = {
    env: e.NODE_ENV,
    nodeId: e.NODE_ID ?? `${runtime.hostname}-${runtime.pid}`.replace(/[^A-Za-z0-9._-]/g, '_'),
    logLevel: e.LOG_LEVEL,
    publicListener: { host: e.HOST, port: e.PORT, tls, publicUrl },
    internalListener: { host: e.INTERNAL_HOST, port: e.INTERNAL_PORT },
    // In development a CLI client can present the node's own origin; production lists its apps.
    allowedOrigins: e.ALLOWED_ORIGINS.length > 0 || production ? e.ALLOWED_ORIGINS : [publicUrl],
    auth,
    tickets: {
      secret: ticketSecret,
      previousSecret: e.TICKET_SECRET_PREVIOUS ?? null,
      ttlSeconds: e.TICKET_TTL_SECONDS,
      ratePerUser: e.RATE_TICKETS_PER_USER,
    },
    websocket: {
      maxPayloadBytes: e.WS_MAX_PAYLOAD_BYTES,
      maxBufferedBytes: e.WS_MAX_BUFFERED_BYTES,
      heartbeatSeconds: e.WS_HEARTBEAT_SECONDS,
      sessionMaxSeconds: e.SESSION_MAX_SECONDS,
      maxConnectionsPerUser: e.MAX_CONNECTIONS_PER_USER,
      maxSubscriptionsPerConnection: e.MAX_SUBSCRIPTIONS_PER_CONNECTION,
      frameRatePerConnection: e.RATE_FRAMES_PER_CONNECTION,
      subscribeRatePerConnection: e.RATE_SUBSCRIBE_PER_CONNECTION,
      subscribeRatePerUser: e.RATE_SUBSCRIBE_PER_USER,
    },
    publish: {
      keys: new Map(
        publisherPairs.map((p) => [p.slice(0, p.indexOf(':')), p.slice(p.indexOf(':') + 1)]),
      ),
      notificationKinds: e.NOTIFICATION_KINDS,
      ratePerKey: e.RATE_PUBLISH_PER_KEY,
      maxInFlight: e.PUBLISH_MAX_IN_FLIGHT,
    },
    breakGlass: {
      scope: e.BREAK_GLASS_SCOPE,
      reasons: e.BREAK_GLASS_REASONS,
      ratePerUser: e.RATE_BREAK_GLASS_PER_USER,
      grantSeconds: e.BREAK_GLASS_SECONDS,
    },
    history: { size: e.HISTORY_SIZE, ttlSeconds: e.HISTORY_TTL_SECONDS },
    redis: { topology: redis, keyPrefix: e.REDIS_KEY_PREFIX },
    audit: {
      dir: e.AUDIT_DIR,
      signingKey: auditKey,
      rotateBytes: e.AUDIT_ROTATE_BYTES,
      rotateSeconds: e.AUDIT_ROTATE_SECONDS,
    },
    generatedDevSecrets: generated,
  };
  return { ok: true, config };
}

type Need = (variable: string, problem: string) => void;

function publicTls(e: ParsedEnv, production: boolean, need: Need): PublicTls {
  const cert = e.TLS_CERT_FILE;
  const key = e.TLS_KEY_FILE;
  if (e.TLS_TERMINATED_BY_PROXY) {
    if (e.TRUSTED_PROXIES.length === 0) {
      need('TRUSTED_PROXIES', 'must list the proxy addresses when TLS_TERMINATED_BY_PROXY=true');
    }
    if (cert !== undefined)
      need('TLS_CERT_FILE', 'must not be set when TLS_TERMINATED_BY_PROXY=true');
    if (key !== undefined)
      need('TLS_KEY_FILE', 'must not be set when TLS_TERMINATED_BY_PROXY=true');
    return { kind: 'proxy', trustedProxies: e.TRUSTED_PROXIES };
  }
  if (cert !== undefined && key !== undefined)
    return { kind: 'files', certFile: cert, keyFile: key };
  if (cert !== undefined) need('TLS_KEY_FILE', 'is required with TLS_CERT_FILE');
  if (key !== undefined) need('TLS_CERT_FILE', 'is required with TLS_KEY_FILE');
  if (cert === undefined && key === undefined && production) {
    const why = 'is required in production unless TLS_TERMINATED_BY_PROXY=true';
    need('TLS_CERT_FILE', why);
    need('TLS_KEY_FILE', why);
  }
  return { kind: 'self-signed' };
}

function accessTokenKeys(
  e: ParsedEnv,
  production: boolean,
  need: Need,
  devFallback: (variable: string, given: undefined, dev: keyof DevSecrets) => string,
): Config['auth'] {
  const sources: [string, AccessTokenKeySource | undefined][] = [
    [
      'AUTH_JWKS_URL',
      e.AUTH_JWKS_URL === undefined ? undefined : { kind: 'jwks', url: e.AUTH_JWKS_URL },
    ],
    [
      'AUTH_PUBLIC_KEY_FILE',
      e.AUTH_PUBLIC_KEY_FILE === undefined
        ? undefined
        : { kind: 'public-key-file', path: e.AUTH_PUBLIC_KEY_FILE },
    ],
    [
      'AUTH_HS256_SECRET',
      e.AUTH_HS256_SECRET === undefined
        ? undefined
        : {
            kind: 'hs256',
            secret: e.AUTH_HS256_SECRET,
            previousSecret: e.AUTH_HS256_SECRET_PREVIOUS ?? null,
          },
    ],
  ];
  const given = sources.filter(([, s]) => s !== undefined);
  let keySource: AccessTokenKeySource;
  if (given.length > 1) {
    for (const [name] of given) {
      need(
        name,
        'conflicts: set exactly one of AUTH_JWKS_URL, AUTH_PUBLIC_KEY_FILE, AUTH_HS256_SECRET',
      );
    }
    keySource = given[0]![1]!;
  } else if (given.length === 1) {
    keySource = given[0]![1]!;
  } else {
    // In production the missing source is the problem, reported once, and nothing is generated.
    if (production) {
      need(
        'AUTH_JWKS_URL',
        'or AUTH_PUBLIC_KEY_FILE or AUTH_HS256_SECRET is required in production',
      );
    }
    const secret = production
      ? ''
      : devFallback('AUTH_HS256_SECRET', undefined, 'accessTokenSecret');
    keySource = { kind: 'hs256', secret, previousSecret: null };
  }
  if (e.AUTH_HS256_SECRET_PREVIOUS !== undefined && e.AUTH_HS256_SECRET === undefined) {
    need('AUTH_HS256_SECRET_PREVIOUS', 'is used only beside AUTH_HS256_SECRET');
  }
  if (production && keySource.kind === 'jwks' && !keySource.url.startsWith('https:')) {
    need('AUTH_JWKS_URL', 'must be https in production');
  }
  if (production && e.AUTH_ISSUER === undefined) need('AUTH_ISSUER', 'is required in production');
  if (production && e.AUTH_AUDIENCE === undefined)
    need('AUTH_AUDIENCE', 'is required in production');

  const symmetric = keySource.kind === 'hs256';
  const algorithms = e.AUTH_ALGORITHMS ?? (symmetric ? ['HS256'] : ASYMMETRIC);
  // Mixing HMAC and public-key algorithms is how HS/RS confusion attacks work.
  if (symmetric && algorithms.some((a) => a !== 'HS256')) {
    need('AUTH_ALGORITHMS', 'must be HS256 alone when AUTH_HS256_SECRET is the key source');
  }
  if (!symmetric && algorithms.includes('HS256')) {
    need('AUTH_ALGORITHMS', 'may contain HS256 only with AUTH_HS256_SECRET');
  }
  return {
    keySource,
    // In production a missing issuer or audience is a problem above, never a default.
    issuer: e.AUTH_ISSUER ?? DEV_TOKEN_ISSUER,
    audience: e.AUTH_AUDIENCE ?? DEV_TOKEN_AUDIENCE,
    algorithms: [...new Set(algorithms)],
    clockToleranceSeconds: e.AUTH_CLOCK_TOLERANCE_SECONDS,
    logoutAudience: e.AUTH_LOGOUT_AUDIENCE ?? e.AUTH_AUDIENCE ?? DEV_TOKEN_AUDIENCE,
    maxTokenLifetimeSeconds: e.AUTH_MAX_TOKEN_LIFETIME_SECONDS,
    logoutRate: e.RATE_BACKCHANNEL_LOGOUT,
  };
}

function redisTopology(e: ParsedEnv, need: Need): RedisTopology {
  if (e.REDIS_URL !== undefined && e.REDIS_CLUSTER_NODES.length > 0) {
    need('REDIS_CLUSTER_NODES', 'conflicts with REDIS_URL: set one of them');
  }
  if (e.REDIS_URL !== undefined) return { kind: 'standalone', url: e.REDIS_URL };
  if (e.REDIS_CLUSTER_NODES.length > 0) {
    return { kind: 'cluster', nodes: e.REDIS_CLUSTER_NODES.map(splitHostPort) };
  }
  return { kind: 'embedded' };
}

function fieldCheck(present: Record<string, string | undefined>): ConfigProblem[] {
  const parsed = envSchema.safeParse(present);
  if (parsed.success) return [];
  return dedupe(
    parsed.error.issues.map((issue) => ({
      variable: String(issue.path[0] ?? 'environment'),
      problem: issue.message,
    })),
  );
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.variable}\u0000${p.problem}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function describeProblems(problems: readonly ConfigProblem[]): string {
  return `invalid configuration: ${problems.map((p) => `${p.variable} ${p.problem}`).join('; ')}`;
}
