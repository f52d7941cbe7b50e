// Preloaded (`node --import ./bench/fanout/probe.mjs ...`) into every server process the
// fan-out benchmark spawns, carecast nodes and bare servers alike, so both are measured the
// same way from inside. It answers the parent over the IPC channel:
//   { probe: 'stats' } -> { probe: 'stats', rss, heapUsed, external, arrayBuffers, loop: { p50, p99, max } (ms),
//                         cpuUs (user + system CPU time since the last ask), syscalls (read
//                         and write system calls since the last ask, from /proc/self/io: a
//                         count that, unlike CPU time, a loaded machine does not inflate) },
//                         then restarts the event-loop delay histogram;
//   { probe: 'gc' }    -> runs a full GC, then a memory-reducing (last-resort) one, when
//                         node was started with --expose-gc, then answers like 'stats'
//                         (resident memory after collection);
//   { probe: 'profile-start' } / { probe: 'profile-stop', file } -> a CPU profile of just
//                         the measured phases (inspector Profiler), written to `file`,
//                         then answers like 'stats';
//   { probe: 'heap-snapshot', file } -> a heap snapshot (v8.writeHeapSnapshot, which
//                         collects garbage first) written to `file`, then answers like 'stats'.
// 'stats' also carries heapTotal, external and arrayBuffers (process.memoryUsage()).
// It never keeps the process alive: the channel is unref'd, so a node still exits on SIGTERM.
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import process from 'node:process';
import { writeHeapSnapshot } from 'node:v8';

if (typeof process.send === 'function') {
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const ms = (ns) => Math.round(ns / 1e4) / 100;
  let cpuSince = process.cpuUsage();
  const syscallCount = () => {
    try {
      const io = readFileSync('/proc/self/io', 'utf8');
      return Number(/syscr: (\d+)/.exec(io)?.[1]) + Number(/syscw: (\d+)/.exec(io)?.[1]);
    } catch {
      return Number.NaN;
    }
  };
  let syscallsSince = syscallCount();
  const stats = () => {
    const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
    const cpu = process.cpuUsage(cpuSince);
    cpuSince = process.cpuUsage();
    const syscalls = syscallCount();
    const syscallsDelta = syscalls - syscallsSince;
    syscallsSince = syscalls;
    const answer = {
      probe: 'stats',
      rss,
      heapUsed,
      heapTotal,
      external,
      arrayBuffers,
      loop: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) },
      cpuUs: cpu.user + cpu.system,
      syscalls: syscallsDelta,
    };
    loop.reset();
    return answer;
  };
  let profiler = null;
  const actions = {
    stats: async () => undefined,
    // A last-resort collection compacts the old generation and gives its free pages back, as
    // V8 does under memory pressure: without it the committed heap keeps the pages that the
    // handshakes' garbage spread, and RSS measures the allocation history, not what is held.
    gc: async () => {
      globalThis.gc?.();
      globalThis.gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    },
    'heap-snapshot': async ({ file }) => {
      writeHeapSnapshot(file);
    },
    'profile-start': async () => {
      profiler = new Session();
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.setSamplingInterval', { interval: 200 });
      await profiler.post('Profiler.start');
    },
    'profile-stop': async ({ file }) => {
      const { profile } = await profiler.post('Profiler.stop');
      profiler.disconnect();
      profiler = null;
      await writeFile(file, JSON.stringify(profile));
    },
  };
  process.on('message', (message) => {
    const action = actions[message?.probe];
    if (action) action(message).then(() => process.send(stats()));
  });
  process.channel?.unref();
}
