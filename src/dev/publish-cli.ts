import { commandProcess, failedCommand } from './dev-command.js';
import { runPublishCommand } from './publish-command.js';

/** Entry point of `npm run dev:publish` (dist/dev/publish-cli.js): process I/O only. */
runPublishCommand({ ...commandProcess(), fetch })
  .then((result) => {
    if (result.stdout !== '') process.stdout.write(`${result.stdout}\n`);
    if (result.stderr !== '') process.stderr.write(`${result.stderr}\n`);
    process.exitCode = result.exitCode;
  })
  .catch(failedCommand('dev:publish'));
