import { Injectable } from '@nestjs/common';
import { Multimap } from '../core/multimap.js';
import { Bus } from '../fanout/bus.js';
import type { Subscriber } from './subscriber.js';

const FOLLOW_WAIT_MS = 1000;

/**
 * Which local subscribers listen on which channel, in both directions. The node follows a
 * channel on the bus once, while at least one local subscriber listens on it, so it receives
 * only what its clients want.
 *
 * Invariant: `byChannel` and `bySubscriber` hold the same (subscriber, channel) pairs, and
 * neither holds an empty set.
 */
@Injectable()
export class ChannelIndex {
  private readonly byChannel = new Map<string, Set<Subscriber>>();
  /** A Multimap: most sessions listen on one channel, and a Set of one costs ~150 bytes. */
  private readonly bySubscriber = new Multimap<Subscriber, string>();
  private count = 0;

  constructor(private readonly bus: Bus) {}

  /** Number of (subscriber, channel) subscriptions on this node. */
  get subscriptions(): number {
    return this.count;
  }

  subscribersOf(channel: string): ReadonlySet<Subscriber> | undefined {
    return this.byChannel.get(channel);
  }

  has(subscriber: Subscriber, channel: string): boolean {
    return this.bySubscriber.has(subscriber, channel);
  }

  /** How many channels `subscriber` listens on. */
  countOf(subscriber: Subscriber): number {
    return this.bySubscriber.count(subscriber);
  }

  /** A copy, so the caller may remove channels while it walks them. */
  channelsOf(subscriber: Subscriber): string[] {
    return this.bySubscriber.values(subscriber);
  }

  /** False when the subscriber already listened on the channel. */
  add(subscriber: Subscriber, channel: string): boolean {
    if (!this.bySubscriber.add(subscriber, channel)) return false;
    let subscribers = this.byChannel.get(channel);
    if (!subscribers) {
      this.byChannel.set(channel, (subscribers = new Set()));
      this.bus.follow(channel);
    }
    subscribers.add(subscriber);
    this.count += 1;
    return true;
  }

  /** False when the subscriber did not listen on the channel. */
  remove(subscriber: Subscriber, channel: string): boolean {
    if (!this.bySubscriber.delete(subscriber, channel)) return false;
    const subscribers = this.byChannel.get(channel);
    subscribers?.delete(subscriber);
    if (subscribers?.size === 0) {
      this.byChannel.delete(channel);
      this.bus.unfollow(channel);
    }
    this.count -= 1;
    return true;
  }

  /**
   * Waits until the bus receives every channel added so far, bounded: during a Redis outage
   * the ack goes out anyway and the subscription takes effect when the bus reconnects.
   */
  async followed(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, FOLLOW_WAIT_MS)));
    await Promise.race([this.bus.flushed(), limit]);
    clearTimeout(timer);
  }

  removeAll(subscriber: Subscriber): void {
    for (const channel of this.channelsOf(subscriber)) this.remove(subscriber, channel);
  }
}
