import type { Express, NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../config/config.types.js';
import type { Metrics } from '../metrics/metrics.js';
import { sendError } from './error-response.filter.js';
import { listenerOf, servesPath } from './listener.js';
import { publicSecurityHeaders } from './public-security-headers.js';
import { trustedProxyCheck } from './trusted-proxy.js';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);

/**
 * Express middleware that runs before any Nest route, in this order: request metrics,
 * security headers on public responses (first, so every public answer has them: the TLS
 * gate's 403 and a 404 on any path included), the trusted-proxy TLS gate, the listener's
 * path scope.
 */
export function installHttpPipeline(
  app: Express,
  config: Config,
  metrics: Metrics,
  logger: Logger,
): void {
  app.disable('x-powered-by');
  app.use(observeRequests(metrics, logger.child({ context: 'http' })));
  app.use(publicSecurityHeaders(config.publicListener.publicUrl));
  // The TLS gate comes before any route: an untrusted peer learns nothing, not even which
  // paths exist.
  const tls = config.publicListener.tls;
  if (tls.kind === 'proxy') app.use(requireTrustedProxy(tls.trustedProxies));
  app.use(scopeToListener);
}

/** Probes and scrapes are logged at debug so they do not drown the request log. */
const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One log line and one metric sample per request, built field by field: method, route
 * template, status, duration. Never the URL, query string, headers or body.
 */
function observeRequests(metrics: Metrics, logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const listener = listenerOf(req);
      const route = routeTemplate(req);
      const method = KNOWN_METHODS.has(req.method) ? req.method : 'OTHER';
      const status = res.statusCode;
      metrics.httpRequests.inc({ listener, route, method, status: String(status) });
      metrics.httpRequestDuration.observe({ listener, route }, seconds);
      const level = QUIET_ROUTES.has(route) ? 'debug' : status >= 500 ? 'error' : 'info';
      logger[level](
        { listener, method, route, status, durationMs: Math.round(seconds * 1e4) / 10 },
        'request',
      );
    });
    next();
  };
}

/** The matched route's template (`/v1/tickets`), never the raw path or query. */
export function routeTemplate(req: Request): string {
  const path: unknown = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? path : 'unmatched';
}

function scopeToListener(req: Request, res: Response, next: NextFunction): void {
  if (servesPath(listenerOf(req), req.path)) next();
  else sendError(res, 'not_found');
}

function requireTrustedProxy(trustedProxies: readonly string[]) {
  const isTrusted = trustedProxyCheck(trustedProxies);
  return (req: Request, res: Response, next: NextFunction): void => {
    if (listenerOf(req) === 'internal') return next();
    if (isTrusted(req.socket.remoteAddress, req.headers['x-forwarded-proto'])) return next();
    sendError(res, 'tls_required');
  };
}
