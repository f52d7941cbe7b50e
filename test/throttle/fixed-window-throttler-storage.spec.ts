import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { RateLimit } from '../../src/config/config.types.js';
import type { RedisService } from '../../src/redis/redis.service.js';
import { MemoryRateLimiter } from '../../src/stores/rate-limiter/memory-rate-limiter.js';
import type { RateLimiter } from '../../src/stores/rate-limiter/rate-limiter.js';
import { RedisRateLimiter } from '../../src/stores/rate-limiter/redis-rate-limiter.js';
import { FixedWindowThrottlerStorage } from '../../src/throttle/fixed-window-throttler-storage.js';
import {
  clusterTarget,
  expectUnavailableFast,
  Nodes,
  type RedisTarget,
  standaloneTarget,
  throughOutage,
  uniqueId,
} from '../stores/store-fixtures.js';

/** Start of a 10 s window: windows start at multiples of the window length since the epoch. */
const T0 = 1_800_000_000_000;
const LIMIT = 3;
const WINDOW_MS = 10_000;

const nodes = new Nodes('throttle');
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

/** The counter as seen from two nodes; in memory there is only one node. */
function counters(name: string): [RateLimiter, RateLimiter] {
  const pair = pairs.get(name);
  if (pair === undefined) {
    const counter = new MemoryRateLimiter();
    return [counter, counter];
  }
  return [new RedisRateLimiter(pair[0]), new RedisRateLimiter(pair[1])];
}

/** A storage whose clock the test sets, seen through the interface the throttler calls. */
function storageAt(counter: RateLimiter, clock: { now: number }): ThrottlerStorage {
  return new FixedWindowThrottlerStorage(counter, () => clock.now);
}

function increment(storage: ThrottlerStorage, key: string) {
  return storage.increment(key, WINDOW_MS, LIMIT, WINDOW_MS, 'tickets');
}

describe.each(['memory', 'redis', 'redis cluster'])('%s throttler storage', (name) => {
  it('counts hits up to the limit, then blocks until the window ends, in whole seconds', async () => {
    const clock = { now: T0 + 2500 };
    const storage = storageAt(counters(name)[0], clock);
    const key = uniqueId('tickets:doctor');
    const allowed = [];
    for (let i = 0; i < LIMIT; i++) allowed.push(await increment(storage, key));
    // 7.5 s of the window left: rounded up, so a client honouring it lands in the next window.
    expect(allowed).toEqual(
      [1, 2, 3].map((totalHits) => ({
        totalHits,
        timeToExpire: 8,
        isBlocked: false,
        timeToBlockExpire: 0,
      })),
    );
    await expect(increment(storage, key)).resolves.toEqual({
      totalHits: 4,
      timeToExpire: 8,
      isBlocked: true,
      timeToBlockExpire: 8,
    });
    clock.now = T0 + 9800;
    await expect(increment(storage, key)).resolves.toMatchObject({
      isBlocked: true,
      timeToBlockExpire: 1,
    });
    clock.now = T0 + WINDOW_MS;
    await expect(increment(storage, key)).resolves.toEqual({
      totalHits: 1,
      timeToExpire: 10,
      isBlocked: false,
      timeToBlockExpire: 0,
    });
  });

  it('reaches one limit together from two nodes', async () => {
    const clock = { now: T0 + 100 };
    const [a, b] = counters(name).map((c) => storageAt(c, clock));
    const key = uniqueId('publish:svc');
    await increment(a!, key);
    await increment(b!, key);
    await expect(increment(a!, key)).resolves.toMatchObject({ totalHits: 3, isBlocked: false });
    await expect(increment(b!, key)).resolves.toMatchObject({ totalHits: 4, isBlocked: true });
    await expect(increment(a!, key)).resolves.toMatchObject({ totalHits: 5, isBlocked: true });
    await expect(increment(b!, uniqueId('publish:other'))).resolves.toMatchObject({
      isBlocked: false,
    });
  });

  it('is the same counter as the WebSocket limits use', async () => {
    const clock = { now: T0 + 100 };
    const [counter] = counters(name);
    const storage = storageAt(counter, clock);
    const bucket = uniqueId('shared');
    const limit: RateLimit = { limit: LIMIT, windowMs: WINDOW_MS };
    await increment(storage, bucket);
    await increment(storage, bucket);
    await expect(counter.hit(bucket, limit, clock.now)).resolves.toEqual({ allowed: true });
    await expect(increment(storage, bucket)).resolves.toMatchObject({ isBlocked: true });
  });

  it('allows exactly the limit when 20 hits race from two nodes', async () => {
    const clock = { now: T0 + 1 };
    const [a, b] = counters(name).map((c) => storageAt(c, clock));
    const key = uniqueId('race');
    const records = await Promise.all(
      Array.from({ length: 20 }, (_, i) => increment(i % 2 ? a! : b!, key)),
    );
    expect(records.filter((r) => !r.isBlocked)).toHaveLength(LIMIT);
  });
});

describe('redis throttler storage while Redis is down', () => {
  it('rejects with StoreUnavailableError within a second, and recovers', async () => {
    const down = await standaloneTarget();
    const local = new Nodes('throttle-down');
    try {
      const [node] = (await local.connect(down)) as [RedisService];
      const storage = storageAt(new RedisRateLimiter(node), { now: T0 });
      await throughOutage(
        down.server,
        node,
        () => expectUnavailableFast(() => increment(storage, uniqueId('down'))),
        async () => !(await increment(storage, uniqueId('back'))).isBlocked,
      );
    } finally {
      await local.closeAll();
      await down.stop();
    }
  });
});
