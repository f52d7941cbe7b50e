import { Inject, Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import {
  subscribeRateLimited,
  wsRevoked,
  wsSubscribeAllowed,
  wsSubscribeDenied,
  wsSubscribeRecovering,
  wsUnsubscribed,
} from '../core/audit-entries.js';
import type {
  RevokeReason,
  StoreUnavailable,
  SubscribeBasis,
  SubscribeDenial,
  SubscribeRateLimit,
} from '../core/audit-vocabulary.js';
import type { BreakGlassRequest } from '../core/break-glass.js';
import { type Channel, type ChannelName, formatChannel, parseChannel } from '../core/channel.js';
import { authorizeSubscribe, needsCareTeamLookup } from '../core/policy.js';
import { type Position, recoveryOf } from '../core/position.js';
import type { WsErrorCode } from '../core/protocol.js';
import { Metrics } from '../metrics/metrics.js';
import { CareTeamStore } from '../stores/care-team-store/care-team-store.js';
import { ChannelLog, type HistoryRead } from '../stores/channel-log/channel-log.js';
import { RateLimiter } from '../stores/rate-limiter/rate-limiter.js';
import { BreakGlassAccess } from './break-glass-access.js';
import { ChannelIndex } from './channel-index.js';
import type { Subscriber } from './subscriber.js';

/**
 * An allowed subscribe: what its ack says and what goes out before it. While `held`, the
 * subscriber keeps the channel's live messages (Subscriber.hold); the gateway writes the replay,
 * the ack, then releases them (Delivery.catchUp).
 */
export interface CatchUp {
  readonly channel: ChannelName;
  readonly position: Position;
  /** null for a subscribe without `since`; else whether it recovered. */
  readonly recovered: boolean | null;
  /** The missed frames, in seq order; empty unless recovered. */
  readonly replay: readonly string[];
  readonly held: boolean;
}

export type SubscribeOutcome = { ok: true; catchUp: CatchUp } | { ok: false; code: WsErrorCode };
export type UnsubscribeOutcome = { ok: true } | { ok: false; code: WsErrorCode };

/** The policy's decision, or a denial because the care-team facts could not be read. */
type Decision =
  | { readonly allow: true; readonly basis: SubscribeBasis }
  | { readonly allow: false; readonly reason: RevokeReason };

/**
 * Subscribe and unsubscribe decisions for one subscriber: channel grammar, per-connection and
 * per-user (cluster-wide) rates, the subscription cap, then the pure policy over the care
 * team facts. Deny by default: when a store the decision needs (the care-team facts, the
 * per-user rate, the history) cannot be read, the subscribe is refused `unavailable`.
 *
 * An allowed subscribe then follows the channel (holding its live messages on the
 * subscriber), waits until the bus receives it, and only then reads the channel's position
 * and, with `since`, the frames missed: every notification after that position reaches the
 * hold, so after the ack nothing is missing and, past the ack's seq, nothing comes twice.
 */
@Injectable()
export class SubscriptionService {
  private readonly limits: Config['websocket'];
  private readonly historyOn: boolean;

  constructor(
    @Inject(CONFIG) config: Config,
    private readonly index: ChannelIndex,
    private readonly careTeams: CareTeamStore,
    private readonly log: ChannelLog,
    private readonly limiter: RateLimiter,
    private readonly audit: AuditService,
    private readonly metrics: Metrics,
    private readonly breakGlass: BreakGlassAccess,
  ) {
    this.limits = config.websocket;
    this.historyOn = config.history.size > 0;
    metrics.onScrape(() => metrics.subscriptions.set(index.subscriptions));
  }

  async subscribe(
    subscriber: Subscriber,
    name: string,
    since: Position | null,
    now: number,
    breakGlass: BreakGlassRequest | null = null,
  ): Promise<SubscribeOutcome> {
    const parsed = parseChannel(name);
    if (!parsed.ok) return this.deny(subscriber, 'invalid_channel', 'invalid_channel');
    const channel = formatChannel(parsed.channel);
    // Already subscribed: no new checks; a `since` still recovers, through a hold.
    if (this.index.has(subscriber, channel)) {
      if (since !== null) subscriber.hold(channel);
      return this.position(subscriber, channel, since, null, now);
    }
    const limited = await this.rateLimited(subscriber, now);
    if (limited === 'rate_store_unavailable')
      return this.deny(subscriber, 'unavailable', limited, channel);
    if (limited) return this.limited(subscriber, channel, limited);
    if (this.index.countOf(subscriber) >= this.limits.maxSubscriptionsPerConnection) {
      return this.deny(subscriber, 'too_many_subscriptions', 'too_many_subscriptions', channel);
    }
    let basis: SubscribeBasis;
    let audited = true;
    if (breakGlass === null) {
      const decision = await this.decide(subscriber, parsed.channel, now);
      if (!decision.allow) {
        // Facts that could not be read are no decision: the client retries, no strike.
        const code = decision.reason === 'facts_unavailable' ? 'unavailable' : 'forbidden';
        return this.deny(subscriber, code, decision.reason, channel);
      }
      basis = decision.basis;
    } else {
      const decision = await this.breakGlass.decide(
        subscriber,
        parsed.channel,
        channel,
        breakGlass,
        now,
      );
      if (!decision.allow) return this.deny(subscriber, decision.code, decision.reason, channel);
      basis = decision.basis;
      // A new grant's record is `access.break_glass`, already sealed in the log.
      audited = !decision.granted;
    }
    subscriber.hold(channel);
    if (this.index.add(subscriber, channel)) await this.index.followed();
    return this.position(subscriber, channel, since, basis, now, audited);
  }

  unsubscribe(subscriber: Subscriber, name: string): UnsubscribeOutcome {
    const parsed = parseChannel(name);
    if (!parsed.ok) return { ok: false, code: 'invalid_channel' };
    const channel = formatChannel(parsed.channel);
    if (this.index.remove(subscriber, channel)) {
      this.audit.record(wsUnsubscribed(subscriber, channel));
    }
    return { ok: true };
  }

  /** Re-evaluates every subscription of `subscriber`, after a refresh changed its principal. */
  async reevaluateAll(subscriber: Subscriber): Promise<void> {
    for (const channel of this.index.channelsOf(subscriber))
      await this.reevaluate(subscriber, channel);
  }

  /**
   * Re-evaluates `subscriber`'s subscription to `channel` after a care-team change; a
   * subscription the policy no longer allows ends with a `revoked` frame.
   */
  async reevaluate(subscriber: Subscriber, channel: string): Promise<void> {
    const parsed = parseChannel(channel);
    if (!parsed.ok || !this.index.has(subscriber, channel)) return;
    // A live break-glass grant holds whatever the care team does meanwhile.
    const decision = await this.decide(subscriber, parsed.channel, Date.now());
    if (decision.allow || !this.index.remove(subscriber, channel)) return;
    subscriber.send({ type: 'revoked', channel });
    this.audit.record(wsRevoked(subscriber, formatChannel(parsed.channel), decision.reason));
  }

  /**
   * A break-glass grant ran out (the session sweep): the subscription ends with a `revoked`
   * frame unless the policy now allows it on its own (the doctor joined the care team).
   */
  async grantEnded(subscriber: Subscriber, channel: string): Promise<void> {
    const parsed = parseChannel(channel);
    if (!parsed.ok || !this.index.has(subscriber, channel)) return;
    const decision = await this.decide(subscriber, parsed.channel, Date.now());
    if (decision.allow || !this.index.remove(subscriber, channel)) return;
    subscriber.send({ type: 'revoked', channel });
    this.audit.record(wsRevoked(subscriber, formatChannel(parsed.channel), 'break_glass_expired'));
  }

  /**
   * Reads the position (and the replay) once the channel is followed. `basis` is null for a
   * channel the subscriber already had, which is neither audited again nor dropped on failure.
   */
  private async position(
    subscriber: Subscriber,
    channel: ChannelName,
    since: Position | null,
    basis: SubscribeBasis | null,
    now: number,
    audited = true,
  ): Promise<SubscribeOutcome> {
    const held = basis !== null || since !== null;
    let read: HistoryRead;
    try {
      read = await this.log.read(channel, since, now);
    } catch {
      subscriber.release(channel);
      if (basis !== null) this.index.remove(subscriber, channel);
      return this.deny(subscriber, 'unavailable', 'history_unavailable', channel);
    }
    const recovered =
      since === null ? null : recoveryOf(since, read.position, read.replay, this.historyOn);
    if (recovered !== null) {
      this.metrics.recoveries.inc({ outcome: recovered ? 'recovered' : 'not_recovered' });
    }
    if (basis !== null && audited) {
      this.audit.record(
        recovered === null
          ? wsSubscribeAllowed(subscriber, channel, basis)
          : wsSubscribeRecovering(
              subscriber,
              channel,
              basis,
              recovered ? 'recovered' : 'not_recovered',
            ),
      );
    }
    const replay = recovered === true ? read.replay : [];
    return { ok: true, catchUp: { channel, position: read.position, recovered, replay, held } };
  }

  private async decide(subscriber: Subscriber, channel: Channel, now: number): Promise<Decision> {
    const principal = subscriber.principal;
    let careTeamMember = false;
    if (needsCareTeamLookup(principal, channel)) {
      try {
        careTeamMember = await this.careTeams.isMember(channel.id, principal.id);
      } catch {
        return { allow: false, reason: 'facts_unavailable' };
      }
    }
    const decision = authorizeSubscribe(principal, channel, { careTeamMember });
    if (!decision.allow && this.breakGlass.withinGrant(subscriber, formatChannel(channel), now)) {
      return { allow: true, basis: 'break_glass' };
    }
    return decision;
  }

  /**
   * The refusal reason when over a rate or when the rate store is unreachable, else null. The
   * per-user rate is cluster-wide.
   */
  private async rateLimited(
    subscriber: Subscriber,
    now: number,
  ): Promise<SubscribeRateLimit | Extract<StoreUnavailable, 'rate_store_unavailable'> | null> {
    if (!subscriber.admitSubscribe(this.limits.subscribeRatePerConnection, now))
      return 'connection_rate';
    try {
      const user = await this.limiter.hit(
        `subscribe:${subscriber.userKey}`,
        this.limits.subscribeRatePerUser,
        now,
      );
      return user.allowed ? null : 'user_rate';
    } catch {
      return 'rate_store_unavailable';
    }
  }

  /** `channel` only once the name parsed: an invalid name is never recorded. */
  private deny(
    subscriber: Subscriber,
    code: WsErrorCode,
    reason: SubscribeDenial,
    channel?: ChannelName,
  ): { ok: false; code: WsErrorCode } {
    this.audit.record(wsSubscribeDenied(subscriber, reason, channel));
    return this.refused(code);
  }

  private limited(
    subscriber: Subscriber,
    channel: ChannelName,
    limit: SubscribeRateLimit,
  ): { ok: false; code: WsErrorCode } {
    this.audit.record(subscribeRateLimited(subscriber, limit, channel));
    return this.refused('rate_limited');
  }

  private refused(code: WsErrorCode): { ok: false; code: WsErrorCode } {
    this.metrics.subscribeDenied.inc({ code });
    return { ok: false, code };
  }
}
