import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RedisService } from '../../src/redis/redis.service.js';
import {
  IDEMPOTENCY_WINDOW_SECONDS,
  type IdempotencyStore,
} from '../../src/stores/idempotency-store/idempotency-store.js';
import { MemoryIdempotencyStore } from '../../src/stores/idempotency-store/memory-idempotency-store.js';
import { RedisIdempotencyStore } from '../../src/stores/idempotency-store/redis-idempotency-store.js';
import { Nodes, type RedisTarget, standaloneTarget, uniqueId } from './store-fixtures.js';

const T0 = 1_800_000_000_000;
const nodes = new Nodes('idempotency');
let target: RedisTarget;
let nodeA: RedisService;
let nodeB: RedisService;

beforeAll(async () => {
  target = await standaloneTarget();
  [nodeA, nodeB] = (await nodes.connect(target, 2)) as [RedisService, RedisService];
});

afterAll(async () => {
  await nodes.closeAll();
  await target.stop();
});

const impls: { name: string; stores(): [IdempotencyStore, IdempotencyStore] }[] = [
  {
    name: 'memory',
    stores: () => {
      const store = new MemoryIdempotencyStore();
      return [store, store];
    },
  },
  {
    name: 'redis',
    stores: () => [new RedisIdempotencyStore(nodeA), new RedisIdempotencyStore(nodeB)],
  },
];

describe.each(impls)('$name idempotency store', (impl) => {
  it('claims an id once, whichever node sees the repeat', async () => {
    const [a, b] = impl.stores();
    const id = uniqueId('evt');
    await expect(a.claim(id, T0)).resolves.toBe(true);
    await expect(b.claim(id, T0 + 1000)).resolves.toBe(false);
  });

  it('claims a released id again, so a publish that failed is delivered on retry', async () => {
    const [a, b] = impl.stores();
    const id = uniqueId('evt');
    await a.claim(id, T0);
    await a.release(id);
    await expect(b.claim(id, T0 + 1)).resolves.toBe(true);
  });
});

describe(MemoryIdempotencyStore.name, () => {
  it('forgets an id once the window has passed', async () => {
    const store = new MemoryIdempotencyStore();
    await store.claim('evt-window01', T0);
    await expect(
      store.claim('evt-window01', T0 + IDEMPOTENCY_WINDOW_SECONDS * 1000 - 1),
    ).resolves.toBe(false);
    await expect(store.claim('evt-window01', T0 + IDEMPOTENCY_WINDOW_SECONDS * 1000)).resolves.toBe(
      true,
    );
  });
});
