import { setTimeout as delay } from 'node:timers/promises';
import type { RunningNode } from '../../support/app.js';
import { publish } from '../../support/publisher.js';

export interface PublishLoopOptions {
  /** Nodes to send to, in turn; a request that fails goes to the next one. */
  nodes: readonly RunningNode[];
  channels: readonly string[];
  /** Unique per test: ids are `<idPrefix>-<n>`. */
  idPrefix: string;
  /** Notifications per request (one per channel in turn). */
  batch: number;
  /** Pause between requests of one sender: the offered rate, not a wait for an event. */
  pauseMs: number;
  /** Requests in flight at once. */
  senders?: number;
  /**
   * Resend a request that did not get 202 (an error status, a reset, a refused connection),
   * with the same ids, until it does: the publisher's side of idempotency. Without it a
   * failed request is dropped and its ids were never accepted.
   */
  retry: boolean;
}

/** One notification request's fate, for the timing assertions of outage tests. */
export interface Attempt {
  status: number | 'network_error';
  ms: number;
}

/**
 * A publishing service under test: it sends notifications in batches for as long as it runs
 * and remembers which ids a node accepted (202) and on which channel. `accepted` is the
 * ground truth every subscriber must end up with, each id exactly once.
 */
export class PublishLoop {
  /** id -> channel, for every id some node answered 202 for. */
  readonly accepted = new Map<string, string>();
  readonly attempts: Attempt[] = [];
  private next = 0;
  private turn = 0;
  private running = false;
  private senders: Promise<void>[] = [];

  constructor(private readonly options: PublishLoopOptions) {}

  start(): void {
    this.running = true;
    const count = this.options.senders ?? 1;
    this.senders = Array.from({ length: count }, () => this.send());
  }

  /** Stops sending; resolves when every request in flight (retries included) has settled. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.senders);
  }

  /** Accepted ids on `channel`. */
  acceptedOn(channel: string): string[] {
    return [...this.accepted].filter(([, c]) => c === channel).map(([id]) => id);
  }

  private async send(): Promise<void> {
    while (this.running) {
      const notifications = this.batch();
      for (;;) {
        const node = this.options.nodes[this.turn++ % this.options.nodes.length]!;
        const started = performance.now();
        const res = await publish(node, { notifications }).catch(() => null);
        const ms = performance.now() - started;
        this.attempts.push({ status: res?.status ?? 'network_error', ms });
        if (res?.status === 202) {
          for (const n of notifications) this.accepted.set(n.id, n.channel);
          break;
        }
        // A retry keeps going after stop(): its ids may already be delivered and must end
        // accepted, or the test could not tell a lost notification from an abandoned one.
        if (!this.options.retry) break;
        await delay(50);
      }
      await delay(this.options.pauseMs);
    }
  }

  private batch() {
    const { channels, idPrefix, batch } = this.options;
    return Array.from({ length: batch }, () => {
      const n = this.next++;
      return {
        id: `${idPrefix}-${String(n).padStart(6, '0')}`,
        channel: channels[n % channels.length]!,
        kind: 'message.received',
        ref: `msg-${idPrefix}-${n}`,
      };
    });
  }
}
