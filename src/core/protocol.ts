/**
 * The `carecast.v1` WebSocket protocol (contract §4): client frames parsed strictly, server
 * frames encoded from closed shapes. Every malformed frame yields an error value, so the
 * gateway can always answer with an error frame instead of dropping it.
 */
import { parseSince, type Position } from './position.js';

export const PROTOCOL = 'carecast.v1';

const FRAME_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_CHANNEL_LENGTH = 200;
const MAX_TICKET_LENGTH = 4096;
/** A reason's shape; whether it is one of BREAK_GLASS_REASONS is the decision's to say. */
const MAX_REASON_LENGTH = 64;

export type ClientFrame =
  | {
      readonly type: 'subscribe';
      readonly id: string;
      readonly channel: string;
      /** The last position the client saw: recover what it missed. */
      readonly since?: Position;
      /** Break-glass access (contract §8): the reason code; the allowlist is checked later. */
      readonly breakGlass?: { readonly reason: string };
    }
  | { readonly type: 'unsubscribe'; readonly id: string; readonly channel: string }
  | { readonly type: 'refresh'; readonly id: string; readonly ticket: string }
  | { readonly type: 'ping'; readonly id: string };

export type WsErrorCode =
  | 'bad_request'
  | 'unknown_type'
  | 'invalid_channel'
  | 'forbidden'
  | 'rate_limited'
  | 'too_many_subscriptions'
  | 'invalid_ticket'
  | 'unavailable';

export type ServerFrame =
  | { type: 'welcome'; connectionId: string; sessionExpiresAt: number; heartbeatSeconds: number }
  | { type: 'ack'; id: string; sessionExpiresAt?: number }
  | { type: 'ack'; id: string; epoch: string; seq: number; recovered?: boolean }
  | { type: 'error'; id?: string; code: WsErrorCode }
  | {
      type: 'notification';
      channel: string;
      id: string;
      kind: string;
      ref: string;
      ts: number;
      seq: number;
    }
  | { type: 'revoked'; channel: string }
  | { type: 'pong'; id: string };

/** A parse failure; `id` only when the frame carried a well-formed one, so it can be echoed. */
export type FrameError = { readonly code: 'bad_request' | 'unknown_type'; readonly id?: string };

export type ParsedFrame = { ok: true; frame: ClientFrame } | { ok: false; error: FrameError };

const FIELDS: Record<ClientFrame['type'], readonly string[]> = {
  subscribe: ['type', 'id', 'channel', 'since', 'breakGlass'],
  unsubscribe: ['type', 'id', 'channel'],
  refresh: ['type', 'id', 'ticket'],
  ping: ['type', 'id'],
};

export function parseClientFrame(text: string): ParsedFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail('bad_request');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return fail('bad_request');
  const raw = value as Record<string, unknown>;
  const id = typeof raw.id === 'string' && FRAME_ID.test(raw.id) ? raw.id : undefined;
  const type = raw.type;
  if (typeof type !== 'string') return fail('bad_request', id);
  if (!Object.hasOwn(FIELDS, type)) return fail('unknown_type', id);
  const kind = type as ClientFrame['type'];
  if (id === undefined) return fail('bad_request');
  if (Object.keys(raw).some((k) => !FIELDS[kind].includes(k))) return fail('bad_request', id);
  switch (kind) {
    case 'subscribe':
    case 'unsubscribe': {
      const channel = raw.channel;
      if (
        typeof channel !== 'string' ||
        channel.length === 0 ||
        channel.length > MAX_CHANNEL_LENGTH
      ) {
        return fail('bad_request', id);
      }
      if (kind === 'unsubscribe') return { ok: true, frame: { type: kind, id, channel } };
      let since: Position | undefined;
      if (Object.hasOwn(raw, 'since')) {
        since = parseSince(raw.since) ?? undefined;
        if (since === undefined) return fail('bad_request', id);
      }
      let breakGlass: { reason: string } | undefined;
      if (Object.hasOwn(raw, 'breakGlass')) {
        breakGlass = parseBreakGlass(raw.breakGlass) ?? undefined;
        if (breakGlass === undefined) return fail('bad_request', id);
      }
      return {
        ok: true,
        frame: {
          type: 'subscribe',
          id,
          channel,
          ...(since !== undefined ? { since } : {}),
          ...(breakGlass !== undefined ? { breakGlass } : {}),
        },
      };
    }
    case 'refresh': {
      const ticket = raw.ticket;
      if (typeof ticket !== 'string' || ticket.length === 0 || ticket.length > MAX_TICKET_LENGTH) {
        return fail('bad_request', id);
      }
      return { ok: true, frame: { type: kind, id, ticket } };
    }
    case 'ping':
      return { ok: true, frame: { type: kind, id } };
  }
}

export function encodeServerFrame(frame: ServerFrame): string {
  return JSON.stringify(frame);
}

/** Exactly `{"reason":"<string>"}`, the reason 1-64 characters. */
function parseBreakGlass(value: unknown): { reason: string } | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const keys = Object.keys(value);
  const reason = (value as Record<string, unknown>).reason;
  if (keys.length !== 1 || keys[0] !== 'reason' || typeof reason !== 'string') return null;
  return reason.length > 0 && reason.length <= MAX_REASON_LENGTH ? { reason } : null;
}

function fail(code: FrameError['code'], id?: string): ParsedFrame {
  return { ok: false, error: id === undefined ? { code } : { code, id } };
}
