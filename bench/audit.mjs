// `npm run bench:audit [-- --records N] [-- --dir PATH]`: what the audit log costs.
//
// 1. Records/s written: batches recorded then flushed (each flush = linked, appended, fsynced),
//    flushing every 5000 records (group commits of up to 500 each) and every 100 records.
// 2. Caller-side cost of AuditService.record(), ns per call (p50/p99/mean), next to an empty
//    function call timed the same way (the baseline is mostly the timer's own overhead).
//
// Runs the built app (dist/, compiled by the npm script) on a real node: same module, same
// writer, same fsync. --dir chooses the filesystem (default: the OS temp dir); benchmark the
// disk AUDIT_DIR will live on.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';
import { createApp } from '../dist/app.js';
import { AuditService } from '../dist/audit/audit.service.js';
import { describeProblems, parseConfig } from '../dist/config/parse-config.js';
import { Metrics } from '../dist/metrics/metrics.js';

const { values } = parseArgs({
  options: { records: { type: 'string', default: '200000' }, dir: { type: 'string' } },
});
const total = Number(values.records);
const dir = await mkdtemp(path.join(values.dir ?? os.tmpdir(), 'carecast-audit-bench-'));
const out = (line) => process.stdout.write(`${line}\n`);

const secret = 'bench-secret-0123456789abcdef0123456789abcdef';
const result = parseConfig(
  {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    INTERNAL_PORT: '0',
    LOG_LEVEL: 'warn',
    TLS_TERMINATED_BY_PROXY: 'true',
    TRUSTED_PROXIES: '127.0.0.1',
    AUDIT_DIR: dir,
    NODE_ID: 'bench',
  },
  {
    hostname: 'bench',
    pid: process.pid,
    devSecrets: {
      ticketSecret: secret,
      auditSigningKey: secret,
      accessTokenSecret: secret,
      publisherSecret: secret,
    },
  },
);
if (!result.ok) throw new Error(describeProblems(result.problems));
const app = await createApp(result.config, { logDestination: { write: () => undefined } });
const audit = app.nest.get(AuditService);
const metrics = app.nest.get(Metrics);

const entry = (i) => ({
  event: 'ws.subscribe',
  outcome: 'allow',
  reason: 'care_team_member',
  actor: 'user-4f1c2a',
  conn: `conn-${i % 1000}`,
  channel: 'patient.8d3e71b0c2',
});

async function throughput(records, commit) {
  const start = process.hrtime.bigint();
  for (let done = 0; done < records; done += commit) {
    for (let i = 0; i < commit; i++) audit.record(entry(done + i));
    if (!(await audit.flush())) throw new Error('the audit sink failed during the benchmark');
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const rate = Math.round(records / seconds).toLocaleString('en');
  out(`  flush every ${commit}: ${records} records in ${seconds.toFixed(2)} s = ${rate} records/s`);
}

/** Times each call on its own; flushes between rounds so the queue never fills. */
async function perCall(call, calls) {
  const samples = new Float64Array(calls);
  const entries = Array.from({ length: 1000 }, (_, i) => entry(i));
  for (let i = 0; i < calls; i++) {
    const e = entries[i % 1000];
    const t0 = process.hrtime.bigint();
    call(e);
    samples[i] = Number(process.hrtime.bigint() - t0);
    if (i % 5000 === 4999) await audit.flush();
  }
  await audit.flush();
  samples.sort();
  const at = (q) => samples[Math.min(calls - 1, Math.floor(q * calls))];
  const mean = samples.reduce((a, b) => a + b, 0) / calls;
  return { p50: at(0.5), p99: at(0.99), mean: Math.round(mean) };
}

out(`audit benchmark: node ${process.version}, files in ${dir}`);
out('records/s written (linked, appended, fsynced):');
await throughput(total, 5000);
await throughput(Math.max(1000, Math.floor(total / 10)), 100);

const calls = total;
const empty = (e) => e;
await perCall(empty, 20000); // warm-up of both paths
await perCall((e) => audit.record(e), 20000);
const base = await perCall(empty, calls);
const rec = await perCall((e) => audit.record(e), calls);
out(`caller cost, ns per call over ${calls} calls (timer overhead included in both):`);
out(`  empty function  p50 ${base.p50}  p99 ${base.p99}  mean ${base.mean}`);
out(`  record()        p50 ${rec.p50}  p99 ${rec.p99}  mean ${rec.mean}`);
out(`  added by record(): p50 ${rec.p50 - base.p50} ns, mean ${rec.mean - base.mean} ns`);

const failures = (await metrics.auditWriteFailures.get()).values.reduce((a, v) => a + v.value, 0);
out(`write failures (dropped, sink errors): ${failures}`);
await app.shutdown();
await rm(dir, { recursive: true, force: true });
