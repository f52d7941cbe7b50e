import { type Clock, Timer } from './clock.js';
import { CLIENT_CLOSE } from './close-codes.js';
import {
  type ClientFrame,
  type Notification,
  parseServerFrame,
  type Reply,
  type Request,
  type Welcome,
} from './frames.js';
import { type RateLimit, SlidingWindow } from './sliding-window.js';

/**
 * The part of a WebSocket this client uses: the browser's `WebSocket` and Node's `ws` both
 * fit. Handlers take `never` so that either implementation's own event types are accepted;
 * the client reads only `data` of a message and `code` of a close.
 */
export interface WebSocketLike {
  readonly readyState: number;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** Opens a socket offering `protocols`; the `ws` package needs `origin` set here. */
export type WebSocketFactory = (url: string, protocols: string[]) => WebSocketLike;

export interface ConnectionLimits {
  /** RATE_SUBSCRIBE_PER_CONNECTION. */
  readonly subscribe: RateLimit;
  /** RATE_FRAMES_PER_CONNECTION: every client frame counts. */
  readonly frames: RateLimit;
}

export type LostCause = 'closed' | 'heartbeat_timeout' | 'connect_timeout';

export interface ConnectionEvents {
  welcome(frame: Welcome): void;
  notification(notification: Notification): void;
  revoked(channel: string): void;
  /** The socket is gone (or abandoned); never called after close(). */
  lost(code: number, cause: LostCause): void;
}

export interface ConnectionOptions {
  readonly clock: Clock;
  readonly limits: ConnectionLimits;
  readonly connectTimeoutMs: number;
  readonly nextId: () => string;
  readonly events: ConnectionEvents;
}

const OPEN = 1;
/** Frame-budget slots that subscribes leave free, so a refresh or ping is never starved. */
const CONTROL_RESERVE = 2;

/**
 * One socket, from the upgrade to its end: paced sending, replies matched by `id`, and the
 * heartbeat watchdog. Browsers answer the server's protocol pings without telling the page,
 * so liveness is judged by frames: after one heartbeat interval of silence it sends a JSON
 * `ping`, and after two it declares the connection dead.
 */
export class Connection {
  private readonly pending = new Map<string, (reply: Reply | null) => void>();
  private readonly control: ClientFrame[] = [];
  private readonly subscribes: ClientFrame[] = [];
  private readonly frameWindow: SlidingWindow;
  private readonly subscribeWindow: SlidingWindow;
  private readonly sendTimer: Timer;
  private readonly watchdog: Timer;
  private heldUntil = 0;
  private heartbeatMs = 0;
  private lastFrameAt: number;
  private pinging = false;
  private ended = false;

  constructor(
    private readonly socket: WebSocketLike,
    private readonly options: ConnectionOptions,
  ) {
    const { clock, limits } = options;
    this.frameWindow = new SlidingWindow(limits.frames);
    this.subscribeWindow = new SlidingWindow(limits.subscribe);
    this.sendTimer = new Timer(clock);
    this.watchdog = new Timer(clock);
    this.lastFrameAt = clock.now();
    socket.onmessage = ((event: { data: unknown }) => this.receive(event.data)) as never;
    socket.onclose = ((event: { code: number }) => this.lose(event.code, 'closed')) as never;
    // An error event is always followed by a close event, which carries what matters.
    socket.onerror = (() => undefined) as never;
    this.watchdog.start(options.connectTimeoutMs, () =>
      this.abandon(CLIENT_CLOSE.connectTimeout, 'connect_timeout'),
    );
  }

  /**
   * Sends `request` when the pacing allows, and calls `onReply` with the reply carrying its
   * id, or with null when the connection ends first. Subscribes are paced within both limits.
   * `onReply` runs synchronously with the reply's arrival, before any later frame is read:
   * a subscribe ack must set the channel's position before the notifications that follow it.
   */
  request(
    request: Request,
    lane: 'control' | 'subscribe',
    onReply: (reply: Reply | null) => void = () => undefined,
  ): void {
    if (this.ended) return onReply(null);
    const id = this.options.nextId();
    this.pending.set(id, onReply);
    (lane === 'control' ? this.control : this.subscribes).push({ ...request, id } as ClientFrame);
    this.pump();
  }

  /** Sends no subscribe for `ms` (after `rate_limited` or `unavailable`). */
  holdSubscribes(ms: number): void {
    this.heldUntil = Math.max(this.heldUntil, this.options.clock.now() + ms);
    this.pump();
  }

  /** Closes the socket on the app's behalf; no `lost` event follows. */
  close(): void {
    this.detach(CLIENT_CLOSE.normal);
  }

  private pump(): void {
    if (this.ended || this.socket.readyState !== OPEN) return;
    this.sendTimer.stop();
    for (;;) {
      const now = this.options.clock.now();
      const lane = this.control.length > 0 ? this.control : this.subscribes;
      if (lane.length === 0) return;
      const paced = lane === this.subscribes;
      const wait = paced
        ? Math.max(
            this.frameWindow.waitMs(now, CONTROL_RESERVE),
            this.subscribeWindow.waitMs(now),
            this.heldUntil - now,
          )
        : this.frameWindow.waitMs(now);
      if (wait > 0) return this.sendTimer.start(wait, () => this.pump());
      const frame = lane.shift()!;
      this.frameWindow.record(now);
      if (paced) this.subscribeWindow.record(now);
      try {
        this.socket.send(JSON.stringify(frame));
      } catch {
        return; // the socket is closing; its close event ends the connection
      }
    }
  }

  private receive(data: unknown): void {
    if (this.ended) return;
    this.lastFrameAt = this.options.clock.now();
    const frame = parseServerFrame(data);
    if (frame === null) return;
    switch (frame.type) {
      case 'welcome':
        this.heartbeatMs = frame.heartbeatSeconds * 1000;
        this.armWatchdog();
        this.pump();
        return this.options.events.welcome(frame);
      case 'ack':
      case 'pong':
      case 'error': {
        if (frame.id === undefined) return;
        const resolve = this.pending.get(frame.id);
        this.pending.delete(frame.id);
        return resolve?.(frame);
      }
      case 'notification': {
        const { channel, id, kind, ref, ts, seq } = frame;
        return this.options.events.notification({ channel, id, kind, ref, ts, seq });
      }
      case 'revoked':
        return this.options.events.revoked(frame.channel);
    }
  }

  private armWatchdog(): void {
    this.watchdog.start(this.heartbeatMs / 2, () => this.checkHeartbeat());
  }

  private checkHeartbeat(): void {
    const silentMs = this.options.clock.now() - this.lastFrameAt;
    if (silentMs >= 2 * this.heartbeatMs) {
      return this.abandon(CLIENT_CLOSE.heartbeatTimeout, 'heartbeat_timeout');
    }
    if (silentMs >= this.heartbeatMs && !this.pinging) {
      this.pinging = true;
      this.request({ type: 'ping' }, 'control', () => (this.pinging = false));
    }
    this.armWatchdog();
  }

  private abandon(code: number, cause: LostCause): void {
    if (this.ended) return;
    this.detach(code);
    this.options.events.lost(code, cause);
  }

  private lose(code: number, cause: LostCause): void {
    if (this.ended) return;
    this.end();
    this.options.events.lost(code, cause);
  }

  /** Stops listening first, so a dead socket's late close event cannot reach the client. */
  private detach(code: number): void {
    if (this.ended) return;
    this.socket.onmessage = null;
    this.socket.onclose = null;
    this.end();
    try {
      this.socket.close(code);
    } catch {
      // already closed
    }
  }

  private end(): void {
    this.ended = true;
    this.sendTimer.stop();
    this.watchdog.stop();
    for (const resolve of this.pending.values()) resolve(null);
    this.pending.clear();
    this.control.length = 0;
    this.subscribes.length = 0;
  }
}
