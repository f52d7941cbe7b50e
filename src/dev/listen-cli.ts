import { once } from 'node:events';
import { hostname } from 'node:os';
import { runListenCommand } from './listen-command.js';

/** Entry point of `npm run dev:listen` (dist/dev/listen-cli.js): process I/O only. */
async function main(): Promise<void> {
  const code = await runListenCommand({
    argv: process.argv.slice(2),
    // A dev tool, not part of the node: it reads the environment the node reads, to find
    // the node's public URL, allowed origins and access-token settings.
    // eslint-disable-next-line no-restricted-properties
    env: process.env,
    hostname: hostname(),
    pid: process.pid,
    nowSeconds: Math.floor(Date.now() / 1000),
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    stopped: Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]).then(() => {}),
  });
  process.exit(code);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `npm run dev:listen failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
