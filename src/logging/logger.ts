import pino, { type DestinationStream, type Logger } from 'pino';
import type { Config } from '../config/config.types.js';
import { REDACTED_PATHS, REDACTION_CENSOR } from './redaction.js';

/**
 * The one line format of the node, from its first line to its last (fatal included): JSON
 * on stdout, label levels, ISO timestamps, the node id on every line.
 */
function loggerOptions(level: Config['logLevel'], nodeId: string): pino.LoggerOptions {
  return {
    level,
    base: { node: nodeId },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: REDACTION_CENSOR },
  };
}

/** The app's one pino logger. */
export function createLogger(config: Config, destination?: DestinationStream): Logger {
  const options = loggerOptions(config.logLevel, config.nodeId);
  return destination ? pino(options, destination) : pino(options);
}

/**
 * The logger of the moments before a Config exists (a configuration the node refuses):
 * the same format, with the node id the node would have used.
 */
export function createBootLogger(nodeId: string): Logger {
  return pino(loggerOptions('info', nodeId));
}
