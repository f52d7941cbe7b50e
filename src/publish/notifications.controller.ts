import { Controller, HttpCode, Inject, Post, Req, UseGuards } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { ApiErrors, PublisherSigned } from '../api-docs/api-responses.js';
import { PUBLISH_ACCEPTED_SCHEMA, PUBLISH_BODY_SCHEMA } from '../api-docs/json-schemas.js';
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
@ApiTags('publishing')
@PublisherSigned()
@UseGuards(PublisherSignatureGuard, PublishAdmissionGuard, PublisherThrottlerGuard)
export class NotificationsController {
  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly publisher: Publisher,
  ) {}

  @Post()
  @ApiOperation({
    summary: 'Publish one notification, or a batch of up to 100',
    description: 'Accepted at once; delivery is asynchronous and never blocks publishing.',
  })
  @ApiBody({ schema: PUBLISH_BODY_SCHEMA })
  @ApiAcceptedResponse({
    description: 'Accepted for delivery.',
    content: { 'application/json': { schema: PUBLISH_ACCEPTED_SCHEMA } },
  })
  @ApiErrors('bad_request', 'payload_too_large', 'invalid_payload', 'rate_limited', 'unavailable')
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
