import { Inject, Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import {
  subscribeRateLimited,
  wsRevoked,
  wsSubscribeAllowed,
  wsSubscribeDenied,
  wsUnsubscribed,
} from '../core/audit-entries.js';
import type {
  RevokeReason,
  SubscribeDenial,
  SubscribeRateLimit,
} from '../core/audit-vocabulary.js';
import { type Channel, type ChannelName, formatChannel, parseChannel } from '../core/channel.js';
import { type AllowBasis, authorizeSubscribe, needsCareTeamLookup } from '../core/policy.js';
import type { WsErrorCode } from '../core/protocol.js';
import { Metrics } from '../metrics/metrics.js';
import { CareTeamStore } from '../stores/care-team-store/care-team-store.js';
import { RateLimiter } from '../stores/rate-limiter/rate-limiter.js';
import { ChannelIndex } from './channel-index.js';
import type { Subscriber } from './subscriber.js';

export type SubscribeOutcome = { ok: true } | { ok: false; code: WsErrorCode };

/** The policy's decision, or a denial because the care-team facts could not be read. */
type Decision =
  | { readonly allow: true; readonly basis: AllowBasis }
  | { readonly allow: false; readonly reason: RevokeReason };

/**
 * Subscribe and unsubscribe decisions for one subscriber: channel grammar, per-connection and
 * per-user (cluster-wide) rates, the subscription cap, then the pure policy over the care
 * team facts. Deny by default: when the facts cannot be read, the answer is `forbidden`.
 */
@Injectable()
export class SubscriptionService {
  private readonly limits: Config['websocket'];

  constructor(
    @Inject(CONFIG) config: Config,
    private readonly index: ChannelIndex,
    private readonly careTeams: CareTeamStore,
    private readonly limiter: RateLimiter,
    private readonly audit: AuditService,
    private readonly metrics: Metrics,
  ) {
    this.limits = config.websocket;
    metrics.onScrape(() => metrics.subscriptions.set(index.subscriptions));
  }

  async subscribe(subscriber: Subscriber, name: string, now: number): Promise<SubscribeOutcome> {
    const parsed = parseChannel(name);
    if (!parsed.ok) return this.deny(subscriber, 'invalid_channel', 'invalid_channel');
    const channel = formatChannel(parsed.channel);
    if (this.index.has(subscriber, channel)) return { ok: true };
    const limited = await this.rateLimited(subscriber, now);
    if (limited) return this.limited(subscriber, channel, limited);
    if (this.index.countOf(subscriber) >= this.limits.maxSubscriptionsPerConnection) {
      return this.deny(subscriber, 'too_many_subscriptions', 'too_many_subscriptions', channel);
    }
    const decision = await this.decide(subscriber, parsed.channel);
    if (!decision.allow) return this.deny(subscriber, 'forbidden', decision.reason, channel);
    if (this.index.add(subscriber, channel)) await this.index.followed();
    this.audit.record(wsSubscribeAllowed(subscriber, channel, decision.basis));
    return { ok: true };
  }

  unsubscribe(subscriber: Subscriber, name: string): SubscribeOutcome {
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
    const decision = await this.decide(subscriber, parsed.channel);
    if (decision.allow || !this.index.remove(subscriber, channel)) return;
    subscriber.send({ type: 'revoked', channel });
    this.audit.record(wsRevoked(subscriber, formatChannel(parsed.channel), decision.reason));
  }

  private async decide(subscriber: Subscriber, channel: Channel): Promise<Decision> {
    const principal = subscriber.principal;
    let careTeamMember = false;
    if (needsCareTeamLookup(principal, channel)) {
      try {
        careTeamMember = await this.careTeams.isMember(channel.id, principal.id);
      } catch {
        return { allow: false, reason: 'facts_unavailable' };
      }
    }
    return authorizeSubscribe(principal, channel, { careTeamMember });
  }

  /** The refusal reason when over a rate, else null. The per-user rate is cluster-wide. */
  private async rateLimited(
    subscriber: Subscriber,
    now: number,
  ): Promise<SubscribeRateLimit | null> {
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
    code: Exclude<WsErrorCode, 'rate_limited'>,
    reason: SubscribeDenial,
    channel?: ChannelName,
  ): SubscribeOutcome {
    this.audit.record(wsSubscribeDenied(subscriber, reason, channel));
    return this.refused(code);
  }

  private limited(
    subscriber: Subscriber,
    channel: ChannelName,
    limit: SubscribeRateLimit,
  ): SubscribeOutcome {
    this.audit.record(subscribeRateLimited(subscriber, limit, channel));
    return this.refused('rate_limited');
  }

  private refused(code: WsErrorCode): SubscribeOutcome {
    this.metrics.subscribeDenied.inc({ code });
    return { ok: false, code };
  }
}
