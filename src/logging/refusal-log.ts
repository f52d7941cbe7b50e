import { Logger, type LoggerService } from '@nestjs/common';

/** Log lines about refusals one process writes per window, at most; the rest are counted. */
export const REFUSAL_LINES_PER_WINDOW = 20;
export const REFUSAL_WINDOW_MS = 10_000;

export type RefusalKind = 'ticket' | 'upgrade';

/**
 * Tells the developer, in the node's log, that a ticket request or a WebSocket upgrade was
 * refused and why: one `info` line per refusal with the reason code (and the HTTP status of
 * an upgrade), never a request value. A flood of refusals cannot fill the disk: past
 * REFUSAL_LINES_PER_WINDOW lines in a REFUSAL_WINDOW_MS window the lines stop, and the first
 * refusal of a later window first writes one `warn` line with how many were left out, by
 * reason. No timer: the window is checked when a refusal arrives. Metrics and the audit log
 * keep the exact count of every refusal either way.
 */
export class RefusalLog {
  private windowStart = -Infinity;
  private written = 0;
  private readonly suppressed = new Map<string, number>();

  constructor(
    /** Nest's Logger routes to the app's pino logger (NestPinoLogger). */
    private readonly logger: Pick<LoggerService, 'log' | 'warn'> = new Logger('Refusals'),
    private readonly linesPerWindow = REFUSAL_LINES_PER_WINDOW,
    private readonly windowMs = REFUSAL_WINDOW_MS,
    private readonly now: () => number = Date.now,
  ) {}

  refused(kind: RefusalKind, reason: string, status?: number): void {
    const at = this.now();
    if (at - this.windowStart >= this.windowMs) this.startWindow(at);
    if (this.written >= this.linesPerWindow) {
      const key = `${kind}:${reason}`;
      this.suppressed.set(key, (this.suppressed.get(key) ?? 0) + 1);
      return;
    }
    this.written += 1;
    const message = kind === 'ticket' ? 'ticket request refused' : 'websocket upgrade refused';
    this.logger.log(status === undefined ? { reason } : { reason, status }, message);
  }

  private startWindow(at: number): void {
    if (this.suppressed.size > 0) {
      const leftOut = Object.fromEntries(this.suppressed);
      const total = [...this.suppressed.values()].reduce((a, b) => a + b, 0);
      this.logger.warn(
        { leftOut, total, windowMs: this.windowMs },
        'refusals not logged (rate limit); metrics and the audit log count them all',
      );
      this.suppressed.clear();
    }
    this.windowStart = at;
    this.written = 0;
  }
}

/**
 * The process's one refusal log: the rate limit protects this process's log, whichever
 * Nest application in it refuses.
 */
export const refusalLog = new RefusalLog();
