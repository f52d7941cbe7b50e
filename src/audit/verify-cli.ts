/**
 * `npm run audit:verify -- <file>... [--redis-url URL [--key-prefix P] [--node ID] |
 *                                     --checkpoint-file JSON]`
 *
 * Verifies audit files offline, several in the order given as one chain (rotated files by
 * first seq, then the active file), streaming in constant memory: every hash, link, seq and
 * checkpoint signature, and, with `--redis-url` (or a shipped copy of that value,
 * `--checkpoint-file`), that the chain still reaches the checkpoint kept outside it (the newest
 * file cut short fails with behind_external_checkpoint). Exit codes: 0 `ok <n> records`; 1 the
 * chain does not hold (`bad seq <n>: <reason>`, followed by ` in <file>` when several files
 * were given) or the external checkpoint is missing or forged; 2 usage or I/O.
 *
 * The environment comes in as an argument (scripts/audit-verify.mjs passes process.env).
 */
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { checkpointSignature } from '../core/audit-chain.js';
import type { VerifyOptions } from '../core/audit-verify.js';
import { DEV_SECRETS_FILE } from '../dev/dev-secrets.js';
import { forEachAuditLine } from './audit-lines.js';
import { parseAuditFileName } from './audit-file-names.js';
import {
  checkpointKeyParts,
  parseStoredCheckpoint,
  type StoredCheckpoint,
} from './checkpoint-store.js';
import { verifyFiles } from './file-chain-verifier.js';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

export type CliEnv = Readonly<Record<string, string | undefined>>;

const USAGE =
  'usage: npm run audit:verify -- <audit-file>... [--redis-url redis://host:6379 ' +
  '[--key-prefix carecast:] [--node <NODE_ID>] | --checkpoint-file <json>]' +
  '   (signing key: env AUDIT_SIGNING_KEY)';

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
  }
}

export async function runAuditVerify(
  argv: readonly string[],
  env: CliEnv,
  io: CliIo,
): Promise<number> {
  try {
    return await verify(argv, env, io);
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    io.err(error.message);
    return error.exitCode;
  }
}

async function verify(argv: readonly string[], env: CliEnv, io: CliIo): Promise<number> {
  const args = parseCliArgs(argv);
  const key = await signingKey(env, io);
  for (const file of args.files) {
    await access(file).catch((error: NodeJS.ErrnoException) => {
      throw new CliError(`cannot read ${file}: ${error.code ?? error.message}`, 2);
    });
  }
  const external = await externalCheckpoint(args);
  if (external !== null) {
    const node = args.node ?? (await nodeOf(newest(args)));
    if (checkpointSignature(key, node, external.seq, external.hash) !== external.sig) {
      const message = `bad external checkpoint (seq ${external.seq}): bad_checkpoint_signature`;
      throw new CliError(message, 1);
    }
  }
  const options: VerifyOptions =
    external === null ? { key } : { key, externalCheckpoint: external };
  const verdict = await verifyFiles(args.files, options, {
    onTornTail: (file) =>
      io.err(
        `warning: ${file} ends in a torn line (an interrupted write); it is not a record ` +
          'and the node cuts it off at its next start',
      ),
  }).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read the audit files: ${error.code ?? error.message}`, 2);
  });
  if (!verdict.ok) {
    const where = args.files.length > 1 ? ` in ${verdict.file}` : '';
    io.out(`bad seq ${verdict.seq}: ${verdict.reason}${where}`);
    return 1;
  }
  if (verdict.anchoredAt !== null) {
    io.err(
      `note: the chain given starts at seq ${verdict.anchoredAt} (a signed checkpoint); give ` +
        'the earlier files first to verify the records before it',
    );
  }
  io.out(`ok ${verdict.records} records`);
  if (external !== null) io.out(`external checkpoint seq ${external.seq} matches`);
  return 0;
}

interface CliArgs {
  /** In chain order; the last is the newest (the one the external checkpoint is about). */
  readonly files: readonly string[];
  readonly redisUrl: string | undefined;
  readonly keyPrefix: string;
  readonly node: string | undefined;
  readonly checkpointFile: string | undefined;
}

function parseCliArgs(argv: readonly string[]): CliArgs {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        'redis-url': { type: 'string' },
        'key-prefix': { type: 'string', default: 'carecast:' },
        node: { type: 'string' },
        'checkpoint-file': { type: 'string' },
      },
    });
    if (positionals.length === 0) throw new Error('expected at least one file');
    return {
      files: positionals,
      redisUrl: values['redis-url'],
      keyPrefix: values['key-prefix'],
      node: values.node,
      checkpointFile: values['checkpoint-file'],
    };
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n${USAGE}`, 2);
  }
}

/** AUDIT_SIGNING_KEY; outside production, the development key a dev node generated. */
async function signingKey(env: CliEnv, io: CliIo): Promise<string> {
  const fromEnv = env.AUDIT_SIGNING_KEY;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (env.NODE_ENV !== 'production') {
    const devKey = await readFile(DEV_SECRETS_FILE, 'utf8')
      .then((text) => (JSON.parse(text) as { auditSigningKey?: unknown }).auditSigningKey)
      .catch(() => undefined);
    if (typeof devKey === 'string') {
      io.err(
        `note: AUDIT_SIGNING_KEY is not set; using the development key in ${DEV_SECRETS_FILE}`,
      );
      return devKey;
    }
  }
  throw new CliError(`AUDIT_SIGNING_KEY is not set\n${USAGE}`, 2);
}

function newest(args: CliArgs): string {
  return args.files.at(-1) ?? '';
}

/** The node id from the file's name (active or rotated), else from its first record. */
async function nodeOf(file: string): Promise<string> {
  const named = parseAuditFileName(path.basename(file));
  if (named !== null) return named.nodeId;
  let node: unknown;
  await forEachAuditLine(file, (value) => {
    node = (value as { node?: unknown } | null)?.node;
    return false;
  });
  if (typeof node === 'string') return node;
  throw new CliError('cannot tell the node id from the file; pass --node', 2);
}

/** The checkpoint kept outside the file, from Redis or a shipped copy; null if none was asked. */
async function externalCheckpoint(args: CliArgs): Promise<StoredCheckpoint | null> {
  if (args.checkpointFile !== undefined) {
    if (args.redisUrl !== undefined) {
      throw new CliError(`give --redis-url or --checkpoint-file, not both\n${USAGE}`, 2);
    }
    const file = args.checkpointFile;
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new CliError(`cannot read ${file}: ${error.code ?? error.message}`, 2);
    });
    const stored = parseStoredCheckpoint(text.trim());
    if (stored === null) throw new CliError(`${file} holds no audit checkpoint`, 2);
    return stored;
  }
  if (args.redisUrl === undefined) return null;
  const node = args.node ?? (await nodeOf(newest(args)));
  const key = args.keyPrefix + checkpointKeyParts(node).join(':');
  const stored = parseStoredCheckpoint(await redisGet(args.redisUrl, key));
  if (stored === null) {
    throw new CliError(`no audit checkpoint stored in Redis at ${key}: cannot compare`, 1);
  }
  return stored;
}

async function redisGet(url: string, key: string): Promise<string | null> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    commandTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined); // surfaced through the command promises
  try {
    await client.connect();
    return await client.get(key);
  } catch (error) {
    const reason = (error as { code?: unknown }).code ?? (error as Error).message;
    throw new CliError(`cannot read the checkpoint from Redis: ${String(reason)}`, 2);
  } finally {
    client.disconnect();
  }
}
