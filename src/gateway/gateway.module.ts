import { Module } from '@nestjs/common';
import { ChannelsModule } from '../channels/channels.module.js';
import { FanoutModule } from '../fanout/fanout.module.js';
import { LifecycleModule } from '../lifecycle/lifecycle.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { StoresModule } from '../stores/stores.module.js';
import { TicketsModule } from '../tickets/tickets.module.js';
import { ControlListener } from './control-listener.js';
import { Delivery } from './delivery.js';
import { FrameHandler } from './frame-handler.js';
import { Gateway } from './gateway.js';
import { SessionRegistry } from './session-registry.js';
import { UpgradeAuthenticator } from './upgrade-authenticator.js';

/**
 * The public WebSocket side, the socket lifecycle: upgrade checks, sessions, frame handling,
 * heartbeats and local delivery. Channels (index and subscription decisions) come from
 * ChannelsModule. It registers its delivery callback with the bus; the bus never imports
 * the gateway.
 */
@Module({
  imports: [
    LifecycleModule,
    MetricsModule,
    StoresModule,
    TicketsModule,
    ChannelsModule,
    FanoutModule,
  ],
  providers: [
    UpgradeAuthenticator,
    SessionRegistry,
    FrameHandler,
    Delivery,
    ControlListener,
    Gateway,
  ],
  exports: [UpgradeAuthenticator],
})
export class GatewayModule {}
