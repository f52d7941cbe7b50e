import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import {
  alertRules,
  describeWithPromtool,
  markdownAnchors,
  readRepoFile,
  repoPath,
} from './ops-files.js';

/**
 * ops/prometheus/alerts.yml: valid for Prometheus (`promtool check rules`), each alert firing
 * on what it watches and quiet on normal traffic (`promtool test rules`), each with a severity
 * and a runbook section. Without promtool the promtool checks are skipped with a warning, and
 * fail in CI (CI=true): .ci/run installs Debian's `prometheus` package, which provides it.
 */

const run = promisify(execFile);
const rules = alertRules();

/** The alerts issues 13 and 15 ask for, by what they watch. */
const REQUIRED_ALERTS = [
  'CarecastUpgradeRefusalBurst',
  'CarecastTokenRejectionBurst',
  'CarecastForbiddenSubscribeBurst',
  'CarecastAuditWriteFailures',
  'CarecastAuditCheckpointStale',
  'CarecastRedisDown',
  'CarecastNotReady',
  'CarecastSlowConsumers',
  'CarecastDeliveryLatencyHigh',
  'CarecastEventLoopLag',
  'CarecastBreakGlassGrant',
  'CarecastBreakGlassBurst',
  'CarecastLogoutTokenRejected',
  'CarecastLogoutReplayedOrUnavailable',
  'CarecastLogoutRateLimited',
];

/** critical pages, warning is for the working day, info notifies (a grant to review). */
const SEVERITIES = ['critical', 'warning', 'info'];

describeWithPromtool('alert rules under promtool', (promtool) => {
  it('pass `promtool check rules`', async () => {
    const { stdout } = await run(promtool, [
      'check',
      'rules',
      repoPath('ops/prometheus/alerts.yml'),
    ]);
    expect(stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it("load from the compose profile's Prometheus config (`promtool check config`)", async () => {
    const { stdout } = await run(promtool, [
      'check',
      'config',
      repoPath('ops/prometheus/prometheus.yml'),
    ]);
    expect(stdout).toContain('is valid prometheus config file syntax');
    expect(stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('pass their unit tests (`promtool test rules`)', async () => {
    // On failure promtool exits 1 and prints each failed expectation: show them.
    const result = await run(promtool, ['test', 'rules', 'alerts.test.yml'], {
      cwd: repoPath('ops/prometheus/tests'),
    }).then(
      ({ stdout }) => ({ exitCode: 0, output: stdout }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({
        exitCode: error.code,
        output: `${error.stdout ?? ''}${error.stderr ?? ''}`,
      }),
    );
    expect(result).toEqual({ exitCode: 0, output: expect.stringContaining('SUCCESS') });
  });

  it('has a unit test for every alert', () => {
    const tests = readRepoFile('ops/prometheus/tests/alerts.test.yml');
    const untested = rules.filter((r) => !tests.includes(`alertname: ${r.alert}`));
    expect(untested.map((r) => r.alert)).toEqual([]);
  });
});

describe('alert rules', () => {
  it('cover what the operators asked to be paged for', () => {
    expect(rules.map((r) => r.alert)).toEqual(expect.arrayContaining(REQUIRED_ALERTS));
  });

  it.each(rules.map((r) => [r.alert, r] as const))('%s has a severity and a summary', (_, rule) => {
    expect(SEVERITIES).toContain(rule.labels?.severity);
    expect(rule.annotations?.summary).toBeTruthy();
  });

  it('link each alert to its own section of docs/runbook.md', () => {
    const anchors = markdownAnchors(readRepoFile('docs/runbook.md'));
    const links = rules.map((r) => [r.alert, r.annotations?.runbook_url ?? '']);
    for (const [alert, url] of links) {
      expect(url).toBe(`docs/runbook.md#${alert!.toLowerCase()}`);
      expect([alert, anchors.has(url!.split('#')[1]!)]).toEqual([alert, true]);
    }
  });
});

describe('docs/runbook.md', () => {
  const runbook = readRepoFile('docs/runbook.md');
  const anchors = markdownAnchors(runbook);

  it('has the procedures the alerts send operators to', () => {
    const procedures = [
      'verify-the-audit-chain',
      'block-a-user',
      'drain-a-node',
      'rotate-a-publisher-key',
      'rotate-the-ticket-secret',
      'rotate-the-audit-signing-key',
    ];
    expect(procedures.filter((p) => !anchors.has(p))).toEqual([]);
  });

  it('links only to sections that exist', () => {
    const links = [...runbook.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
    expect(links.filter((l) => !anchors.has(l))).toEqual([]);
  });
});
