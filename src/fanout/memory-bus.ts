import { Metrics } from '../metrics/metrics.js';
import { Bus } from './bus.js';

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
  private readonly counts = new Map<string, number>();

  constructor(private readonly metrics: Metrics) {
    super();
  }

  publish(channel: string, payload: string): Promise<void> {
    queueMicrotask(() => {
      // Counted like RedisBus, which is only sent the channels it follows.
      if (!this.counts.has(channel)) return;
      this.metrics.busMessagesReceived.inc({ kind: 'channel' });
      this.dispatchMessage(channel, payload);
    });
    return Promise.resolve();
  }

  publishControl(payload: string): Promise<void> {
    queueMicrotask(() => {
      this.metrics.busMessagesReceived.inc({ kind: 'control' });
      this.dispatchControl(payload);
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
}
