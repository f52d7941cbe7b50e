import type { ClusterOptions, RedisOptions } from 'ioredis';

/**
 * Fail-fast settings. Request paths must answer within a second when Redis is gone, so the
 * command connection never queues offline and never retries a request; reconnects back off
 * but stay bounded so the node notices Redis returning within two seconds.
 */
export const COMMAND_TIMEOUT_MS = 500;
export const CONNECT_TIMEOUT_MS = 1000;
const MAX_RECONNECT_DELAY_MS = 2000;

export function reconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 6), MAX_RECONNECT_DELAY_MS);
}

/**
 * Commands issued in one turn of the event loop (a publish batch's scripts, the throttler's
 * count beside them) leave in one write and one pipeline, instead of one socket write each:
 * per notification, the write was the publish path's largest cost after the frame itself.
 * Nagle is already off (ioredis `noDelay` defaults to true), so this batches, it never delays
 * a command past the end of its turn.
 */
export const commandConnectionOptions: RedisOptions = {
  lazyConnect: true,
  enableAutoPipelining: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  commandTimeout: COMMAND_TIMEOUT_MS,
  connectTimeout: CONNECT_TIMEOUT_MS,
  retryStrategy: reconnectDelay,
  enableReadyCheck: true,
};

/**
 * A subscriber only issues (S)SUBSCRIBE commands. They may wait in the offline queue through
 * a reconnect, and ioredis resubscribes every channel once the connection is back.
 */
export const subscriberConnectionOptions: RedisOptions = {
  lazyConnect: true,
  enableOfflineQueue: true,
  autoResubscribe: true,
  maxRetriesPerRequest: null,
  connectTimeout: CONNECT_TIMEOUT_MS,
  retryStrategy: reconnectDelay,
  enableReadyCheck: true,
};

export function clusterOptions(redisOptions: RedisOptions, offlineQueue: boolean): ClusterOptions {
  return {
    lazyConnect: true,
    enableOfflineQueue: offlineQueue,
    enableAutoPipelining: redisOptions.enableAutoPipelining ?? false,
    enableReadyCheck: true,
    clusterRetryStrategy: reconnectDelay,
    slotsRefreshTimeout: CONNECT_TIMEOUT_MS,
    redisOptions: { ...redisOptions, lazyConnect: false },
  };
}
