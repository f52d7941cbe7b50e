import { randomBytes } from 'node:crypto';
import type { Config } from '../config/config.types.js';
import { signatureHeader } from '../core/publisher-signature.js';
import { type DevProcess, loadDevNodeConfig, reachableHost } from './dev-node-config.js';
import { type Outcome, parseOptions } from './dev-command.js';

/**
 * `npm run dev:publish -- --channel <channel> --kind <kind> [--ref <id>] [--id <id>]`: signs
 * one notification with the node's first publisher key (the generated `dev` key unless
 * PUBLISHER_KEYS is set) and sends it to the node's internal listener, exactly as a
 * publishing service would (docs/publishing.md).
 *
 * Invariant: without `--id`, every run sends a fresh notification id, so a second run is
 * delivered too (a reused id within 10 minutes is answered `duplicate: true` and delivered
 * to no one). Without `--ref`, a fresh opaque ref is made up.
 */

export const PUBLISH_USAGE =
  'usage: npm run dev:publish -- --channel <patient:<id>|doctor:<id>> --kind <kind> ' +
  '[--ref <opaque id>] [--id <opaque id>]';

export interface DevNotification {
  readonly id: string;
  readonly channel: string;
  readonly kind: string;
  readonly ref: string;
}

export function parsePublishArgs(argv: readonly string[]): Outcome<DevNotification> {
  const parsed = parseOptions(argv, {
    channel: { type: 'string' },
    kind: { type: 'string' },
    ref: { type: 'string' },
    id: { type: 'string' },
  });
  if (!parsed.ok) return parsed;
  const values = parsed.value;
  const { channel, kind } = values;
  if (channel === undefined) return { ok: false, error: '--channel is required' };
  if (kind === undefined) return { ok: false, error: '--kind is required' };
  // The node checks every field (422 names the bad ones): the command adds no rule of its own.
  return {
    ok: true,
    value: {
      id: values['id'] ?? `evt-${randomBytes(6).toString('hex')}`,
      channel,
      kind,
      ref: values['ref'] ?? `ref-${randomBytes(6).toString('hex')}`,
    },
  };
}

export interface PublishIo extends DevProcess {
  readonly argv: readonly string[];
  readonly nowSeconds: number;
  readonly fetch: typeof fetch;
}

export interface PublishResult {
  readonly exitCode: 0 | 1 | 2;
  readonly stdout: string;
  readonly stderr: string;
}

/** Exit codes: 0 accepted (202), 1 refused by the node or the environment, 2 bad arguments. */
export async function runPublishCommand(io: PublishIo): Promise<PublishResult> {
  const config = await loadDevNodeConfig('dev:publish', io);
  if (!config.ok) return { exitCode: 1, stdout: '', stderr: config.error };
  const notification = parsePublishArgs(io.argv);
  if (!notification.ok) {
    return { exitCode: 2, stdout: '', stderr: `${notification.error}\n${PUBLISH_USAGE}` };
  }
  const [kid, secret] = firstKey(config.value);
  const path = '/internal/v1/notifications';
  const body = JSON.stringify(notification.value);
  const { host, port } = config.value.internalListener;
  let response: Response;
  try {
    response = await io.fetch(`http://${reachableHost(host)}:${port}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'carecast-signature': signatureHeader(kid, secret, io.nowSeconds, 'POST', path, body),
      },
      body,
      signal: AbortSignal.timeout(5000),
    });
  } catch {
    return {
      exitCode: 1,
      stdout: '',
      stderr: `no node answers on http://${reachableHost(host)}:${port}: start one with npm start`,
    };
  }
  const answer = await response.text();
  return {
    exitCode: response.status === 202 ? 0 : 1,
    stdout: `sent ${body}\n${response.status} ${answer}`,
    stderr: '',
  };
}

function firstKey(config: Config): [string, string] {
  const first = config.publish.keys.entries().next();
  // parseConfig guarantees at least one key (generated outside production).
  if (first.done === true) throw new Error('no publisher key');
  return first.value;
}
