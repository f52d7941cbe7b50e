/**
 * The one list of log paths that must never be written: credentials, tickets and bodies.
 * Request logs are built field by field (see http/http-pipeline.ts) so these are a second line
 * of defence for anything that logs an object it was handed.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["sec-websocket-protocol"]',
  'req.headers["carecast-signature"]',
  'req.body',
  'req.query',
  'req.url',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["sec-websocket-protocol"]',
  'headers["carecast-signature"]',
  'authorization',
  'cookie',
  'ticket',
  'token',
  'accessToken',
  'secret',
  'body',
  'payload',
  '*.authorization',
  '*.ticket',
  '*.token',
  '*.accessToken',
  '*.secret',
  '*.body',
  '*.payload',
];

export const REDACTION_CENSOR = '[redacted]';
