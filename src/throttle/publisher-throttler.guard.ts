import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { Request } from 'express';
import { AuditService } from '../audit/audit.service.js';
import { serviceActor } from '../core/audit-entries.js';
import type { ServiceActor } from '../core/audit-vocabulary.js';
import { notificationCountOf } from '../core/notification.js';
import { publisherOf } from '../publish/publisher-signature.guard.js';
import { Publisher } from '../publish/publisher.service.js';
import { NamedThrottlerGuard, type ThrottleRefusal } from './named-throttler.guard.js';

/**
 * `RATE_PUBLISH_PER_KEY` on the internal publishing routes, counted per key id across the
 * cluster. Runs after PublisherSignatureGuard, which verified the key id, and before the body
 * is validated, so a flood of malformed requests is limited too.
 */
@Injectable()
export class PublisherThrottlerGuard extends NamedThrottlerGuard {
  protected readonly throttlerName = 'publish';

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    audit: AuditService,
    private readonly publisher: Publisher,
  ) {
    super(options, storage, reflector, audit);
  }

  protected trackerOf(req: Request): string {
    return publisherOf(req);
  }

  protected actorOf(req: Request): ServiceActor {
    return serviceActor(publisherOf(req));
  }

  /** `notification.rejected` and the published-notifications counter, as for every refusal. */
  protected refused(req: Request, actor: ServiceActor, refusal: ThrottleRefusal): void {
    this.publisher.rejected(actor, refusal, notificationCountOf(req.body));
  }
}
