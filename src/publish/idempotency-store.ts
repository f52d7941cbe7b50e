import { RedisService } from '../redis/redis.service.js';

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
  private readonly seen = new Map<string, number>();
  private nextPruneAt = 0;

  claim(id: string, nowMs: number): Promise<boolean> {
    if (nowMs >= this.nextPruneAt) this.prune(nowMs);
    const until = this.seen.get(id);
    if (until !== undefined && until > nowMs) return Promise.resolve(false);
    this.seen.set(id, nowMs + IDEMPOTENCY_WINDOW_SECONDS * 1000);
    return Promise.resolve(true);
  }

  release(id: string): Promise<void> {
    this.seen.delete(id);
    return Promise.resolve();
  }

  /** Expired ids go at most once a second, so memory stays bounded by the window's traffic. */
  private prune(nowMs: number): void {
    for (const [id, until] of this.seen) if (until <= nowMs) this.seen.delete(id);
    this.nextPruneAt = nowMs + 1000;
  }
}
