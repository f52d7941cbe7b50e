import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Test, type TestingModule } from '@nestjs/testing';
import { ConfigModule } from '../../src/config/config.module.js';
import { RedisService } from '../../src/redis/redis.service.js';
import { CareTeamStore } from '../../src/stores/care-team-store/care-team-store.js';
import { MemoryCareTeamStore } from '../../src/stores/care-team-store/memory-care-team-store.js';
import { RedisCareTeamStore } from '../../src/stores/care-team-store/redis-care-team-store.js';
import { ConnectionCounter } from '../../src/stores/connection-counter/connection-counter.js';
import { MemoryConnectionCounter } from '../../src/stores/connection-counter/memory-connection-counter.js';
import { RedisConnectionCounter } from '../../src/stores/connection-counter/redis-connection-counter.js';
import { ChannelLog } from '../../src/stores/channel-log/channel-log.js';
import { MemoryChannelLog } from '../../src/stores/channel-log/memory-channel-log.js';
import { RedisChannelLog } from '../../src/stores/channel-log/redis-channel-log.js';
import { MemoryRateLimiter } from '../../src/stores/rate-limiter/memory-rate-limiter.js';
import { RateLimiter } from '../../src/stores/rate-limiter/rate-limiter.js';
import { RedisRateLimiter } from '../../src/stores/rate-limiter/redis-rate-limiter.js';
import { StoresModule } from '../../src/stores/stores.module.js';
import { MemoryTicketStore } from '../../src/stores/ticket-store/memory-ticket-store.js';
import { RedisTicketStore } from '../../src/stores/ticket-store/redis-ticket-store.js';
import { TicketStore } from '../../src/stores/ticket-store/ticket-store.js';
import { MemoryUserBlocks } from '../../src/stores/user-blocks/memory-user-blocks.js';
import { RedisUserBlocks } from '../../src/stores/user-blocks/redis-user-blocks.js';
import { UserBlocks } from '../../src/stores/user-blocks/user-blocks.js';
import { RedisUpgradeAdmission } from '../../src/stores/upgrade-admission/redis-upgrade-admission.js';
import { SeparateUpgradeAdmission } from '../../src/stores/upgrade-admission/separate-upgrade-admission.js';
import { UpgradeAdmission } from '../../src/stores/upgrade-admission/upgrade-admission.js';
import { RedisUserStanding } from '../../src/stores/user-standing/redis-user-standing.js';
import { SeparateUserStanding } from '../../src/stores/user-standing/separate-user-standing.js';
import { UserStanding } from '../../src/stores/user-standing/user-standing.js';
import { testConfig, uniquePrefix } from '../support/app.js';
import { eventually } from '../support/http-client.js';
import { privateMetrics, withPrivateMetrics } from '../support/private-metrics.js';
import { type RedisTarget, standaloneTarget, uniqueId } from './store-fixtures.js';

type Abstract = abstract new (...args: never[]) => unknown;
type Concrete = new (...args: never[]) => unknown;

/** Each store the module provides, with the class it must be in each mode. */
const STORES: [string, Abstract, Concrete, Concrete][] = [
  ['TicketStore', TicketStore, MemoryTicketStore, RedisTicketStore],
  ['UserBlocks', UserBlocks, MemoryUserBlocks, RedisUserBlocks],
  ['CareTeamStore', CareTeamStore, MemoryCareTeamStore, RedisCareTeamStore],
  ['ChannelLog', ChannelLog, MemoryChannelLog, RedisChannelLog],
  ['ConnectionCounter', ConnectionCounter, MemoryConnectionCounter, RedisConnectionCounter],
  ['RateLimiter', RateLimiter, MemoryRateLimiter, RedisRateLimiter],
  // The connect path's combined calls: separate store calls in memory (and on Cluster), one
  // script on a standalone Redis (test/stores/upgrade-admission.spec.ts covers Cluster).
  ['UserStanding', UserStanding, SeparateUserStanding, RedisUserStanding],
  ['UpgradeAdmission', UpgradeAdmission, SeparateUpgradeAdmission, RedisUpgradeAdmission],
];

let target: RedisTarget;
const open: TestingModule[] = [];

beforeAll(async () => {
  target = await standaloneTarget();
});

afterAll(async () => {
  await Promise.all(open.splice(0).map((moduleRef) => moduleRef.close()));
  await target.stop();
});

/** StoresModule of one node, as the app wires it; `env` picks embedded mode or Redis. */
async function storesOf(env: Record<string, string>): Promise<TestingModule> {
  const moduleRef = await withPrivateMetrics(
    Test.createTestingModule({ imports: [ConfigModule.forRoot(testConfig(env)), StoresModule] }),
    privateMetrics(),
  ).compile();
  open.push(moduleRef);
  await moduleRef.init();
  const redis = moduleRef.get(RedisService);
  await eventually(async () => redis.isReady(), { timeoutMs: 10_000 });
  return moduleRef;
}

describe('StoresModule', () => {
  let embedded: TestingModule;
  let withRedis: TestingModule;
  let prefix: string;

  beforeAll(async () => {
    prefix = uniquePrefix('wiring');
    embedded = await storesOf({});
    withRedis = await storesOf({ ...target.env, REDIS_KEY_PREFIX: prefix });
  });

  it.each(STORES)('provides the memory %s in embedded mode', (_name, abstract, memory) => {
    expect(embedded.get(abstract)).toBeInstanceOf(memory);
  });

  it.each(STORES)('provides the Redis %s when the node has Redis', (_name, abstract, _m, redis) => {
    expect(withRedis.get(abstract)).toBeInstanceOf(redis);
  });

  it('shares state between nodes with Redis, and keeps it per node when embedded', async () => {
    const otherWithRedis = await storesOf({ ...target.env, REDIS_KEY_PREFIX: prefix });
    const otherEmbedded = await storesOf({});
    const now = Date.now();

    const shared = uniqueId('shared');
    await withRedis.get(TicketStore).issue(shared, 60, now);
    await expect(otherWithRedis.get(TicketStore).redeem(shared, now)).resolves.toBe(true);

    const local = uniqueId('local');
    await embedded.get(TicketStore).issue(local, 60, now);
    await expect(otherEmbedded.get(TicketStore).redeem(local, now)).resolves.toBe(false);
    await expect(embedded.get(TicketStore).redeem(local, now)).resolves.toBe(true);
  });
});
