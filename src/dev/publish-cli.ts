import { hostname } from 'node:os';
import { runPublishCommand } from './publish-command.js';

/** Entry point of `npm run dev:publish` (dist/dev/publish-cli.js): process I/O only. */
async function main(): Promise<void> {
  const result = await runPublishCommand({
    argv: process.argv.slice(2),
    // A dev tool, not part of the node: it reads the environment the node reads, to find
    // the node's internal listener and publisher key.
    // eslint-disable-next-line no-restricted-properties
    env: process.env,
    hostname: hostname(),
    pid: process.pid,
    nowSeconds: Math.floor(Date.now() / 1000),
    fetch,
  });
  if (result.stdout !== '') process.stdout.write(`${result.stdout}\n`);
  if (result.stderr !== '') process.stderr.write(`${result.stderr}\n`);
  process.exitCode = result.exitCode;
}

main().catch((error: unknown) => {
  process.stderr.write(
    `npm run dev:publish failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exitCode = 1;
});
