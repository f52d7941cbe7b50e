import { hostname } from 'node:os';
import { loadOrCreateDevSecrets } from './dev-secrets.js';
import { runTokenCommand } from './token-command.js';

/**
 * Entry point of `npm run token` (compiled to dist/dev/token-cli.js): process I/O only, the
 * command itself is runTokenCommand. Prints the token alone on stdout, so
 * `TOKEN=$(npm run -s token -- ...)` works; messages go to stderr.
 */
async function main(): Promise<void> {
  const result = await runTokenCommand({
    argv: process.argv.slice(2),
    // A dev tool, not part of the node: it must read the environment the node will read,
    // or it would sign with a key, issuer or audience the node does not use.
    // eslint-disable-next-line no-restricted-properties
    env: process.env,
    hostname: hostname(),
    pid: process.pid,
    nowSeconds: Math.floor(Date.now() / 1000),
    // Creates ./data/dev-secrets.json when missing, so a token minted before the first
    // `npm start` is signed with the secret that start will then load.
    loadDevSecrets: () => loadOrCreateDevSecrets(),
  });
  if (result.exitCode === 0) {
    process.stdout.write(`${result.stdout}\n`);
  } else {
    process.stderr.write(`${result.stderr}\n`);
  }
  process.exitCode = result.exitCode;
}

main().catch((error: unknown) => {
  // Only file-system failures (the dev secrets file) reach here; their messages hold no secret.
  process.stderr.write(
    `npm run token failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exitCode = 1;
});
