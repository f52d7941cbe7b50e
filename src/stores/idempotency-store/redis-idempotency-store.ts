import { RedisService } from '../../redis/redis.service.js';
import { IDEMPOTENCY_WINDOW_SECONDS, IdempotencyStore } from './idempotency-store.js';

/**
 * Notification ids shared by every node: key `<prefix>notif:<id>` with the window as TTL, set
 * with `NX`, so of two nodes claiming one id exactly one wins. Any Redis failure rejects with
 * StoreUnavailableError.
 */
export class RedisIdempotencyStore extends IdempotencyStore {
  constructor(private readonly redis: RedisService) {
    super();
  }

  async claim(id: string): Promise<boolean> {
    const set = await this.redis.run((client) =>
      client.set(this.redis.key('notif', id), '1', 'EX', IDEMPOTENCY_WINDOW_SECONDS, 'NX'),
    );
    return set === 'OK';
  }

  async release(id: string): Promise<void> {
    await this.redis.run((client) => client.del(this.redis.key('notif', id)));
  }
}
