import { Module } from '@nestjs/common';
import { RedisModule } from '../redis/redis.module.js';
import { RedisService } from '../redis/redis.service.js';
import { CareTeamStore } from './care-team-store/care-team-store.js';
import { ChannelLog } from './channel-log/channel-log.js';
import { MemoryChannelLog } from './channel-log/memory-channel-log.js';
import { RedisChannelLog } from './channel-log/redis-channel-log.js';
import { MemoryCareTeamStore } from './care-team-store/memory-care-team-store.js';
import { RedisCareTeamStore } from './care-team-store/redis-care-team-store.js';
import { ConnectionCounter } from './connection-counter/connection-counter.js';
import { MemoryConnectionCounter } from './connection-counter/memory-connection-counter.js';
import { RedisConnectionCounter } from './connection-counter/redis-connection-counter.js';
import { LogoutStore } from './logout-store/logout-store.js';
import { MemoryLogoutStore } from './logout-store/memory-logout-store.js';
import { RedisLogoutStore } from './logout-store/redis-logout-store.js';
import { MemoryRateLimiter } from './rate-limiter/memory-rate-limiter.js';
import { RateLimiter } from './rate-limiter/rate-limiter.js';
import { RedisRateLimiter } from './rate-limiter/redis-rate-limiter.js';
import { redisOrMemory } from './redis-or-memory.js';
import { MemoryTicketStore } from './ticket-store/memory-ticket-store.js';
import { RedisTicketStore } from './ticket-store/redis-ticket-store.js';
import { TicketStore } from './ticket-store/ticket-store.js';
import { MemoryUserBlocks } from './user-blocks/memory-user-blocks.js';
import { RedisUserBlocks } from './user-blocks/redis-user-blocks.js';
import { UserBlocks } from './user-blocks/user-blocks.js';
import { RedisUpgradeAdmission } from './upgrade-admission/redis-upgrade-admission.js';
import { SeparateUpgradeAdmission } from './upgrade-admission/separate-upgrade-admission.js';
import { UpgradeAdmission } from './upgrade-admission/upgrade-admission.js';
import { RedisUserStanding } from './user-standing/redis-user-standing.js';
import { SeparateUserStanding } from './user-standing/separate-user-standing.js';
import { UserStanding } from './user-standing/user-standing.js';

/**
 * The node's seven shared-state stores, each Redis or memory through `redisOrMemory`, and two
 * views over several of them for the connect path (UserStanding, UpgradeAdmission): one
 * script on a standalone Redis, where every key is on one server; the stores' own calls sent
 * together on Redis Cluster, where the keys hash to different slots, and in embedded mode.
 *
 * One module, not one per store: the seven share their dependencies (RedisService, CONFIG) and
 * the one mode choice, and a feature imports whichever it needs from here. It depends on nothing
 * but RedisModule (and the global CONFIG), so any feature module may import it without a
 * cycle. Nest builds each provider of a module once per app, so every importer sees the same
 * store: in embedded mode that is what lets a block set through the internal API refuse the
 * next ticket, or a ticket issued by the tickets route be redeemed by the gateway.
 */
@Module({
  imports: [RedisModule],
  providers: [
    // A ticket issued by one node redeems on any other, exactly once.
    redisOrMemory(TicketStore, {
      redis: (redis) => new RedisTicketStore(redis),
      memory: () => new MemoryTicketStore(),
    }),
    // A block set through any node's internal API holds on every node.
    redisOrMemory(UserBlocks, {
      redis: (redis) => new RedisUserBlocks(redis),
      memory: () => new MemoryUserBlocks(),
    }),
    // Care-team membership written through one node decides subscriptions on all of them.
    redisOrMemory(CareTeamStore, {
      redis: (redis) => new RedisCareTeamStore(redis),
      memory: () => new MemoryCareTeamStore(),
    }),
    // A notification id claimed on one node is a duplicate on every other; positions and
    // history are the same whichever node publishes or a client reconnects to.
    redisOrMemory(ChannelLog, {
      redis: (redis, config) => new RedisChannelLog(redis, config),
      memory: (config) => new MemoryChannelLog(config),
    }),
    // MAX_CONNECTIONS_PER_USER holds across the cluster.
    redisOrMemory(ConnectionCounter, {
      redis: (redis) => new RedisConnectionCounter(redis),
      memory: () => new MemoryConnectionCounter(),
    }),
    // Per-user and per-key limits (WebSocket and, through the throttler, HTTP) are cluster-wide.
    redisOrMemory(RateLimiter, {
      redis: (redis) => new RedisRateLimiter(redis),
      memory: () => new MemoryRateLimiter(),
    }),
    // A logout token accepted by one node is a replay on every other, and its watermark
    // refuses older tokens on all of them.
    redisOrMemory(LogoutStore, {
      redis: (redis) => new RedisLogoutStore(redis),
      memory: () => new MemoryLogoutStore(),
    }),
    // The ticket endpoint's block and logout reads in one round trip.
    {
      provide: UserStanding,
      useFactory: (redis: RedisService, blocks: UserBlocks, logouts: LogoutStore) =>
        redis.standalone ? new RedisUserStanding(redis) : new SeparateUserStanding(blocks, logouts),
      inject: [RedisService, UserBlocks, LogoutStore],
    },
    // The upgrade's redemption, block and logout reads and slot in one round trip.
    {
      provide: UpgradeAdmission,
      useFactory: (redis: RedisService, tickets: TicketStore, standing: UserStanding) =>
        redis.standalone
          ? new RedisUpgradeAdmission(redis)
          : new SeparateUpgradeAdmission(tickets, standing),
      inject: [RedisService, TicketStore, UserStanding],
    },
  ],
  exports: [
    TicketStore,
    UserBlocks,
    CareTeamStore,
    ChannelLog,
    ConnectionCounter,
    RateLimiter,
    LogoutStore,
    UserStanding,
    UpgradeAdmission,
  ],
})
export class StoresModule {}
