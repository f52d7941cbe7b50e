import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RedisService } from '../../src/redis/redis.service.js';
import type { ConnectionCounter } from '../../src/stores/connection-counter/connection-counter.js';
import { MemoryConnectionCounter } from '../../src/stores/connection-counter/memory-connection-counter.js';
import { RedisConnectionCounter } from '../../src/stores/connection-counter/redis-connection-counter.js';
import {
  clusterTarget,
  expectUnavailableFast,
  Nodes,
  type RedisTarget,
  standaloneTarget,
  throughOutage,
  uniqueId,
} from './store-fixtures.js';

const T0 = 1_800_000_000_000;
const LEASE_MS = 30_000;

const nodes = new Nodes('conns');
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
function counters(name: string): [ConnectionCounter, ConnectionCounter] {
  const pair = pairs.get(name);
  if (pair === undefined) {
    const counter = new MemoryConnectionCounter();
    return [counter, counter];
  }
  return [new RedisConnectionCounter(pair[0]), new RedisConnectionCounter(pair[1])];
}

describe.each(['memory', 'redis', 'redis cluster'])('%s connection counter', (name) => {
  it('caps a user across nodes, and a release on any node frees a slot', async () => {
    const [a, b] = counters(name);
    const user = uniqueId('doctor:dr');
    await expect(a.acquire(user, 'c1', 2, LEASE_MS, T0)).resolves.toBe(true);
    await expect(b.acquire(user, 'c2', 2, LEASE_MS, T0)).resolves.toBe(true);
    await expect(a.acquire(user, 'c3', 2, LEASE_MS, T0)).resolves.toBe(false);
    await expect(b.acquire(user, 'c3', 2, LEASE_MS, T0)).resolves.toBe(false);
    await b.release(user, 'c1');
    await expect(a.acquire(user, 'c3', 2, LEASE_MS, T0 + 1)).resolves.toBe(true);
  });

  it('counts a connection acquired twice once', async () => {
    const [a, b] = counters(name);
    const user = uniqueId('patient:pt');
    await expect(a.acquire(user, 'c1', 2, LEASE_MS, T0)).resolves.toBe(true);
    await expect(a.acquire(user, 'c1', 2, LEASE_MS, T0 + 1)).resolves.toBe(true);
    await expect(b.acquire(user, 'c2', 2, LEASE_MS, T0 + 2)).resolves.toBe(true);
  });

  it('keeps users apart', async () => {
    const [a] = counters(name);
    const [first, second] = [uniqueId('doctor:dr'), uniqueId('doctor:dr')];
    await expect(a.acquire(first, 'c1', 1, LEASE_MS, T0)).resolves.toBe(true);
    await expect(a.acquire(second, 'c1', 1, LEASE_MS, T0)).resolves.toBe(true);
  });

  it('frees the slots of a node that died once their lease runs out', async () => {
    const [dead, live] = counters(name);
    const user = uniqueId('patient:pt');
    await expect(dead.acquire(user, 'on-dead-node', 1, LEASE_MS, T0)).resolves.toBe(true);
    await expect(live.acquire(user, 'c2', 1, LEASE_MS, T0 + LEASE_MS - 1)).resolves.toBe(false);
    await expect(live.acquire(user, 'c2', 1, LEASE_MS, T0 + LEASE_MS)).resolves.toBe(true);
  });

  it('keeps renewed slots, of every user in the batch, past their first lease', async () => {
    const [a, b] = counters(name);
    const [first, second] = [uniqueId('doctor:dr'), uniqueId('patient:pt')];
    await a.acquire(first, 'c1', 1, LEASE_MS, T0);
    await a.acquire(second, 'c1', 1, LEASE_MS, T0);
    const renewedAt = T0 + LEASE_MS - 5000;
    const slots = [
      { userKey: first, connectionKey: 'c1' },
      { userKey: second, connectionKey: 'c1' },
    ];
    await a.renew(slots, LEASE_MS, renewedAt);
    for (const user of [first, second]) {
      await expect(b.acquire(user, 'c2', 1, LEASE_MS, T0 + LEASE_MS + 1)).resolves.toBe(false);
    }
    for (const user of [first, second]) {
      await expect(b.acquire(user, 'c2', 1, LEASE_MS, renewedAt + LEASE_MS)).resolves.toBe(true);
    }
  });

  it('restores a live slot the store lost, so the cap holds again after the next renewal', async () => {
    const [a, b] = counters(name);
    const user = uniqueId('doctor:dr');
    await a.acquire(user, 'c1', 1, LEASE_MS, T0);
    // The store forgets the slot (as Redis does on a restart without persistence).
    await a.release(user, 'c1');
    await a.renew([{ userKey: user, connectionKey: 'c1' }], LEASE_MS, T0 + 1);
    await expect(b.acquire(user, 'c2', 1, LEASE_MS, T0 + 2)).resolves.toBe(false);
  });

  it('grants exactly the limit when 20 connections race from two nodes', async () => {
    const [a, b] = counters(name);
    const user = uniqueId('patient:pt');
    const granted = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).acquire(user, `c${i}`, 5, LEASE_MS, T0)),
    );
    expect(granted.filter(Boolean)).toHaveLength(5);
  });
});

describe('redis connection counter', () => {
  it('lets the key of a user whose nodes all died expire from Redis', async () => {
    const [node] = pairs.get('redis')!;
    const user = uniqueId('doctor:dr');
    await new RedisConnectionCounter(node).acquire(user, 'c1', 1, LEASE_MS, T0);
    const ttl = await node.client!.pttl(node.key('conns', user));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(LEASE_MS);
  });

  it('rejects every call with StoreUnavailableError within a second while down, and recovers', async () => {
    const down = await standaloneTarget();
    const local = new Nodes('conns-down');
    try {
      const [node] = (await local.connect(down)) as [RedisService];
      const counter = new RedisConnectionCounter(node);
      const slot = { userKey: uniqueId('doctor:dr'), connectionKey: 'c1' };
      await throughOutage(
        down.server,
        node,
        async () => {
          await expectUnavailableFast(() => counter.acquire(slot.userKey, 'c1', 5, LEASE_MS, T0));
          await expectUnavailableFast(() => counter.release(slot.userKey, 'c1'));
          await expectUnavailableFast(() => counter.renew([slot], LEASE_MS, T0));
        },
        () => counter.acquire(slot.userKey, 'c1', 5, LEASE_MS, T0),
      );
    } finally {
      await local.closeAll();
      await down.stop();
    }
  });
});

describe('memory connection counter', () => {
  it('forgets users whose slots lapsed unreleased, so memory cannot grow without bound', async () => {
    const counter = new MemoryConnectionCounter();
    for (let i = 0; i < 1000; i++) await counter.acquire(`u-${i}`, 'c1', 5, LEASE_MS, T0 + i);
    expect(counter.size).toBe(1000);
    await counter.acquire('u-new', 'c1', 5, LEASE_MS, T0 + 1000 + LEASE_MS);
    expect(counter.size).toBe(1);
  });
});
