import { Module } from '@nestjs/common';
import { FanoutModule } from '../fanout/fanout.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { StoresModule } from '../stores/stores.module.js';
import { ThrottleModule } from '../throttle/throttle.module.js';
import { CareTeamsController } from './care-teams.controller.js';
import { NotificationsController } from './notifications.controller.js';
import { PublishAdmissionGuard } from './publish-admission.guard.js';
import { Publisher } from './publisher.service.js';
import { PublisherSignatureGuard } from './publisher-signature.guard.js';
import { UsersController } from './users.controller.js';

/** The internal API (`/internal/v1/*`), for signed publishing services only. */
@Module({
  imports: [MetricsModule, StoresModule, ThrottleModule, FanoutModule],
  controllers: [NotificationsController, CareTeamsController, UsersController],
  providers: [PublisherSignatureGuard, PublishAdmissionGuard, Publisher],
})
export class PublishModule {}
