/**
 * Tells Redis to subscribe `subscribe` and unsubscribe `unsubscribe` (disjoint sets of app
 * channel names). Resolves once Redis acknowledged every command, rejects if any failed.
 */
export type ApplyBatch = (subscribe: string[], unsubscribe: string[]) => Promise<void>;

/** Pause before resending the channels of a batch that failed. */
export const RETRY_MS = 1000;

/**
 * Keeps Redis's subscriptions in step with the channels this node follows (`isWanted`, the
 * Bus's counts), in batches, so a burst of subscribes (a reconnecting client, a node
 * starting up) costs one SUBSCRIBE rather than one per channel.
 *
 * Invariants:
 * - The batcher counts nothing: `changed` only marks a channel to compare at the next flush,
 *   so marking it twice is the same as once.
 * - Changes wait for one setImmediate, so everything done in the same tick (and by the I/O
 *   callbacks of the same poll) goes out together. At flush time each touched channel is
 *   compared with what Redis was last told: a follow and an unfollow in one batch send
 *   nothing, and a channel that has followers at flush time is never unsubscribed.
 * - A batch that fails leaves its channels unsure; after RETRY_MS they are sent again in the
 *   direction their count then gives. (UN)SUBSCRIBE is idempotent, so a resend is harmless.
 * - After close() nothing is scheduled: no timer of the batcher outlives the app.
 */
export class FollowBatcher {
  /** Channels Redis was last told to subscribe. */
  private readonly sent = new Set<string>();
  /** Channels changed (or failed) since the last flush. */
  private readonly touched = new Set<string>();
  /** Channels whose last command failed: Redis may be in either state. */
  private readonly unsure = new Set<string>();
  private immediate: NodeJS.Immediate | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private nextFlush: { promise: Promise<void>; resolve: (done: Promise<void>) => void } | null =
    null;
  private inFlight: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly apply: ApplyBatch,
    private readonly onBatchFailed: (channels: number) => void,
    private readonly isWanted: (channel: string) => boolean,
  ) {}

  /** `channel` started or stopped being followed: compare it with Redis at the next flush. */
  changed(channel: string): void {
    this.touched.add(channel);
    if (this.immediate !== null || this.closed) return;
    this.immediate = setImmediate(() => this.flush());
  }

  /**
   * Resolves once every change made so far has been acknowledged by Redis, or has failed (its
   * channels are then resent after RETRY_MS). Never rejects. While Redis is down the subscriber connection queues
   * its commands, so this waits for the reconnect.
   */
  settled(): Promise<void> {
    if (this.immediate === null) return this.inFlight;
    if (this.nextFlush === null) {
      let resolve!: (done: Promise<void>) => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.nextFlush = { promise, resolve };
    }
    return this.nextFlush.promise;
  }

  close(): void {
    this.closed = true;
    if (this.immediate !== null) clearImmediate(this.immediate);
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.immediate = null;
    this.retryTimer = null;
    this.nextFlush?.resolve(this.inFlight);
    this.nextFlush = null;
  }

  private flush(): void {
    this.immediate = null;
    const subscribe: string[] = [];
    const unsubscribe: string[] = [];
    for (const channel of this.touched) {
      const wanted = this.isWanted(channel);
      if (wanted === this.sent.has(channel) && !this.unsure.has(channel)) continue;
      this.unsure.delete(channel);
      if (wanted) {
        this.sent.add(channel);
        subscribe.push(channel);
      } else {
        this.sent.delete(channel);
        unsubscribe.push(channel);
      }
    }
    this.touched.clear();
    if (subscribe.length + unsubscribe.length > 0) {
      const batch = this.apply(subscribe, unsubscribe).catch(() =>
        this.failed([...subscribe, ...unsubscribe]),
      );
      this.inFlight = Promise.all([this.inFlight, batch]).then(() => undefined);
    }
    this.nextFlush?.resolve(this.inFlight);
    this.nextFlush = null;
  }

  private failed(channels: string[]): void {
    if (this.closed) return;
    this.onBatchFailed(channels.length);
    for (const channel of channels) {
      this.unsure.add(channel);
      this.touched.add(channel);
    }
    if (this.retryTimer !== null) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.immediate === null && !this.closed) this.flush();
    }, RETRY_MS);
    this.retryTimer.unref();
  }
}
