import { collectDefaultMetrics, Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { AUDIT_EVENTS } from '../core/audit-chain.js';

/** Why an audit record could not be written (see docs/audit.md). */
export const AUDIT_FAILURE_REASONS = [
  'sink_error',
  'queue_full',
  'torn_tail',
  'invalid_entry',
  'closed',
] as const;

/** What travels on the fan-out bus: notifications on a channel, or node-to-node control. */
export const BUS_MESSAGE_KINDS = ['channel', 'control'] as const;

/**
 * Every carecast metric, declared once. Labels are bounded enums only: never a user, channel,
 * ticket, origin or path value. One instance per app, on that app's own registry, so two
 * apps in one process never collide.
 */
export class Metrics {
  readonly redisUp: Gauge;
  readonly ready: Gauge;
  readonly httpRequests: Counter<'listener' | 'route' | 'method' | 'status'>;
  readonly httpRequestDuration: Histogram<'listener' | 'route'>;
  readonly httpResponseFieldsRemoved: Counter<'route'>;
  readonly auditRecords: Counter<'event'>;
  readonly auditWriteFailures: Counter<'reason'>;
  readonly auditLastCheckpoint: Gauge;
  readonly ticketsIssued: Counter;
  readonly ticketsRejected: Counter<'reason'>;
  readonly wsUpgradesAccepted: Counter;
  readonly wsUpgradesRejected: Counter<'reason'>;
  readonly wsHandshakeDuration: Histogram<'outcome'>;
  readonly wsConnections: Gauge;
  readonly wsCloses: Counter<'code'>;
  readonly wsFrameErrors: Counter<'code'>;
  readonly busFollowedChannels: Gauge;
  readonly busMessagesReceived: Counter<'kind'>;
  readonly busPublishFailures: Counter<'kind'>;
  readonly subscriptions: Gauge;
  readonly subscribeDenied: Counter<'code'>;
  readonly notificationsPublished: Counter<'result'>;
  readonly delivered: Counter;
  readonly deliveryFailures: Counter<'reason'>;
  readonly deliveryLatency: Histogram;

  private readonly scrapeHooks: (() => void)[] = [];

  constructor(readonly registry: Registry) {
    collectDefaultMetrics({ register: registry, prefix: 'carecast_' });
    const registers = [registry];
    this.redisUp = new Gauge({
      name: 'carecast_redis_up',
      help: '1 while the Redis command connection is ready; always 1 in embedded mode',
      registers,
    });
    this.ready = new Gauge({
      name: 'carecast_ready',
      help: '1 while /readyz answers 200',
      registers,
    });
    this.httpRequests = new Counter({
      name: 'carecast_http_requests_total',
      help: 'HTTP requests answered, by listener, route template, method and status code',
      labelNames: ['listener', 'route', 'method', 'status'],
      registers,
    });
    this.httpRequestDuration = new Histogram({
      name: 'carecast_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by listener and route template',
      labelNames: ['listener', 'route'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.httpResponseFieldsRemoved = new Counter({
      name: 'carecast_http_response_fields_removed_total',
      help:
        'Response body fields removed by the response-shape interceptor because the route did ' +
        'not declare them, by route template (a non-zero value is a bug worth a look)',
      labelNames: ['route'],
      registers,
    });
    this.auditRecords = new Counter({
      name: 'carecast_audit_records_total',
      help: 'Audit records durably written (fsynced) to the audit file, by event',
      labelNames: ['event'],
      registers,
    });
    this.auditWriteFailures = new Counter({
      name: 'carecast_audit_write_failures_total',
      help:
        'Audit write problems: failed file opens or writes (sink_error), records dropped ' +
        '(queue_full, invalid_entry, closed), torn tails cut off at open (torn_tail)',
      labelNames: ['reason'],
      registers,
    });
    this.auditLastCheckpoint = new Gauge({
      name: 'carecast_audit_last_checkpoint_timestamp_seconds',
      help: 'Unix time of the last audit checkpoint durably written to the audit file',
      registers,
    });
    this.ticketsIssued = new Counter({
      name: 'carecast_tickets_issued_total',
      help: 'One-time WebSocket tickets issued',
      registers,
    });
    this.ticketsRejected = new Counter({
      name: 'carecast_tickets_rejected_total',
      help: 'Ticket requests refused, by error code',
      labelNames: ['reason'],
      registers,
    });
    this.wsUpgradesAccepted = new Counter({
      name: 'carecast_ws_upgrades_accepted_total',
      help: 'WebSocket upgrades answered with 101',
      registers,
    });
    this.wsUpgradesRejected = new Counter({
      name: 'carecast_ws_upgrades_rejected_total',
      help: 'WebSocket upgrades refused with an HTTP status, by contract reason',
      labelNames: ['reason'],
      registers,
    });
    this.wsHandshakeDuration = new Histogram({
      name: 'carecast_ws_handshake_duration_seconds',
      help: 'Time from upgrade request to 101 or refusal, ticket redemption included',
      labelNames: ['outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.wsConnections = new Gauge({
      name: 'carecast_ws_connections',
      help: 'Open WebSocket sessions on this node',
      registers,
    });
    this.wsCloses = new Counter({
      name: 'carecast_ws_closes_total',
      help: 'WebSocket sessions closed, by close code (unknown codes as other)',
      labelNames: ['code'],
      registers,
    });
    this.wsFrameErrors = new Counter({
      name: 'carecast_ws_frame_errors_total',
      help: 'Client frames answered with an error frame, by error code',
      labelNames: ['code'],
      registers,
    });
    this.subscriptions = new Gauge({
      name: 'carecast_subscriptions',
      help: 'Channel subscriptions of the sessions on this node',
      registers,
    });
    this.subscribeDenied = new Counter({
      name: 'carecast_subscribe_denied_total',
      help: 'Subscribe frames refused, by error code',
      labelNames: ['code'],
      registers,
    });
    this.notificationsPublished = new Counter({
      name: 'carecast_notifications_published_total',
      help: 'Notifications received on the internal API, by result (published, duplicate, rejected, unavailable)',
      labelNames: ['result'],
      registers,
    });
    this.delivered = new Counter({
      name: 'carecast_notifications_delivered_total',
      help: 'Notification frames written to local sockets',
      registers,
    });
    this.deliveryFailures = new Counter({
      name: 'carecast_delivery_failures_total',
      help: 'Notification deliveries not made, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.deliveryLatency = new Histogram({
      name: 'carecast_delivery_latency_seconds',
      help: 'From acceptance on the internal API to the write on this node, per notification and node',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.busFollowedChannels = new Gauge({
      name: 'carecast_bus_followed_channels',
      help: 'Channels this node follows on the fan-out bus (those with a local subscriber)',
      registers,
    });
    this.busMessagesReceived = new Counter({
      name: 'carecast_bus_messages_received_total',
      help: 'Messages this node received from the fan-out bus, by kind (channel or control)',
      labelNames: ['kind'],
      registers,
    });
    this.busPublishFailures = new Counter({
      name: 'carecast_bus_publish_failures_total',
      help: 'Publishes to the fan-out bus refused because Redis was unavailable, by kind',
      labelNames: ['kind'],
      registers,
    });
    // Every series exists from the start, so rate() and absence alerts work from zero.
    for (const event of AUDIT_EVENTS) this.auditRecords.inc({ event }, 0);
    for (const reason of AUDIT_FAILURE_REASONS) this.auditWriteFailures.inc({ reason }, 0);
    for (const kind of BUS_MESSAGE_KINDS) {
      this.busMessagesReceived.inc({ kind }, 0);
      this.busPublishFailures.inc({ kind }, 0);
    }
  }

  /** Runs `hook` before every scrape, for gauges that are cheaper to read than to track. */
  onScrape(hook: () => void): void {
    this.scrapeHooks.push(hook);
  }

  async render(): Promise<string> {
    for (const hook of this.scrapeHooks) hook();
    return this.registry.metrics();
  }
}
