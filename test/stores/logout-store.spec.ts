import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { idpDigest, watermarkKeyOf, watermarkKeysFor } from '../../src/core/idp-session.js';
import type { RedisService } from '../../src/redis/redis.service.js';
import type { LogoutStore } from '../../src/stores/logout-store/logout-store.js';
import { MemoryLogoutStore } from '../../src/stores/logout-store/memory-logout-store.js';
import { RedisLogoutStore } from '../../src/stores/logout-store/redis-logout-store.js';
import { eventually } from '../support/http-client.js';
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
const T0_S = T0 / 1000;

interface Impl {
  name: string;
  /** The store as seen from two nodes; in memory there is only one node. */
  stores(): [LogoutStore, LogoutStore];
  /** Resolves, with a time to pass as `nowMs`, once a key set at `setAt` for `seconds` is gone. */
  outlive(redisKey: string[], seconds: number, setAt: number): Promise<number>;
}

function redisImpl(name: string, nodes: () => [RedisService, RedisService]): Impl {
  return {
    name,
    stores: () => [new RedisLogoutStore(nodes()[0]), new RedisLogoutStore(nodes()[1])],
    outlive: async (parts, _seconds, setAt) => {
      const key = nodes()[0].key(...parts);
      await eventually(async () => (await nodes()[0].client!.exists(key)) === 0, {
        timeoutMs: 3000,
      });
      return setAt;
    },
  };
}

const nodes = new Nodes('logout');
let standalone: RedisTarget;
let cluster: RedisTarget;
let standaloneNodes: [RedisService, RedisService];
let clusterNodes: [RedisService, RedisService];

beforeAll(async () => {
  standalone = await standaloneTarget();
  cluster = await clusterTarget();
  standaloneNodes = (await nodes.connect(standalone, 2)) as [RedisService, RedisService];
  clusterNodes = (await nodes.connect(cluster, 2)) as [RedisService, RedisService];
}, 60_000);

afterAll(async () => {
  await nodes.closeAll();
  await standalone.stop();
  await cluster.stop();
});

const impls: Impl[] = [
  {
    name: 'memory',
    stores: () => {
      const store = new MemoryLogoutStore();
      return [store, store];
    },
    outlive: async (_key, seconds, setAt) => setAt + seconds * 1000,
  },
  redisImpl('redis', () => standaloneNodes),
  redisImpl('redis cluster', () => clusterNodes),
];

describe.each(impls)('$name logout store', (impl) => {
  it('accepts a jti once across nodes, until its record expires', async () => {
    const [a, b] = impl.stores();
    const jti = uniqueId('jti');
    await expect(a.claimJti(jti, 1, T0)).resolves.toBe(true);
    await expect(b.claimJti(jti, 1, T0 + 10)).resolves.toBe(false);
    const later = await impl.outlive(['logout-jti', jti], 1, T0);
    await expect(b.claimJti(jti, 600, later)).resolves.toBe(true);
  });

  it('answers the latest logout among the keys of a session, on every node', async () => {
    const [a, b] = impl.stores();
    const session = { sub: idpDigest('sub', uniqueId('u')), sid: idpDigest('sid', uniqueId('s')) };
    const keys = watermarkKeysFor(session);
    await expect(b.loggedOutAt(keys, T0)).resolves.toBeNull();
    await a.markLoggedOut(watermarkKeyOf({ sub: session.sub, sid: null }), T0_S, 600, T0);
    await a.markLoggedOut(watermarkKeyOf({ sub: null, sid: session.sid }), T0_S + 7, 600, T0);
    await expect(b.loggedOutAt(keys, T0 + 1)).resolves.toBe(T0_S + 7);
    await expect(b.loggedOutAt(watermarkKeysFor({ sub: null, sid: null }), T0)).resolves.toBeNull();
  });

  it('never moves a watermark backwards (a lagging node clock)', async () => {
    const [a, b] = impl.stores();
    const key = watermarkKeyOf({ sub: idpDigest('sub', uniqueId('u')), sid: null });
    await a.markLoggedOut(key, T0_S + 100, 600, T0);
    await b.markLoggedOut(key, T0_S + 50, 600, T0);
    await expect(a.loggedOutAt([key], T0 + 1)).resolves.toBe(T0_S + 100);
  });

  it('forgets a watermark once its time is up', async () => {
    const [a, b] = impl.stores();
    const key = watermarkKeyOf({ sub: idpDigest('sub', uniqueId('u')), sid: null });
    await a.markLoggedOut(key, T0_S, 1, T0);
    const later = await impl.outlive(['logout', key], 1, T0);
    await expect(b.loggedOutAt([key], later)).resolves.toBeNull();
  });

  it('rejects a lifetime that is not a whole number of seconds', async () => {
    const [a] = impl.stores();
    await expect(a.claimJti(uniqueId('jti'), 0, T0)).rejects.toThrow(RangeError);
    await expect(a.markLoggedOut('sub.x', T0_S, 1.5, T0)).rejects.toThrow(RangeError);
  });
});

describe('redis logout store while Redis is down', () => {
  it('rejects every call with StoreUnavailableError within a second, and recovers', async () => {
    const down = await standaloneTarget();
    const local = new Nodes('logout-down');
    try {
      const [node] = (await local.connect(down)) as [RedisService];
      const store = new RedisLogoutStore(node);
      await throughOutage(
        down.server,
        node,
        async () => {
          await expectUnavailableFast(() => store.claimJti(uniqueId('jti'), 60, T0));
          await expectUnavailableFast(() => store.markLoggedOut('sub.x', T0_S, 60, T0));
          await expectUnavailableFast(() => store.loggedOutAt(['sub.x'], T0));
        },
        async () => store.claimJti(uniqueId('jti'), 60, T0),
      );
    } finally {
      await local.closeAll();
      await down.stop();
    }
  });
});
