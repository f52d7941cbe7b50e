import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  Logger,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { AuditService } from '../audit/audit.service.js';
import { AUDIT_QUEUE_CAPACITY } from '../audit/audit-queue.js';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import { serviceActor } from '../core/audit-entries.js';
import { notificationCountOf } from '../core/notification.js';
import {
  admitPublish,
  type PublishLimits,
  SHED_RETRY_AFTER_SECONDS,
  type ShedSignal,
} from '../core/publish-admission.js';
import { DeliveryLag } from '../fanout/delivery-lag.js';
import { ApiError } from '../http/api-error.js';
import { Publisher } from './publisher.service.js';
import { publisherOf } from './publisher-signature.guard.js';

/** A standing delivery queue this long means the node is behind: new publishes would only queue. */
const MAX_DELIVERY_LAG_MS = 200;

/**
 * Load shedding on `POST /internal/v1/notifications` (core/publish-admission.ts): after the
 * signature (only a verified key learns the node is loaded) and before the key's rate limit,
 * so a refusal costs no Redis round trip. A refused request is 503 `unavailable` with
 * `Retry-After`, counted in `carecast_notifications_published_total{result="unavailable"}` and
 * audited as `notification.rejected` (`unavailable`), like any other refusal of a signed
 * request; the log says when shedding starts and on which signal (once per episode).
 *
 * Owns the count of notifications in flight: added when a request is admitted, removed when
 * its response closes (answered or aborted), so the count can never leak.
 */
@Injectable()
export class PublishAdmissionGuard implements CanActivate {
  private readonly logger = new Logger('PublishAdmission');
  private inFlight = 0;
  /** The signal of the current shedding episode; null while requests are admitted. */
  private shedding: ShedSignal | null = null;
  private readonly limits: PublishLimits;

  constructor(
    @Inject(CONFIG) config: Config,
    private readonly audit: AuditService,
    private readonly lag: DeliveryLag,
    private readonly publisher: Publisher,
  ) {
    this.limits = {
      maxInFlight: config.publish.maxInFlight,
      // Half the queue: the writer catches up before a single record would have to be dropped.
      maxAuditBacklog: AUDIT_QUEUE_CAPACITY / 2,
      maxDeliveryLagMs: MAX_DELIVERY_LAG_MS,
    };
  }

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    const notifications = notificationCountOf(req.body);
    const load = {
      inFlight: this.inFlight,
      auditBacklog: this.audit.backlog,
      deliveryLagMs: this.lag.standingMs(Date.now()),
    };
    const admission = admitPublish(notifications, load, this.limits);
    switch (admission.kind) {
      case 'admit':
        this.shedding = null;
        this.inFlight += notifications;
        http.getResponse<Response>().once('close', () => (this.inFlight -= notifications));
        return true;
      case 'shed':
        if (this.shedding === null) {
          this.logger.warn({ signal: admission.signal }, 'overloaded: shedding publish requests');
        }
        this.shedding = admission.signal;
        this.publisher.rejected(serviceActor(publisherOf(req)), 'unavailable', notifications);
        throw new ApiError('unavailable', { 'Retry-After': String(SHED_RETRY_AFTER_SECONDS) });
    }
  }
}
