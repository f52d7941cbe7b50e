import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import {
  dashboard,
  dashboardQueries,
  describeWithPromtool,
  metricNamesIn,
  panelsOf,
} from './ops-files.js';

/**
 * ops/grafana/carecast.json: importable as is (the Prometheus data source is a variable, not
 * a fixed uid), covering what operators watch, with queries Prometheus can parse. That every
 * metric it queries exists is checked against a running node in queried-metrics.spec.ts.
 */

const run = promisify(execFile);
const board = dashboard();
const queries = dashboardQueries(board);

/** What the dashboard must show, by the metric that shows it. */
const REQUIRED_METRICS = [
  'carecast_ws_connections',
  'carecast_ws_upgrades_accepted_total',
  'carecast_ws_upgrades_rejected_total',
  'carecast_tickets_rejected_total',
  'carecast_subscribe_denied_total',
  'carecast_notifications_delivered_total',
  'carecast_delivery_latency_seconds_bucket',
  'carecast_ws_closes_total',
  'carecast_notifications_published_total',
  'carecast_redis_up',
  'carecast_bus_followed_channels',
  'carecast_audit_records_total',
  'carecast_audit_write_failures_total',
  'carecast_audit_last_checkpoint_timestamp_seconds',
  'carecast_nodejs_eventloop_lag_p99_seconds',
  'carecast_process_resident_memory_bytes',
  'carecast_break_glass_total',
  'carecast_backchannel_logouts_total',
];

describe('Grafana dashboard', () => {
  it('takes its Prometheus data source from a variable, in every panel and query', () => {
    const variable = board.templating.list.find((v) => v.type === 'datasource');
    expect(variable).toMatchObject({ name: 'datasource', query: 'prometheus' });
    const fixed = panelsOf(board)
      .filter((p) => p.type !== 'row')
      .flatMap((p) => [p.datasource, ...(p.targets ?? []).map((t) => t.datasource)])
      .filter(
        (ds) => JSON.stringify(ds) !== JSON.stringify({ type: 'prometheus', uid: '${datasource}' }),
      );
    expect(fixed).toEqual([]);
  });

  it('has a stable uid, unique panel ids and panels that fit the 24-column grid', () => {
    expect(board.uid).toBe('carecast-overview');
    const panels = panelsOf(board);
    const ids = panels.map((p) => (p as { id?: number }).id);
    expect(new Set(ids).size).toBe(panels.length);
    for (const p of panels) {
      const grid = (p as { gridPos?: { x: number; w: number } }).gridPos!;
      expect(grid.x + grid.w).toBeLessThanOrEqual(24);
      expect(p.title).toBeTruthy();
    }
  });

  it('shows connections, upgrades, refusals, delivery, Redis, fan-out, audit, access and the process', () => {
    const queried = new Set(queries.flatMap(metricNamesIn));
    expect(REQUIRED_METRICS.filter((m) => !queried.has(m))).toEqual([]);
  });
});

describeWithPromtool('Grafana dashboard queries under promtool', (promtool) => {
  it('are valid PromQL once Grafana has filled in its variables', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'carecast-dashboard-'));
    try {
      const rules = queries.map((q, i) => ({
        record: `dashboard:query_${i}`,
        expr: q
          .replace(/^label_values\((.+), *\w+\)$/, '$1') // Grafana's, not PromQL: its selector
          .replaceAll('$__rate_interval', '5m')
          .replaceAll('$instance', '.*'),
      }));
      const file = path.join(dir, 'queries.yml');
      await writeFile(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
      const { stdout } = await run(promtool, ['check', 'rules', file]);
      expect(stdout).toContain(`SUCCESS: ${rules.length} rules found`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
