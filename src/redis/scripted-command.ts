import type { ChainableCommander, Redis } from 'ioredis';
import type { RedisClient } from './redis.service.js';

/** A Lua script as a typed command; see scriptedCommand. */
export interface ScriptedCommand<Args extends (string | number)[], Reply> {
  (client: RedisClient, ...args: Args): Promise<Reply>;
  /** A pipeline of a standalone `client` on which the script can be queued. */
  pipeline(client: Redis): ChainableCommander;
  /** Queues the script on a pipeline made by `pipeline`; its reply comes from `exec()`. */
  queue(pipeline: ChainableCommander, ...args: Args): void;
}

/**
 * A Lua script as a typed command, defined once per client: its first `numberOfKeys`
 * arguments are keys (on Redis Cluster all in one slot), the rest arguments. ioredis sends
 * EVALSHA and falls back to EVAL once per connection on NOSCRIPT, on standalone and Cluster.
 * On a standalone client many calls can also go out as one pipeline (one write, one round
 * trip): ioredis loads the script within the pipeline when the server lacks it.
 */
export function scriptedCommand<Args extends (string | number)[], Reply>(
  name: string,
  lua: string,
  numberOfKeys = 1,
): ScriptedCommand<Args, Reply> {
  // Clients that already have the script; one client lives per RedisService.
  const clients = new WeakSet<RedisClient>();
  const define = (client: RedisClient): void => {
    if (clients.has(client)) return;
    client.defineCommand(name, { numberOfKeys, lua });
    clients.add(client);
  };
  const call = (target: object, args: Args): unknown =>
    (target as Record<string, (...a: Args) => unknown>)[name]!.apply(target, args);
  const command = (client: RedisClient, ...args: Args): Promise<Reply> => {
    define(client);
    return call(client, args) as Promise<Reply>;
  };
  return Object.assign(command, {
    // A pipeline copies the client's scripts when it is created: define first.
    pipeline: (client: Redis): ChainableCommander => {
      define(client);
      return client.pipeline();
    },
    queue: (pipeline: ChainableCommander, ...args: Args): void => {
      call(pipeline, args);
    },
  });
}
