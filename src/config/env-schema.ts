import { z } from 'zod';
import {
  boolean,
  integer,
  isHostPort,
  isIpOrCidr,
  isKeyPair,
  isOrigin,
  isUrl,
  list,
  BREAK_GLASS_REASON,
  NODE_ID,
  NOTIFICATION_KIND,
  port,
  rate,
  secret,
} from './env-fields.js';

/** Minimum length of every shared secret (HMAC keys): 256 bits. */
export const MIN_SECRET_BYTES = 32;

const ALGORITHMS = ['RS256', 'ES256', 'EdDSA', 'HS256'] as const;

const optionalString = (pattern: RegExp, expected: string) =>
  z
    .string()
    .optional()
    .refine((s) => s === undefined || pattern.test(s), { error: expected });

const optionalUrl = (protocols: readonly string[], expected: string) =>
  z
    .string()
    .optional()
    .refine((s) => s === undefined || isUrl(s, protocols), { error: expected });

/**
 * Every variable of the contract, one field each, checked on its own. Rules that join several
 * variables (production requirements, exactly one key source) live in parse-config.ts.
 */
export const envSchema = z.object({
  NODE_ENV: z
    .enum(['development', 'test', 'production'], {
      error: 'must be development, test or production',
    })
    .default('development'),
  NODE_ID: optionalString(NODE_ID, 'must be 1-64 characters of A-Z a-z 0-9 . _ -'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace'], {
      error: 'must be one of fatal, error, warn, info, debug, trace',
    })
    .default('info'),

  HOST: z.string().default('0.0.0.0'),
  PORT: port(8443),
  INTERNAL_HOST: z.string().default('127.0.0.1'),
  INTERNAL_PORT: port(9090),
  PUBLIC_URL: z
    .string()
    .optional()
    .refine((s) => s === undefined || isOrigin(s, ['https:']), {
      error: 'must be an https origin such as https://gateway.example.com (no path)',
    }),
  TLS_CERT_FILE: z.string().optional(),
  TLS_KEY_FILE: z.string().optional(),
  TLS_TERMINATED_BY_PROXY: boolean(false),
  TRUSTED_PROXIES: list(isIpOrCidr, 'an IP address or CIDR'),
  ALLOWED_ORIGINS: list((s) => isOrigin(s), 'an exact origin scheme://host[:port]'),

  AUTH_JWKS_URL: optionalUrl(['https:', 'http:'], 'must be an http(s) URL'),
  AUTH_PUBLIC_KEY_FILE: z.string().optional(),
  AUTH_HS256_SECRET: secret(MIN_SECRET_BYTES),
  AUTH_HS256_SECRET_PREVIOUS: secret(MIN_SECRET_BYTES),
  AUTH_ISSUER: z.string().optional(),
  AUTH_AUDIENCE: z.string().optional(),
  AUTH_ALGORITHMS: z
    .string()
    .optional()
    .transform((s) => (s === undefined ? undefined : s.split(',').map((a) => a.trim())))
    .refine(
      (algs) =>
        algs === undefined ||
        (algs.length > 0 && algs.every((a) => (ALGORITHMS as readonly string[]).includes(a))),
      { error: `must be a comma-separated subset of ${ALGORITHMS.join(', ')}` },
    )
    .transform((algs) => algs as (typeof ALGORITHMS)[number][] | undefined),
  AUTH_CLOCK_TOLERANCE_SECONDS: integer(5, 0, 300),
  AUTH_LOGOUT_AUDIENCE: z.string().optional(),
  AUTH_MAX_TOKEN_LIFETIME_SECONDS: integer(86_400, 60, 2_592_000),
  RATE_BACKCHANNEL_LOGOUT: rate('50/1s'),

  BREAK_GLASS_SCOPE: z
    .string()
    .default('carecast/break-glass')
    .refine((s) => /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/.test(s), {
      error: 'must be one OAuth scope token (printable ASCII, no space, quote or backslash)',
    }),
  BREAK_GLASS_REASONS: list(
    (s) => BREAK_GLASS_REASON.test(s),
    'a reason code of a-z 0-9 _ starting with a letter (at most 32)',
  ).transform((reasons) =>
    reasons.length > 0 ? [...new Set(reasons)] : ['emergency', 'coverage', 'patient_request'],
  ),
  RATE_BREAK_GLASS_PER_USER: rate('3/3600s'),
  BREAK_GLASS_SECONDS: integer(900, 1, 3600),

  TICKET_SECRET: secret(MIN_SECRET_BYTES),
  TICKET_SECRET_PREVIOUS: secret(MIN_SECRET_BYTES),
  TICKET_TTL_SECONDS: integer(60, 1, 60),

  WS_HEARTBEAT_SECONDS: integer(25, 1, 300),
  WS_MAX_PAYLOAD_BYTES: integer(4096, 256, 1_048_576),
  WS_MAX_BUFFERED_BYTES: integer(1_048_576, 1024, 67_108_864),
  SESSION_MAX_SECONDS: integer(3600, 60, 86_400),
  MAX_CONNECTIONS_PER_USER: integer(5, 1, 1000),
  MAX_SUBSCRIPTIONS_PER_CONNECTION: integer(50, 1, 1000),
  RATE_FRAMES_PER_CONNECTION: rate('100/10s'),
  RATE_SUBSCRIBE_PER_CONNECTION: rate('20/10s'),
  RATE_SUBSCRIBE_PER_USER: rate('60/60s'),
  RATE_TICKETS_PER_USER: rate('10/60s'),

  PUBLISHER_KEYS: list(
    isKeyPair(MIN_SECRET_BYTES),
    `kid:secret with a key id of A-Z a-z 0-9 . _ - and a secret of at least ${MIN_SECRET_BYTES} bytes`,
  ).refine((pairs) => new Set(pairs.map((p) => p.slice(0, p.indexOf(':')))).size === pairs.length, {
    error: 'key ids must be unique',
  }),
  NOTIFICATION_KINDS: list((s) => NOTIFICATION_KIND.test(s), 'a dotted lower-case kind').transform(
    (kinds) =>
      kinds.length > 0
        ? kinds
        : [
            'appointment.created',
            'appointment.updated',
            'appointment.cancelled',
            'message.received',
            'result.available',
          ],
  ),
  RATE_PUBLISH_PER_KEY: rate('1000/1s'),
  PUBLISH_MAX_IN_FLIGHT: integer(5000, 100, 100_000),
  HISTORY_SIZE: integer(100, 0, 1000),
  HISTORY_TTL_SECONDS: integer(300, 1, 3600),

  REDIS_URL: optionalUrl(['redis:', 'rediss:'], 'must be a redis:// or rediss:// URL'),
  REDIS_CLUSTER_NODES: list(isHostPort, 'host:port'),
  REDIS_KEY_PREFIX: z
    .string()
    .default('carecast:')
    .refine((s) => /^[A-Za-z0-9:_.{}-]{1,64}$/.test(s), {
      error: 'must be 1-64 characters of A-Z a-z 0-9 : _ . - { }',
    }),

  AUDIT_DIR: z.string().default('./data/audit'),
  AUDIT_SIGNING_KEY: secret(MIN_SECRET_BYTES),
  AUDIT_ROTATE_BYTES: integer(268_435_456, 4096, 1_099_511_627_776),
  AUDIT_ROTATE_SECONDS: integer(86_400, 1, 31_622_400),
});

export type ParsedEnv = z.output<typeof envSchema>;
