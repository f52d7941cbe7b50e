import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { createApp } from './app.js';
import type { Config } from './config/config.types.js';
import { NODE_ID } from './config/env-fields.js';
import { describeProblems, parseConfig } from './config/parse-config.js';
import { loadOrCreateDevSecrets } from './dev/dev-secrets.js';
import { createBootLogger, createLogger } from './logging/logger.js';

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
    bootLogger().fatal({ variables }, describeProblems(result.problems));
    process.exitCode = 1;
    return;
  }
  const config = result.config;
  // A crash after start ends in a fatal line of the node's format too, not a raw stack on
  // stderr.
  const fatalLogger = createLogger(config);
  const crashed = (error: unknown) => die(fatalLogger, 'carecast crashed', error, config);
  process.once('uncaughtException', crashed);
  process.once('unhandledRejection', crashed);
  let app: Awaited<ReturnType<typeof createApp>>;
  try {
    app = await createApp(config);
  } catch (error) {
    die(fatalLogger, 'carecast failed to start', error, config);
    return;
  }
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

/**
 * Before a Config exists: the node id the node would have had (NODE_ID when it is valid),
 * so even a refused configuration logs in the node's one format.
 */
function bootLogger(): Logger {
  const fromEnv = process.env.NODE_ID;
  const fallback = `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9._-]/g, '_');
  return createBootLogger(fromEnv !== undefined && NODE_ID.test(fromEnv) ? fromEnv : fallback);
}

/**
 * One fatal line, then exit 1. A busy port is named (port, address and which listener); any
 * other error gives its type, code and stack frames only: messages may carry request or
 * configuration values, frames name only code locations.
 */
function die(logger: Logger, what: string, error: unknown, config: Config | null): void {
  const { code, port, address } = (error ?? {}) as {
    code?: unknown;
    port?: unknown;
    address?: unknown;
  };
  if (code === 'EADDRINUSE' && typeof port === 'number') {
    const listener =
      config === null
        ? undefined
        : port === config.publicListener.port
          ? 'public'
          : port === config.internalListener.port
            ? 'internal'
            : undefined;
    logger.fatal(
      { code, port, address, listener },
      `${what}: port ${port} is already in use` + (listener ? ` (${listener} listener)` : ''),
    );
  } else {
    logger.fatal(
      {
        errorType: error instanceof Error ? error.constructor.name : typeof error,
        code,
        frames: stackFrames(error),
      },
      what,
    );
  }
  logger.flush();
  process.exit(1);
}

/** The `at ...` lines of a stack, without its first line (the message). */
function stackFrames(error: unknown): string[] | undefined {
  if (!(error instanceof Error) || typeof error.stack !== 'string') return undefined;
  return error.stack
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('at '))
    .slice(0, 15);
}

main().catch((error: unknown) => die(bootLogger(), 'carecast failed to start', error, null));
