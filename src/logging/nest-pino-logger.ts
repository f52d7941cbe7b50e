import type { LoggerService } from '@nestjs/common';
import type { Level, Logger } from 'pino';

/**
 * Nest logs this from `init()`, before either listener is bound: a node whose port is busy
 * would claim success and then fail. It is written at debug; the node's own
 * "carecast node listening" line, logged once both listeners are bound, is the start signal.
 */
const PREMATURE_NEST_MESSAGES = new Set(['Nest application successfully started']);

/**
 * Nest's LoggerService on top of pino. Nest calls `log(message, ...optional, context)`; an
 * object first argument becomes structured fields.
 */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...rest: unknown[]): void {
    const premature = typeof message === 'string' && PREMATURE_NEST_MESSAGES.has(message);
    this.write(premature ? 'debug' : 'info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  private write(level: Level, message: unknown, rest: unknown[]): void {
    const context = typeof rest.at(-1) === 'string' ? (rest.at(-1) as string) : undefined;
    const fields = { context, ...(isObject(message) ? message : {}) };
    const extra = rest.find((r) => typeof r === 'string' && r !== context);
    const text = isObject(message)
      ? typeof extra === 'string'
        ? extra
        : undefined
      : String(message);
    this.logger[level](fields, text);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !(value instanceof Error);
}
