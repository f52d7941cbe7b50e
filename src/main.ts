import { hostname } from 'node:os';
import pino from 'pino';
import { createApp } from './app.js';
import { describeProblems, parseConfig } from './config/parse-config.js';
import { loadOrCreateDevSecrets } from './dev/dev-secrets.js';

const SHUTDOWN_WATCHDOG_MS = 10_000;

/** The only reader of process.env: environment -> Config -> createApp -> listen. */
async function main(): Promise<void> {
  const production = process.env.NODE_ENV === 'production';
  const result = parseConfig(process.env, {
    hostname: hostname(),
    pid: process.pid,
    devSecrets: production ? null : await loadOrCreateDevSecrets(),
  });
  if (!result.ok) {
    const variables = result.problems.map((p) => p.variable);
    pino(pino.destination(2)).fatal({ variables }, describeProblems(result.problems));
    process.exitCode = 1;
    return;
  }
  const app = await createApp(result.config);
  const stop = (signal: string) => {
    app.logger.info({ signal }, 'shutdown requested');
    // After a clean shutdown nothing should keep the event loop alive; if something does,
    // the watchdog says so and exits non-zero rather than hanging the orchestrator.
    const watchdog = setTimeout(() => {
      app.logger.error('handles still open after shutdown; exiting');
      process.exit(1);
    }, SHUTDOWN_WATCHDOG_MS);
    watchdog.unref();
    app.shutdown().catch(() => {
      process.exitCode = 1;
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  pino(pino.destination(2)).fatal(
    {
      errorType: error instanceof Error ? error.constructor.name : typeof error,
      code: (error as { code?: unknown }).code,
    },
    'carecast failed to start',
  );
  process.exit(1);
});
