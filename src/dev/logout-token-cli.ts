import { hostname } from 'node:os';
import { loadOrCreateDevSecrets } from './dev-secrets.js';
import { runLogoutTokenCommand } from './logout-token-command.js';

/**
 * Entry point of `npm run dev:logout-token` (dist/dev/logout-token-cli.js): process I/O only,
 * the command is runLogoutTokenCommand. The token alone goes to stdout; messages to stderr.
 */
async function main(): Promise<void> {
  const result = await runLogoutTokenCommand({
    argv: process.argv.slice(2),
    // A dev tool, not part of the node: it reads the environment the node will read.
    // eslint-disable-next-line no-restricted-properties
    env: process.env,
    hostname: hostname(),
    pid: process.pid,
    nowSeconds: Math.floor(Date.now() / 1000),
    loadDevSecrets: () => loadOrCreateDevSecrets(),
  });
  if (result.exitCode === 0) process.stdout.write(`${result.stdout}\n`);
  else process.stderr.write(`${result.stderr}\n`);
  process.exitCode = result.exitCode;
}

main().catch((error: unknown) => {
  process.stderr.write(
    `npm run dev:logout-token failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exitCode = 1;
});
