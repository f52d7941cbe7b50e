import type { RedisClient } from './redis.service.js';

/**
 * A Lua script as a typed command, defined once per client: its first `numberOfKeys`
 * arguments are keys (on Redis Cluster all in one slot), the rest arguments; with
 * `numberOfKeys` null, the first argument is the number of keys that follow it. ioredis sends
 * EVALSHA and falls back to EVAL once per connection on NOSCRIPT, on standalone and Cluster.
 */
export function scriptedCommand<Args extends (string | number)[], Reply>(
  name: string,
  lua: string,
  numberOfKeys: number | null = 1,
): (client: RedisClient, ...args: Args) => Promise<Reply> {
  // Clients that already have the script; one client lives per RedisService.
  const clients = new WeakSet<RedisClient>();
  return (client, ...args) => {
    if (!clients.has(client)) {
      client.defineCommand(name, numberOfKeys === null ? { lua } : { numberOfKeys, lua });
      clients.add(client);
    }
    const command = (client as unknown as Record<string, (...a: Args) => Promise<Reply>>)[name]!;
    return command.apply(client, args);
  };
}
