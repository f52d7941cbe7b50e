import { expect } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { RedisService } from '../../src/redis/redis.service.js';
import { StoreUnavailableError } from '../../src/redis/store-unavailable.error.js';
import { testConfig, uniquePrefix } from '../support/app.js';
import { eventually } from '../support/http-client.js';
import { standaloneMetrics } from '../support/private-metrics.js';
import {
  type RedisClusterHandle,
  type RedisServerHandle,
  startRedisCluster,
  startRedisServer,
} from '../support/redis-server.js';

// These specs build RedisService outside an app, where Nest's static logger would print
// connection state changes into the test output; the specs assert behaviour, not logs.
Logger.overrideLogger(false);

/** A Redis a store spec runs against: a standalone server or a three-node cluster. */
export interface RedisTarget {
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

export async function standaloneTarget(): Promise<RedisTarget & { server: RedisServerHandle }> {
  const server = await startRedisServer();
  return { server, env: { REDIS_URL: server.url }, stop: () => server.stop() };
}

/**
 * Runs `during` while the server is down, then restarts it and waits until `recovered`
 * holds: the stores must fail fast during an outage and serve again without a restart.
 * (Closing a client while it is still reconnecting would also leave ioredis's 2 s
 * disconnect timer holding Jest open.)
 */
export async function throughOutage(
  server: RedisServerHandle,
  node: RedisService,
  during: () => Promise<void>,
  recovered: () => Promise<boolean>,
): Promise<void> {
  await server.stop();
  try {
    await during();
  } finally {
    await server.start();
  }
  await eventually(async () => node.isReady() && (await recovered()), { timeoutMs: 10_000 });
}

export async function clusterTarget(): Promise<RedisTarget & { cluster: RedisClusterHandle }> {
  const cluster = await startRedisCluster();
  return { cluster, env: { REDIS_CLUSTER_NODES: cluster.nodesEnv }, stop: () => cluster.stop() };
}

/**
 * A node's RedisService, as the app builds it, once its command connection is ready. Services
 * given the same `prefix` act as nodes of one cluster; each test file uses its own prefix.
 */
export async function connectNode(target: RedisTarget, prefix: string): Promise<RedisService> {
  const config = testConfig({ ...target.env, REDIS_KEY_PREFIX: prefix });
  const redis = new RedisService(config, await standaloneMetrics());
  redis.onModuleInit();
  await eventually(async () => redis.isReady(), { timeoutMs: 10_000 });
  return redis;
}

/** Closes every node it handed out; for afterAll. */
export class Nodes {
  private readonly open: RedisService[] = [];

  constructor(private readonly label: string) {}

  /** Connects `count` nodes sharing one fresh key prefix. */
  async connect(target: RedisTarget, count = 1): Promise<RedisService[]> {
    const prefix = uniquePrefix(this.label);
    const nodes: RedisService[] = [];
    for (let i = 0; i < count; i++) nodes.push(await connectNode(target, prefix));
    this.open.push(...nodes);
    return nodes;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.open.splice(0).map((node) => node.onApplicationShutdown()));
  }
}

/** Asserts that `call` rejects with StoreUnavailableError, and within a second. */
export async function expectUnavailableFast(call: () => Promise<unknown>): Promise<void> {
  const startedAt = Date.now();
  const outcome = await call().then(
    (value: unknown) => ({ value }),
    (error: unknown) => ({ error }),
  );
  const elapsedMs = Date.now() - startedAt;
  if (!('error' in outcome)) {
    throw new Error(`expected StoreUnavailableError, got ${JSON.stringify(outcome.value)}`);
  }
  expect(outcome.error).toBeInstanceOf(StoreUnavailableError);
  expect((outcome.error as Error).message).toBe('store unavailable');
  expect(elapsedMs).toBeLessThan(1000);
}

/** Unique ids per test, so cases sharing one Redis never see each other's keys. */
let counter = 0;
export function uniqueId(label: string): string {
  counter += 1;
  return `${label}-${process.pid}-${counter}`;
}
