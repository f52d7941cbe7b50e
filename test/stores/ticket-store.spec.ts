import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RedisService } from '../../src/redis/redis.service.js';
import { MemoryTicketStore } from '../../src/stores/ticket-store/memory-ticket-store.js';
import { RedisTicketStore } from '../../src/stores/ticket-store/redis-ticket-store.js';
import type { TicketStore } from '../../src/stores/ticket-store/ticket-store.js';
import { eventually } from '../support/http-client.js';
import {
  expectUnavailableFast,
  Nodes,
  type RedisTarget,
  standaloneTarget,
  throughOutage,
  uniqueId,
} from './store-fixtures.js';

const T0 = 1_800_000_000_000;
const nodes = new Nodes('tickets');
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

interface Impl {
  name: string;
  /** The store as seen from two nodes; in memory there is only one node. */
  stores(): [TicketStore, TicketStore];
  /** Resolves, with a time to pass as `nowMs`, once a ticket issued at `issuedAt` is expired. */
  outlive(jti: string, ttlSeconds: number, issuedAt: number): Promise<number>;
}

const impls: Impl[] = [
  {
    name: 'memory',
    stores: () => {
      const store = new MemoryTicketStore();
      return [store, store];
    },
    outlive: async (_jti, ttlSeconds, issuedAt) => issuedAt + ttlSeconds * 1000,
  },
  {
    name: 'redis',
    stores: () => [new RedisTicketStore(nodeA), new RedisTicketStore(nodeB)],
    // Redis's own clock runs the TTL: wait (bounded) until the server has let the key go.
    outlive: async (jti, _ttlSeconds, issuedAt) => {
      const key = nodeA.key('ticket', jti);
      await eventually(async () => (await nodeA.client!.exists(key)) === 0, { timeoutMs: 2000 });
      return issuedAt;
    },
  },
];

describe.each(impls)('$name ticket store', (impl) => {
  it('redeems an issued ticket exactly once, on whichever node the client reaches', async () => {
    const [a, b] = impl.stores();
    const jti = uniqueId('once');
    await a.issue(jti, 60, T0);
    await expect(b.redeem(jti, T0 + 1000)).resolves.toBe(true);
    await expect(a.redeem(jti, T0 + 1000)).resolves.toBe(false);
    await expect(b.redeem(jti, T0 + 1000)).resolves.toBe(false);
  });

  it('lets exactly one of 50 concurrent redemptions of one ticket win', async () => {
    const [a, b] = impl.stores();
    const jti = uniqueId('race');
    await a.issue(jti, 60, T0);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).redeem(jti, T0 + 10)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('refuses a ticket it never issued', async () => {
    const [a] = impl.stores();
    await expect(a.redeem(uniqueId('unknown'), T0)).resolves.toBe(false);
  });

  it('refuses a ticket redeemed after its ttl', async () => {
    const [a, b] = impl.stores();
    const jti = uniqueId('expired');
    await a.issue(jti, 1, T0);
    const later = await impl.outlive(jti, 1, T0);
    await expect(b.redeem(jti, later)).resolves.toBe(false);
  });

  it('refuses to issue a ticket id that is already waiting, keeping the first usable', async () => {
    const [a, b] = impl.stores();
    const jti = uniqueId('collision');
    await a.issue(jti, 60, T0);
    await expect(b.issue(jti, 60, T0 + 5)).rejects.toThrow(/collision/);
    await expect(b.redeem(jti, T0 + 10)).resolves.toBe(true);
  });

  it('rejects a ttl that is not a whole number of seconds', async () => {
    const [a] = impl.stores();
    await expect(a.issue(uniqueId('ttl'), 0, T0)).rejects.toThrow(RangeError);
    await expect(a.issue(uniqueId('ttl'), 1.5, T0)).rejects.toThrow(RangeError);
  });
});

describe('memory ticket store', () => {
  it('forgets expired tickets, so unredeemed ones cannot grow memory without bound', async () => {
    const store = new MemoryTicketStore();
    for (let i = 0; i < 1000; i++) await store.issue(`t-${i}`, 60, T0 + i);
    expect(store.size).toBe(1000);
    await store.issue('fresh', 60, T0 + 2000 + 60_000);
    expect(store.size).toBe(1);
    await expect(store.redeem('fresh', T0 + 2000 + 60_001)).resolves.toBe(true);
  });
});

describe('redis ticket store while Redis is down', () => {
  it('rejects every call with StoreUnavailableError within a second, and recovers', async () => {
    const down = await standaloneTarget();
    const local = new Nodes('tickets-down');
    try {
      const [node] = (await local.connect(down)) as [RedisService];
      const store = new RedisTicketStore(node);
      await throughOutage(
        down.server,
        node,
        async () => {
          await expectUnavailableFast(() => store.issue(uniqueId('down'), 60, T0));
          await expectUnavailableFast(() => store.redeem(uniqueId('down'), T0));
        },
        async () => {
          const jti = uniqueId('back');
          await store.issue(jti, 60, T0);
          return store.redeem(jti, T0);
        },
      );
    } finally {
      await local.closeAll();
      await down.stop();
    }
  });
});
