import { Logger } from '@nestjs/common';
import { Metrics } from '../metrics/metrics.js';
import { Bus, type ChannelHandler, type ControlHandler } from './bus.js';

/**
 * Fan-out for embedded single-node mode: this node is the whole cluster, so publishing is
 * delivering locally. Same observable behaviour as RedisBus, so the gateway cannot tell them
 * apart.
 *
 * Invariants:
 * - Delivery is asynchronous (a microtask), never inside publish(): a publisher never runs
 *   subscriber code, and messages arrive in publish order.
 * - A channel message reaches the handler only if its channel is followed when it is
 *   delivered; control messages are always delivered.
 * - Follows are counted; an unfollow without a matching follow changes nothing.
 * - Publishing never fails: there is no store to be down.
 */
export class MemoryBus extends Bus {
  private readonly logger = new Logger(MemoryBus.name);
  private readonly counts = new Map<string, number>();
  private messageHandler: ChannelHandler | null = null;
  private controlHandler: ControlHandler | null = null;

  constructor(private readonly metrics: Metrics) {
    super();
  }

  publish(channel: string, payload: string): Promise<void> {
    queueMicrotask(() => {
      // Counted like RedisBus, which is only sent the channels it follows.
      if (!this.counts.has(channel)) return;
      this.metrics.busMessagesReceived.inc({ kind: 'channel' });
      this.deliver(() => this.messageHandler?.(channel, payload));
    });
    return Promise.resolve();
  }

  publishControl(payload: string): Promise<void> {
    queueMicrotask(() => {
      this.metrics.busMessagesReceived.inc({ kind: 'control' });
      this.deliver(() => this.controlHandler?.(payload));
    });
    return Promise.resolve();
  }

  follow(channel: string): void {
    this.counts.set(channel, (this.counts.get(channel) ?? 0) + 1);
    this.metrics.busFollowedChannels.set(this.counts.size);
  }

  unfollow(channel: string): void {
    const count = this.counts.get(channel);
    if (count === undefined) return;
    if (count > 1) this.counts.set(channel, count - 1);
    else this.counts.delete(channel);
    this.metrics.busFollowedChannels.set(this.counts.size);
  }

  onMessage(handler: ChannelHandler): void {
    if (this.messageHandler !== null) throw new Error('bus message handler already registered');
    this.messageHandler = handler;
  }

  onControl(handler: ControlHandler): void {
    if (this.controlHandler !== null) throw new Error('bus control handler already registered');
    this.controlHandler = handler;
  }

  private deliver(call: () => void): void {
    try {
      call();
    } catch (err) {
      // Neither the payload nor the channel is logged: both may identify a patient.
      this.logger.error(`bus handler threw ${err instanceof Error ? err.name : typeof err}`);
    }
  }
}
