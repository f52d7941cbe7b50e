/**
 * One constructor per audit event (contract §7): the only way to make what
 * `AuditService.record` accepts. Each takes exactly the facts its event needs, typed with the
 * closed vocabularies of audit-vocabulary.ts, and sets `event`, `outcome` and `reason` itself,
 * so a free-form object, a user key as a reason or a user key as a channel does not compile.
 *
 * An event about a user has that user as `actor` (as §8 does for `user.logged_out`), also when
 * a publishing service caused it: §7 has a single actor field, and the service's request was
 * already authenticated by its signature (failures are audited as `notification.rejected`).
 */
import type { AuditEntry, AuditEvent } from './audit-chain.js';
import type {
  AuditActor,
  AuditReasons,
  BreakGlassReasonCode,
  CareTeamChange,
  CareTeamEvent,
  DeliveryFailure,
  DisconnectReason,
  GrantExpired,
  LogoutProblem,
  NotificationRejection,
  PublishResult,
  RecoveryOutcome,
  RefreshRefusal,
  RequestRateLimit,
  RevokeReason,
  ServiceActor,
  SubscribeBasis,
  SubscribeDenial,
  SubscribeRateLimit,
  TicketRejection,
  WsCloseReason,
} from './audit-vocabulary.js';
import type { ChannelName } from './channel.js';
import { closeCodeOf } from './close-codes.js';
import type { OpaqueId } from './opaque-id.js';
import type { UserKey } from './principal.js';
import type { SignatureFailure } from './publisher-signature.js';
import type { TransportFacts } from './transport.js';
import type { UpgradeRejection } from './upgrade.js';

/** The events features record; `audit.checkpoint` is written by the log itself. */
export type RecordedEvent = keyof AuditReasons;

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
// Compiles only while AuditReasons names exactly the chain's events other than checkpoints.
const _reasonsForEveryEvent: Same<RecordedEvent, Exclude<AuditEvent, 'audit.checkpoint'>> = true;

declare const constructed: unique symbol;

/** An entry made by a constructor below; nothing else has the (type-only) brand. */
export type AuditLogEntry<E extends RecordedEvent = RecordedEvent> = AuditEntry & {
  readonly event: E;
  readonly reason: AuditReasons[E];
  readonly actor: AuditActor;
  readonly [constructed]: true;
};

/** What a WebSocket session event needs of the session: whose it is and its connection id. */
export interface SessionRef {
  readonly userKey: UserKey;
  readonly id: string;
}

type Outcome = AuditEntry['outcome'];
type Optional = Partial<Pick<AuditEntry, 'jti' | 'conn' | 'channel' | 'notification' | 'code'>>;

/** The one place the brand is given; optional fields are copied only when present. */
function entry<E extends RecordedEvent>(
  event: E,
  outcome: Outcome,
  reason: AuditReasons[E],
  actor: AuditActor,
  optional: Optional = {},
): AuditLogEntry<E> {
  const fields: Record<string, unknown> = { event, outcome, reason, actor };
  for (const [name, value] of Object.entries(optional))
    if (value !== undefined) fields[name] = value;
  return fields as unknown as AuditLogEntry<E>;
}

const onSession = (session: SessionRef, more: Optional = {}): Optional => ({
  conn: session.id,
  ...more,
});

export function serviceActor(kid: string): ServiceActor {
  return `service:${kid}`;
}

export function ticketIssued(actor: UserKey, jti: string) {
  return entry('ticket.issued', 'allow', 'issued', actor, { jti });
}

export function ticketRejected(reason: TicketRejection, actor: UserKey | 'anonymous') {
  return entry('ticket.rejected', 'deny', reason, actor);
}

/** `status` is the HTTP status answered; `actor` and `jti` once the ticket verified. */
export function upgradeRejected(
  reason: UpgradeRejection,
  status: number,
  actor: UserKey | 'anonymous',
  jti?: string,
) {
  return entry('ws.upgrade_rejected', 'deny', reason, actor, { jti, code: status });
}

/** `transport`: the TLS version and cipher the connection was accepted with (closed values). */
export function wsConnected(session: SessionRef, jti: string, transport: TransportFacts) {
  return entry('ws.connected', 'allow', transport, session.userKey, onSession(session, { jti }));
}

/** `code` is the close code the socket ended with (the peer's own when it closed first). */
export function wsClosed(session: SessionRef, reason: WsCloseReason, code: number) {
  return entry('ws.closed', 'ok', reason, session.userKey, onSession(session, { code }));
}

export function wsSubscribeAllowed(
  session: SessionRef,
  channel: ChannelName,
  basis: SubscribeBasis,
) {
  return entry('ws.subscribe', 'allow', basis, session.userKey, onSession(session, { channel }));
}

/** A subscribe with `since`: allowed on `basis`, and whether the missed frames were replayed. */
export function wsSubscribeRecovering(
  session: SessionRef,
  channel: ChannelName,
  basis: SubscribeBasis,
  outcome: RecoveryOutcome,
) {
  const reason = `${basis}:${outcome}` as const;
  return entry('ws.subscribe', 'allow', reason, session.userKey, onSession(session, { channel }));
}

/** Without `channel` when the name did not parse: an invalid name is never recorded. */
export function wsSubscribeDenied(
  session: SessionRef,
  reason: SubscribeDenial,
  channel?: ChannelName,
) {
  return entry('ws.subscribe', 'deny', reason, session.userKey, onSession(session, { channel }));
}

export function wsUnsubscribed(session: SessionRef, channel: ChannelName) {
  const optional = onSession(session, { channel });
  return entry('ws.unsubscribe', 'ok', 'client_request', session.userKey, optional);
}

export function wsRevoked(
  session: SessionRef,
  channel: ChannelName,
  reason: RevokeReason | GrantExpired,
) {
  return entry('ws.revoked', 'deny', reason, session.userKey, onSession(session, { channel }));
}

export function wsRefreshed(session: SessionRef, jti: string) {
  return entry('ws.refreshed', 'allow', 'refreshed', session.userKey, onSession(session, { jti }));
}

/** `jti` once the ticket verified (a spent ticket), never for one that did not. */
export function wsRefreshRefused(session: SessionRef, reason: RefreshRefusal, jti?: string) {
  return entry('ws.refreshed', 'deny', reason, session.userKey, onSession(session, { jti }));
}

export function notificationPublished(
  actor: ServiceActor,
  result: PublishResult,
  notification: string,
  channel: ChannelName,
) {
  return entry('notification.published', 'ok', result, actor, { notification, channel });
}

export function notificationRejected(reason: NotificationRejection, actor: ServiceActor) {
  return entry('notification.rejected', 'deny', reason, actor);
}

/** Any internal request whose signature failed: no key id is trusted, so `anonymous`. */
export function signatureRejected(failure: SignatureFailure) {
  return entry('notification.rejected', 'deny', `invalid_signature:${failure}`, 'anonymous');
}

/** The session was closed with the failure's close code instead of being written to. */
export function deliveryFailed(
  session: SessionRef,
  reason: DeliveryFailure,
  channel: ChannelName | null,
  notification: string | null,
) {
  const optional = onSession(session, {
    channel: channel ?? undefined,
    notification: notification ?? undefined,
    code: closeCodeOf(reason),
  });
  return entry('notification.delivery_failed', 'error', reason, session.userKey, optional);
}

/** Doctor D joined or left patient P's care team: actor D, channel the one it authorizes. */
export function careTeamChanged(event: CareTeamEvent, patient: OpaqueId, doctor: OpaqueId) {
  const channel: ChannelName = `patient:${patient}`;
  return entry(event, 'ok', careTeamChangeOf(event), `doctor:${doctor}`, { channel });
}

function careTeamChangeOf<E extends CareTeamEvent>(event: E): AuditReasons[E];
function careTeamChangeOf(event: CareTeamEvent): CareTeamChange {
  switch (event) {
    case 'careteam.added':
      return 'care_team_member_added';
    case 'careteam.removed':
      return 'care_team_member_removed';
  }
}

/** A service disconnected `user` everywhere: actor that user, no channel. */
export function userDisconnected(user: UserKey, reason: DisconnectReason) {
  return entry('user.disconnected', 'ok', reason, user);
}

/** An HTTP route's named limit refused the request of `actor`. */
export function rateLimited(limit: RequestRateLimit, actor: UserKey | ServiceActor | 'anonymous') {
  return entry('rate.limited', 'deny', limit, actor);
}

/** A frame past the connection's frame budget; the frame itself is not recorded. */
export function frameRateLimited(session: SessionRef) {
  return entry('rate.limited', 'deny', 'frame_rate', session.userKey, onSession(session));
}

export function subscribeRateLimited(
  session: SessionRef,
  limit: SubscribeRateLimit,
  channel: ChannelName,
) {
  return entry('rate.limited', 'deny', limit, session.userKey, onSession(session, { channel }));
}

/**
 * A back-channel logout was accepted (contract §8). On the node that received it, `actor` is
 * the user key when the logout token names a carecast user, else `anonymous`; every node that
 * then closes sessions records one more per user closed there, with that user as actor.
 */
export function userLoggedOut(actor: UserKey | 'anonymous', outcome: 'allow' | 'ok') {
  return entry('user.logged_out', outcome, 'backchannel', actor);
}

/** A back-channel logout request refused with 400: no token claim is trusted, so `anonymous`. */
export function logoutRefused(problem: LogoutProblem) {
  return entry('user.logged_out', 'deny', `backchannel_refused:${problem}`, 'anonymous');
}

/** A break-glass grant (contract §8); the log seals it with a checkpoint right after. */
export function breakGlassGranted(
  session: SessionRef,
  channel: ChannelName,
  reason: BreakGlassReasonCode,
) {
  return entry(
    'access.break_glass',
    'allow',
    reason,
    session.userKey,
    onSession(session, { channel }),
  );
}
