import { RedisService } from '../../redis/redis.service.js';
import { assertTtl } from './memory-ticket-store.js';
import { TicketStore } from './ticket-store.js';

/**
 * Tickets in Redis, shared by every node. The key exists from issue until redemption or
 * expiry; Redis's clock runs the TTL, so `nowMs` is not consulted here.
 *
 * Invariants:
 * - Single use across the cluster: redemption is one `GETDEL`, so of any number of nodes
 *   racing for a ticket exactly one reads the value.
 * - Issue never overwrites (`NX`): a colliding id throws instead of silently sharing a key
 *   with a ticket already handed out.
 * - Any Redis failure surfaces as StoreUnavailableError (503), never as the ioredis error,
 *   whose message and attached command could reach a response or a log line.
 */
export class RedisTicketStore extends TicketStore {
  constructor(private readonly redis: RedisService) {
    super();
  }

  async issue(jti: string, ttlSeconds: number, _nowMs: number): Promise<void> {
    assertTtl(ttlSeconds);
    const key = ticketKey(this.redis, jti);
    const reply = await this.redis.run((client) => client.set(key, '1', 'EX', ttlSeconds, 'NX'));
    if (reply === null) throw new Error('ticket id collision: refusing to issue it twice');
  }

  async redeem(jti: string, _nowMs: number): Promise<boolean> {
    const key = ticketKey(this.redis, jti);
    return (await this.redis.run((client) => client.getdel(key))) === '1';
  }
}

/** The key of an issued, not yet redeemed ticket. */
export function ticketKey(redis: RedisService, jti: string): string {
  return redis.key('ticket', jti);
}
