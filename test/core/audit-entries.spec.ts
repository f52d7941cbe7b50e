import { describe, expect, it } from '@jest/globals';
import { AUDIT_EVENTS, GENESIS_HASH, linkRecord } from '../../src/core/audit-chain.js';
import { verifyChain } from '../../src/core/audit-verify.js';
import {
  type AuditLogEntry,
  breakGlassGranted,
  careTeamChanged,
  deliveryFailed,
  frameRateLimited,
  logoutRefused,
  notificationPublished,
  notificationRejected,
  rateLimited,
  serviceActor,
  signatureRejected,
  subscribeRateLimited,
  ticketIssued,
  ticketRejected,
  upgradeRejected,
  userDisconnected,
  userLoggedOut,
  wsClosed,
  wsConnected,
  wsRefreshed,
  wsRefreshRefused,
  wsRevoked,
  wsSubscribeAllowed,
  wsSubscribeDenied,
  wsSubscribeRecovering,
  wsUnsubscribed,
} from '../../src/core/audit-entries.js';
import type { OpaqueId } from '../../src/core/opaque-id.js';

const DOCTOR = 'doctor:dr-7f3k2m9q';
const PATIENT_ID = 'pt-4c9a1b2e' as OpaqueId;
const DOCTOR_ID = 'dr-7f3k2m9q' as OpaqueId;
const CHANNEL = 'patient:pt-4c9a1b2e';
const JTI = 'Jx2-aaaaaaaaaaaaaaaaaaaa';
const SESSION = { userKey: DOCTOR, id: 'c-81f2a9d0' } as const;
const SERVICE = serviceActor('ehr-1');
const ON_SESSION = { actor: DOCTOR, conn: 'c-81f2a9d0' };

/** Each constructor, called as the shell calls it, and exactly the record fields it yields. */
// prettier-ignore
const CASES: [string, AuditLogEntry, Record<string, unknown>][] = [
  ['ticketIssued', ticketIssued(DOCTOR, JTI),
    { event: 'ticket.issued', outcome: 'allow', reason: 'issued', actor: DOCTOR, jti: JTI }],
  ['ticketRejected before a principal', ticketRejected('invalid_token', 'anonymous'),
    { event: 'ticket.rejected', outcome: 'deny', reason: 'invalid_token', actor: 'anonymous' }],
  ['ticketRejected of a user', ticketRejected('user_blocked', DOCTOR),
    { event: 'ticket.rejected', outcome: 'deny', reason: 'user_blocked', actor: DOCTOR }],
  ['upgradeRejected before the ticket verified', upgradeRejected('origin_not_allowed', 403, 'anonymous'),
    { event: 'ws.upgrade_rejected', outcome: 'deny', reason: 'origin_not_allowed', actor: 'anonymous', code: 403 }],
  ['upgradeRejected after it verified', upgradeRejected('ticket_reused', 401, DOCTOR, JTI),
    { event: 'ws.upgrade_rejected', outcome: 'deny', reason: 'ticket_reused', actor: DOCTOR, jti: JTI, code: 401 }],
  ['wsConnected over TLS 1.3', wsConnected(SESSION, JTI, 'tls1.3:TLS_AES_256_GCM_SHA384'),
    { event: 'ws.connected', outcome: 'allow', reason: 'tls1.3:TLS_AES_256_GCM_SHA384', ...ON_SESSION, jti: JTI }],
  ['wsConnected behind a TLS-terminating proxy', wsConnected(SESSION, JTI, 'tls_at_proxy'),
    { event: 'ws.connected', outcome: 'allow', reason: 'tls_at_proxy', ...ON_SESSION, jti: JTI }],
  ['wsClosed by the node', wsClosed(SESSION, 'access_revoked', 4503),
    { event: 'ws.closed', outcome: 'ok', reason: 'access_revoked', ...ON_SESSION, code: 4503 }],
  ['wsClosed by the peer', wsClosed(SESSION, 'peer_closed', 1000),
    { event: 'ws.closed', outcome: 'ok', reason: 'peer_closed', ...ON_SESSION, code: 1000 }],
  ['wsSubscribeAllowed', wsSubscribeAllowed(SESSION, CHANNEL, 'care_team'),
    { event: 'ws.subscribe', outcome: 'allow', reason: 'care_team', ...ON_SESSION, channel: CHANNEL }],
  ['wsSubscribeRecovering recovered', wsSubscribeRecovering(SESSION, CHANNEL, 'care_team', 'recovered'),
    { event: 'ws.subscribe', outcome: 'allow', reason: 'care_team:recovered', ...ON_SESSION, channel: CHANNEL }],
  ['wsSubscribeRecovering not recovered', wsSubscribeRecovering(SESSION, CHANNEL, 'own_channel', 'not_recovered'),
    { event: 'ws.subscribe', outcome: 'allow', reason: 'own_channel:not_recovered', ...ON_SESSION, channel: CHANNEL }],
  ['wsSubscribeDenied without a position', wsSubscribeDenied(SESSION, 'history_unavailable', CHANNEL),
    { event: 'ws.subscribe', outcome: 'deny', reason: 'history_unavailable', ...ON_SESSION, channel: CHANNEL }],
  ['wsSubscribeDenied', wsSubscribeDenied(SESSION, 'not_on_care_team', CHANNEL),
    { event: 'ws.subscribe', outcome: 'deny', reason: 'not_on_care_team', ...ON_SESSION, channel: CHANNEL }],
  ['wsSubscribeDenied with the rate store down', wsSubscribeDenied(SESSION, 'rate_store_unavailable', CHANNEL),
    { event: 'ws.subscribe', outcome: 'deny', reason: 'rate_store_unavailable', ...ON_SESSION, channel: CHANNEL }],
  ['wsSubscribeDenied of an invalid name', wsSubscribeDenied(SESSION, 'invalid_channel'),
    { event: 'ws.subscribe', outcome: 'deny', reason: 'invalid_channel', ...ON_SESSION }],
  ['wsUnsubscribed', wsUnsubscribed(SESSION, CHANNEL),
    { event: 'ws.unsubscribe', outcome: 'ok', reason: 'client_request', ...ON_SESSION, channel: CHANNEL }],
  ['wsRevoked', wsRevoked(SESSION, CHANNEL, 'facts_unavailable'),
    { event: 'ws.revoked', outcome: 'deny', reason: 'facts_unavailable', ...ON_SESSION, channel: CHANNEL }],
  ['wsRefreshed', wsRefreshed(SESSION, JTI),
    { event: 'ws.refreshed', outcome: 'allow', reason: 'refreshed', ...ON_SESSION, jti: JTI }],
  ['wsRefreshRefused of a spent ticket', wsRefreshRefused(SESSION, 'ticket_reused', JTI),
    { event: 'ws.refreshed', outcome: 'deny', reason: 'ticket_reused', ...ON_SESSION, jti: JTI }],
  ['wsRefreshRefused with the ticket store down', wsRefreshRefused(SESSION, 'unavailable', JTI),
    { event: 'ws.refreshed', outcome: 'deny', reason: 'unavailable', ...ON_SESSION, jti: JTI }],
  ['wsRefreshRefused of a bad ticket', wsRefreshRefused(SESSION, 'ticket_invalid'),
    { event: 'ws.refreshed', outcome: 'deny', reason: 'ticket_invalid', ...ON_SESSION }],
  ['notificationPublished', notificationPublished(SERVICE, 'duplicate', 'n-1a2b3c4d', CHANNEL),
    { event: 'notification.published', outcome: 'ok', reason: 'duplicate', actor: 'service:ehr-1', notification: 'n-1a2b3c4d', channel: CHANNEL }],
  ['notificationRejected', notificationRejected('invalid_payload', SERVICE),
    { event: 'notification.rejected', outcome: 'deny', reason: 'invalid_payload', actor: 'service:ehr-1' }],
  ['signatureRejected', signatureRejected('clock_skew'),
    { event: 'notification.rejected', outcome: 'deny', reason: 'invalid_signature:clock_skew', actor: 'anonymous' }],
  ['deliveryFailed', deliveryFailed(SESSION, 'slow_consumer', CHANNEL, 'n-1a2b3c4d'),
    { event: 'notification.delivery_failed', outcome: 'error', reason: 'slow_consumer', ...ON_SESSION, channel: CHANNEL, notification: 'n-1a2b3c4d', code: 4009 }],
  ['deliveryFailed on an ack, error or pong', deliveryFailed(SESSION, 'slow_consumer', null, null),
    { event: 'notification.delivery_failed', outcome: 'error', reason: 'slow_consumer', ...ON_SESSION, code: 4009 }],
  ['deliveryFailed of a message without id', deliveryFailed(SESSION, 'slow_consumer', CHANNEL, null),
    { event: 'notification.delivery_failed', outcome: 'error', reason: 'slow_consumer', ...ON_SESSION, channel: CHANNEL, code: 4009 }],
  ['careTeamChanged added', careTeamChanged('careteam.added', PATIENT_ID, DOCTOR_ID),
    { event: 'careteam.added', outcome: 'ok', reason: 'care_team_member_added', actor: DOCTOR, channel: CHANNEL }],
  ['careTeamChanged removed', careTeamChanged('careteam.removed', PATIENT_ID, DOCTOR_ID),
    { event: 'careteam.removed', outcome: 'ok', reason: 'care_team_member_removed', actor: DOCTOR, channel: CHANNEL }],
  ['userDisconnected', userDisconnected(DOCTOR, 'disconnected_and_blocked'),
    { event: 'user.disconnected', outcome: 'ok', reason: 'disconnected_and_blocked', actor: DOCTOR }],
  ['rateLimited on an HTTP route', rateLimited('publish_per_key', SERVICE),
    { event: 'rate.limited', outcome: 'deny', reason: 'publish_per_key', actor: 'service:ehr-1' }],
  ['userLoggedOut accepted', userLoggedOut('anonymous', 'allow'),
    { event: 'user.logged_out', outcome: 'allow', reason: 'backchannel', actor: 'anonymous' }],
  ['userLoggedOut sessions closed', userLoggedOut(DOCTOR, 'ok'),
    { event: 'user.logged_out', outcome: 'ok', reason: 'backchannel', actor: DOCTOR }],
  ['logoutRefused', logoutRefused('replayed'),
    { event: 'user.logged_out', outcome: 'deny', reason: 'backchannel_refused:replayed', actor: 'anonymous' }],
  ['breakGlassGranted', breakGlassGranted(SESSION, CHANNEL, 'emergency'),
    { event: 'access.break_glass', outcome: 'allow', reason: 'emergency', ...ON_SESSION, channel: CHANNEL }],
  ['wsRevoked of an ended grant', wsRevoked(SESSION, CHANNEL, 'break_glass_expired'),
    { event: 'ws.revoked', outcome: 'deny', reason: 'break_glass_expired', ...ON_SESSION, channel: CHANNEL }],
  ['wsSubscribeDenied without the scope', wsSubscribeDenied(SESSION, 'break_glass_no_scope', CHANNEL),
    { event: 'ws.subscribe', outcome: 'deny', reason: 'break_glass_no_scope', ...ON_SESSION, channel: CHANNEL }],
  ['subscribeRateLimited', subscribeRateLimited(SESSION, 'user_rate', CHANNEL),
    { event: 'rate.limited', outcome: 'deny', reason: 'user_rate', ...ON_SESSION, channel: CHANNEL }],
  ['frameRateLimited', frameRateLimited(SESSION),
    { event: 'rate.limited', outcome: 'deny', reason: 'frame_rate', ...ON_SESSION }],
];

describe('audit entry constructors', () => {
  it.each(CASES)('%s yields exactly the contract fields it was given', (_name, entry, fields) => {
    expect(entry).toStrictEqual(fields);
  });

  it.each(CASES)('%s links into a chain that verifies', (_name, entry) => {
    const at = { ts: '2026-03-01T12:00:00.000Z', node: 'gateway-1' };
    const record = linkRecord(null, entry, at);
    expect(record.prev).toBe(GENESIS_HASH);
    expect(verifyChain([record], { key: 'k' })).toMatchObject({ ok: true, records: 1 });
  });

  it('covers every event except the checkpoints the log writes itself', () => {
    const covered = new Set(CASES.map(([, entry]) => entry.event));
    expect([...covered].sort()).toEqual(
      AUDIT_EVENTS.filter((event) => event !== 'audit.checkpoint').sort(),
    );
  });

  it('never puts a user key into a reason or the channel of an event about a user', () => {
    for (const [, entry] of CASES) {
      expect(entry.reason).not.toMatch(/^(patient|doctor):/);
    }
    expect(userDisconnected(DOCTOR, 'disconnected')).not.toHaveProperty('channel');
    expect(careTeamChanged('careteam.added', PATIENT_ID, DOCTOR_ID).channel).toBe(CHANNEL);
  });
});

/** Type-level: `tsc` fails if any of these lines compiles (each must be an error). */
export function typeChecks(reason: string, user: typeof DOCTOR): void {
  // @ts-expect-error a user key is not a reason
  ticketRejected(user, 'anonymous');
  // @ts-expect-error a free-form string is not a reason
  wsSubscribeDenied(SESSION, reason);
  // @ts-expect-error a user key is not a disconnect reason
  userDisconnected(user, user);
  // @ts-expect-error a logout refusal names a check, not free text
  logoutRefused(reason);
  // @ts-expect-error a service cannot be the actor of a ticket
  ticketIssued(SERVICE, JTI);
  // @ts-expect-error a free-form string is not an actor
  notificationRejected('invalid_payload', reason);
  // @ts-expect-error care-team ids are opaque ids, not user keys or channels
  careTeamChanged('careteam.added', CHANNEL, user);
  // @ts-expect-error a close reason outside the vocabulary
  wsClosed(SESSION, 'kicked', 4000);
  // @ts-expect-error a cipher name outside the closed list is not a transport fact
  wsConnected(SESSION, JTI, 'tls1.3:TLS_NULL_WITH_NULL_NULL');
  const free = { event: 'ws.connected', outcome: 'allow', reason: 'connected', actor: user };
  // @ts-expect-error a hand-built object is not a constructed entry
  const _entry: AuditLogEntry = free;
}
