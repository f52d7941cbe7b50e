import { describe, expect, it } from '@jest/globals';
import type { ConfigRuntime, DevSecrets } from '../../src/config/config.types.js';
import { describeProblems, parseConfig } from '../../src/config/parse-config.js';

const devSecrets: DevSecrets = {
  ticketSecret: 'dev-ticket-secret-0123456789abcdef0123456789',
  auditSigningKey: 'dev-audit-key-0123456789abcdef0123456789abc',
  accessTokenSecret: 'dev-access-secret-0123456789abcdef0123456789',
  publisherSecret: 'dev-publisher-secret-0123456789abcdef012345',
};
const runtime: ConfigRuntime = { hostname: 'host.example', pid: 42, devSecrets };
const productionRuntime: ConfigRuntime = { ...runtime, devSecrets: null };

const SECRET = 'prod-secret-that-is-long-enough-0123456789';

/** A production environment that passes; each failure case removes or breaks one part. */
const production: Record<string, string> = {
  NODE_ENV: 'production',
  TLS_CERT_FILE: '/etc/carecast/tls.crt',
  TLS_KEY_FILE: '/etc/carecast/tls.key',
  PUBLIC_URL: 'https://gw.example.org',
  ALLOWED_ORIGINS: 'https://app.example.org,https://admin.example.org:8443',
  AUTH_JWKS_URL: 'https://idp.example.org/.well-known/jwks.json',
  AUTH_ISSUER: 'https://idp.example.org',
  AUTH_AUDIENCE: 'carecast',
  TICKET_SECRET: SECRET,
  AUDIT_SIGNING_KEY: SECRET,
  PUBLISHER_KEYS: `svc-a:${SECRET},svc-b:${SECRET}`,
  REDIS_URL: 'redis://redis.internal:6379',
};

function problemsOf(env: Record<string, string | undefined>, rt = runtime) {
  const result = parseConfig(env, rt);
  if (result.ok) throw new Error('expected the configuration to be refused');
  return result.problems;
}

function variablesOf(env: Record<string, string | undefined>, rt = runtime): string[] {
  return problemsOf(env, rt).map((p) => p.variable);
}

function without(env: Record<string, string>, ...names: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !names.includes(k)));
}

describe(parseConfig.name, () => {
  it('gives a development node the contract defaults and generated secrets', () => {
    const result = parseConfig({}, runtime);
    if (!result.ok) throw new Error(describeProblems(result.problems));
    const c = result.config;
    expect(c.env).toBe('development');
    expect(c.publicListener).toMatchObject({
      host: '0.0.0.0',
      port: 8443,
      tls: { kind: 'self-signed' },
      publicUrl: 'https://localhost:8443',
    });
    expect(c.internalListener).toEqual({ host: '127.0.0.1', port: 9090 });
    expect(c.redis).toEqual({ topology: { kind: 'embedded' }, keyPrefix: 'carecast:' });
    expect(c.auth.keySource).toEqual({
      kind: 'hs256',
      secret: devSecrets.accessTokenSecret,
      previousSecret: null,
    });
    expect(c.auth.algorithms).toEqual(['HS256']);
    expect(c.auth.clockToleranceSeconds).toBe(5);
    expect(c.tickets).toEqual({
      secret: devSecrets.ticketSecret,
      previousSecret: null,
      ttlSeconds: 60,
      ratePerUser: { limit: 10, windowMs: 60_000 },
    });
    expect(c.websocket).toEqual({
      maxPayloadBytes: 4096,
      maxBufferedBytes: 1_048_576,
      heartbeatSeconds: 25,
      sessionMaxSeconds: 3600,
      maxConnectionsPerUser: 5,
      maxSubscriptionsPerConnection: 50,
      frameRatePerConnection: { limit: 100, windowMs: 10_000 },
      subscribeRatePerConnection: { limit: 20, windowMs: 10_000 },
      subscribeRatePerUser: { limit: 60, windowMs: 60_000 },
    });
    expect(c.publish.ratePerKey).toEqual({ limit: 1000, windowMs: 1000 });
    expect(c.publish.notificationKinds).toContain('result.available');
    expect([...c.publish.keys]).toEqual([['dev', devSecrets.publisherSecret]]);
    expect(c.audit).toEqual({
      dir: './data/audit',
      signingKey: devSecrets.auditSigningKey,
      rotateBytes: 268_435_456,
      rotateSeconds: 86_400,
    });
    expect(c.history).toEqual({ size: 100, ttlSeconds: 300 });
    expect(c.auth).toMatchObject({
      logoutAudience: 'carecast-dev',
      maxTokenLifetimeSeconds: 86_400,
      logoutRate: { limit: 50, windowMs: 1000 },
    });
    expect(c.breakGlass).toEqual({
      scope: 'carecast/break-glass',
      reasons: ['emergency', 'coverage', 'patient_request'],
      ratePerUser: { limit: 3, windowMs: 3_600_000 },
      grantSeconds: 900,
    });
    expect(c.nodeId).toBe('host.example-42');
    expect(c.allowedOrigins).toEqual(['https://localhost:8443']);
    expect(c.generatedDevSecrets).toEqual(
      expect.arrayContaining([
        'TICKET_SECRET',
        'AUDIT_SIGNING_KEY',
        'PUBLISHER_KEYS',
        'AUTH_HS256_SECRET',
      ]),
    );
  });

  it('accepts a complete production environment and generates nothing', () => {
    const result = parseConfig(production, productionRuntime);
    if (!result.ok) throw new Error(describeProblems(result.problems));
    expect(result.config.generatedDevSecrets).toEqual([]);
    expect(result.config.auth.algorithms).toEqual(['RS256', 'ES256', 'EdDSA']);
    expect(result.config.publish.keys.get('svc-b')).toBe(SECRET);
    expect(result.config.redis.topology).toEqual({
      kind: 'standalone',
      url: 'redis://redis.internal:6379',
    });
    expect(result.config.allowedOrigins).toEqual([
      'https://app.example.org',
      'https://admin.example.org:8443',
    ]);
  });

  it('takes the logout audience from AUTH_LOGOUT_AUDIENCE, else AUTH_AUDIENCE', () => {
    const own = parseConfig({ AUTH_AUDIENCE: 'app', AUTH_LOGOUT_AUDIENCE: 'app-logout' }, runtime);
    const same = parseConfig({ AUTH_AUDIENCE: 'app' }, runtime);
    expect(own.ok && own.config.auth.logoutAudience).toBe('app-logout');
    expect(same.ok && same.config.auth.logoutAudience).toBe('app');
  });

  it('takes break-glass settings as given, reasons deduplicated', () => {
    const result = parseConfig(
      {
        BREAK_GLASS_SCOPE: 'ehr:break_glass',
        BREAK_GLASS_REASONS: 'trauma,trauma,code_blue',
        RATE_BREAK_GLASS_PER_USER: '1/1h',
        BREAK_GLASS_SECONDS: '3600',
      },
      runtime,
    );
    expect(result.ok && result.config.breakGlass).toEqual({
      scope: 'ehr:break_glass',
      reasons: ['trauma', 'code_blue'],
      ratePerUser: { limit: 1, windowMs: 3_600_000 },
      grantSeconds: 3600,
    });
  });

  it('takes TICKET_SECRET_PREVIOUS beside TICKET_SECRET, in production too, never generated', () => {
    const OLD = 'old-prod-secret-long-enough-0123456789abcdef';
    const result = parseConfig({ ...production, TICKET_SECRET_PREVIOUS: OLD }, productionRuntime);
    if (!result.ok) throw new Error(describeProblems(result.problems));
    expect(result.config.tickets).toMatchObject({ secret: SECRET, previousSecret: OLD });
    const dev = parseConfig({}, runtime);
    expect(dev.ok && dev.config.tickets.previousSecret).toBeNull();
    expect(dev.ok && dev.config.generatedDevSecrets).not.toContain('TICKET_SECRET_PREVIOUS');
  });

  it('takes AUTH_HS256_SECRET_PREVIOUS beside AUTH_HS256_SECRET, never generated', () => {
    const OLD = 'old-idp-secret-long-enough-0123456789abcdef';
    const env = { ...production, AUTH_JWKS_URL: '', AUTH_HS256_SECRET: SECRET };
    const result = parseConfig({ ...env, AUTH_HS256_SECRET_PREVIOUS: OLD }, productionRuntime);
    if (!result.ok) throw new Error(describeProblems(result.problems));
    expect(result.config.auth.keySource).toEqual({
      kind: 'hs256',
      secret: SECRET,
      previousSecret: OLD,
    });
    expect(result.config.auth.algorithms).toEqual(['HS256']);
    const dev = parseConfig({ AUTH_HS256_SECRET_PREVIOUS: '' }, runtime);
    expect(dev.ok && dev.config.auth.keySource).toMatchObject({ previousSecret: null });
    expect(dev.ok && dev.config.generatedDevSecrets).not.toContain('AUTH_HS256_SECRET_PREVIOUS');
  });

  it('treats an empty variable as unset', () => {
    const result = parseConfig({ PORT: '', REDIS_URL: '', TICKET_SECRET_PREVIOUS: '' }, runtime);
    expect(result.ok && result.config.publicListener.port).toBe(8443);
    expect(result.ok && result.config.redis.topology.kind).toBe('embedded');
    // `TICKET_SECRET_PREVIOUS=` left in an env file after a rotation means none.
    expect(result.ok && result.config.tickets.previousSecret).toBeNull();
  });

  it('takes the audit rotation limits from AUDIT_ROTATE_BYTES and AUDIT_ROTATE_SECONDS', () => {
    const result = parseConfig(
      { AUDIT_ROTATE_BYTES: '65536', AUDIT_ROTATE_SECONDS: '3600' },
      runtime,
    );
    if (!result.ok) throw new Error(describeProblems(result.problems));
    expect(result.config.audit).toMatchObject({ rotateBytes: 65_536, rotateSeconds: 3600 });
  });

  it('parses rates, lists and cluster nodes into shapes for use', () => {
    const result = parseConfig(
      {
        RATE_FRAMES_PER_CONNECTION: '30/1m',
        RATE_SUBSCRIBE_PER_CONNECTION: '5/500ms',
        RATE_TICKETS_PER_USER: '3/2m',
        REDIS_CLUSTER_NODES: 'r1:7000, r2:7001,[::1]:7002',
        TRUSTED_PROXIES: '10.0.0.0/8,::1',
        TLS_TERMINATED_BY_PROXY: 'true',
      },
      runtime,
    );
    if (!result.ok) throw new Error(describeProblems(result.problems));
    expect(result.config.websocket.frameRatePerConnection).toEqual({ limit: 30, windowMs: 60_000 });
    expect(result.config.websocket.subscribeRatePerConnection).toEqual({ limit: 5, windowMs: 500 });
    expect(result.config.tickets.ratePerUser).toEqual({ limit: 3, windowMs: 120_000 });
    expect(result.config.redis.topology).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'r1', port: 7000 },
        { host: 'r2', port: 7001 },
        { host: '::1', port: 7002 },
      ],
    });
    expect(result.config.publicListener.tls).toEqual({
      kind: 'proxy',
      trustedProxies: ['10.0.0.0/8', '::1'],
    });
  });

  it.each([
    ['PORT', { PORT: 'abc' }],
    ['PORT', { PORT: '65536' }],
    ['INTERNAL_PORT', { INTERNAL_PORT: '-1' }],
    ['NODE_ENV', { NODE_ENV: 'staging' }],
    ['NODE_ID', { NODE_ID: 'has space' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['PUBLIC_URL', { PUBLIC_URL: 'http://gw.example.org' }],
    ['PUBLIC_URL', { PUBLIC_URL: 'https://gw.example.org/path' }],
    ['ALLOWED_ORIGINS', { ALLOWED_ORIGINS: 'https://app.example.org/' }],
    ['ALLOWED_ORIGINS', { ALLOWED_ORIGINS: 'app.example.org' }],
    ['ALLOWED_ORIGINS', { ALLOWED_ORIGINS: 'null' }],
    ['TRUSTED_PROXIES', { TLS_TERMINATED_BY_PROXY: 'true', TRUSTED_PROXIES: '10.0.0.0/33' }],
    ['TRUSTED_PROXIES', { TLS_TERMINATED_BY_PROXY: 'true' }],
    ['TLS_TERMINATED_BY_PROXY', { TLS_TERMINATED_BY_PROXY: 'yes' }],
    [
      'TLS_CERT_FILE',
      { TLS_TERMINATED_BY_PROXY: 'true', TRUSTED_PROXIES: '::1', TLS_CERT_FILE: '/c' },
    ],
    ['TLS_KEY_FILE', { TLS_CERT_FILE: '/c' }],
    ['TLS_CERT_FILE', { TLS_KEY_FILE: '/k' }],
    ['TICKET_SECRET', { TICKET_SECRET: 'short' }],
    ['TICKET_SECRET_PREVIOUS', { TICKET_SECRET_PREVIOUS: 'short' }],
    ['TICKET_SECRET_PREVIOUS', { TICKET_SECRET_PREVIOUS: 'x'.repeat(31) }],
    ['TICKET_TTL_SECONDS', { TICKET_TTL_SECONDS: '61' }],
    ['AUDIT_SIGNING_KEY', { AUDIT_SIGNING_KEY: 'short' }],
    ['AUTH_HS256_SECRET', { AUTH_HS256_SECRET: 'short' }],
    [
      'AUTH_HS256_SECRET_PREVIOUS',
      { AUTH_HS256_SECRET: SECRET, AUTH_HS256_SECRET_PREVIOUS: 'x'.repeat(31) },
    ],
    ['AUTH_HS256_SECRET_PREVIOUS', { AUTH_HS256_SECRET_PREVIOUS: SECRET }],
    [
      'AUTH_HS256_SECRET_PREVIOUS',
      { AUTH_JWKS_URL: 'https://idp/jwks', AUTH_HS256_SECRET_PREVIOUS: SECRET },
    ],
    ['AUTH_JWKS_URL', { AUTH_JWKS_URL: 'ftp://idp' }],
    ['AUTH_ALGORITHMS', { AUTH_ALGORITHMS: 'none' }],
    ['AUTH_ALGORITHMS', { AUTH_HS256_SECRET: SECRET, AUTH_ALGORITHMS: 'HS256,RS256' }],
    ['AUTH_ALGORITHMS', { AUTH_JWKS_URL: 'https://idp/jwks', AUTH_ALGORITHMS: 'RS256,HS256' }],
    ['AUTH_CLOCK_TOLERANCE_SECONDS', { AUTH_CLOCK_TOLERANCE_SECONDS: '1.5' }],
    ['WS_MAX_PAYLOAD_BYTES', { WS_MAX_PAYLOAD_BYTES: '0' }],
    ['MAX_CONNECTIONS_PER_USER', { MAX_CONNECTIONS_PER_USER: '0' }],
    ['RATE_SUBSCRIBE_PER_USER', { RATE_SUBSCRIBE_PER_USER: '60 per minute' }],
    ['RATE_PUBLISH_PER_KEY', { RATE_PUBLISH_PER_KEY: '0/1s' }],
    ['PUBLISHER_KEYS', { PUBLISHER_KEYS: 'svc-a:short' }],
    ['PUBLISHER_KEYS', { PUBLISHER_KEYS: `svc-a:${SECRET},svc-a:${SECRET}` }],
    ['PUBLISHER_KEYS', { PUBLISHER_KEYS: SECRET }],
    ['NOTIFICATION_KINDS', { NOTIFICATION_KINDS: 'Appointment Created' }],
    ['REDIS_URL', { REDIS_URL: 'http://redis:6379' }],
    ['REDIS_CLUSTER_NODES', { REDIS_CLUSTER_NODES: 'redis-without-port' }],
    ['REDIS_CLUSTER_NODES', { REDIS_URL: 'redis://r:6379', REDIS_CLUSTER_NODES: 'r:7000' }],
    ['REDIS_KEY_PREFIX', { REDIS_KEY_PREFIX: 'has space' }],
    ['AUDIT_ROTATE_BYTES', { AUDIT_ROTATE_BYTES: '256MiB' }],
    ['AUDIT_ROTATE_BYTES', { AUDIT_ROTATE_BYTES: '100' }],
    ['AUDIT_ROTATE_SECONDS', { AUDIT_ROTATE_SECONDS: '0' }],
    ['AUDIT_ROTATE_SECONDS', { AUDIT_ROTATE_SECONDS: '1.5' }],
    ['HISTORY_SIZE', { HISTORY_SIZE: '1001' }],
    ['HISTORY_SIZE', { HISTORY_SIZE: '-1' }],
    ['HISTORY_TTL_SECONDS', { HISTORY_TTL_SECONDS: '0' }],
    ['HISTORY_TTL_SECONDS', { HISTORY_TTL_SECONDS: '3601' }],
    ['AUTH_MAX_TOKEN_LIFETIME_SECONDS', { AUTH_MAX_TOKEN_LIFETIME_SECONDS: '59' }],
    ['RATE_BACKCHANNEL_LOGOUT', { RATE_BACKCHANNEL_LOGOUT: 'lots' }],
    ['BREAK_GLASS_SCOPE', { BREAK_GLASS_SCOPE: 'two scopes' }],
    ['BREAK_GLASS_REASONS', { BREAK_GLASS_REASONS: 'emergency,Life Threat' }],
    ['BREAK_GLASS_REASONS', { BREAK_GLASS_REASONS: `emergency,${'x'.repeat(33)}` }],
    ['RATE_BREAK_GLASS_PER_USER', { RATE_BREAK_GLASS_PER_USER: '0/1h' }],
    ['BREAK_GLASS_SECONDS', { BREAK_GLASS_SECONDS: '3601' }],
    ['BREAK_GLASS_SECONDS', { BREAK_GLASS_SECONDS: '0' }],
  ])('names %s when it is invalid', (variable, env) => {
    expect(variablesOf(env)).toContain(variable);
  });

  it.each([
    [{ HISTORY_SIZE: '0' }, { size: 0, ttlSeconds: 300 }],
    [
      { HISTORY_SIZE: '1000', HISTORY_TTL_SECONDS: '3600' },
      { size: 1000, ttlSeconds: 3600 },
    ],
    [{ HISTORY_TTL_SECONDS: '1' }, { size: 100, ttlSeconds: 1 }],
  ])('reads history settings %j', (env, history) => {
    const result = parseConfig(env, runtime);
    expect(result.ok && result.config.history).toEqual(history);
  });

  it('names every conflicting access-token key source', () => {
    expect(variablesOf({ AUTH_JWKS_URL: 'https://idp/jwks', AUTH_HS256_SECRET: SECRET })).toEqual(
      expect.arrayContaining(['AUTH_JWKS_URL', 'AUTH_HS256_SECRET']),
    );
  });

  it.each([
    ['TLS_CERT_FILE'],
    ['TLS_KEY_FILE'],
    ['TICKET_SECRET'],
    ['AUDIT_SIGNING_KEY'],
    ['PUBLISHER_KEYS'],
    ['AUTH_ISSUER'],
    ['AUTH_AUDIENCE'],
    ['PUBLIC_URL'],
    ['ALLOWED_ORIGINS'],
  ])('refuses production without %s', (variable) => {
    expect(variablesOf(without(production, variable), productionRuntime)).toContain(variable);
  });

  it('refuses production without any access-token key source', () => {
    expect(variablesOf(without(production, 'AUTH_JWKS_URL'), productionRuntime)).toEqual([
      'AUTH_JWKS_URL',
    ]);
  });

  it('refuses a plain-http JWKS URL in production', () => {
    expect(
      variablesOf({ ...production, AUTH_JWKS_URL: 'http://idp/jwks' }, productionRuntime),
    ).toEqual(['AUTH_JWKS_URL']);
  });

  it('lets production run behind a trusted TLS proxy without certificate files', () => {
    const env = {
      ...without(production, 'TLS_CERT_FILE', 'TLS_KEY_FILE'),
      TLS_TERMINATED_BY_PROXY: 'true',
      TRUSTED_PROXIES: '10.1.0.0/16',
    };
    expect(parseConfig(env, productionRuntime).ok).toBe(true);
  });

  it('names every bad variable at once, field errors and production rules together', () => {
    const variables = variablesOf(
      { NODE_ENV: 'production', PORT: 'abc', TICKET_SECRET: 'short' },
      productionRuntime,
    );
    expect(variables).toEqual(
      expect.arrayContaining([
        'PORT',
        'TICKET_SECRET',
        'TLS_CERT_FILE',
        'AUDIT_SIGNING_KEY',
        'PUBLIC_URL',
      ]),
    );
    // The short secret is reported once, as too short, not again as missing.
    expect(variables.filter((v) => v === 'TICKET_SECRET')).toHaveLength(1);
  });

  it('never quotes a value in a problem description', () => {
    const canary = 'Jane-Doe-MRN-00471123-jane.doe@example.org';
    const problems = problemsOf({
      TICKET_SECRET: canary.slice(0, 20),
      TICKET_SECRET_PREVIOUS: canary.slice(0, 25),
      PORT: canary,
      ALLOWED_ORIGINS: canary,
      PUBLISHER_KEYS: `kid:${canary.slice(0, 10)}`,
      AUTH_ALGORITHMS: canary,
      NODE_ENV: canary,
    });
    const text = describeProblems(problems);
    expect(problems.length).toBeGreaterThanOrEqual(7);
    expect(text).not.toContain('Jane');
    expect(text).not.toContain('00471123');
  });
});
