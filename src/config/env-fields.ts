import { isIP } from 'node:net';
import { z } from 'zod';
import type { RateLimit } from './config.types.js';

/*
 * Field parsers for environment strings. Each error message describes the expected form and
 * never quotes the value: some variables are secrets.
 */

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

export function integer(defaultValue: number, min: number, max: number) {
  return z
    .string()
    .default(String(defaultValue))
    .refine((s) => /^\d+$/.test(s), { error: `must be a whole number from ${min} to ${max}` })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { error: `must be a whole number from ${min} to ${max}` });
}

export function port(defaultValue: number) {
  return integer(defaultValue, 0, 65535);
}

export function boolean(defaultValue: boolean) {
  return z
    .string()
    .default(String(defaultValue))
    .refine((s) => ['true', 'false', '1', '0'].includes(s), { error: 'must be true or false' })
    .transform((s) => s === 'true' || s === '1');
}

export function rate(defaultValue: string) {
  return z
    .string()
    .default(defaultValue)
    .transform((s, ctx): RateLimit => {
      const m = /^(\d+)\/(\d+)(ms|s|m|h)$/.exec(s);
      const limit = Number(m?.[1]);
      const windowMs = Number(m?.[2]) * UNIT_MS[(m?.[3] ?? 's') as keyof typeof UNIT_MS];
      if (!m || limit < 1 || windowMs < 1) {
        ctx.addIssue({ code: 'custom', message: 'must look like 20/10s (count/window, ms|s|m|h)' });
        return z.NEVER;
      }
      return { limit, windowMs };
    });
}

export function list(
  item: (entry: string) => boolean,
  expected: string,
): z.ZodType<string[], string | undefined> {
  return z
    .string()
    .optional()
    .transform((s) =>
      (s ?? '')
        .split(',')
        .map((e) => e.trim())
        .filter((e) => e.length > 0),
    )
    .refine((entries) => entries.every(item), { error: `every entry must be ${expected}` });
}

export function secret(minBytes: number) {
  return z
    .string()
    .optional()
    .refine((s) => s === undefined || Buffer.byteLength(s) >= minBytes, {
      error: `must be at least ${minBytes} bytes`,
    });
}

/** `scheme://host[:port]` exactly as browsers send it in `Origin`: no path, no slash. */
export function isOrigin(s: string, schemes: readonly string[] = ['http:', 'https:']): boolean {
  try {
    const u = new URL(s);
    return schemes.includes(u.protocol) && u.origin === s;
  } catch {
    return false;
  }
}

export function isIpOrCidr(s: string): boolean {
  const [address = '', prefix, ...rest] = s.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

export function isHostPort(s: string): boolean {
  const m = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/.exec(s);
  return m !== null && Number(m[2]) > 0 && Number(m[2]) <= 65535;
}

export function splitHostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) };
}

export function isUrl(s: string, protocols: readonly string[]): boolean {
  try {
    return protocols.includes(new URL(s).protocol);
  } catch {
    return false;
  }
}

export const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
export const NODE_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** A break-glass reason code: it becomes an audit reason and a metric label, so it is tight. */
export const BREAK_GLASS_REASON = /^[a-z][a-z0-9_]{0,31}$/;
export const NOTIFICATION_KIND = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

/** `kid:secret` with a usable key id and a secret of at least `minBytes`. */
export function isKeyPair(minBytes: number) {
  return (entry: string): boolean => {
    const i = entry.indexOf(':');
    return (
      i > 0 && KEY_ID.test(entry.slice(0, i)) && Buffer.byteLength(entry.slice(i + 1)) >= minBytes
    );
  };
}
