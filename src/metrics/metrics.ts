import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter, Gauge, Histogram } from 'prom-client';
import { AUDIT_EVENTS } from '../core/audit-chain.js';
import { ScrapeHooks } from './scrape-hooks.js';

/** Why an audit record could not be written (see docs/audit.md). */
export const AUDIT_FAILURE_REASONS = [
  'sink_error',
  'queue_full',
  'torn_tail',
  'invalid_entry',
  'closed',
] as const;

/** How a subscribe with `since` ended (contract §4, "Positions and recovery"). */
export const RECOVERY_OUTCOMES = ['recovered', 'not_recovered'] as const;

/** What travels on the fan-out bus: notifications on a channel, or node-to-node control. */
export const BUS_MESSAGE_KINDS = ['channel', 'control'] as const;

/** How a back-channel logout request ended; claim problems are grouped as `not_logout_token`. */
export const LOGOUT_OUTCOMES = [
  'logged_out',
  'malformed_request',
  'invalid_token',
  'stale_iat',
  'replayed',
  'not_logout_token',
  'rate_limited',
  'unavailable',
] as const;
export type LogoutOutcome = (typeof LOGOUT_OUTCOMES)[number];

/**
 * Every carecast metric under the name features use (`this.metrics.delivered.inc()`), each
 * injected from its provider in metric-definitions.ts.
 *
 * The metrics live in prom-client's global registry, shared by every node in the process.
 * Invariant: one node per process (production runs exactly that). A process that builds
 * nodes one after another, as the test suite does, gets each node's metrics back to zero
 * here, before any service of that node can count; two live nodes in one process would
 * share their values, so tests that compare nodes run them as separate processes.
 */
@Injectable()
export class Metrics {
  constructor(
    @InjectMetric('carecast_redis_up') readonly redisUp: Gauge,
    @InjectMetric('carecast_ready') readonly ready: Gauge,
    @InjectMetric('carecast_http_requests_total')
    readonly httpRequests: Counter<'listener' | 'route' | 'method' | 'status'>,
    @InjectMetric('carecast_http_request_duration_seconds')
    readonly httpRequestDuration: Histogram<'listener' | 'route'>,
    @InjectMetric('carecast_http_response_fields_removed_total')
    readonly httpResponseFieldsRemoved: Counter<'route'>,
    @InjectMetric('carecast_audit_records_total') readonly auditRecords: Counter<'event'>,
    @InjectMetric('carecast_audit_write_failures_total')
    readonly auditWriteFailures: Counter<'reason'>,
    @InjectMetric('carecast_audit_last_checkpoint_timestamp_seconds')
    readonly auditLastCheckpoint: Gauge,
    @InjectMetric('carecast_tickets_issued_total') readonly ticketsIssued: Counter,
    @InjectMetric('carecast_tickets_rejected_total') readonly ticketsRejected: Counter<'reason'>,
    @InjectMetric('carecast_ws_upgrades_accepted_total') readonly wsUpgradesAccepted: Counter,
    @InjectMetric('carecast_ws_upgrades_rejected_total')
    readonly wsUpgradesRejected: Counter<'reason'>,
    @InjectMetric('carecast_ws_handshake_duration_seconds')
    readonly wsHandshakeDuration: Histogram<'outcome'>,
    @InjectMetric('carecast_ws_connections') readonly wsConnections: Gauge,
    @InjectMetric('carecast_ws_closes_total') readonly wsCloses: Counter<'code'>,
    @InjectMetric('carecast_ws_frame_errors_total') readonly wsFrameErrors: Counter<'code'>,
    @InjectMetric('carecast_bus_followed_channels') readonly busFollowedChannels: Gauge,
    @InjectMetric('carecast_bus_messages_received_total')
    readonly busMessagesReceived: Counter<'kind'>,
    @InjectMetric('carecast_bus_publish_failures_total')
    readonly busPublishFailures: Counter<'kind'>,
    @InjectMetric('carecast_subscriptions') readonly subscriptions: Gauge,
    @InjectMetric('carecast_subscribe_denied_total') readonly subscribeDenied: Counter<'code'>,
    @InjectMetric('carecast_notifications_published_total')
    readonly notificationsPublished: Counter<'result'>,
    @InjectMetric('carecast_notifications_delivered_total') readonly delivered: Counter,
    @InjectMetric('carecast_delivery_failures_total') readonly deliveryFailures: Counter<'reason'>,
    @InjectMetric('carecast_delivery_latency_seconds') readonly deliveryLatency: Histogram,
    @InjectMetric('carecast_recoveries_total') readonly recoveries: Counter<'outcome'>,
    @InjectMetric('carecast_replayed_frames_total') readonly replayedFrames: Counter,
    @InjectMetric('carecast_break_glass_total') readonly breakGlass: Counter<'reason'>,
    @InjectMetric('carecast_backchannel_logouts_total')
    readonly backchannelLogouts: Counter<'outcome'>,
    private readonly scrapeHooks: ScrapeHooks,
  ) {
    this.startFromZero();
  }

  /** Runs `hook` before every scrape, for gauges that are cheaper to read than to track. */
  onScrape(hook: () => void): void {
    this.scrapeHooks.add(hook);
  }

  /** This node's metrics from zero; the process and Node.js metrics belong to the process. */
  private startFromZero(): void {
    for (const field of Object.values(this)) {
      if (field instanceof Counter || field instanceof Gauge || field instanceof Histogram) {
        field.reset();
      }
    }
    // Every series exists from the start, so rate() and absence alerts work from zero. An
    // unlabelled histogram's buckets are there when it is created, but reset() drops them.
    this.deliveryLatency.zero({});
    for (const event of AUDIT_EVENTS) this.auditRecords.inc({ event }, 0);
    for (const reason of AUDIT_FAILURE_REASONS) this.auditWriteFailures.inc({ reason }, 0);
    for (const outcome of RECOVERY_OUTCOMES) this.recoveries.inc({ outcome }, 0);
    for (const outcome of LOGOUT_OUTCOMES) this.backchannelLogouts.inc({ outcome }, 0);
    for (const kind of BUS_MESSAGE_KINDS) {
      this.busMessagesReceived.inc({ kind }, 0);
      this.busPublishFailures.inc({ kind }, 0);
    }
  }
}
