import type { BusMessage } from '../core/bus-message.js';
import { Metrics } from '../metrics/metrics.js';
import { Bus } from './bus.js';

/**
 * Fan-out for embedded single-node mode: this node is the whole cluster, so publishing is
 * delivering locally. Same observable behaviour as the Redis adapter for horizontal fan-out
 * (RedisFanoutAdapter), so the gateway cannot tell them apart.
 *
 * Invariants:
 * - Delivery is asynchronous (a microtask), never inside publish(): a publisher never runs
 *   subscriber code, and messages arrive in publish order.
 * - A channel message reaches the handler only if its channel is followed when it is
 *   delivered; control messages are always delivered.
 * - Follows are counted by Bus; delivery asks it whether a channel is followed.
 * - Publishing never fails: there is no store to be down.
 */
export class MemoryBus extends Bus {
  constructor(private readonly metrics: Metrics) {
    super(metrics);
  }

  publish(channel: string, message: BusMessage): Promise<void> {
    queueMicrotask(() => {
      // Counted like the Redis adapter, which is only sent the channels it follows.
      if (!this.isFollowed(channel)) return;
      this.metrics.busMessagesReceived.inc({ kind: 'channel' });
      this.dispatchMessage(channel, message);
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

  /** Nothing to tell: there is no store, and delivery checks `isFollowed` when it happens. */
  protected followChanged(): void {
    return;
  }
}
