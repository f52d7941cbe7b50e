import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { DrainState } from '../lifecycle/drain-state.js';
import { Metrics } from '../metrics/metrics.js';
import { RedisService } from '../redis/redis.service.js';

/** Why a node is not ready; fixed strings, safe to show and to log. */
export type NotReadyReason = 'draining' | 'redis_unavailable' | 'audit_unavailable';

export type Readiness = { ready: true } | { ready: false; reasons: NotReadyReason[] };

@Injectable()
export class ReadinessService {
  constructor(
    private readonly drain: DrainState,
    private readonly redis: RedisService,
    private readonly metrics: Metrics,
    private readonly audit: AuditService,
  ) {
    metrics.onScrape(() => this.check());
  }

  check(): Readiness {
    const reasons: NotReadyReason[] = [];
    if (this.drain.draining) reasons.push('draining');
    if (!this.redis.isReady()) reasons.push('redis_unavailable');
    // The audit sink failed or its queue overflowed: records are being held or dropped.
    if (!this.audit.isAvailable()) reasons.push('audit_unavailable');
    this.metrics.ready.set(reasons.length === 0 ? 1 : 0);
    return reasons.length === 0 ? { ready: true } : { ready: false, reasons };
  }
}
