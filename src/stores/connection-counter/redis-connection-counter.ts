import { RedisService } from '../../redis/redis.service.js';
import { scriptedCommand } from '../../redis/scripted-command.js';
import { ConnectionCounter } from './connection-counter.js';

/**
 * Takes a slot atomically: drops lapsed leases, refuses when `limit` live ones remain, else
 * adds (or extends) this connection's lease. One script, so two nodes racing for the last slot
 * cannot both take it; one key, so it runs unchanged on Redis Cluster. The key's own TTL only
 * ever grows, and is at least the newest lease, so a user whose nodes all died leaves nothing.
 * A Lua function, so the upgrade's admission script (RedisUpgradeAdmission) takes a slot with
 * exactly these steps. Returns 1 when the slot is held, 0 when the user is at `limit`.
 */
export const ACQUIRE_SLOT_LUA = `
local function acquire_slot(key, now, limit, member, expires_at, lease)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if not redis.call('ZSCORE', key, member) then
    if redis.call('ZCARD', key) >= tonumber(limit) then
      return 0
    end
  end
  redis.call('ZADD', key, expires_at, member)
  if redis.call('PTTL', key) < tonumber(lease) then
    redis.call('PEXPIRE', key, lease)
  end
  return 1
end
`;

/** KEYS[1] = the user's slots; ARGV = nowMs, limit, connectionKey, lease expiry ms, lease ms. */
const ACQUIRE_SCRIPT = `${ACQUIRE_SLOT_LUA}
return acquire_slot(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
`;

const acquireSlot = scriptedCommand<
  [
    key: string,
    nowMs: number,
    limit: number,
    connectionKey: string,
    expiresAtMs: number,
    leaseMs: number,
  ],
  number
>('carecastAcquireSlot', ACQUIRE_SCRIPT);

/**
 * Per-user connection slots shared by every node: a sorted set `<prefix>conns:<userKey>` of
 * connection keys scored by lease expiry (ms). Same decisions as MemoryConnectionCounter.
 *
 * Invariants:
 * - A slot is live while `nowMs < score`; lapsed slots are dropped on the next acquire, so
 *   the slots of a node that died stop counting once their lease runs out.
 * - Renewal re-adds the slots it is given (plain `ZADD`): they belong to live sessions, so a
 *   slot Redis lost (a restart without persistence, a lapse during an outage) counts again
 *   from the next heartbeat round instead of letting the user past the cap.
 * - Any Redis failure rejects with StoreUnavailableError, never the ioredis error.
 */
export class RedisConnectionCounter extends ConnectionCounter {
  constructor(private readonly redis: RedisService) {
    super();
  }

  async acquire(
    userKey: string,
    connectionKey: string,
    limit: number,
    leaseMs: number,
    nowMs: number,
  ): Promise<boolean> {
    const key = slotsKey(this.redis, userKey);
    const taken = await this.redis.run((client) =>
      acquireSlot(client, key, nowMs, limit, connectionKey, nowMs + leaseMs, leaseMs),
    );
    return Number(taken) === 1;
  }

  async release(userKey: string, connectionKey: string): Promise<void> {
    const key = slotsKey(this.redis, userKey);
    await this.redis.run((client) => client.zrem(key, connectionKey));
  }

  async renew(
    slots: readonly { userKey: string; connectionKey: string }[],
    leaseMs: number,
    nowMs: number,
  ): Promise<void> {
    if (slots.length === 0) return;
    const expiresAtMs = nowMs + leaseMs;
    const keys = new Set(slots.map((slot) => slotsKey(this.redis, slot.userKey)));
    // Separate commands, not one pipeline or MULTI: in Cluster mode the users' keys live in
    // different slots. Written back to back, they still cost about one round trip.
    await this.redis.run((client) =>
      Promise.all([
        ...slots.map((slot) =>
          client.zadd(slotsKey(this.redis, slot.userKey), expiresAtMs, slot.connectionKey),
        ),
        ...[...keys].map((key) => client.pexpire(key, leaseMs)),
      ]),
    );
  }
}

/** The sorted set of one user's connection slots. */
export function slotsKey(redis: RedisService, userKey: string): string {
  return redis.key('conns', userKey);
}
