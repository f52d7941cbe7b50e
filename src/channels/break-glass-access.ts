import { Inject, Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import { breakGlassGranted } from '../core/audit-entries.js';
import type { SubscribeBasis, SubscribeDenial } from '../core/audit-vocabulary.js';
import {
  type BreakGlassRequest,
  breakGlassNeedsRate,
  breakGlassUntil,
  decideBreakGlass,
} from '../core/break-glass.js';
import type { Channel, ChannelName } from '../core/channel.js';
import { needsCareTeamLookup } from '../core/policy.js';
import type { WsErrorCode } from '../core/protocol.js';
import { Metrics } from '../metrics/metrics.js';
import { CareTeamStore } from '../stores/care-team-store/care-team-store.js';
import { RateLimiter } from '../stores/rate-limiter/rate-limiter.js';
import type { Subscriber } from './subscriber.js';

/** What SubscriptionService does with a break-glass subscribe. */
export type BreakGlassOutcome =
  | { readonly allow: true; readonly basis: SubscribeBasis; readonly granted: boolean }
  | {
      readonly allow: false;
      readonly code: Exclude<WsErrorCode, 'rate_limited'> | 'rate_limited';
      readonly reason: SubscribeDenial;
    };

/**
 * The shell of break-glass subscribe (contract §8); the decision is core/break-glass.ts.
 * Gathers the facts (care team, the session's scopes), spends a grant from the cluster-wide
 * RATE_BREAK_GLASS_PER_USER only when the decision turns on it, and for a grant records
 * `access.break_glass` sealed by a checkpoint (durable before this resolves), counts it, and
 * gives the subscriber the grant, which the session sweep ends (SessionRegistry).
 *
 * Fails closed: a care-team store, rate store or audit log that cannot answer refuses the
 * grant with `unavailable`; nothing is granted that is not durably on record.
 */
@Injectable()
export class BreakGlassAccess {
  private readonly settings: Config['breakGlass'];

  constructor(
    @Inject(CONFIG) config: Config,
    private readonly careTeams: CareTeamStore,
    private readonly limiter: RateLimiter,
    private readonly audit: AuditService,
    private readonly metrics: Metrics,
  ) {
    this.settings = config.breakGlass;
    // Every reason's series exists from zero, so the first grant shows in increase().
    for (const reason of this.settings.reasons) metrics.breakGlass.inc({ reason }, 0);
  }

  /** A subscribe within a live grant of this session needs no new one. */
  withinGrant(subscriber: Subscriber, channel: ChannelName, now: number): boolean {
    const until = subscriber.breakGlassUntil(channel);
    return until !== null && until > now;
  }

  async decide(
    subscriber: Subscriber,
    channel: Channel,
    name: ChannelName,
    request: BreakGlassRequest,
    now: number,
  ): Promise<BreakGlassOutcome> {
    const principal = subscriber.principal;
    const { reasons, scope } = this.settings;
    let careTeamMember = false;
    if (reasons.includes(request.reason) && needsCareTeamLookup(principal, channel)) {
      try {
        careTeamMember = await this.careTeams.isMember(channel.id, principal.id);
      } catch {
        // As for every subscribe: facts that could not be read are no decision; retry later.
        return { allow: false, code: 'unavailable', reason: 'facts_unavailable' };
      }
    }
    const facts = { careTeamMember, hasScope: subscriber.scopes.includes(scope) };
    let rateAllowed = false;
    if (breakGlassNeedsRate(principal, channel, request, reasons, facts)) {
      if (this.withinGrant(subscriber, name, now)) {
        return { allow: true, basis: 'break_glass', granted: false };
      }
      try {
        const hit = await this.limiter.hit(
          `break-glass:${subscriber.userKey}`,
          this.settings.ratePerUser,
          now,
        );
        rateAllowed = hit.allowed;
      } catch {
        return { allow: false, code: 'unavailable', reason: 'break_glass_rate_unavailable' };
      }
    }
    const decision = decideBreakGlass(principal, channel, request, reasons, {
      ...facts,
      rateAllowed,
    });
    switch (decision.kind) {
      case 'ordinary':
        return { allow: true, basis: decision.basis, granted: false };
      case 'deny':
        return { allow: false, code: decision.code, reason: decision.reason };
      case 'grant':
        return this.grant(subscriber, name, decision.reason, now);
    }
  }

  /** Seals the record first: nothing of the channel reaches the client before it is durable. */
  private async grant(
    subscriber: Subscriber,
    channel: ChannelName,
    reason: string,
    now: number,
  ): Promise<BreakGlassOutcome> {
    const sealed = await this.audit.recordSealed(breakGlassGranted(subscriber, channel, reason));
    if (!sealed) {
      return { allow: false, code: 'unavailable', reason: 'break_glass_audit_unavailable' };
    }
    subscriber.grantBreakGlass(
      channel,
      breakGlassUntil(now, this.settings.grantSeconds, subscriber.expiresAt),
    );
    this.metrics.breakGlass.inc({ reason });
    return { allow: true, basis: 'break_glass', granted: true };
  }
}
