import { Logger } from '@nestjs/common';
import type { BusMessage } from '../core/bus-message.js';
import type { Metrics } from '../metrics/metrics.js';

/**
 * Fan-out between nodes (contract §6). A node follows a channel while it has local
 * subscribers, so it receives only what its own clients want. A channel message is a
 * BusMessage: the notification frame text, encoded once by the publishing node and sent
 * unchanged to every subscriber socket, with its id and publish time. The handler receives
 * the message as published. Control messages (revocations, disconnects)
 * reach every node.
 *
 * Implementations: MemoryBus (embedded single node) and RedisFanoutAdapter, the Redis adapter
 * for horizontal fan-out (pub/sub on a dedicated subscriber connection; sharded pub/sub on
 * Redis Cluster).
 *
 * Follows are counted here and nowhere else: a channel is followed while it has more follows
 * than unfollows, an unfollow without a matching follow changes nothing, and an
 * implementation hears only of the moments a channel starts or stops being followed
 * (`followChanged`). The channel index follows a channel once per node, while it has local
 * subscribers.
 */
export type ChannelHandler = (channel: string, message: BusMessage) => void;
export type ControlHandler = (payload: string) => void;

export abstract class Bus {
  private readonly busLogger = new Logger(Bus.name);
  private messageHandler: ChannelHandler | null = null;
  private controlHandler: ControlHandler | null = null;
  /** Positive counts only: a channel is followed exactly while it has an entry. */
  private readonly follows = new Map<string, number>();

  constructor(metrics: Metrics) {
    metrics.onScrape(() => metrics.busFollowedChannels.set(this.follows.size));
  }

  /**
   * Sends `payload` to every node following `channel`. Never waits for delivery; rejects
   * with StoreUnavailableError within a second when the bus is down.
   */
  abstract publish(channel: string, message: BusMessage): Promise<void>;
  /** Starts receiving `channel` here. Counted: each follow needs one unfollow. */
  follow(channel: string): void {
    const count = this.follows.get(channel) ?? 0;
    this.follows.set(channel, count + 1);
    if (count === 0) this.followChanged(channel);
  }

  unfollow(channel: string): void {
    const count = this.follows.get(channel);
    if (count === undefined) return;
    if (count > 1) {
      this.follows.set(channel, count - 1);
      return;
    }
    this.follows.delete(channel);
    this.followChanged(channel);
  }

  isFollowed(channel: string): boolean {
    return this.follows.has(channel);
  }

  /** `channel` just started or stopped being followed (ask `isFollowed` which). */
  protected abstract followChanged(channel: string): void;
  /** Registers this node's one delivery callback (the gateway's). */
  onMessage(handler: ChannelHandler): void {
    if (this.messageHandler !== null) throw new Error('bus message handler already registered');
    this.messageHandler = handler;
  }
  /** Sends a control message to every node, this one included. */
  abstract publishControl(payload: string): Promise<void>;
  onControl(handler: ControlHandler): void {
    if (this.controlHandler !== null) throw new Error('bus control handler already registered');
    this.controlHandler = handler;
  }
  /**
   * Resolves once every follow and unfollow so far is in effect, so a subscribe is acked only
   * when a notification published right after it will arrive. Immediate where nothing is batched.
   */
  flushed(): Promise<void> {
    return Promise.resolve();
  }

  /** Hands a received channel message to the handler; for implementations. */
  protected dispatchMessage(channel: string, message: BusMessage): void {
    this.dispatch(() => this.messageHandler?.(channel, message));
  }

  protected dispatchControl(payload: string): void {
    this.dispatch(() => this.controlHandler?.(payload));
  }

  /** A throwing handler is logged and never reaches the transport that called us. */
  private dispatch(call: () => void): void {
    try {
      call();
    } catch (err) {
      // Neither the payload nor the channel is logged: both may identify a patient.
      this.busLogger.error(`bus handler threw ${err instanceof Error ? err.name : typeof err}`);
    }
  }
}
