import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type CarecastApp, createApp } from '../../src/app.js';
import type { Config, DevSecrets } from '../../src/config/config.types.js';
import { describeProblems, parseConfig } from '../../src/config/parse-config.js';
import { LogCapture } from './log-capture.js';

export const TEST_DEV_SECRETS: DevSecrets = {
  ticketSecret: 'test-ticket-secret-0123456789abcdef0123456789',
  auditSigningKey: 'test-audit-key-0123456789abcdef0123456789abc',
  accessTokenSecret: 'test-access-secret-0123456789abcdef0123456789',
  publisherSecret: 'test-publisher-secret-0123456789abcdef01234',
};

/** A unique Redis key prefix so test files sharing one server never see each other's keys. */
export function uniquePrefix(label: string): string {
  return `cc-test-${label}-${randomBytes(4).toString('hex')}:`;
}

/** Config for a test node: loopback, OS-picked ports, test env; `env` overrides anything. */
export function testConfig(env: Record<string, string> = {}): Config {
  const result = parseConfig(
    {
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      INTERNAL_PORT: '0',
      LOG_LEVEL: 'debug',
      ...env,
    },
    { hostname: 'test', pid: process.pid, devSecrets: TEST_DEV_SECRETS },
  );
  if (!result.ok) throw new Error(describeProblems(result.problems));
  return result.config;
}

/** What tests reach a node through, in this process or its own (process-node.ts). */
export interface RunningNode {
  config: Config;
  logs: LogCapture;
  publicUrl: string;
  internalUrl: string;
  stop(): Promise<void>;
}

export interface TestNode extends RunningNode {
  app: CarecastApp;
}

/** Starts a node through the same createApp as main.ts, with its own audit dir and log capture. */
export async function startNode(env: Record<string, string> = {}): Promise<TestNode> {
  const auditDir = await mkdtemp(path.join(os.tmpdir(), 'carecast-audit-'));
  const config = testConfig({ AUDIT_DIR: auditDir, ...env });
  const logs = new LogCapture();
  const app = await createApp(config, { logDestination: logs });
  const scheme = config.publicListener.tls.kind === 'proxy' ? 'http' : 'https';
  return {
    app,
    config,
    logs,
    publicUrl: `${scheme}://127.0.0.1:${app.publicPort}`,
    internalUrl: `http://127.0.0.1:${app.internalPort}`,
    stop: async () => {
      await app.shutdown();
      await rm(auditDir, { recursive: true, force: true });
    },
  };
}
