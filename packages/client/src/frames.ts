/**
 * The carecast.v1 frames this client sends and reads (contract section 4). Server frames are
 * checked field by field; a frame of an unknown type, or one that does not have the fields
 * its type promises, is ignored, so a newer server does not break an older client.
 */
export interface Position {
  readonly epoch: string;
  readonly seq: number;
}

/** A notification as delivered to the app: opaque ids only, never PHI. */
export interface Notification {
  readonly channel: string;
  /** The publisher's event id; the same id is never delivered twice within 10 minutes. */
  readonly id: string;
  readonly kind: string;
  /** Opaque id of the record concerned: fetch it from the app's own API. */
  readonly ref: string;
  /** When the gateway accepted it, epoch milliseconds. */
  readonly ts: number;
  /** Its position on the channel: the previous one's plus one. */
  readonly seq: number;
}

export type ClientFrame =
  | { type: 'subscribe'; id: string; channel: string; since?: Position }
  | { type: 'unsubscribe'; id: string; channel: string }
  | { type: 'refresh'; id: string; ticket: string }
  | { type: 'ping'; id: string };

/** A client frame before the connection gives it an id. */
export type Request = WithoutId<ClientFrame>;
type WithoutId<F> = F extends unknown ? Omit<F, 'id'> : never;

export interface Welcome {
  readonly type: 'welcome';
  readonly connectionId: string;
  readonly sessionExpiresAt: number;
  readonly heartbeatSeconds: number;
}

export interface Ack {
  readonly type: 'ack';
  readonly id: string;
  readonly epoch?: string;
  readonly seq?: number;
  readonly recovered?: boolean;
  readonly sessionExpiresAt?: number;
}

export interface ErrorReply {
  readonly type: 'error';
  readonly id?: string;
  readonly code: string;
}

export interface Pong {
  readonly type: 'pong';
  readonly id: string;
}

export type Reply = Ack | ErrorReply | Pong;

export type ServerFrame =
  | Welcome
  | Reply
  | ({ readonly type: 'notification' } & Notification)
  | { readonly type: 'revoked'; readonly channel: string };

type Fields = Record<string, unknown>;

const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const optional = (v: unknown, check: (x: unknown) => boolean): boolean =>
  v === undefined || check(v);

/** The frame in `data`, or null for anything this client does not understand. */
export function parseServerFrame(data: unknown): ServerFrame | null {
  if (!isString(data)) return null;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const f = value as Fields;
  switch (f.type) {
    case 'welcome':
      return isString(f.connectionId) &&
        isNumber(f.sessionExpiresAt) &&
        isNumber(f.heartbeatSeconds)
        ? (f as unknown as Welcome)
        : null;
    case 'ack':
      return isString(f.id) &&
        optional(f.epoch, isString) &&
        optional(f.seq, isNumber) &&
        optional(f.recovered, (v) => typeof v === 'boolean') &&
        optional(f.sessionExpiresAt, isNumber)
        ? (f as unknown as Ack)
        : null;
    case 'error':
      return isString(f.code) && optional(f.id, isString) ? (f as unknown as ErrorReply) : null;
    case 'pong':
      return isString(f.id) ? (f as unknown as Pong) : null;
    case 'notification':
      return isString(f.channel) &&
        isString(f.id) &&
        isString(f.kind) &&
        isString(f.ref) &&
        isNumber(f.ts) &&
        isNumber(f.seq)
        ? (f as unknown as ServerFrame)
        : null;
    case 'revoked':
      return isString(f.channel) ? (f as unknown as ServerFrame) : null;
    default:
      return null;
  }
}
