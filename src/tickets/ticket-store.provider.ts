import type { Provider } from '@nestjs/common';
import { redisOrMemory } from '../stores/redis-or-memory.js';
import { MemoryTicketStore } from '../stores/ticket-store/memory-ticket-store.js';
import { RedisTicketStore } from '../stores/ticket-store/redis-ticket-store.js';
import { TicketStore } from '../stores/ticket-store/ticket-store.js';

/**
 * Redis whenever the node has one, so a ticket issued by one node redeems on any other;
 * memory only in embedded single-node mode, where there is no other node.
 */
export const ticketStoreProvider: Provider = redisOrMemory(TicketStore, {
  redis: (redis) => new RedisTicketStore(redis),
  memory: () => new MemoryTicketStore(),
});
