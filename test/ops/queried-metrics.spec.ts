import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startNode, type TestNode } from '../support/app.js';
import { request } from '../support/http-client.js';
import {
  alertRules,
  dashboard,
  dashboardQueries,
  declaredLabels,
  exposedSeriesNames,
  metricNamesIn,
  selectorLabels,
} from './ops-files.js';
import { unknownLabelValues } from './label-values.js';

/**
 * Every metric the Grafana dashboard and the alert rules query exists in `/metrics` of a
 * running node, and is queried only by labels it has and values those labels take: a renamed
 * metric, label or value breaks this spec, not a dashboard panel or an alert that silently
 * never fires.
 */
describe('metrics queried by the dashboard and the alert rules (embedded node)', () => {
  let node: TestNode;
  let exposed: Set<string>;

  beforeAll(async () => {
    node = await startNode();
    const res = await request(`${node.internalUrl}/metrics`);
    expect(res.status).toBe(200);
    exposed = exposedSeriesNames(res.body);
  });
  afterAll(async () => {
    await node?.stop();
  });

  const sources = {
    'ops/grafana/carecast.json': dashboardQueries(dashboard()),
    'ops/prometheus/alerts.yml': alertRules().map((r) => r.expr),
  };

  it.each(Object.entries(sources))('%s queries only metrics the node exposes', (_, exprs) => {
    const names = [...new Set(exprs.flatMap(metricNamesIn))];
    expect(names.length).toBeGreaterThan(10);
    expect(names.filter((name) => !exposed.has(name))).toEqual([]);
  });

  it.each(Object.entries(sources))(
    '%s selects carecast metrics only by their labels',
    (_, exprs) => {
      const wrong = exprs.flatMap((expr) =>
        selectorLabels(expr).flatMap(({ metric, labels }) => {
          const allowed = declaredLabels(metric) ?? ['job', 'instance'];
          return labels.filter((l) => !allowed.includes(l)).map((l) => `${metric}{${l}}`);
        }),
      );
      expect(wrong).toEqual([]);
    },
  );

  it.each(Object.entries(sources))('%s selects only label values the code exports', (_, exprs) => {
    expect(exprs.flatMap(unknownLabelValues)).toEqual([]);
  });
});
