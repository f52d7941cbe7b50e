import { randomBytes } from 'node:crypto';
import type { Config } from '../../config/config.types.js';
import type { ChannelName } from '../../core/channel.js';
import { completeFrame, formatEpoch, type Position, replayCount } from '../../core/position.js';
import { ExpiringKeys } from '../../memory/expiring-keys.js';
import {
  type Appended,
  ChannelLog,
  type HistoryRead,
  IDEMPOTENCY_WINDOW_SECONDS,
  type LocalPublish,
  type LogEntry,
} from './channel-log.js';

/** How often, at most, every channel is checked for expiry. */
const SWEEP_INTERVAL_MS = 1000;

interface ChannelState {
  readonly epoch: string;
  seq: number;
  /** The last `size` frames, oldest first: seqs `seq - frames.length + 1 .. seq`. */
  readonly frames: string[];
  expiresAt: number;
}

/**
 * The channel log of an embedded single node, with the Redis log's semantics: per-channel
 * claims, seqs, the last HISTORY_SIZE frames for HISTORY_TTL_SECONDS after the last
 * notification, a new epoch once a channel's state has expired. Each append step runs
 * synchronously (claim, seq, history, publish), so it is atomic and publishes in seq order.
 *
 * Bounded memory: a channel is held only while live (swept at most once per
 * SWEEP_INTERVAL_MS), with at most HISTORY_SIZE frames; ids expire after the window.
 */
export class MemoryChannelLog extends ChannelLog {
  private readonly channels = new Map<string, ChannelState>();
  private readonly ids = new ExpiringKeys();
  private readonly size: number;
  private readonly ttlMs: number;
  private lastSweepMs = Number.NEGATIVE_INFINITY;

  constructor(config: Config) {
    super();
    this.size = config.history.size;
    this.ttlMs = config.history.ttlSeconds * 1000;
  }

  /** Channels held, live or not yet swept; for tests of the memory bound. */
  get channelCount(): number {
    return this.channels.size;
  }

  append(
    entries: readonly LogEntry[],
    nowMs: number,
    publishLocally: LocalPublish,
  ): Promise<Appended[]> {
    return Promise.resolve(entries.map((entry) => this.appendOne(entry, nowMs, publishLocally)));
  }

  read(channel: ChannelName, since: Position | null, nowMs: number): Promise<HistoryRead> {
    const state = this.live(channel, nowMs);
    const position = { epoch: state.epoch, seq: state.seq };
    const missed = since === null ? null : replayCount(since, position);
    const replay =
      missed !== null && missed > 0 && missed <= state.frames.length
        ? state.frames.slice(state.frames.length - missed)
        : [];
    return Promise.resolve({ position, replay });
  }

  private appendOne(entry: LogEntry, nowMs: number, publishLocally: LocalPublish): Appended {
    // A NUL cannot occur in a channel name, so the pair is unambiguous.
    const claim = `${entry.channel}\u0000${entry.id}`;
    if (this.ids.live(claim, nowMs)) return { outcome: 'duplicate' };
    this.ids.set(claim, nowMs + IDEMPOTENCY_WINDOW_SECONDS * 1000, nowMs);
    const state = this.live(entry.channel, nowMs);
    state.seq += 1;
    const frame = completeFrame(entry.head, state.seq);
    if (this.size > 0) {
      state.frames.push(frame);
      if (state.frames.length > this.size) state.frames.shift();
    }
    state.expiresAt = nowMs + this.ttlMs;
    publishLocally(entry.channel, { id: entry.id, ts: entry.ts, seq: state.seq, frame });
    return { outcome: 'published', seq: state.seq };
  }

  /** The channel's live state, or a new epoch at seq 0 when it has none or it expired. */
  private live(channel: string, nowMs: number): ChannelState {
    this.sweep(nowMs);
    const state = this.channels.get(channel);
    if (state !== undefined && state.expiresAt > nowMs) return state;
    const epoch = formatEpoch(nowMs, randomBytes(8).toString('hex'));
    const fresh: ChannelState = { epoch, seq: 0, frames: [], expiresAt: nowMs + this.ttlMs };
    this.channels.set(channel, fresh);
    return fresh;
  }

  private sweep(nowMs: number): void {
    if (nowMs - this.lastSweepMs < SWEEP_INTERVAL_MS && nowMs >= this.lastSweepMs) return;
    this.lastSweepMs = nowMs;
    for (const [channel, state] of this.channels) {
      if (state.expiresAt <= nowMs) this.channels.delete(channel);
    }
  }
}
