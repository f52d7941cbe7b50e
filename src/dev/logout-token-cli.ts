import { commandProcess, failedCommand, printResult } from './dev-command.js';
import { loadOrCreateDevSecrets } from './dev-secrets.js';
import { runLogoutTokenCommand } from './logout-token-command.js';

/**
 * Entry point of `npm run dev:logout-token` (dist/dev/logout-token-cli.js): process I/O only,
 * the command is runLogoutTokenCommand. The token alone goes to stdout; messages to stderr.
 */
runLogoutTokenCommand({ ...commandProcess(), loadDevSecrets: () => loadOrCreateDevSecrets() })
  .then(printResult)
  .catch(failedCommand('dev:logout-token'));
