import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RedisService } from '../../src/redis/redis.service.js';
import { startNode, type TestNode, uniquePrefix } from '../support/app.js';
import { eventually, request } from '../support/http-client.js';
import {
  type RedisClusterHandle,
  type RedisServerHandle,
  startRedisCluster,
  startRedisServer,
} from '../support/redis-server.js';

async function readiness(node: TestNode): Promise<{ status: number; body: unknown }> {
  const res = await request(`${node.internalUrl}/readyz`);
  return { status: res.status, body: res.json() };
}

async function redisUpGauge(node: TestNode): Promise<string | undefined> {
  const res = await request(`${node.internalUrl}/metrics`);
  return /^carecast_redis_up (\d)$/m.exec(res.body)?.[1];
}

describe('standalone Redis', () => {
  let redis: RedisServerHandle;
  let node: TestNode;

  beforeAll(async () => {
    redis = await startRedisServer();
    node = await startNode({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: uniquePrefix('redis') });
    await eventually(async () => (await readiness(node)).status === 200);
  });
  afterAll(async () => {
    await node?.stop();
    await redis?.stop();
  });

  it('is ready, with carecast_redis_up 1, once connected', async () => {
    expect(await readiness(node)).toEqual({ status: 200, body: { status: 'ready' } });
    expect(await redisUpGauge(node)).toBe('1');
    const service = node.app.nest.get(RedisService);
    await service.client!.set(service.key('probe'), 'v');
    expect(await service.client!.get(`${node.config.redis.keyPrefix}probe`)).toBe('v');
  });

  it('reports not-ready while Redis is stopped and ready again when it returns', async () => {
    await redis.stop();
    await eventually(async () => (await readiness(node)).status === 503, { timeoutMs: 3000 });
    expect(await readiness(node)).toEqual({
      status: 503,
      body: { status: 'not_ready', reasons: ['redis_unavailable'] },
    });
    expect(await redisUpGauge(node)).toBe('0');
    // Liveness does not depend on Redis.
    expect((await request(`${node.internalUrl}/healthz`)).status).toBe(200);

    await redis.start();
    await eventually(async () => (await readiness(node)).status === 200, { timeoutMs: 5000 });
    expect(await redisUpGauge(node)).toBe('1');
  });

  it('fails a command within a second while Redis is down, instead of queueing it', async () => {
    await redis.stop();
    try {
      const service = node.app.nest.get(RedisService);
      await eventually(async () => !service.isReady(), { timeoutMs: 3000 });
      const started = Date.now();
      await expect(service.client!.get(service.key('anything'))).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(1000);
    } finally {
      await redis.start();
      await eventually(async () => (await readiness(node)).status === 200, { timeoutMs: 5000 });
    }
  });
});

describe('Redis unreachable at start', () => {
  it('starts anyway, not ready, and becomes ready when Redis appears', async () => {
    const redis = await startRedisServer();
    await redis.stop();
    const node = await startNode({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: uniquePrefix('late') });
    try {
      expect((await readiness(node)).status).toBe(503);
      expect((await request(`${node.internalUrl}/healthz`)).status).toBe(200);
      await redis.start();
      await eventually(async () => (await readiness(node)).status === 200, { timeoutMs: 5000 });
    } finally {
      await node.stop();
      await redis.stop();
    }
  });
});

describe('Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  let node: TestNode;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    node = await startNode({
      REDIS_CLUSTER_NODES: cluster.nodesEnv,
      REDIS_KEY_PREFIX: uniquePrefix('cluster'),
    });
  });
  afterAll(async () => {
    await node?.stop();
    await cluster?.stop();
  });

  it('connects through REDIS_CLUSTER_NODES, reports ready and serves commands across slots', async () => {
    await eventually(async () => (await readiness(node)).status === 200, { timeoutMs: 5000 });
    const service = node.app.nest.get(RedisService);
    for (const name of ['a', 'b', 'c']) {
      await service.client!.set(service.key(name), name);
      expect(await service.client!.get(service.key(name))).toBe(name);
    }
  });
});

describe('embedded mode', () => {
  it('says so at start and is ready without Redis', async () => {
    const node = await startNode();
    try {
      expect(node.logs.text).toContain('embedded single-node mode');
      expect((await readiness(node)).status).toBe(200);
      expect(node.app.nest.get(RedisService).client).toBeNull();
    } finally {
      await node.stop();
    }
  });
});
