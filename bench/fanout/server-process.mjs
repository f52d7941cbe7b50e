// The entry of a comparison server run as its own process (bench/fanout/servers.mjs spawns
// it): `node --import ./bench/fanout/probe.mjs <server>.mjs <redis-url> <tls|plain>` starts the
// server with the development certificate (TLS) or none, prints one JSON line {"port":<n>}
// once listening, and stops on SIGTERM. Shared by the bare baseline and the Socket.IO server,
// so both are started exactly alike.
import console from 'node:console';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

/** True when `moduleUrl` (a server module's import.meta.url) is the process's entry point. */
export function isEntryPoint(moduleUrl) {
  return process.argv[1] === fileURLToPath(moduleUrl);
}

/** Starts `start(tls, redisUrl)` from the command line; it resolves to {port, stop}. */
export async function serveFromCommandLine(start) {
  const [redisUrl, transport] = process.argv.slice(2);
  const { publicTlsOptions } = await import('../../dist/tls/public-tls-options.js');
  const tls =
    transport === 'tls'
      ? await publicTlsOptions(
          { kind: 'self-signed' },
          { warn: () => undefined, info: () => undefined },
        )
      : null;
  const server = await start(tls, redisUrl);
  console.log(JSON.stringify({ port: server.port }));
  process.once('SIGTERM', () => {
    server.stop().then(() => process.exit(0));
  });
}
