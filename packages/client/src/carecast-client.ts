import { retryDelay } from './backoff.js';
import { Timer } from './clock.js';
import { closeClass } from './close-codes.js';
import { Connection, type LostCause } from './connection.js';
import type { Notification, Welcome } from './frames.js';
import {
  type CarecastClientOptions,
  type ClientError,
  type ClientEvents,
  type ConnectionState,
  type ResolvedOptions,
  resolveOptions,
  type StateChange,
} from './options.js';
import { SessionRefresher } from './session-refresher.js';
import type { Subscription, SubscriptionHandlers } from './subscription.js';
import { SubscriptionSet } from './subscription-set.js';
import { classifyTicketFailure, type TicketResponse } from './ticket.js';

// The package's public surface (this file is its entry point).
export type { BackoffOptions } from './backoff.js';
export type { Clock } from './clock.js';
export { closeClass, type CloseClass } from './close-codes.js';
export type { ConnectionLimits, WebSocketFactory, WebSocketLike } from './connection.js';
export type { Notification, Position } from './frames.js';
export type * from './options.js';
export type { RefreshOptions } from './refresh-timing.js';
export type { RateLimit } from './sliding-window.js';
export type { RecoveryFailure, Subscription, SubscriptionHandlers } from './subscription.js';
export * from './ticket.js';

/**
 * A carecast.v1 client: connects with a fresh ticket, keeps the session alive with in-band
 * refreshes, reconnects with capped full-jitter backoff unless a close code or a ticket
 * refusal says not to, and resubscribes every channel with the last position it saw.
 * Notifications stay in memory: nothing of them is logged or stored.
 */
export class CarecastClient {
  private readonly options: ResolvedOptions;
  private readonly subscriptions: SubscriptionSet;
  private readonly listeners: { [K in keyof ClientEvents]: Set<ClientEvents[K]> } = {
    state: new Set(),
    error: new Set(),
  };
  private readonly retryTimer;
  private readonly stableTimer;
  private readonly refresher: SessionRefresher;
  private connection: Connection | null = null;
  private currentState: ConnectionState = 'idle';
  /** Attempts since the last stable connection: the backoff exponent. */
  private attempt = 0;
  /** Bumped by connect() and close(), so results of an abandoned attempt are dropped. */
  private run = 0;
  private ids = 0;

  constructor(options: CarecastClientOptions) {
    this.options = resolveOptions(options);
    this.retryTimer = new Timer(this.options.clock);
    this.stableTimer = new Timer(this.options.clock);
    this.subscriptions = new SubscriptionSet(this.options, (error) => this.emitError(error));
    this.refresher = new SessionRefresher(this.options, (code) =>
      this.emitError({ source: 'refresh', code }),
    );
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  on<K extends keyof ClientEvents>(event: K, listener: ClientEvents[K]): () => void {
    const set = this.listeners[event] as Set<ClientEvents[K]>;
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Starts connecting (again, after close()); a no-op while running. */
  connect(): void {
    if (this.currentState !== 'idle' && this.currentState !== 'closed') return;
    this.run += 1;
    this.attempt = 0;
    void this.open(this.run);
  }

  /** Closes the connection and stops reconnecting; subscriptions are kept for connect(). */
  close(): void {
    if (this.currentState === 'closed') return;
    this.run += 1;
    this.connection?.close();
    this.stopSession();
    this.setState({ state: 'closed', cause: 'client' });
  }

  /** Subscribes now if connected, else at the next welcome; one subscription per channel. */
  subscribe(channel: string, handlers: SubscriptionHandlers): Subscription {
    return this.subscriptions.add(channel, handlers);
  }

  private async open(run: number): Promise<void> {
    this.setState({ state: 'connecting', attempt: this.attempt });
    let ticket: TicketResponse;
    try {
      ticket = await this.options.getTicket();
    } catch (error) {
      if (run !== this.run) return;
      const failure = classifyTicketFailure(error);
      this.emitError({ source: 'ticket', code: failure.code });
      if (failure.kind === 'final') {
        return this.setState({ state: 'closed', cause: 'ticket_refused', code: failure.code });
      }
      const detail = { cause: 'ticket_failed', code: failure.code } as const;
      return this.retryLater(detail, failure.retryAfterSeconds);
    }
    if (run !== this.run) return;
    let socket;
    try {
      socket = this.options.webSocket(ticket.url, [ticket.protocol, `ticket.${ticket.ticket}`]);
    } catch {
      return this.retryLater({ cause: 'closed', closeCode: 1006 }, null);
    }
    const connection: Connection = new Connection(socket, {
      clock: this.options.clock,
      limits: this.options.limits,
      connectTimeoutMs: this.options.connectTimeoutMs,
      nextId: () => `c${++this.ids}`,
      events: {
        welcome: (frame) => this.welcomed(connection, frame),
        notification: (n) => this.notified(connection, n),
        revoked: (channel) => this.revoked(connection, channel),
        lost: (code, cause) => this.lost(connection, code, cause),
      },
    });
    this.connection = connection;
  }

  private welcomed(connection: Connection, welcome: Welcome): void {
    if (connection !== this.connection) return;
    const { connectionId, sessionExpiresAt } = welcome;
    this.setState({ state: 'connected', connectionId, sessionExpiresAt });
    this.stableTimer.start(this.options.backoff.stableAfterMs, () => (this.attempt = 0));
    this.refresher.start(connection, sessionExpiresAt);
    this.subscriptions.attach(connection);
  }

  private lost(connection: Connection, code: number, cause: LostCause): void {
    if (connection !== this.connection) return;
    this.stopSession();
    const kind = cause === 'closed' ? closeClass(code) : 'reconnect';
    if (kind === 'final')
      return this.setState({ state: 'closed', cause: 'close_code', closeCode: code });
    this.retryLater({ cause, closeCode: code, closeClass: kind }, null);
  }

  private retryLater(
    detail: Omit<Extract<StateChange, { state: 'disconnected' }>, 'state' | 'retryInMs'>,
    retryAfterSeconds: number | null,
  ): void {
    const { backoff, random } = this.options;
    const retryInMs = retryDelay(this.attempt, backoff, random(), retryAfterSeconds);
    this.attempt += 1;
    this.setState({ state: 'disconnected', ...detail, retryInMs });
    const run = this.run;
    this.retryTimer.start(retryInMs, () => void this.open(run));
  }

  /** Ends everything tied to the current connection; subscriptions wait for the next one. */
  private stopSession(): void {
    this.connection = null;
    this.retryTimer.stop();
    this.stableTimer.stop();
    this.refresher.stop();
    this.subscriptions.detach();
  }

  private notified(connection: Connection, notification: Notification): void {
    if (connection === this.connection) this.subscriptions.notified(notification);
  }

  private revoked(connection: Connection, channel: string): void {
    if (connection === this.connection) this.subscriptions.revoked(channel);
  }

  private setState(change: StateChange): void {
    this.currentState = change.state;
    const { state, ...fields } = change;
    this.options.log(`carecast ${state}`, fields as Record<string, string | number>);
    for (const listener of this.listeners.state) guarded(() => listener(change));
  }

  private emitError(error: ClientError): void {
    for (const listener of this.listeners.error) guarded(() => listener(error));
  }
}

/** A listener that throws must not stop the reconnect loop. */
function guarded(call: () => void): void {
  try {
    call();
  } catch {
    // the app's bug; the client carries on
  }
}
