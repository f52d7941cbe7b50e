import { Injectable, type OnModuleInit } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { deliveryFailed, type SessionRef } from '../core/audit-entries.js';
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
 * more than WS_MAX_BUFFERED_BYTES waiting is closed 4009 instead of being written to (the
 * session checks it on every write, Session.write), so one slow reader never holds memory or
 * delays the others, and the publisher never waits.
 *
 * A subscriber catching up on the channel (a subscribe between its follow and its ack) keeps
 * the message instead; what it keeps counts against the same limit. `catchUp` then writes the
 * replay, the ack and the kept messages past the ack's seq, each under the same limit, and
 * sets a floor so that a message the replay or the ack already covered, arriving late from the
 * bus (its connection is not the one the position was read on), is not written twice.
 */
@Injectable()
export class Delivery implements OnModuleInit {
  constructor(
    private readonly bus: Bus,
    private readonly index: ChannelIndex,
    private readonly audit: AuditService,
    private readonly metrics: Metrics,
    private readonly lag: DeliveryLag,
  ) {}

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
      if (session.keep(channel, message)) continue;
      if (session.sendEncoded(buffer, channel, message.id)) delivered += 1;
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
    for (const frame of live ? catchUp.replay : []) {
      if (!this.write(session, channel, messageOfFrame(frame))) return;
      this.metrics.replayedFrames.inc();
    }
    const ack: ServerFrame =
      recovered === null
        ? { type: 'ack', id, epoch: position.epoch, seq: position.seq }
        : { type: 'ack', id, epoch: position.epoch, seq: position.seq, recovered };
    if (!session.send(ack) || !live) return;
    session.floor(channel, position.seq, Date.now() + LATE_COPY_MS);
    for (const message of held) {
      if (isPastAck(message.seq, position.seq) && !this.write(session, channel, message)) return;
    }
  }

  /**
   * A session was closed 4009 instead of written to (Session.shed): counted, and audited with
   * the channel and notification when the frame that did not fit was a notification. The bus
   * carries only channels parsed at subscribe, so the name parses; anything else is left out.
   */
  slowConsumer(session: SessionRef, channel: string | null, notification: string | null): void {
    this.metrics.deliveryFailures.inc({ reason: 'slow_consumer' });
    const parsed = channel === null ? null : parseChannel(channel);
    const name = parsed?.ok ? formatChannel(parsed.channel) : null;
    this.audit.record(deliveryFailed(session, 'slow_consumer', name, notification));
  }

  /** One write off the hot path; false once the session is closed. */
  private write(session: Subscriber, channel: string, message: BusMessage): boolean {
    if (!session.sendEncoded(Buffer.from(message.frame), channel, message.id)) return false;
    this.metrics.delivered.inc();
    return true;
  }
}
