import { once } from 'node:events';
import { commandProcess, failedCommand } from './dev-command.js';
import { runListenCommand } from './listen-command.js';

/** Entry point of `npm run dev:listen` (dist/dev/listen-cli.js): process I/O only. */
runListenCommand({
  ...commandProcess(),
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  stopped: Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]).then(() => {}),
})
  // process.exit: the open WebSocket and the stop listeners would keep the process alive.
  .then((code) => process.exit(code))
  .catch((error: unknown) => {
    failedCommand('dev:listen')(error);
    process.exit(1);
  });
