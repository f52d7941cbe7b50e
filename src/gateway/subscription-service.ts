import { Inject, Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { CareTeamStore } from '../care-teams/care-team-store.js';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import { type Channel, formatChannel, parseChannel } from '../core/channel.js';
import { authorizeSubscribe, needsCareTeamLookup } from '../core/policy.js';
import type { WsErrorCode } from '../core/protocol.js';
import { Metrics } from '../metrics/metrics.js';
import { RateLimiter } from '../rate-limit/rate-limiter.js';
import { ChannelIndex } from './channel-index.js';
import type { Session } from './session.js';

export type SubscribeOutcome = { ok: true } | { ok: false; code: WsErrorCode };

/**
 * Subscribe and unsubscribe decisions for one session: channel grammar, per-connection and
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

  async subscribe(session: Session, name: string, now: number): Promise<SubscribeOutcome> {
    const parsed = parseChannel(name);
    if (!parsed.ok) return this.deny(session, null, 'invalid_channel', 'invalid_channel');
    const channel = formatChannel(parsed.channel);
    if (session.channels.has(channel)) return { ok: true };
    const limited = await this.rateLimited(session, now);
    if (limited) return this.deny(session, channel, 'rate_limited', limited);
    if (session.channels.size >= this.limits.maxSubscriptionsPerConnection) {
      return this.deny(session, channel, 'too_many_subscriptions', 'too_many_subscriptions');
    }
    const decision = await this.decide(session, parsed.channel);
    if (!decision.allow) return this.deny(session, channel, 'forbidden', decision.reason);
    if (this.index.add(session, channel)) await this.index.followed();
    this.audit.record({
      event: 'ws.subscribe',
      outcome: 'allow',
      reason: decision.basis,
      actor: session.userKey,
      conn: session.id,
      channel,
    });
    return { ok: true };
  }

  unsubscribe(session: Session, name: string): SubscribeOutcome {
    const parsed = parseChannel(name);
    if (!parsed.ok) return { ok: false, code: 'invalid_channel' };
    const channel = formatChannel(parsed.channel);
    if (this.index.remove(session, channel)) {
      this.audit.record({
        event: 'ws.unsubscribe',
        outcome: 'ok',
        reason: 'client_request',
        actor: session.userKey,
        conn: session.id,
        channel,
      });
    }
    return { ok: true };
  }

  /**
   * Re-evaluates `session`'s subscription to `channel` after a care-team change; a
   * subscription the policy no longer allows ends with a `revoked` frame.
   */
  async reevaluate(session: Session, channel: string): Promise<void> {
    const parsed = parseChannel(channel);
    if (!parsed.ok || !session.channels.has(channel)) return;
    const decision = await this.decide(session, parsed.channel);
    if (decision.allow || !this.index.remove(session, channel)) return;
    session.send({ type: 'revoked', channel });
    this.audit.record({
      event: 'ws.revoked',
      outcome: 'deny',
      reason: decision.reason,
      actor: session.userKey,
      conn: session.id,
      channel,
    });
  }

  private async decide(session: Session, channel: Channel) {
    const principal = session.principal;
    let careTeamMember = false;
    if (needsCareTeamLookup(principal, channel)) {
      try {
        careTeamMember = await this.careTeams.isMember(channel.id, principal.id);
      } catch {
        return { allow: false as const, reason: 'facts_unavailable' };
      }
    }
    return authorizeSubscribe(principal, channel, { careTeamMember });
  }

  /** The refusal reason when over a rate, else null. The per-user rate is cluster-wide. */
  private async rateLimited(session: Session, now: number): Promise<string | null> {
    if (!session.admitSubscribe(this.limits.subscribeRatePerConnection, now))
      return 'connection_rate';
    try {
      const user = await this.limiter.hit(
        `subscribe:${session.userKey}`,
        this.limits.subscribeRatePerUser,
        now,
      );
      return user.allowed ? null : 'user_rate';
    } catch {
      return 'rate_store_unavailable';
    }
  }

  private deny(
    session: Session,
    channel: string | null,
    code: WsErrorCode,
    reason: string,
  ): SubscribeOutcome {
    this.audit.record({
      event: code === 'rate_limited' ? 'rate.limited' : 'ws.subscribe',
      outcome: 'deny',
      reason,
      actor: session.userKey,
      conn: session.id,
      ...(channel ? { channel } : {}),
    });
    this.metrics.subscribeDenied.inc({ code });
    return { ok: false, code };
  }
}
