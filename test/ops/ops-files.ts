import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from '@jest/globals';
import { parse } from 'yaml';
import { METRIC_DEFINITIONS } from '../../src/metrics/metric-definitions.js';

/** The operator's kit as files: alert rules, dashboard, runbook. Read once per spec file. */

const root = new URL('../../', import.meta.url);
export const repoPath = (file: string): string => new URL(file, root).pathname;
export const readRepoFile = (file: string): string => readFileSync(new URL(file, root), 'utf8');

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function alertRules(): AlertRule[] {
  const file = parse(readRepoFile('ops/prometheus/alerts.yml')) as {
    groups: { name: string; rules: AlertRule[] }[];
  };
  return file.groups.flatMap((g) => g.rules);
}

interface Panel {
  title?: string;
  type?: string;
  panels?: Panel[];
  targets?: { expr?: string; refId?: string; datasource?: unknown }[];
  datasource?: unknown;
}

export interface Dashboard {
  title: string;
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: unknown }[] };
  [key: string]: unknown;
}

export function dashboard(): Dashboard {
  return JSON.parse(readRepoFile('ops/grafana/carecast.json')) as Dashboard;
}

/** Every panel, rows' nested panels included. */
export function panelsOf(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Every PromQL expression the dashboard queries (panels and template variables). */
export function dashboardQueries(d: Dashboard): string[] {
  const panelQueries = panelsOf(d).flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));
  const variableQueries = d.templating.list
    .filter((v) => v.type === 'query')
    .map((v) =>
      typeof v.query === 'string' ? v.query : ((v.query as { query?: string })?.query ?? ''),
    );
  return [...panelQueries, ...variableQueries].filter((q) => q !== '');
}

/** Series names a PromQL expression reads: every `carecast_*` identifier. */
export function metricNamesIn(expr: string): string[] {
  return [...new Set(expr.match(/\bcarecast_[a-z0-9_]+/g) ?? [])];
}

/** `metric{label op value, ...}` selectors of carecast metrics: the label names each uses. */
export function selectorLabels(expr: string): { metric: string; labels: string[] }[] {
  return [...expr.matchAll(/\b(carecast_[a-z0-9_]+)\{([^}]*)\}/g)].map((m) => ({
    metric: m[1]!,
    labels: [...m[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1]!),
  }));
}

/** Series names a Prometheus text exposition declares (`# TYPE` lines; histogram suffixes). */
export function exposedSeriesNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m;
    names.add(name!);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name! + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(name! + s);
  }
  return names;
}

/** The labels a carecast metric (not a process default) may be queried by. */
export function declaredLabels(metric: string): string[] | undefined {
  const base = metric.replace(/_(bucket|sum|count)$/, '');
  const definition = METRIC_DEFINITIONS.find(
    (d) => d.options.name === metric || (d.kind === 'histogram' && d.options.name === base),
  );
  if (definition === undefined) return undefined;
  const labels = [...(definition.options.labelNames ?? [])];
  // Prometheus adds job and instance to every scraped series; histograms have le.
  return [...labels, 'job', 'instance', ...(definition.kind === 'histogram' ? ['le'] : [])];
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
export function markdownAnchors(markdown: string): Set<string> {
  return new Set(
    [...markdown.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
      m[1]!
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    ),
  );
}

/** Debian's `prometheus` package installs it here; .ci/run installs the package when missing. */
const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));

/**
 * `describe` with promtool's path. Without promtool the suite is skipped loudly outside CI
 * and fails in CI (CI=true), so a green CI run always means promtool really checked.
 */
export function describeWithPromtool(name: string, body: (promtool: string) => void): void {
  if (PROMTOOL !== undefined) return describe(name, () => body(PROMTOOL));
  const fix = 'promtool is missing: apt-get install prometheus (.ci/run does)';
  if (process.env.CI === 'true') {
    return describe(name, () =>
      it('needs promtool', () => {
        throw new Error(fix);
      }),
    );
  }
  console.warn(`SKIPPED "${name}": ${fix}`);
  describe.skip(name, () => body(''));
}
