import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startNode, type TestNode } from '../support/app.js';
import { request } from '../support/http-client.js';

/*
 * GET /metrics, served by @willsoto/nestjs-prometheus from prom-client's global registry:
 * the scrape contract operators and dashboards rely on.
 */

/** carecast's own metrics as `name type`, in declaration order: names are a contract. */
const CARECAST_METRICS = [
  'carecast_redis_up gauge',
  'carecast_ready gauge',
  'carecast_http_requests_total counter',
  'carecast_http_request_duration_seconds histogram',
  'carecast_http_response_fields_removed_total counter',
  'carecast_audit_records_total counter',
  'carecast_audit_write_failures_total counter',
  'carecast_audit_last_checkpoint_timestamp_seconds gauge',
  'carecast_tickets_issued_total counter',
  'carecast_tickets_rejected_total counter',
  'carecast_ws_upgrades_accepted_total counter',
  'carecast_ws_upgrades_rejected_total counter',
  'carecast_ws_handshake_duration_seconds histogram',
  'carecast_ws_connections gauge',
  'carecast_ws_closes_total counter',
  'carecast_ws_frame_errors_total counter',
  'carecast_subscriptions gauge',
  'carecast_subscribe_denied_total counter',
  'carecast_notifications_published_total counter',
  'carecast_notifications_delivered_total counter',
  'carecast_delivery_failures_total counter',
  'carecast_delivery_latency_seconds histogram',
  'carecast_recoveries_total counter',
  'carecast_replayed_frames_total counter',
  'carecast_bus_followed_channels gauge',
  'carecast_bus_messages_received_total counter',
  'carecast_bus_publish_failures_total counter',
  'carecast_break_glass_total counter',
  'carecast_backchannel_logouts_total counter',
];

/** Default process and Node.js metrics every platform has, under the carecast_ prefix. */
const PROCESS_METRICS = [
  'carecast_process_cpu_user_seconds_total counter',
  'carecast_process_cpu_system_seconds_total counter',
  'carecast_process_start_time_seconds gauge',
  'carecast_process_resident_memory_bytes gauge',
  'carecast_nodejs_eventloop_lag_seconds gauge',
  'carecast_nodejs_heap_size_used_bytes gauge',
  'carecast_nodejs_version_info gauge',
  'carecast_nodejs_gc_duration_seconds histogram',
];

const isProcessMetric = (entry: string) => /^carecast_(process|nodejs)_/.test(entry);

/** Every `# TYPE` line of a scrape as `name type`, in order. */
function declaredMetrics(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('# TYPE '))
    .map((l) => l.slice('# TYPE '.length));
}

/** The value of one sample, undefined when the series does not exist. */
function sample(text: string, series: string): string | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line?.slice(series.length + 1);
}

describe('GET /metrics', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startNode();
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('answers Prometheus text on the internal listener, never cached', async () => {
    const res = await request(`${node.internalUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatch(/^# HELP carecast_ready 1 while \/readyz answers 200$/m);
    expect(res.body).toMatch(/^carecast_ready 1$/m);
  });

  it('is not served on the public listener', async () => {
    const res = await request(`${node.publicUrl}/metrics`);
    expect(res.status).toBe(404);
    expect(res.json()).toEqual({ error: 'not_found' });
  });

  it('keeps every metric name and type: carecast_ ones, then the process and Node.js ones', async () => {
    const declared = declaredMetrics((await request(`${node.internalUrl}/metrics`)).body);
    expect(declared.filter((d) => !isProcessMetric(d))).toEqual(CARECAST_METRICS);
    expect(declared.filter(isProcessMetric)).toEqual(expect.arrayContaining(PROCESS_METRICS));
    expect(declared.filter((d) => !d.startsWith('carecast_'))).toEqual([]);
  });

  it('counts its own scrapes under the /metrics route template', async () => {
    await request(`${node.internalUrl}/metrics`);
    const text = (await request(`${node.internalUrl}/metrics`)).body;
    const scrapes =
      'carecast_http_requests_total{listener="internal",route="/metrics",method="GET",status="200"}';
    expect(Number(sample(text, scrapes))).toBeGreaterThanOrEqual(2);
  });
});

describe('nodes started one after another in one process', () => {
  it('each start from zero, with their own scrape hooks', async () => {
    const healthz =
      'carecast_http_requests_total{listener="internal",route="/healthz",method="GET",status="200"}';
    const first = await startNode();
    try {
      for (let i = 0; i < 3; i++) await request(`${first.internalUrl}/healthz`);
      expect(sample((await request(`${first.internalUrl}/metrics`)).body, healthz)).toBe('3');
    } finally {
      await first.stop();
    }
    const second = await startNode();
    try {
      const text = (await request(`${second.internalUrl}/metrics`)).body;
      expect(sample(text, healthz)).toBeUndefined();
      // The stopped node is draining; only the running node's readiness hook sets the gauge.
      expect(sample(text, 'carecast_ready')).toBe('1');
      expect(sample(text, 'carecast_audit_records_total{event="ws.connected"}')).toBe('0');
      expect(sample(text, 'carecast_bus_messages_received_total{kind="control"}')).toBe('0');
      expect(sample(text, 'carecast_delivery_latency_seconds_count')).toBe('0');
    } finally {
      await second.stop();
    }
  });
});
