import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RedisService } from '../../src/redis/redis.service.js';
import { MemoryUserBlocks } from '../../src/stores/user-blocks/memory-user-blocks.js';
import { RedisUserBlocks } from '../../src/stores/user-blocks/redis-user-blocks.js';
import type { UserBlocks } from '../../src/stores/user-blocks/user-blocks.js';
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
const nodes = new Nodes('blocks');
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
  /** The blocks as seen from two nodes; in memory there is only one node. */
  blocks(): [UserBlocks, UserBlocks];
  /** Resolves, with a time to pass as `nowMs`, once a block set at `blockedAt` has expired. */
  outlive(userKey: string, seconds: number, blockedAt: number): Promise<number>;
}

const impls: Impl[] = [
  {
    name: 'memory',
    blocks: () => {
      const blocks = new MemoryUserBlocks();
      return [blocks, blocks];
    },
    outlive: async (_userKey, seconds, blockedAt) => blockedAt + seconds * 1000,
  },
  {
    name: 'redis',
    blocks: () => [new RedisUserBlocks(nodeA), new RedisUserBlocks(nodeB)],
    // Redis's own clock runs the TTL: wait (bounded) until the server has let the key go.
    outlive: async (userKey, _seconds, blockedAt) => {
      const key = nodeA.key('block', userKey);
      await eventually(async () => (await nodeA.client!.exists(key)) === 0, { timeoutMs: 2000 });
      return blockedAt;
    },
  },
];

describe.each(impls)('$name user blocks', (impl) => {
  it('blocks a user on every node until the block expires', async () => {
    const [a, b] = impl.blocks();
    const user = uniqueId('patient:pt');
    await expect(b.isBlocked(user, T0)).resolves.toBe(false);
    await a.block(user, 1, T0);
    await expect(b.isBlocked(user, T0 + 500)).resolves.toBe(true);
    const later = await impl.outlive(user, 1, T0);
    await expect(b.isBlocked(user, later)).resolves.toBe(false);
  });

  it('blocks only the user named', async () => {
    const [a, b] = impl.blocks();
    const [blocked, other] = [uniqueId('doctor:dr'), uniqueId('doctor:dr')];
    await a.block(blocked, 60, T0);
    await expect(b.isBlocked(blocked, T0 + 1)).resolves.toBe(true);
    await expect(b.isBlocked(other, T0 + 1)).resolves.toBe(false);
  });

  it('lets the latest block set the expiry, even a shorter one', async () => {
    const [a, b] = impl.blocks();
    const user = uniqueId('doctor:dr');
    await a.block(user, 3600, T0);
    await b.block(user, 1, T0 + 10);
    const later = await impl.outlive(user, 1, T0 + 10);
    await expect(a.isBlocked(user, later)).resolves.toBe(false);
  });

  it('rejects a duration that is not a whole number of seconds', async () => {
    const [a] = impl.blocks();
    await expect(a.block(uniqueId('doctor:dr'), 0, T0)).rejects.toThrow(RangeError);
    await expect(a.block(uniqueId('doctor:dr'), 0.5, T0)).rejects.toThrow(RangeError);
  });
});

describe('memory user blocks', () => {
  it('forgets expired blocks, so memory cannot grow without bound', async () => {
    const blocks = new MemoryUserBlocks();
    for (let i = 0; i < 1000; i++) await blocks.block(`doctor:dr-${i}`, 60, T0 + i);
    expect(blocks.size).toBe(1000);
    await blocks.block('doctor:dr-new', 60, T0 + 1000 + 60_000);
    expect(blocks.size).toBe(1);
  });
});

describe('redis user blocks while Redis is down', () => {
  it('rejects every call with StoreUnavailableError within a second, and recovers', async () => {
    const down = await standaloneTarget();
    const local = new Nodes('blocks-down');
    try {
      const [node] = (await local.connect(down)) as [RedisService];
      const blocks = new RedisUserBlocks(node);
      const user = uniqueId('doctor:dr');
      await throughOutage(
        down.server,
        node,
        async () => {
          await expectUnavailableFast(() => blocks.block(user, 60, T0));
          await expectUnavailableFast(() => blocks.isBlocked(user, T0));
        },
        async () => {
          await blocks.block(user, 60, T0);
          return blocks.isBlocked(user, T0);
        },
      );
    } finally {
      await local.closeAll();
      await down.stop();
    }
  });
});
