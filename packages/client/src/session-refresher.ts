import { retryDelay } from './backoff.js';
import { Timer } from './clock.js';
import type { Connection } from './connection.js';
import type { Reply } from './frames.js';
import type { ResolvedOptions } from './options.js';
import { leaseExtended, refreshDelayMs } from './refresh-timing.js';
import { classifyTicketFailure, type TicketResponse } from './ticket.js';

type RefresherOptions = Pick<
  ResolvedOptions,
  'getTicket' | 'backoff' | 'refresh' | 'clock' | 'random'
>;

/**
 * Keeps one connection's session lease moving: an in-band `refresh` with a new ticket before
 * `sessionExpiresAt` (margin plus jitter), retried with backoff while the lease has room, so
 * a healthy session never sees 4001. When a refresh cannot move the lease (the access token
 * did not get younger), it stops: the session ends with 4001 and the client reconnects.
 */
export class SessionRefresher {
  private readonly timer: Timer;
  private connection: Connection | null = null;
  private leaseEnd = 0;
  private attempt = 0;

  constructor(
    private readonly options: RefresherOptions,
    private readonly failed: (code: string) => void,
  ) {
    this.timer = new Timer(options.clock);
  }

  /** A new connection's welcome. */
  start(connection: Connection, sessionExpiresAt: number): void {
    this.connection = connection;
    this.leaseEnd = 0;
    this.schedule(connection, sessionExpiresAt);
  }

  stop(): void {
    this.connection = null;
    this.timer.stop();
  }

  private schedule(connection: Connection, sessionExpiresAt: number): void {
    const extended = leaseExtended(this.leaseEnd, sessionExpiresAt);
    this.leaseEnd = sessionExpiresAt;
    if (!extended) return;
    this.attempt = 0;
    const { clock, refresh, random } = this.options;
    const delay = refreshDelayMs(sessionExpiresAt - clock.now(), refresh, random());
    this.timer.start(delay, () => void this.refresh(connection));
  }

  private async refresh(connection: Connection): Promise<void> {
    let ticket: TicketResponse;
    try {
      ticket = await this.options.getTicket();
    } catch (error) {
      if (connection !== this.connection) return;
      const failure = classifyTicketFailure(error);
      this.failed(failure.code);
      // A final refusal (403 user_blocked, ...) is not retried; the server closes the session.
      if (failure.kind === 'retry') this.retry(connection, failure.retryAfterSeconds);
      return;
    }
    if (connection !== this.connection) return;
    const reply = await new Promise<Reply | null>((resolve) =>
      connection.request({ type: 'refresh', ticket: ticket.ticket }, 'control', resolve),
    );
    if (reply === null || connection !== this.connection) return;
    if (reply.type === 'ack' && reply.sessionExpiresAt !== undefined) {
      return this.schedule(connection, reply.sessionExpiresAt);
    }
    this.failed(reply.type === 'error' ? reply.code : 'no_lease');
    this.retry(connection, null);
  }

  /** Again after a backoff, unless that would land within a second of the lease's end. */
  private retry(connection: Connection, retryAfterSeconds: number | null): void {
    const { backoff, clock, random } = this.options;
    const delay = retryDelay(this.attempt++, backoff, random(), retryAfterSeconds);
    if (clock.now() + delay >= this.leaseEnd - 1000) return;
    this.timer.start(delay, () => void this.refresh(connection));
  }
}
