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
 * No auto-pipelining: with it, some commands of a connect burst never settled (measured with
 * bench:fanout, 500 clients); the publish path pipelines its batch explicitly instead
 * (RedisChannelLog). Nagle is already off: ioredis `noDelay` defaults to true.
 */
export const commandConnectionOptions: RedisOptions = {
  lazyConnect: true,
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
    enableReadyCheck: true,
    clusterRetryStrategy: reconnectDelay,
    slotsRefreshTimeout: CONNECT_TIMEOUT_MS,
    redisOptions: { ...redisOptions, lazyConnect: false },
  };
}
