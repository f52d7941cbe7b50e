import { commandProcess, failedCommand, printResult } from './dev-command.js';
import { loadOrCreateDevSecrets } from './dev-secrets.js';
import { runTokenCommand } from './token-command.js';

/**
 * Entry point of `npm run token` (compiled to dist/dev/token-cli.js): process I/O only, the
 * command itself is runTokenCommand. Prints the token alone on stdout, so
 * `TOKEN=$(npm run -s token -- ...)` works; messages go to stderr. It creates
 * ./data/dev-secrets.json when missing, so a token minted before the first `npm start` is
 * signed with the secret that start will then load.
 */
runTokenCommand({ ...commandProcess(), loadDevSecrets: () => loadOrCreateDevSecrets() })
  .then(printResult)
  .catch(failedCommand('token'));
