import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DevSecrets } from '../config/config.types.js';

/** Where a development node keeps its generated secrets, so `npm run token` signs what it accepts. */
export const DEV_SECRETS_FILE = './data/dev-secrets.json';

const NAMES = ['ticketSecret', 'auditSigningKey', 'accessTokenSecret', 'publisherSecret'] as const;

/**
 * Reads the development secrets, creating any that are missing (owner-only file). Never
 * called in production: production takes every secret from its environment.
 */
export async function loadOrCreateDevSecrets(file = DEV_SECRETS_FILE): Promise<DevSecrets> {
  let stored: Partial<Record<(typeof NAMES)[number], unknown>> = {};
  try {
    stored = JSON.parse(await readFile(file, 'utf8')) as typeof stored;
  } catch {
    stored = {};
  }
  const complete = NAMES.every(
    (n) => typeof stored[n] === 'string' && (stored[n] as string).length >= 43,
  );
  if (complete) return stored as DevSecrets;
  const secrets = Object.fromEntries(
    NAMES.map((n) => [
      n,
      typeof stored[n] === 'string' ? stored[n] : randomBytes(32).toString('base64url'),
    ]),
  ) as unknown as DevSecrets;
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
  return secrets;
}
