import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import { deliveryFailed } from '../core/audit-entries.js';
import type { BusMessage } from '../core/bus-message.js';
import { formatChannel, parseChannel } from '../core/channel.js';
import { Bus } from '../fanout/bus.js';
import { Metrics } from '../metrics/metrics.js';
import { ChannelIndex } from '../channels/channel-index.js';
import type { Subscriber } from '../channels/subscriber.js';

/**
 * The delivery hot path, outside Nest's message pipeline: a notification frame arrives once
 * per node, already encoded; the same buffer goes to every local subscriber. A socket with
 * more than WS_MAX_BUFFERED_BYTES waiting is closed 4009 instead of being written to, so one
 * slow reader never holds memory or delays the others, and the publisher never waits.
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
      if (!session.open) continue;
      if (session.bufferedAmount + buffer.length > this.maxBuffered) {
        session.close('slow_consumer', now);
        this.metrics.deliveryFailures.inc({ reason: 'slow_consumer' });
        this.slowConsumer(session, channel, message);
        continue;
      }
      session.sendEncoded(buffer);
      delivered += 1;
    }
    // Counted per batch, not per socket, to keep the loop tight.
    this.metrics.delivered.inc(delivered);
    if (message.ts !== null)
      this.metrics.deliveryLatency.observe(Math.max(0, now - message.ts) / 1000);
  }

  /** Off the hot path. The bus carries only channels parsed at subscribe: `name` is `channel`. */
  private slowConsumer(subscriber: Subscriber, channel: string, message: BusMessage): void {
    const parsed = parseChannel(channel);
    const name = parsed.ok ? formatChannel(parsed.channel) : null;
    this.audit.record(deliveryFailed(subscriber, 'slow_consumer', name, message.id));
  }
}
