import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { listenerOf } from './listener.js';

/**
 * The security headers of every answer of the public listener: helmet's (HSTS, a CSP that
 * allows nothing but connecting to the public URL, nosniff, frame denial, no referrer) plus
 * `Cache-Control: no-store`, since every public answer is per-user or an error and no cache
 * should keep it. One definition serves Express (routes, 404s on any path, the TLS gate's 403)
 * and the raw upgrade rejections, which are written on the socket outside Express.
 */
function helmetFor(publicUrl: string) {
  const wsOrigin = publicUrl.replace(/^https:/, 'wss:');
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        connectSrc: [publicUrl, wsOrigin],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
      },
    },
    // The ticket endpoint is called cross-origin; CORS, not CORP, decides who may read it.
    crossOriginResourcePolicy: { policy: 'cross-origin' },
    referrerPolicy: { policy: 'no-referrer' },
    frameguard: { action: 'deny' },
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
  });
}

/**
 * Express middleware: the headers on every public answer, before any route or refusal. The
 * values are helmet's for this fixed configuration, recorded once (publicSecurityHeaderPairs)
 * and set as they are: running helmet's dozen middlewares per request cost more than the
 * rest of this pipeline and gave the same headers every time.
 */
export function publicSecurityHeaders(publicUrl: string) {
  const pairs = publicSecurityHeaderPairs(publicUrl);
  return (req: Request, res: Response, next: NextFunction): void => {
    if (listenerOf(req) !== 'public') return next();
    for (const [name, value] of pairs) res.setHeader(name, value);
    next();
  };
}

/**
 * The same headers as `Name: value` lines, for responses written straight to a socket.
 */
export function publicSecurityHeaderLines(publicUrl: string): readonly string[] {
  return publicSecurityHeaderPairs(publicUrl).map(([name, value]) => `${name}: ${value}`);
}

/**
 * The public headers as name and value, `Cache-Control: no-store` first. Helmet sets fixed
 * values for a fixed configuration (no per-request directive or nonce is configured), so
 * running it once against a recorder gives exactly what it would set on every response; a
 * header it removes (`X-Powered-By`) Express never sets (`x-powered-by` is disabled).
 */
function publicSecurityHeaderPairs(publicUrl: string): readonly (readonly [string, string])[] {
  const recorded = new Map<string, string>([['Cache-Control', 'no-store']]);
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      recorded.set(name, Array.isArray(value) ? value.join(', ') : String(value));
      return recorder;
    },
    removeHeader(name: string) {
      recorded.delete(name);
    },
  };
  let finished = false;
  helmetFor(publicUrl)(
    {} as IncomingMessage,
    recorder as unknown as ServerResponse,
    () => (finished = true),
  );
  if (!finished) throw new Error('helmet did not finish synchronously');
  return [...recorded];
}
