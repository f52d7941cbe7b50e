import type { Ack, Notification, Position } from './frames.js';

/** What the app is told about one channel. Only `onNotification` is required. */
export interface SubscriptionHandlers {
  /** A notification: opaque ids only. Keep it in memory; fetch the record from your API. */
  onNotification(notification: Notification): void;
  /** The first ack: the subscription is live. Fetch the channel's current state now. */
  onSubscribed?(): void;
  /**
   * Notifications may have been missed and could not be replayed: after a reconnect the
   * gateway answered `recovered:false` (history expired, lost, or too far behind), or a
   * notification's `seq` was not the previous one's plus one. Refetch the channel's state
   * over REST; the subscription itself carries on.
   */
  onRecoveryFailed?(info: RecoveryFailure): void;
  /** Access to the channel was withdrawn (`revoked`); the subscription has ended. */
  onRevoked?(): void;
  /**
   * The gateway refused the subscription for good (`forbidden`, `invalid_channel`,
   * `too_many_subscriptions`, ...); the subscription has ended.
   */
  onError?(code: string): void;
}

export interface RecoveryFailure {
  readonly channel: string;
  readonly reason: 'history_unavailable' | 'sequence_gap';
}

/** `pending` until acknowledged on the current connection; `ended` for good. */
export type SubscriptionState = 'pending' | 'active' | 'ended';

export interface Subscription {
  readonly channel: string;
  readonly state: SubscriptionState;
  /** The last position seen (sent as `since` after a reconnect), or null when unknown. */
  readonly position: Position | null;
  /** Ends the subscription; idempotent. */
  unsubscribe(): void;
}

/** `epoch` null: the seq is known but the epoch changed unannounced, so `since` is unusable. */
interface Seen {
  readonly epoch: string | null;
  readonly seq: number;
}

/**
 * One channel the app subscribed to, across connections. It keeps the last position seen so
 * that every resubscribe asks for exactly what was missed.
 */
export class ChannelSubscription implements Subscription {
  private current: SubscriptionState = 'pending';
  private seen: Seen | null = null;
  private everAcknowledged = false;

  constructor(
    readonly channel: string,
    private readonly handlers: SubscriptionHandlers,
    private readonly released: (subscription: ChannelSubscription, wasActive: boolean) => void,
    private readonly handlerFailed: (error: unknown) => void,
  ) {}

  get state(): SubscriptionState {
    return this.current;
  }

  get position(): Position | null {
    const seen = this.seen;
    return seen === null || seen.epoch === null ? null : { epoch: seen.epoch, seq: seen.seq };
  }

  unsubscribe(): void {
    if (this.current === 'ended') return;
    const wasActive = this.current === 'active';
    this.current = 'ended';
    this.released(this, wasActive);
  }

  /** The subscribe ack; `withSince` says whether that subscribe asked for a replay. */
  acknowledged(ack: Ack, withSince: boolean): void {
    if (this.current === 'ended') return;
    if (ack.epoch !== undefined && ack.seq !== undefined) {
      this.seen = { epoch: ack.epoch, seq: ack.seq };
    }
    this.current = 'active';
    const first = !this.everAcknowledged;
    this.everAcknowledged = true;
    if (first) return this.call(() => this.handlers.onSubscribed?.());
    // A resubscribe: anything but a confirmed replay may have missed notifications.
    if (!(withSince && ack.recovered === true)) this.recoveryFailed('history_unavailable');
  }

  /** A notification of this channel, live or replayed (replays come before the ack). */
  received(notification: Notification): void {
    if (this.current === 'ended') return;
    const seen = this.seen;
    if (seen !== null && notification.seq !== seen.seq + 1) {
      // Lower: the history was reset under a new epoch this client has not been told.
      // Higher: a gap. Either way the app must refetch.
      const epoch = notification.seq > seen.seq ? seen.epoch : null;
      this.seen = { epoch, seq: notification.seq };
      this.recoveryFailed('sequence_gap');
    } else if (seen !== null) {
      this.seen = { epoch: seen.epoch, seq: notification.seq };
    }
    this.call(() => this.handlers.onNotification(notification));
  }

  /** The connection ended; the subscription waits for the next one. */
  disconnected(): void {
    if (this.current === 'active') this.current = 'pending';
  }

  revoked(): void {
    if (this.current === 'ended') return;
    this.current = 'ended';
    this.call(() => this.handlers.onRevoked?.());
  }

  refused(code: string): void {
    if (this.current === 'ended') return;
    this.current = 'ended';
    this.call(() => this.handlers.onError?.(code));
  }

  private recoveryFailed(reason: RecoveryFailure['reason']): void {
    this.call(() => this.handlers.onRecoveryFailed?.({ channel: this.channel, reason }));
  }

  /** An app handler that throws must not break the connection or the other channels. */
  private call(handler: () => void): void {
    try {
      handler();
    } catch (error) {
      this.handlerFailed(error);
    }
  }
}
