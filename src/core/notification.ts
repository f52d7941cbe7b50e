/**
 * The body of `POST /internal/v1/notifications` (contract §5), parsed strictly, and the
 * `notification` server frame (contract §4).
 *
 * Accepted bodies: one notification object, or `{"notifications":[...]}` with 1 to 100 of
 * them. A notification has exactly `id` (opaque id), `channel` (a valid channel name), `kind`
 * (in the configured allowlist) and `ref` (opaque id). Because every value must be an opaque
 * id, a channel or an allowlisted kind, nothing shaped like PHI (an email, a name, an SSN, a
 * bare record number) can pass.
 *
 * Failures name fields, never values. Field names in `fields`:
 * - single body: the field name, e.g. `ref`, `id`, or an unknown field such as `patientName`;
 * - batch body: `notifications` for the array itself (not an array, 0 or more than 100
 *   items), `notifications[<i>]` for an item that is not an object, and
 *   `notifications[<i>].<field>` for an item's field, `<i>` counting from 0;
 * - `$` for the body itself when it is neither an object nor an envelope (an array, a string,
 *   a number, `null`);
 * - an unknown field whose name is not a plain identifier (`[A-Za-z_][A-Za-z0-9_]{0,63}`) is
 *   reported as `<unknown field>`: a key is publisher input too, and may itself carry PHI
 *   (`{"jane.doe@example.com": 1}`); a plain identifier is the schema's vocabulary;
 * - each name appears once, in body order, at most `MAX_REPORTED_FIELDS` names.
 *
 * Duplicate `id`s inside one batch are not an error here: the idempotency store accepts the
 * first and reports the others as duplicates, exactly as for separate requests.
 */
import { type Channel, formatChannel, parseChannel } from './channel.js';
import { type OpaqueId, isOpaqueId } from './opaque-id.js';
import { encodeServerFrame } from './protocol.js';

export interface Notification {
  /** The publisher's idempotency key. */
  readonly id: OpaqueId;
  readonly channel: Channel;
  /** One of the configured `NOTIFICATION_KINDS`. */
  readonly kind: string;
  readonly ref: OpaqueId;
}

export type PublishBodyResult =
  | { readonly ok: true; readonly notifications: Notification[] }
  | { readonly ok: false; readonly fields: string[] };

export const MAX_BATCH = 100;
export const MAX_REPORTED_FIELDS = 100;
export const BODY_FIELD = '$';
export const UNKNOWN_FIELD = '<unknown field>';

const BATCH_KEY = 'notifications';
const FIELDS = ['id', 'channel', 'kind', 'ref'] as const;
const PLAIN_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

type Field = (typeof FIELDS)[number];

export function parsePublishBody(
  body: unknown,
  allowedKinds: readonly string[],
): PublishBodyResult {
  const errors = new FieldList();
  if (!isPlainObject(body)) {
    errors.add(BODY_FIELD);
    return errors.result();
  }
  if (!Object.hasOwn(body, BATCH_KEY)) {
    const single = parseItem(body, allowedKinds, '', errors);
    return single === null ? errors.result() : { ok: true, notifications: [single] };
  }
  for (const key of Object.keys(body)) {
    if (key !== BATCH_KEY) errors.add(unknownName('', key));
  }
  const items = body[BATCH_KEY];
  if (!Array.isArray(items) || items.length === 0 || items.length > MAX_BATCH) {
    errors.add(BATCH_KEY);
    return errors.result();
  }
  const notifications: Notification[] = [];
  for (const [i, item] of (items as unknown[]).entries()) {
    const prefix = `${BATCH_KEY}[${i}]`;
    if (!isPlainObject(item)) {
      errors.add(prefix);
      continue;
    }
    const parsed = parseItem(item, allowedKinds, `${prefix}.`, errors);
    if (parsed !== null) notifications.push(parsed);
  }
  return errors.empty() ? { ok: true, notifications } : errors.result();
}

/**
 * The frame sent to subscribers, keys in the contract's order; `ts` in epoch milliseconds,
 * `seq` the notification's position on its channel (last, so it can be appended: see
 * encodeNotificationHead).
 */
export function encodeNotificationFrame(n: Notification, ts: number, seq: number): string {
  return encodeServerFrame({
    type: 'notification',
    channel: formatChannel(n.channel),
    id: n.id,
    kind: n.kind,
    ref: n.ref,
    ts,
    seq,
  });
}

/**
 * The frame without its `seq` and closing brace, encoded once by the publishing node before
 * the seq is known; `completeFrame(head, seq)` (core/position.ts) is exactly
 * `encodeNotificationFrame(n, ts, seq)`.
 */
export function encodeNotificationHead(n: Notification, ts: number): string {
  const frame = encodeNotificationFrame(n, ts, 0);
  return frame.slice(0, frame.lastIndexOf(',"seq":'));
}

function parseItem(
  item: Record<string, unknown>,
  allowedKinds: readonly string[],
  prefix: string,
  errors: FieldList,
): Notification | null {
  const unknown = Object.keys(item).filter((key) => !(FIELDS as readonly string[]).includes(key));
  for (const key of unknown) errors.add(unknownName(prefix, key));
  const id = item.id;
  const channel = typeof item.channel === 'string' ? parseChannel(item.channel) : null;
  const kind = item.kind;
  const ref = item.ref;
  const valid: Record<Field, boolean> = {
    id: isOpaqueId(id),
    channel: channel !== null && channel.ok,
    kind: typeof kind === 'string' && allowedKinds.includes(kind),
    ref: isOpaqueId(ref),
  };
  // A field inherited from a prototype is missing, not present.
  const invalid = FIELDS.filter((field) => !Object.hasOwn(item, field) || !valid[field]);
  for (const field of invalid) errors.add(`${prefix}${field}`);
  if (unknown.length > 0 || invalid.length > 0 || channel === null || !channel.ok) return null;
  return {
    id: id as OpaqueId,
    channel: channel.channel,
    kind: kind as string,
    ref: ref as OpaqueId,
  };
}

function unknownName(prefix: string, key: string): string {
  return `${prefix}${reportableFieldName(key)}`;
}

/**
 * How an unknown body key is named in `fields`: itself when it is a plain identifier (the
 * schema's vocabulary), else UNKNOWN_FIELD, since a key is caller input and may carry PHI.
 */
export function reportableFieldName(key: string): string {
  return PLAIN_IDENTIFIER.test(key) ? key : UNKNOWN_FIELD;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Field names in first-seen order, each once, capped. */
class FieldList {
  private readonly names = new Set<string>();

  add(name: string): void {
    if (this.names.size < MAX_REPORTED_FIELDS) this.names.add(name);
  }

  empty(): boolean {
    return this.names.size === 0;
  }

  result(): PublishBodyResult {
    return { ok: false, fields: [...this.names] };
  }
}

/**
 * How many notifications a request body claims to carry, before it is validated (for counting
 * refused requests and the load a request adds): the batch's length when the body has the
 * batch shape within the batch limit, else one.
 */
export function notificationCountOf(body: unknown): number {
  const items = (body as { notifications?: unknown } | null | undefined)?.notifications;
  return Array.isArray(items) && items.length >= 1 && items.length <= MAX_BATCH ? items.length : 1;
}
