import type { RateLimit } from '../../config/config.types.js';
import { RedisService } from '../../redis/redis.service.js';
import { scriptedCommand } from '../../redis/scripted-command.js';
import { type WindowCount, windowOf } from './fixed-window.js';
import { RateLimiter } from './rate-limiter.js';

/**
 * Counts a hit and, on the window's first hit, sets the key to expire. One script, so the
 * count and its expiry are set atomically: a node dying between the two cannot leave a counter
 * that never expires. It touches one key only, so it runs unchanged on Redis Cluster.
 * KEYS[1] = counter of one bucket and window; ARGV[1] = time to live in ms.
 */
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return count
`;

/**
 * Counters outlive their window by this much, so a node whose clock lags the others still
 * adds to the same counter instead of starting a fresh one. Windows are told apart by their
 * index in the key, so a counter kept longer never spills into the next window.
 */
const CLOCK_SKEW_GRACE_MS = 2000;

/** KEYS[1] = window key; ARGV = ttl ms. Returns the window's count after this hit. */
const rateHit = scriptedCommand<[key: string, ttlMs: number], number>(
  'carecastRateHit',
  HIT_SCRIPT,
);

/**
 * Fixed-window counters shared by every node through Redis: key
 * `<prefix>rate:<bucket>:<window index>`, where the index is `floor(nowMs / windowMs)`, so
 * every node with a roughly agreeing clock counts into the same key. Same counts as
 * MemoryRateLimiter. Any Redis failure rejects with StoreUnavailableError.
 */
export class RedisRateLimiter extends RateLimiter {
  constructor(private readonly redis: RedisService) {
    super();
  }

  async count(bucket: string, limit: RateLimit, nowMs: number): Promise<WindowCount> {
    const { index, endMs } = windowOf(limit, nowMs);
    const key = this.redis.key('rate', bucket, String(index));
    const ttlMs = endMs - nowMs + CLOCK_SKEW_GRACE_MS;
    const count = Number(await this.redis.run((client) => rateHit(client, key, ttlMs)));
    return { count, endMs };
  }
}
