import { Module } from '@nestjs/common';
import { FanoutModule } from '../fanout/fanout.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { StoresModule } from '../stores/stores.module.js';
import { TicketsModule } from '../tickets/tickets.module.js';
import { BackchannelLogoutController } from './backchannel-logout.controller.js';
import { BackchannelLogoutService } from './backchannel-logout.service.js';
import { LogoutRecorder } from './logout-recorder.js';
import { LogoutThrottlerGuard } from './logout-throttler.guard.js';

/**
 * OIDC back-channel logout (contract §8): the endpoint, its checks and its effect (a
 * watermark in the logout store, a control command on the bus). The sessions are closed by
 * each node's gateway (ControlListener), tickets refused by the tickets module
 * (NotLoggedOutGuard) and upgrades by the gateway's upgrade guards; this module only writes.
 */
@Module({
  imports: [MetricsModule, StoresModule, FanoutModule, TicketsModule],
  controllers: [BackchannelLogoutController],
  providers: [BackchannelLogoutService, LogoutRecorder, LogoutThrottlerGuard],
})
export class LogoutModule {}
