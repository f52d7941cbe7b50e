import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Config } from '../../config/config.types.js';
import type { ChannelName } from '../../core/channel.js';
import { formatEpoch, type Position } from '../../core/position.js';
import {
  channelHistoryKey,
  channelIdKey,
  channelMetaKey,
  channelTopic,
} from '../../redis/channel-keys.js';
import { RedisService } from '../../redis/redis.service.js';
import { scriptedCommand } from '../../redis/scripted-command.js';
import {
  type Appended,
  ChannelLog,
  type HistoryRead,
  IDEMPOTENCY_WINDOW_SECONDS,
  type LogEntry,
} from './channel-log.js';

/**
 * One notification, atomically. KEYS: meta (hash e = epoch, s = seq), history (list of
 * frames), the id's claim. ARGV: frame head, topic, a fresh epoch, history size, TTL ms,
 * claim window s, '1' for sharded pub/sub. Returns the seq, or false for a duplicate.
 * A missing meta starts a new epoch (the candidate the node passed in) and drops any history
 * left behind, so the history always holds the seqs `s - LLEN + 1 .. s` of epoch `e`. A meta
 * always holds both fields (both scripts write them together), so only a seq of 1 can mean a
 * meta that HINCRBY just created: the common path is one HINCRBY, no HGET, and LTRIM runs only
 * once the history is over its size.
 * The frame gets its seq as its last field: core completeFrame() builds the same text.
 */
const APPEND_SCRIPT = `
if not redis.call('SET', KEYS[3], '1', 'EX', ARGV[6], 'NX') then return false end
local seq = redis.call('HINCRBY', KEYS[1], 's', 1)
if seq == 1 and not redis.call('HGET', KEYS[1], 'e') then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', ARGV[3])
end
local frame = ARGV[1] .. ',"seq":' .. seq .. '}'
local size = tonumber(ARGV[4])
if size > 0 then
  if redis.call('RPUSH', KEYS[2], frame) > size then
    redis.call('LTRIM', KEYS[2], -size, -1)
  end
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
if ARGV[7] == '1' then
  redis.call('SPUBLISH', ARGV[2], frame)
else
  redis.call('PUBLISH', ARGV[2], frame)
end
return seq
`;

/**
 * A channel's position and the frames after a `since` (core replayCount, mirrored). KEYS: meta,
 * history. ARGV: a fresh epoch, TTL ms, since epoch ('' for none), since seq. A channel
 * without meta gets one (seq 0, expiring after the TTL) so its subscribers learn its epoch.
 * Returns {epoch, seq, frames}.
 */
const READ_SCRIPT = `
local meta = redis.call('HMGET', KEYS[1], 'e', 's')
local epoch = meta[1]
local seq = tonumber(meta[2])
if not epoch then
  epoch = ARGV[1]
  seq = 0
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', epoch, 's', 0)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
local frames = {}
if ARGV[3] == epoch then
  local missed = seq - tonumber(ARGV[4])
  if missed > 0 and missed <= redis.call('LLEN', KEYS[2]) then
    frames = redis.call('LRANGE', KEYS[2], -missed, -1)
  end
end
return {epoch, seq, frames}
`;

type AppendArgs = [
  meta: string,
  history: string,
  claim: string,
  head: string,
  topic: string,
  epoch: string,
  size: number,
  ttlMs: number,
  windowSeconds: number,
  sharded: string,
];
const appendOne = scriptedCommand<AppendArgs, number | null>('carecastLogAppend', APPEND_SCRIPT, 3);

type ReadArgs = [meta: string, history: string, epoch: string, ttlMs: number, e: string, s: number];
const readPosition = scriptedCommand<ReadArgs, [string, number, string[]]>(
  'carecastLogRead',
  READ_SCRIPT,
  2,
);

/**
 * The channel log shared by every node, one script per notification (one pipeline per batch
 * on a standalone Redis, so a batch is one write and one round trip) and one per read. Every key and the topic of a channel share its
 * hash slot (channel-keys.ts), so the scripts run unchanged on Redis Cluster, where the
 * publish is a sharded SPUBLISH. Any Redis failure rejects with StoreUnavailableError.
 */
export class RedisChannelLog extends ChannelLog {
  private readonly size: number;
  private readonly ttlMs: number;
  private readonly sharded: string;

  constructor(
    private readonly redis: RedisService,
    config: Config,
  ) {
    super();
    this.size = config.history.size;
    this.ttlMs = config.history.ttlSeconds * 1000;
    this.sharded = config.redis.topology.kind === 'cluster' ? '1' : '0';
  }

  async append(entries: readonly LogEntry[], nowMs: number): Promise<Appended[]> {
    const epoch = newEpoch(nowMs);
    const argsOf = (e: LogEntry): AppendArgs => [
      channelMetaKey(this.redis, e.channel),
      channelHistoryKey(this.redis, e.channel),
      channelIdKey(this.redis, e.channel, e.id),
      e.head,
      channelTopic(this.redis, e.channel),
      epoch,
      this.size,
      this.ttlMs,
      IDEMPOTENCY_WINDOW_SECONDS,
      this.sharded,
    ];
    if (this.sharded === '1') {
      // On a cluster the channels' slots differ: one command each, all written in this tick.
      const settled = await Promise.allSettled(
        entries.map((e) => this.redis.run((client) => appendOne(client, ...argsOf(e)))),
      );
      return settled.map(appendedOf);
    }
    // One pipeline: one write and one round trip, and Redis runs the scripts in body order.
    const replies = await this.redis
      .run((client) => {
        const pipeline = appendOne.pipeline(client as Redis);
        for (const e of entries) appendOne.queue(pipeline, ...argsOf(e));
        return pipeline.exec();
      })
      .catch(() => null);
    return entries.map((_, i) => {
      const reply = replies?.[i];
      if (reply === undefined || reply[0] !== null) return { outcome: 'unavailable' };
      return appendedOf({ status: 'fulfilled', value: reply[1] as number | null });
    });
  }

  async read(channel: ChannelName, since: Position | null, nowMs: number): Promise<HistoryRead> {
    const [epoch, seq, replay] = await this.redis.run((client) =>
      readPosition(
        client,
        channelMetaKey(this.redis, channel),
        channelHistoryKey(this.redis, channel),
        newEpoch(nowMs),
        this.ttlMs,
        since?.epoch ?? '',
        since?.seq ?? 0,
      ),
    );
    return { position: { epoch, seq: Number(seq) }, replay };
  }
}

function appendedOf(reply: PromiseSettledResult<number | null>): Appended {
  if (reply.status === 'rejected') return { outcome: 'unavailable' };
  if (reply.value === null) return { outcome: 'duplicate' };
  return { outcome: 'published', seq: Number(reply.value) };
}

/** A candidate epoch; the scripts use it only for a channel that has none. */
function newEpoch(nowMs: number): string {
  return formatEpoch(nowMs, randomBytes(8).toString('hex'));
}
