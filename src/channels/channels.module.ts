import { Module } from '@nestjs/common';
import { FanoutModule } from '../fanout/fanout.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { StoresModule } from '../stores/stores.module.js';
import { BreakGlassAccess } from './break-glass-access.js';
import { ChannelIndex } from './channel-index.js';
import { SubscriptionService } from './subscription-service.js';

/**
 * Channels: which local subscriber listens on what (the index, and the bus follows it
 * drives), and whether it may (the subscription decisions: grammar, rates, cap, policy over
 * care-team facts). The gateway keeps the socket lifecycle and imports this module; the
 * channel side sees a session only as a `Subscriber`, so nothing here imports the gateway.
 *
 * The care-team store comes from StoresModule, not from here: care teams are facts that the
 * internal API writes and the subscription policy reads, so the publishing side can depend on
 * the store without depending on channels.
 */
@Module({
  imports: [FanoutModule, MetricsModule, StoresModule],
  providers: [ChannelIndex, SubscriptionService, BreakGlassAccess],
  exports: [ChannelIndex, SubscriptionService],
})
export class ChannelsModule {}
