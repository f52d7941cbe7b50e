import type { Provider } from '@nestjs/common';
import {
  makeCounterProvider,
  makeGaugeProvider,
  makeHistogramProvider,
} from '@willsoto/nestjs-prometheus';
import type { CounterConfiguration, GaugeConfiguration, HistogramConfiguration } from 'prom-client';

/** One carecast metric: its prom-client kind and its options (name, help, labels, buckets). */
export type MetricDefinition =
  | { readonly kind: 'counter'; readonly options: CounterConfiguration<string> }
  | { readonly kind: 'gauge'; readonly options: GaugeConfiguration<string> }
  | { readonly kind: 'histogram'; readonly options: HistogramConfiguration<string> };

/**
 * Every carecast metric, declared once (the process and Node.js metrics come from
 * collectDefaultMetrics). Labels are bounded enums only: never a user, channel, ticket,
 * origin or path value. Names are part of the operations contract: dashboards and alerts
 * use them.
 */
export const METRIC_DEFINITIONS: readonly MetricDefinition[] = [
  gauge({
    name: 'carecast_redis_up',
    help: '1 while the Redis command connection is ready; always 1 in embedded mode',
  }),
  gauge({ name: 'carecast_ready', help: '1 while /readyz answers 200' }),
  counter({
    name: 'carecast_http_requests_total',
    help: 'HTTP requests answered, by listener, route template, method and status code',
    labelNames: ['listener', 'route', 'method', 'status'],
  }),
  histogram({
    name: 'carecast_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by listener and route template',
    labelNames: ['listener', 'route'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  }),
  counter({
    name: 'carecast_http_response_fields_removed_total',
    help:
      'Response body fields removed by the response-shape interceptor because the route did ' +
      'not declare them, by route template (a non-zero value is a bug worth a look)',
    labelNames: ['route'],
  }),
  counter({
    name: 'carecast_audit_records_total',
    help: 'Audit records durably written (fsynced) to the audit file, by event',
    labelNames: ['event'],
  }),
  counter({
    name: 'carecast_audit_write_failures_total',
    help:
      'Audit write problems: failed file opens or writes (sink_error), records dropped ' +
      '(queue_full, invalid_entry, closed), torn tails cut off at open (torn_tail)',
    labelNames: ['reason'],
  }),
  gauge({
    name: 'carecast_audit_last_checkpoint_timestamp_seconds',
    help: 'Unix time of the last audit checkpoint durably written to the audit file',
  }),
  counter({ name: 'carecast_tickets_issued_total', help: 'One-time WebSocket tickets issued' }),
  counter({
    name: 'carecast_tickets_rejected_total',
    help: 'Ticket requests refused, by error code',
    labelNames: ['reason'],
  }),
  counter({
    name: 'carecast_ws_upgrades_accepted_total',
    help: 'WebSocket upgrades answered with 101',
  }),
  counter({
    name: 'carecast_ws_upgrades_rejected_total',
    help: 'WebSocket upgrades refused with an HTTP status, by contract reason',
    labelNames: ['reason'],
  }),
  histogram({
    name: 'carecast_ws_handshake_duration_seconds',
    help: 'Time from upgrade request to 101 or refusal, ticket redemption included',
    labelNames: ['outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  }),
  gauge({ name: 'carecast_ws_connections', help: 'Open WebSocket sessions on this node' }),
  counter({
    name: 'carecast_ws_closes_total',
    help: 'WebSocket sessions closed, by close code (unknown codes as other)',
    labelNames: ['code'],
  }),
  counter({
    name: 'carecast_ws_frame_errors_total',
    help: 'Client frames answered with an error frame, by error code',
    labelNames: ['code'],
  }),
  gauge({
    name: 'carecast_subscriptions',
    help: 'Channel subscriptions of the sessions on this node',
  }),
  counter({
    name: 'carecast_subscribe_denied_total',
    help: 'Subscribe frames refused, by error code',
    labelNames: ['code'],
  }),
  counter({
    name: 'carecast_notifications_published_total',
    help: 'Notifications received on the internal API, by result (published, duplicate, rejected, unavailable)',
    labelNames: ['result'],
  }),
  counter({
    name: 'carecast_notifications_delivered_total',
    help: 'Notification frames written to local sockets',
  }),
  counter({
    name: 'carecast_delivery_failures_total',
    help: 'Notification deliveries not made, by reason',
    labelNames: ['reason'],
  }),
  histogram({
    name: 'carecast_delivery_latency_seconds',
    help: 'From acceptance on the internal API to the write on this node, per notification and node',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  }),
  counter({
    name: 'carecast_recoveries_total',
    help: 'Subscribes with since, by outcome (recovered: missed notifications replayed; not_recovered: client must refetch)',
    labelNames: ['outcome'],
  }),
  counter({
    name: 'carecast_replayed_frames_total',
    help: 'Notification frames replayed from history to recovering subscribers',
  }),
  gauge({
    name: 'carecast_bus_followed_channels',
    help: 'Channels this node follows on the fan-out bus (those with a local subscriber)',
  }),
  counter({
    name: 'carecast_bus_messages_received_total',
    help: 'Messages this node received from the fan-out bus, by kind (channel or control)',
    labelNames: ['kind'],
  }),
  counter({
    name: 'carecast_bus_publish_failures_total',
    help: 'Publishes to the fan-out bus refused because Redis was unavailable, by kind',
    labelNames: ['kind'],
  }),
  counter({
    name: 'carecast_break_glass_total',
    help: 'Break-glass grants (contract §8), by the reason code the doctor gave',
    labelNames: ['reason'],
  }),
  counter({
    name: 'carecast_backchannel_logouts_total',
    help:
      'Back-channel logout requests, by outcome: logged_out, or the check that refused it ' +
      '(malformed_request, invalid_token, stale_iat, replayed, not_logout_token, rate_limited, unavailable)',
    labelNames: ['outcome'],
  }),
];

/**
 * The Nest providers of every metric, made by @willsoto/nestjs-prometheus: each metric lives
 * in prom-client's global registry and is injected with `@InjectMetric(name)`.
 */
export const METRIC_PROVIDERS: Provider[] = METRIC_DEFINITIONS.map(providerOf);

function providerOf(definition: MetricDefinition): Provider {
  switch (definition.kind) {
    case 'counter':
      return makeCounterProvider(definition.options);
    case 'gauge':
      return makeGaugeProvider(definition.options);
    case 'histogram':
      return makeHistogramProvider(definition.options);
  }
}

function counter(options: CounterConfiguration<string>): MetricDefinition {
  return { kind: 'counter', options };
}

function gauge(options: GaugeConfiguration<string>): MetricDefinition {
  return { kind: 'gauge', options };
}

function histogram(options: HistogramConfiguration<string>): MetricDefinition {
  return { kind: 'histogram', options };
}
