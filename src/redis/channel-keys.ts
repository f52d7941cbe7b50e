import type { RedisService } from './redis.service.js';

/**
 * The Redis names of one app channel, in one place, so the bus that follows a channel and the
 * script that publishes to it can never disagree. Every name starts with
 * `<prefix>{ch:<channel>}`: the braces are a Redis Cluster hash tag, so the channel's pub/sub
 * topic (sharded pub/sub), its history keys and its idempotency keys all live in one hash
 * slot, which a script touching them all at once requires. Channel names are opaque ids with
 * a kind and hold no braces, so the tag is the same for every name of a channel whatever the
 * prefix holds (a prefix with its own `{...}` puts every channel in that one slot instead).
 */
export function channelTopic(redis: RedisService, channel: string): string {
  return `${topicHead(redis)}${channel}}`;
}

/** What every channel topic starts with; a receiver computes it once. */
export function topicHead(redis: RedisService): string {
  return redis.key('{ch:');
}

/** The app channel a topic carries, or null for a name that is not a channel topic. */
export function channelOfTopic(head: string, topic: string): string | null {
  return topic.startsWith(head) && topic.endsWith('}') ? topic.slice(head.length, -1) : null;
}

/** The channel's history position (hash: `e` epoch, `s` seq of the last notification). */
export function channelMetaKey(redis: RedisService, channel: string): string {
  return `${channelTopic(redis, channel)}:meta`;
}

/** The channel's history: a list of notification frames, oldest first. */
export function channelHistoryKey(redis: RedisService, channel: string): string {
  return `${channelTopic(redis, channel)}:hist`;
}

/** A notification id seen on the channel within the idempotency window. */
export function channelIdKey(redis: RedisService, channel: string, id: string): string {
  return `${channelTopic(redis, channel)}:id:${id}`;
}
