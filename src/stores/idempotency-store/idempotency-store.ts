import { ExpiringKeys } from '../../memory/expiring-keys.js';
import { RedisService } from '../../redis/redis.service.js';

/** How long a notification id is remembered: a repeat within it is accepted, not delivered. */
export const IDEMPOTENCY_WINDOW_SECONDS = 600;

/**
 * Remembers notification ids across nodes (`SET NX EX`) or in memory (embedded mode).
 * `claim` is true for the first sighting of an id within the window.
 */
export abstract class IdempotencyStore {
  abstract claim(id: string, nowMs: number): Promise<boolean>;
  /** Forgets `id`, for a claim whose notification could not be published. */
  abstract release(id: string): Promise<void>;
}

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

export class MemoryIdempotencyStore extends IdempotencyStore {
  private readonly seen = new ExpiringKeys();

  claim(id: string, nowMs: number): Promise<boolean> {
    if (this.seen.live(id, nowMs)) return Promise.resolve(false);
    this.seen.set(id, nowMs + IDEMPOTENCY_WINDOW_SECONDS * 1000, nowMs);
    return Promise.resolve(true);
  }

  release(id: string): Promise<void> {
    this.seen.delete(id);
    return Promise.resolve();
  }
}
