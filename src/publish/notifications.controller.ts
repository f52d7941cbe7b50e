import { Controller, HttpCode, Inject, Post, Req, UseGuards } from '@nestjs/common';
import type { Request } from 'express';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import { serviceActor } from '../core/audit-entries.js';
import { parsePublishBody } from '../core/notification.js';
import { ApiError } from '../http/api-error.js';
import { jsonBody } from '../http/response-shape.js';
import { ResponseShape } from '../http/response-shape.interceptor.js';
import { PublisherThrottlerGuard } from '../throttle/publisher-throttler.guard.js';
import { PublishAdmissionGuard } from './publish-admission.guard.js';
import { Publisher } from './publisher.service.js';
import { publisherOf, PublisherSignatureGuard } from './publisher-signature.guard.js';

/**
 * `POST /internal/v1/notifications` (contract §5). The signature is checked first, then the
 * node's load (PublishAdmissionGuard: 503 while overloaded), then the key's rate
 * (`RATE_PUBLISH_PER_KEY`), then the body.
 */
@Controller('internal/v1/notifications')
@UseGuards(PublisherSignatureGuard, PublishAdmissionGuard, PublisherThrottlerGuard)
export class NotificationsController {
  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly publisher: Publisher,
  ) {}

  @Post()
  @HttpCode(202)
  @ResponseShape(jsonBody({ accepted: [{ id: 'string', duplicate: 'boolean' }] }))
  async publish(@Req() req: Request): Promise<{ accepted: { id: string; duplicate: boolean }[] }> {
    const actor = serviceActor(publisherOf(req));
    const parsed = parsePublishBody(req.body, this.config.publish.notificationKinds);
    if (!parsed.ok) {
      this.publisher.rejected(actor, 'invalid_payload');
      throw new ApiError('invalid_payload', {}, parsed.fields);
    }
    const outcome = await this.publisher.publish(publisherOf(req), parsed.notifications);
    if (outcome.ok) return { accepted: outcome.accepted };
    throw new ApiError('unavailable', { 'Retry-After': '1' });
  }
}
