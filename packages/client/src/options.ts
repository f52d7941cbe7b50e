import { type BackoffOptions, DEFAULT_BACKOFF } from './backoff.js';
import { type Clock, systemClock } from './clock.js';
import type { CloseClass } from './close-codes.js';
import type { ConnectionLimits, WebSocketFactory, WebSocketLike } from './connection.js';
import { DEFAULT_REFRESH, type RefreshOptions } from './refresh-timing.js';
import type { TicketResponse } from './ticket.js';

export interface CarecastClientOptions {
  /**
   * Returns a fresh `POST /v1/tickets` answer; called before every connection attempt and
   * every refresh. Throw a `TicketError` to report a refusal (see `ticketEndpoint`).
   */
  readonly getTicket: () => Promise<TicketResponse>;
  /** Opens the socket; the host's `WebSocket` by default. In Node pass one built on `ws`. */
  readonly webSocket?: WebSocketFactory;
  readonly backoff?: Partial<BackoffOptions>;
  readonly refresh?: Partial<RefreshOptions>;
  /** The gateway's per-connection limits; the contract's defaults unless the operator changed them. */
  readonly limits?: Partial<ConnectionLimits>;
  /** Give up on an attempt that has no `welcome` after this long (default 15 s). */
  readonly connectTimeoutMs?: number;
  /** Receives state names, codes and delays only: never a ticket, token or notification. */
  readonly log?: (message: string, fields: Readonly<Record<string, string | number>>) => void;
  readonly clock?: Clock;
  /** Uniform in [0, 1); Math.random by default. */
  readonly random?: () => number;
}

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'closed';

/** Why the client is not connected. */
export type DisconnectCause =
  | 'closed' // the socket closed (see closeCode)
  | 'heartbeat_timeout' // no frame for two heartbeat intervals
  | 'connect_timeout' // no welcome in time
  | 'ticket_failed'; // getTicket failed in a way worth retrying (see code)

export type StateChange =
  | { readonly state: 'connecting'; readonly attempt: number }
  | {
      readonly state: 'connected';
      readonly connectionId: string;
      readonly sessionExpiresAt: number;
    }
  | {
      readonly state: 'disconnected';
      readonly cause: DisconnectCause;
      readonly closeCode?: number;
      readonly closeClass?: CloseClass;
      /** The ticket error code, for `ticket_failed`. */
      readonly code?: string;
      readonly retryInMs: number;
    }
  | {
      readonly state: 'closed';
      /** `client`: close() was called; `close_code`: a final close; `ticket_refused`: 400/403. */
      readonly cause: 'client' | 'close_code' | 'ticket_refused';
      readonly closeCode?: number;
      readonly code?: string;
    };

/** Something went wrong that the client handled; for the app's monitoring. */
export interface ClientError {
  readonly source: 'ticket' | 'refresh' | 'subscribe' | 'handler';
  readonly code: string;
}

export interface ClientEvents {
  state: (change: StateChange) => void;
  error: (error: ClientError) => void;
}

export const DEFAULT_LIMITS: ConnectionLimits = {
  subscribe: { limit: 20, windowMs: 10_000 },
  frames: { limit: 100, windowMs: 10_000 },
};

export interface ResolvedOptions {
  readonly getTicket: () => Promise<TicketResponse>;
  readonly webSocket: WebSocketFactory;
  readonly backoff: BackoffOptions;
  readonly refresh: RefreshOptions;
  readonly limits: ConnectionLimits;
  readonly connectTimeoutMs: number;
  readonly log: NonNullable<CarecastClientOptions['log']>;
  readonly clock: Clock;
  readonly random: () => number;
}

type HostWebSocket = new (url: string, protocols: string[]) => WebSocketLike;

function hostWebSocket(url: string, protocols: string[]): WebSocketLike {
  const Host = (globalThis as unknown as { WebSocket?: HostWebSocket }).WebSocket;
  if (Host === undefined) throw new Error('no global WebSocket: pass the webSocket option');
  return new Host(url, protocols);
}

export function resolveOptions(options: CarecastClientOptions): ResolvedOptions {
  return {
    getTicket: options.getTicket,
    webSocket: options.webSocket ?? hostWebSocket,
    backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
    refresh: { ...DEFAULT_REFRESH, ...options.refresh },
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
    log: options.log ?? (() => undefined),
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
  };
}
