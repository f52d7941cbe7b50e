import { Module } from '@nestjs/common';
import { CareTeamsModule } from '../care-teams/care-teams.module.js';
import { FanoutModule } from '../fanout/fanout.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { RateLimitModule } from '../rate-limit/rate-limit.module.js';
import { ChannelIndex } from './channel-index.js';
import { SubscriptionService } from './subscription-service.js';

/**
 * Channels: which local subscriber listens on what (the index, and the bus follows it
 * drives), and whether it may (the subscription decisions: grammar, rates, cap, policy over
 * care-team facts). The gateway keeps the socket lifecycle and imports this module; the
 * channel side sees a session only as a `Subscriber`, so nothing here imports the gateway.
 *
 * Care teams stay their own module, imported here: they are facts that the internal API
 * writes and the subscription policy reads, so the publishing side can depend on the store
 * without depending on channels.
 */
@Module({
  imports: [CareTeamsModule, FanoutModule, MetricsModule, RateLimitModule],
  providers: [ChannelIndex, SubscriptionService],
  exports: [ChannelIndex, SubscriptionService],
})
export class ChannelsModule {}
