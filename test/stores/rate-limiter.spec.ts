import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RateLimit } from '../../src/config/config.types.js';
import type { RedisService } from '../../src/redis/redis.service.js';
import { MemoryRateLimiter } from '../../src/stores/rate-limiter/memory-rate-limiter.js';
import type { RateLimiter } from '../../src/stores/rate-limiter/rate-limiter.js';
import { RedisRateLimiter } from '../../src/stores/rate-limiter/redis-rate-limiter.js';
import {
  clusterTarget,
  expectUnavailableFast,
  Nodes,
  type RedisTarget,
  standaloneTarget,
  throughOutage,
  uniqueId,
} from './store-fixtures.js';

/** Start of a 10 s window: windows start at multiples of windowMs since the epoch. */
const T0 = 1_800_000_000_000;
const THREE_PER_10S: RateLimit = { limit: 3, windowMs: 10_000 };

const nodes = new Nodes('rate');
const targets: RedisTarget[] = [];
const pairs = new Map<string, [RedisService, RedisService]>();

beforeAll(async () => {
  const [standalone, cluster] = await Promise.all([standaloneTarget(), clusterTarget()]);
  targets.push(standalone, cluster);
  pairs.set('redis', (await nodes.connect(standalone, 2)) as [RedisService, RedisService]);
  pairs.set('redis cluster', (await nodes.connect(cluster, 2)) as [RedisService, RedisService]);
});

afterAll(async () => {
  await nodes.closeAll();
  await Promise.all(targets.map((target) => target.stop()));
});

/** The limiter as seen from two nodes; in memory there is only one node. */
function limiters(name: string): [RateLimiter, RateLimiter] {
  const pair = pairs.get(name);
  if (pair === undefined) {
    const limiter = new MemoryRateLimiter();
    return [limiter, limiter];
  }
  return [new RedisRateLimiter(pair[0]), new RedisRateLimiter(pair[1])];
}

async function hits(limiter: RateLimiter, bucket: string, count: number, nowMs: number) {
  const decisions = [];
  for (let i = 0; i < count; i++) decisions.push(await limiter.hit(bucket, THREE_PER_10S, nowMs));
  return decisions;
}

describe.each(['memory', 'redis', 'redis cluster'])('%s rate limiter', (name) => {
  it('allows the limit, then denies until the window ends, saying when', async () => {
    const [a] = limiters(name);
    const bucket = uniqueId('tickets');
    const allowed = await hits(a, bucket, 3, T0 + 2500);
    expect(allowed).toEqual([{ allowed: true }, { allowed: true }, { allowed: true }]);
    // 7.5 s of the window left: a client honouring Retry-After waits 8 s, into the next one.
    await expect(a.hit(bucket, THREE_PER_10S, T0 + 2500)).resolves.toEqual({
      allowed: false,
      retryAfterSeconds: 8,
    });
    await expect(a.hit(bucket, THREE_PER_10S, T0 + 9800)).resolves.toEqual({
      allowed: false,
      retryAfterSeconds: 1,
    });
  });

  it('starts every window afresh', async () => {
    const [a] = limiters(name);
    const bucket = uniqueId('tickets');
    await hits(a, bucket, 4, T0 + 9000);
    const next = await hits(a, bucket, 3, T0 + 10_000);
    expect(next.every((d) => d.allowed)).toBe(true);
    await expect(a.hit(bucket, THREE_PER_10S, T0 + 19_999)).resolves.toMatchObject({
      allowed: false,
    });
  });

  it('counts the hits of every node against one cluster-wide limit', async () => {
    const [a, b] = limiters(name);
    const bucket = uniqueId('subscribe');
    await hits(a, bucket, 2, T0 + 100);
    await expect(b.hit(bucket, THREE_PER_10S, T0 + 200)).resolves.toEqual({ allowed: true });
    await expect(a.hit(bucket, THREE_PER_10S, T0 + 300)).resolves.toMatchObject({
      allowed: false,
    });
    await expect(b.hit(bucket, THREE_PER_10S, T0 + 300)).resolves.toMatchObject({
      allowed: false,
    });
  });

  it('keeps buckets apart', async () => {
    const [a] = limiters(name);
    const [first, second] = [uniqueId('user-a'), uniqueId('user-b')];
    await hits(a, first, 4, T0);
    await expect(a.hit(second, THREE_PER_10S, T0)).resolves.toEqual({ allowed: true });
  });

  it('allows exactly the limit when 20 hits race from two nodes', async () => {
    const [a, b] = limiters(name);
    const bucket = uniqueId('race');
    const fivePerMinute: RateLimit = { limit: 5, windowMs: 60_000 };
    const decisions = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).hit(bucket, fivePerMinute, T0 + 1)),
    );
    expect(decisions.filter((d) => d.allowed)).toHaveLength(5);
  });
});

describe('memory rate limiter', () => {
  it('forgets ended windows, so idle buckets cannot grow memory without bound', async () => {
    const limiter = new MemoryRateLimiter();
    for (let i = 0; i < 1000; i++) await limiter.hit(`user-${i}`, THREE_PER_10S, T0 + i);
    expect(limiter.size).toBe(1000);
    await limiter.hit('user-new', THREE_PER_10S, T0 + 10_000 + 1000);
    expect(limiter.size).toBe(1);
  });
});

describe('redis rate limiter while Redis is down', () => {
  it('rejects with StoreUnavailableError within a second, and recovers', async () => {
    const down = await standaloneTarget();
    const local = new Nodes('rate-down');
    try {
      const [node] = (await local.connect(down)) as [RedisService];
      const limiter = new RedisRateLimiter(node);
      await throughOutage(
        down.server,
        node,
        () => expectUnavailableFast(() => limiter.hit(uniqueId('down'), THREE_PER_10S, T0)),
        async () => (await limiter.hit(uniqueId('back'), THREE_PER_10S, T0)).allowed,
      );
    } finally {
      await local.closeAll();
      await down.stop();
    }
  });
});
