import { randomBytes } from 'node:crypto';
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
 * Appends a batch of notifications in body order, each one claimed, numbered, kept and
 * published; the whole batch runs as one script, so it costs one command instead of one per
 * notification. KEYS, three per notification: meta (hash e = epoch, s = seq), history (list of
 * frames), the id's claim. ARGV: a fresh epoch, history size, TTL ms, claim window s, '1' for
 * sharded pub/sub, then two per notification: frame head, topic. Returns one number per
 * notification: its seq, or 0 for a duplicate (seqs start at 1).
 * A missing meta starts a new epoch (the candidate the node passed in) and drops any history
 * left behind, so the history always holds the seqs `s - LLEN + 1 .. s` of epoch `e`. A meta
 * always holds both fields (both scripts write them together), so only a seq of 1 can mean a
 * meta that HINCRBY just created: the common path is one HINCRBY, no HGET, and LTRIM runs only
 * once the history is over its size.
 * The frame gets its seq as its last field: core completeFrame() builds the same text.
 * On Redis Cluster a script's keys must share a slot, so there it is called per notification.
 */
const APPEND_SCRIPT = `
local epoch, size, ttl, window, sharded = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local seqs = {}
for i = 1, #KEYS / 3 do
  local meta, history = KEYS[3 * i - 2], KEYS[3 * i - 1]
  local head, topic = ARGV[4 + 2 * i], ARGV[5 + 2 * i]
  seqs[i] = 0
  if redis.call('SET', KEYS[3 * i], '1', 'EX', window, 'NX') then
    local seq = redis.call('HINCRBY', meta, 's', 1)
    if seq == 1 and not redis.call('HGET', meta, 'e') then
      redis.call('DEL', history)
      redis.call('HSET', meta, 'e', epoch)
    end
    local frame = head .. ',"seq":' .. seq .. '}'
    if size > 0 then
      if redis.call('RPUSH', history, frame) > size then
        redis.call('LTRIM', history, -size, -1)
      end
      redis.call('PEXPIRE', history, ttl)
    end
    redis.call('PEXPIRE', meta, ttl)
    if sharded == '1' then
      redis.call('SPUBLISH', topic, frame)
    else
      redis.call('PUBLISH', topic, frame)
    end
    seqs[i] = seq
  end
end
return seqs
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

/** The key count, then KEYS and ARGV as APPEND_SCRIPT describes them. */
type AppendArgs = (string | number)[];
const appendBatch = scriptedCommand<AppendArgs, number[]>('carecastLogAppend', APPEND_SCRIPT, null);

type ReadArgs = [meta: string, history: string, epoch: string, ttlMs: number, e: string, s: number];
const readPosition = scriptedCommand<ReadArgs, [string, number, string[]]>(
  'carecastLogRead',
  READ_SCRIPT,
  2,
);

/**
 * The channel log shared by every node: one script per batch of notifications on a standalone
 * Redis (one per notification on a cluster, all sent at once, so a batch is one round trip)
 * and one per read. Every key and the topic of a channel share its
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
    const shared = [
      newEpoch(nowMs),
      this.size,
      this.ttlMs,
      IDEMPOTENCY_WINDOW_SECONDS,
      this.sharded,
    ];
    const call = (batch: readonly LogEntry[]): Promise<Appended[]> => {
      const keys: string[] = [];
      const args: string[] = [];
      for (const e of batch) {
        keys.push(
          channelMetaKey(this.redis, e.channel),
          channelHistoryKey(this.redis, e.channel),
          channelIdKey(this.redis, e.channel, e.id),
        );
        args.push(e.head, channelTopic(this.redis, e.channel));
      }
      return this.redis
        .run((client) => appendBatch(client, keys.length, ...keys, ...shared, ...args))
        .then(
          (seqs) => batch.map((_, i) => appendedOf(Number(seqs[i]))),
          () => batch.map((): Appended => ({ outcome: 'unavailable' })),
        );
    };
    // On a cluster the channels' slots differ: one call each, all written in this tick.
    if (this.sharded === '1') return (await Promise.all(entries.map((e) => call([e])))).flat();
    return call(entries);
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

function appendedOf(seq: number): Appended {
  if (!Number.isSafeInteger(seq) || seq < 0) return { outcome: 'unavailable' };
  return seq === 0 ? { outcome: 'duplicate' } : { outcome: 'published', seq };
}

/** A candidate epoch; the scripts use it only for a channel that has none. */
function newEpoch(nowMs: number): string {
  return formatEpoch(nowMs, randomBytes(8).toString('hex'));
}
