import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { DrainState } from '../../src/lifecycle/drain-state.js';
import { startNode, uniquePrefix } from '../support/app.js';
import { eventually, request } from '../support/http-client.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { untilReady } from '../support/readiness.js';

describe('shutdown', () => {
  let redis: RedisServerHandle;
  let observer: Redis;

  beforeAll(async () => {
    redis = await startRedisServer();
    observer = new Redis(redis.url, { lazyConnect: true });
    await observer.connect();
  });
  afterAll(async () => {
    observer?.disconnect();
    await redis?.stop();
  });

  async function carecastConnections(): Promise<number> {
    const list = (await observer.client('LIST')) as string;
    return list.split('\n').filter((l) => l.includes('name=carecast-')).length;
  }

  it('reports not-ready, stops accepting, runs drain hooks, then closes Redis', async () => {
    const node = await startNode({
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix('shutdown'),
    });
    await untilReady(node);
    // The command connection and the bus's subscriber connection.
    const open = await carecastConnections();
    expect(open).toBeGreaterThanOrEqual(2);

    // A drain hook stands in for the gateway closing its sockets; hold it open to look inside.
    let release!: () => void;
    let hookStarted!: () => void;
    const hookRunning = new Promise<void>((r) => (hookStarted = r));
    node.app.nest.get(DrainState).onDrain(async () => {
      hookStarted();
      await new Promise<void>((r) => (release = r));
    });

    const stopping = node.stop();
    await hookRunning;
    const readyz = await request(`${node.internalUrl}/readyz`);
    expect(readyz.status).toBe(503);
    expect(readyz.json()).toEqual({ status: 'not_ready', reasons: ['draining'] });
    await expect(request(`${node.publicUrl}/v1/unknown`)).rejects.toThrow();
    // Redis stays connected until the sessions are gone.
    expect(await carecastConnections()).toBe(open);

    release();
    await stopping;
    await eventually(async () => (await carecastConnections()) === 0);
    await expect(request(`${node.internalUrl}/healthz`)).rejects.toThrow();
  });

  it('is idempotent: a second shutdown waits for the first', async () => {
    const node = await startNode();
    await Promise.all([node.app.shutdown(), node.app.shutdown()]);
    await expect(request(`${node.internalUrl}/healthz`)).rejects.toThrow();
    await node.stop();
  });
});
