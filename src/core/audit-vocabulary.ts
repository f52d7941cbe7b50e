/**
 * The closed vocabularies of audit records (contract §7): who can be an `actor`, and one
 * `reason` union per event. Unions that already name a decision elsewhere in core are reused,
 * so a new rejection, close reason or policy outcome reaches the audit vocabulary by itself.
 *
 * Invariant: every reason is a fixed string chosen by carecast. None holds a user key, an id
 * or anything a request carried; ids go only into `actor`, `jti`, `conn`, `channel` and
 * `notification`.
 */
import type { BreakGlassDenial } from './break-glass.js';
import type { CloseReason } from './close-codes.js';
import type { HttpErrorCode } from './error-codes.js';
import type { LogoutClaimProblem } from './logout-token.js';
import type { AllowBasis, DenyReason } from './policy.js';
import type { UserKey } from './principal.js';
import type { WsErrorCode } from './protocol.js';
import type { SignatureFailure } from './publisher-signature.js';
import type { TransportFacts } from './transport.js';
import type { UpgradeRejection } from './upgrade.js';

/** A publishing service, named by the key id that signed its request. */
export type ServiceActor = `service:${string}`;

/**
 * Who an event is about: a user (`<role>:<id>`), a publishing service, `anonymous` before
 * anyone is identified, or `system` for the log's own checkpoints.
 */
export type AuditActor = UserKey | ServiceActor | 'anonymous' | 'system';

/** Every reason `POST /v1/tickets` refuses for; also the `{"error"}` code it answers with. */
export type TicketRejection = Extract<
  HttpErrorCode,
  | 'origin_not_allowed'
  | 'bad_request'
  | 'invalid_token'
  | 'unsupported_principal'
  | 'user_blocked'
  | 'rate_limited'
  | 'unavailable'
>;

/** `ws.closed`: why the node closed the session, or `peer_closed` when the client did. */
export type WsCloseReason = CloseReason | 'peer_closed';

/** The care-team facts could not be read, so the policy could not allow (deny by default). */
export type FactsUnavailable = 'facts_unavailable';

/**
 * `ws.subscribe` deny: the channel grammar, the subscription cap, or the policy refused; or a
 * store the decision needs was unreachable (answered `unavailable`, never a 4008 strike): the
 * care-team facts, the cluster-wide rate counter, or, once allowed, the channel's history.
 */
export type SubscribeDenial =
  | Extract<WsErrorCode, 'invalid_channel' | 'too_many_subscriptions'>
  | DenyReason
  | StoreUnavailable
  | BreakGlassDenial
  /** The break-glass grant rate could not be counted (its store is down). */
  | 'break_glass_rate_unavailable'
  /** The break-glass record could not be made durable and sealed, so nothing was granted. */
  | 'break_glass_audit_unavailable';

/** Which store a subscribe needed and could not reach. */
export type StoreUnavailable = FactsUnavailable | 'rate_store_unavailable' | 'history_unavailable';

/** Whether a subscribe with `since` replayed what the client missed (contract §4). */
export type RecoveryOutcome = 'recovered' | 'not_recovered';

/**
 * Why a subscribe was allowed: the policy's basis, or `break_glass` for a subscribe within a
 * live break-glass grant of the session (the grant itself is `access.break_glass`).
 */
export type SubscribeBasis = AllowBasis | 'break_glass';

/** `ws.subscribe` allow of a subscribe with `since`: why allowed, and whether it recovered. */
export type RecoveringSubscribe = `${SubscribeBasis}:${RecoveryOutcome}`;

/** `ws.revoked`: the policy, asked again, no longer allows the subscription. */
export type RevokeReason = DenyReason | FactsUnavailable;

/** `ws.revoked` of a break-glass subscription whose grant ran out. */
export type GrantExpired = 'break_glass_expired';

/**
 * `access.break_glass`: the reason code the doctor gave. One of BREAK_GLASS_REASONS, which
 * config restricts to `[a-z][a-z0-9_]{0,31}`: chosen by the operator, never free text.
 */
export type BreakGlassReasonCode = string;

/** `user.logged_out` of an accepted back-channel logout (contract §8). */
export type LogoutReason = 'backchannel';

/** Why `POST /v1/backchannel-logout` answered 400: which check the request failed. */
export type LogoutProblem =
  | 'malformed_request'
  | 'invalid_token'
  | LogoutClaimProblem
  | 'replayed'
  | 'rate_limited'
  | 'unavailable';

/** `user.logged_out` deny: `backchannel_refused:<problem>`. */
export type LogoutRefusal = `backchannel_refused:${LogoutProblem}`;

/**
 * `ws.refreshed` deny: the ticket did not verify, was spent, or names another user; or the
 * ticket store was unreachable (answered `unavailable`; the ticket may have been spent).
 */
export type RefreshRefusal =
  | Extract<UpgradeRejection, 'ticket_invalid' | 'ticket_expired' | 'ticket_reused' | 'unavailable'>
  | 'other_user';

/** `notification.published`: delivered to the bus, or an id already seen (not delivered). */
export type PublishResult = 'published' | 'duplicate';

/** `notification.rejected` of a signed request: the body, the key's rate, or a store. */
export type NotificationRejection = Extract<
  HttpErrorCode,
  'invalid_payload' | 'rate_limited' | 'unavailable'
>;

/** `notification.rejected` of an unsigned request: `invalid_signature:<failed check>`. */
export type SignatureRejection = `invalid_signature:${SignatureFailure}`;

/** `notification.delivery_failed`: the session was closed instead of written to. */
export type DeliveryFailure = Extract<CloseReason, 'slow_consumer'>;

export type CareTeamEvent = 'careteam.added' | 'careteam.removed';

export type CareTeamChange = 'care_team_member_added' | 'care_team_member_removed';

/** `user.disconnected`: closed everywhere, and with `blockSeconds` also blocked. */
export type DisconnectReason = 'disconnected' | 'disconnected_and_blocked';

/** `rate.limited` on a subscribe: the connection's rate or the user's (cluster-wide) rate. */
export type SubscribeRateLimit = 'connection_rate' | 'user_rate';

/** `rate.limited` on any frame past the connection's frame budget (RATE_FRAMES_PER_CONNECTION). */
export type FrameRateLimit = 'frame_rate';

/** `rate.limited` on an HTTP route: which named limit refused the request. */
export type RequestRateLimit = 'tickets_per_user' | 'publish_per_key' | 'backchannel_logout';

/** The reasons of every constructed event, by event (checkpoints are the writer's own). */
export interface AuditReasons {
  'ticket.issued': 'issued';
  'ticket.rejected': TicketRejection;
  'ws.upgrade_rejected': UpgradeRejection;
  'ws.connected': TransportFacts;
  'ws.closed': WsCloseReason;
  'ws.subscribe': SubscribeBasis | RecoveringSubscribe | SubscribeDenial;
  'ws.unsubscribe': 'client_request';
  'ws.revoked': RevokeReason | GrantExpired;
  'ws.refreshed': 'refreshed' | RefreshRefusal;
  'notification.published': PublishResult;
  'notification.rejected': NotificationRejection | SignatureRejection;
  'notification.delivery_failed': DeliveryFailure;
  'careteam.added': 'care_team_member_added';
  'careteam.removed': 'care_team_member_removed';
  'user.disconnected': DisconnectReason;
  'user.logged_out': LogoutReason | LogoutRefusal;
  'access.break_glass': BreakGlassReasonCode;
  'rate.limited': SubscribeRateLimit | FrameRateLimit | RequestRateLimit;
}
