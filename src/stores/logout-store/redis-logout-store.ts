import { RedisService } from '../../redis/redis.service.js';
import { scriptedCommand } from '../../redis/scripted-command.js';
import { assertLogoutTtl, LogoutStore } from './logout-store.js';

/**
 * Keeps the later of the stored and the given logout time, and sets the TTL: a node with a
 * lagging clock never moves a watermark backwards. One key, so it runs on Redis Cluster.
 * KEYS[1] = watermark key; ARGV[1] = logout time (s); ARGV[2] = ttl (s).
 */
const MARK_SCRIPT = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local at = tonumber(ARGV[1])
if at > current then current = at end
redis.call('SET', KEYS[1], tostring(current), 'EX', ARGV[2])
return current
`;

const markLoggedOut = scriptedCommand<[key: string, atSeconds: number, ttlSeconds: number], number>(
  'carecastLogoutMark',
  MARK_SCRIPT,
);

/**
 * Logout state in Redis: `<prefix>logout-jti:<digest>` (SET NX EX: exactly one node accepts a
 * given `jti`) and `<prefix>logout:<target key>` (the latest logout time, seconds). Keys are
 * read one by one, not with MGET, so keys of different cluster slots are fine.
 */
export class RedisLogoutStore extends LogoutStore {
  constructor(private readonly redis: RedisService) {
    super();
  }

  async claimJti(jtiDigest: string, ttlSeconds: number, _nowMs: number): Promise<boolean> {
    assertLogoutTtl(ttlSeconds);
    const key = this.redis.key('logout-jti', jtiDigest);
    const reply = await this.redis.run((c) => c.set(key, '1', 'EX', ttlSeconds, 'NX'));
    return reply === 'OK';
  }

  async markLoggedOut(
    key: string,
    atSeconds: number,
    ttlSeconds: number,
    _nowMs: number,
  ): Promise<void> {
    assertLogoutTtl(ttlSeconds);
    const name = watermarkKey(this.redis, key);
    await this.redis.run((c) => markLoggedOut(c, name, atSeconds, ttlSeconds));
  }

  async loggedOutAt(keys: readonly string[], _nowMs: number): Promise<number | null> {
    if (keys.length === 0) return null;
    const values = await this.redis.run((c) =>
      Promise.all(keys.map((key) => c.get(watermarkKey(this.redis, key)))),
    );
    return latestWatermark(values);
  }
}

/** The key of one logout target's watermark (idp-session.ts `watermarkKeyOf`). */
export function watermarkKey(redis: RedisService, key: string): string {
  return redis.key('logout', key);
}

/** The latest of watermark values as Redis returns them (seconds; null where none is set). */
export function latestWatermark(values: readonly (string | null)[]): number | null {
  let latest: number | null = null;
  for (const value of values) {
    const at = value === null ? null : Number(value);
    if (at !== null && Number.isFinite(at) && (latest === null || at > latest)) latest = at;
  }
  return latest;
}
