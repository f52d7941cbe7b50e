import { RedisService } from '../../redis/redis.service.js';
import { assertBlockSeconds } from './memory-user-blocks.js';
import { UserBlocks } from './user-blocks.js';

/**
 * Blocks shared by every node: key `<prefix>block:<userKey>` with a TTL, so a user blocked
 * through any node is refused by all of them until the TTL runs out. Redis's clock runs the
 * TTL, so `nowMs` is not consulted here.
 *
 * Invariants:
 * - The latest block wins: blocking again sets the expiry from now, longer or shorter.
 * - Any Redis failure rejects with StoreUnavailableError, never the ioredis error, whose
 *   message and attached command could reach a response or a log line. Callers fail closed.
 */
export class RedisUserBlocks extends UserBlocks {
  constructor(private readonly redis: RedisService) {
    super();
  }

  async block(userKey: string, seconds: number, _nowMs: number): Promise<void> {
    assertBlockSeconds(seconds);
    const key = blockKey(this.redis, userKey);
    await this.redis.run((client) => client.set(key, '1', 'EX', seconds));
  }

  async isBlocked(userKey: string, _nowMs: number): Promise<boolean> {
    const key = blockKey(this.redis, userKey);
    return (await this.redis.run((client) => client.exists(key))) === 1;
  }
}

/** The key of a user's disconnect block; it exists while the block lasts. */
export function blockKey(redis: RedisService, userKey: string): string {
  return redis.key('block', userKey);
}
