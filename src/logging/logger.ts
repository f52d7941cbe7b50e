import pino, { type DestinationStream, type Logger } from 'pino';
import type { Config } from '../config/config.types.js';
import { REDACTED_PATHS, REDACTION_CENSOR } from './redaction.js';

/** The app's one pino logger: JSON lines, ISO timestamps, node id on every line. */
export function createLogger(config: Config, destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    base: { node: config.nodeId },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: REDACTION_CENSOR },
  };
  return destination ? pino(options, destination) : pino(options);
}
