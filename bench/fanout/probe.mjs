// Preloaded (`node --import ./bench/fanout/probe.mjs ...`) into every server process the
// fan-out benchmark spawns, carecast nodes and bare servers alike, so both are measured the
// same way from inside. It answers the parent over the IPC channel:
//   { probe: 'stats' } -> { probe: 'stats', rss, heapUsed, loop: { p50, p99, max } } (ms),
//                         then restarts the event-loop delay histogram;
//   { probe: 'gc' }    -> runs a full GC when node was started with --expose-gc, then
//                         answers like 'stats' (resident memory after collection).
// It never keeps the process alive: the channel is unref'd, so a node still exits on SIGTERM.
import process from 'node:process';
import { monitorEventLoopDelay } from 'node:perf_hooks';

if (typeof process.send === 'function') {
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const ms = (ns) => Math.round(ns / 1e4) / 100;
  const stats = () => {
    const { rss, heapUsed } = process.memoryUsage();
    const answer = {
      probe: 'stats',
      rss,
      heapUsed,
      loop: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) },
    };
    loop.reset();
    return answer;
  };
  process.on('message', (message) => {
    if (message?.probe === 'gc') {
      globalThis.gc?.();
      globalThis.gc?.();
    }
    if (message?.probe === 'stats' || message?.probe === 'gc') process.send(stats());
  });
  process.channel?.unref();
}
