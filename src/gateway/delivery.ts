import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import { deliveryFailed } from '../core/audit-entries.js';
import { type BusMessage, messageOfFrame } from '../core/bus-message.js';
import { formatChannel, parseChannel } from '../core/channel.js';
import { isPastAck } from '../core/position.js';
import type { ServerFrame } from '../core/protocol.js';
import { Bus } from '../fanout/bus.js';
import { DeliveryLag } from '../fanout/delivery-lag.js';
import { Metrics } from '../metrics/metrics.js';
import { ChannelIndex } from '../channels/channel-index.js';
import type { Subscriber } from '../channels/subscriber.js';
import type { CatchUp } from '../channels/subscription-service.js';

/**
 * How long after a catch-up a bus message at or under the ack's seq counts as a late copy of
 * one already sent: the two Redis connections' replies are milliseconds apart, while a Redis
 * that lost its data (a new epoch, seq from 1 again) takes longer than this to come back.
 */
const LATE_COPY_MS = 1000;

/**
 * The delivery hot path, outside Nest's message pipeline: a notification frame arrives once
 * per node, already encoded; the same buffer goes to every local subscriber. A socket with
 * more than WS_MAX_BUFFERED_BYTES waiting is closed 4009 instead of being written to, so one
 * slow reader never holds memory or delays the others, and the publisher never waits.
 *
 * A subscriber catching up on the channel (a subscribe between its follow and its ack) keeps
 * the message instead; what it keeps counts against the same limit. `catchUp` then writes the
 * replay, the ack and the kept messages past the ack's seq, each under the same limit, and
 * sets a floor so that a message the replay or the ack already covered, arriving late from the
 * bus (its connection is not the one the position was read on), is not written twice.
 */
@Injectable()
export class Delivery implements OnModuleInit {
  private readonly maxBuffered: number;

  constructor(
    @Inject(CONFIG) config: Config,
    private readonly bus: Bus,
    private readonly index: ChannelIndex,
    private readonly audit: AuditService,
    private readonly metrics: Metrics,
    private readonly lag: DeliveryLag,
  ) {
    this.maxBuffered = config.websocket.maxBufferedBytes;
  }

  onModuleInit(): void {
    this.bus.onMessage((channel, message) => this.deliver(channel, message));
  }

  deliver(channel: string, message: BusMessage): void {
    const sessions = this.index.subscribersOf(channel);
    if (!sessions || sessions.size === 0) return;
    const buffer = Buffer.from(message.frame);
    const now = Date.now();
    let delivered = 0;
    for (const session of sessions) {
      if (!session.open || session.stale(channel, message.seq, now)) continue;
      const kept = session.keep(channel, message);
      if (kept >= 0) {
        if (session.bufferedAmount + kept > this.maxBuffered) {
          this.slowConsumer(session, channel, message, now);
        }
        continue;
      }
      if (session.bufferedAmount + buffer.length > this.maxBuffered) {
        this.slowConsumer(session, channel, message, now);
        continue;
      }
      session.sendEncoded(buffer);
      delivered += 1;
    }
    // Counted per batch, not per socket, to keep the loop tight.
    this.metrics.delivered.inc(delivered);
    if (message.ts !== null) {
      const lagMs = Math.max(0, now - message.ts);
      this.metrics.deliveryLatency.observe(lagMs / 1000);
      this.lag.note(lagMs, now);
    }
  }

  /**
   * Answers an allowed subscribe: the replay, then the ack (with the channel's position), then
   * the live messages held meanwhile whose seq is past the ack's. A subscription revoked or
   * dropped during the subscribe gets its ack and nothing of the channel.
   */
  catchUp(session: Subscriber, id: string, catchUp: CatchUp): void {
    const { channel, position, recovered } = catchUp;
    const held = catchUp.held ? session.release(channel) : [];
    const live = this.index.has(session, channel);
    const now = Date.now();
    let replayed = 0;
    for (const frame of live ? catchUp.replay : []) {
      if (!this.write(session, channel, messageOfFrame(frame), now)) return;
      replayed += 1;
    }
    this.metrics.replayedFrames.inc(replayed);
    const ack: ServerFrame =
      recovered === null
        ? { type: 'ack', id, epoch: position.epoch, seq: position.seq }
        : { type: 'ack', id, epoch: position.epoch, seq: position.seq, recovered };
    session.send(ack);
    if (!live) return;
    session.floor(channel, position.seq, now + LATE_COPY_MS);
    for (const message of held) {
      if (isPastAck(message.seq, position.seq) && !this.write(session, channel, message, now))
        return;
    }
  }

  /** One write off the hot path, under the buffered limit; false once the session is closed. */
  private write(session: Subscriber, channel: string, message: BusMessage, now: number): boolean {
    if (!session.open) return false;
    const buffer = Buffer.from(message.frame);
    if (session.bufferedAmount + buffer.length > this.maxBuffered) {
      this.slowConsumer(session, channel, message, now);
      return false;
    }
    session.sendEncoded(buffer);
    this.metrics.delivered.inc();
    return true;
  }

  /** Off the hot path. The bus carries only channels parsed at subscribe: `name` is `channel`. */
  private slowConsumer(
    subscriber: Subscriber,
    channel: string,
    message: BusMessage,
    now: number,
  ): void {
    subscriber.close('slow_consumer', now);
    this.metrics.deliveryFailures.inc({ reason: 'slow_consumer' });
    const parsed = parseChannel(channel);
    const name = parsed.ok ? formatChannel(parsed.channel) : null;
    this.audit.record(deliveryFailed(subscriber, 'slow_consumer', name, message.id));
  }
}
