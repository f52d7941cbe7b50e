import { retryDelay } from './backoff.js';
import type { Connection } from './connection.js';
import type { Notification, Reply } from './frames.js';
import type { ClientError, ResolvedOptions } from './options.js';
import {
  ChannelSubscription,
  type Subscription,
  type SubscriptionHandlers,
} from './subscription.js';

type SetOptions = Pick<ResolvedOptions, 'backoff' | 'limits' | 'random'>;

/**
 * The app's subscriptions and their life on the wire: each is subscribed on every new
 * connection (with `since` once it has a position), answers are matched to it, refusals end
 * it, and `rate_limited`/`unavailable` answers are retried after a hold on all subscribes.
 */
export class SubscriptionSet {
  private readonly byChannel = new Map<string, ChannelSubscription>();
  private connection: Connection | null = null;
  /** Consecutive `rate_limited`/`unavailable` answers on this connection. */
  private strikes = 0;

  constructor(
    private readonly options: SetOptions,
    private readonly reportError: (error: ClientError) => void,
  ) {}

  add(channel: string, handlers: SubscriptionHandlers): Subscription {
    if (this.byChannel.has(channel)) throw new Error('already subscribed to this channel');
    const subscription = new ChannelSubscription(
      channel,
      handlers,
      (sub, wasActive) => this.release(sub, wasActive),
      () => this.reportError({ source: 'handler', code: 'handler_threw' }),
    );
    this.byChannel.set(channel, subscription);
    if (this.connection !== null) this.send(subscription, this.connection);
    return subscription;
  }

  /** A new connection was welcomed: subscribe everything on it. */
  attach(connection: Connection): void {
    this.connection = connection;
    this.strikes = 0;
    for (const subscription of this.byChannel.values()) this.send(subscription, connection);
  }

  /** The connection ended: every subscription waits for the next one. */
  detach(): void {
    this.connection = null;
    for (const subscription of this.byChannel.values()) subscription.disconnected();
  }

  notified(notification: Notification): void {
    this.byChannel.get(notification.channel)?.received(notification);
  }

  revoked(channel: string): void {
    const subscription = this.byChannel.get(channel);
    this.byChannel.delete(channel);
    subscription?.revoked();
  }

  private send(sub: ChannelSubscription, connection: Connection): void {
    const since = sub.position ?? undefined;
    connection.request(
      { type: 'subscribe', channel: sub.channel, ...(since ? { since } : {}) },
      'subscribe',
      (reply) => this.answered(sub, connection, reply, since !== undefined),
    );
  }

  private answered(
    sub: ChannelSubscription,
    connection: Connection,
    reply: Reply | null,
    withSince: boolean,
  ): void {
    if (reply === null || connection !== this.connection) return; // resubscribed on the next one
    if (sub.state === 'ended') {
      // Unsubscribed while the subscribe was in flight: undo it, unless the channel was
      // subscribed again meanwhile.
      if (reply.type === 'ack' && !this.byChannel.has(sub.channel)) {
        connection.request({ type: 'unsubscribe', channel: sub.channel }, 'control');
      }
      return;
    }
    if (reply.type === 'ack') {
      this.strikes = 0;
      return sub.acknowledged(reply, withSince);
    }
    if (reply.type !== 'error') return;
    this.reportError({ source: 'subscribe', code: reply.code });
    switch (reply.code) {
      case 'rate_limited':
      case 'unavailable': {
        // Retried after a backoff during which no subscribe goes out. After `rate_limited`
        // the hold is at least the subscribe window, so a client over the per-user limit
        // (other tabs) spreads its retries out instead of earning 4008 (six in a row).
        const { backoff, limits, random } = this.options;
        const floor = reply.code === 'rate_limited' ? limits.subscribe.windowMs : backoff.initialMs;
        const strike = this.strikes++;
        connection.holdSubscribes(floor + retryDelay(strike, backoff, random(), null));
        return this.send(sub, connection);
      }
      default:
        this.byChannel.delete(sub.channel);
        return sub.refused(reply.code);
    }
  }

  private release(sub: ChannelSubscription, wasActive: boolean): void {
    if (this.byChannel.get(sub.channel) === sub) this.byChannel.delete(sub.channel);
    if (wasActive && this.connection !== null) {
      this.connection.request({ type: 'unsubscribe', channel: sub.channel }, 'control');
    }
  }
}
