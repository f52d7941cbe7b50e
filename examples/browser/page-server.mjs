// The demo page's own https origin: static files, the built SDK, and two dev-only helpers
// (an access token, a test publish) that stand in for the app's back end.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import path from 'node:path';
import { fileURLToPath, URL } from 'node:url';
import { selfSignedLocalhost } from '../../dist/tls/self-signed-localhost.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const sdkDist = path.resolve(here, '../../packages/client/dist');
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.map': 'application/json' };
const OPAQUE = /^(?=.*[A-Za-z])[A-Za-z0-9_-]{8,64}$/;

/**
 * Starts the page server. `mintToken(role, id)` returns an access token the gateway accepts;
 * `publish(channel)` (optional) sends a test notification and returns the HTTP status.
 */
export async function startPageServer({
  host = '127.0.0.1',
  port = 0,
  gatewayUrl,
  mintToken,
  publish,
  clientOptions = {},
  certificate,
}) {
  const { cert, key } = certificate ?? (await selfSignedLocalhost());
  const server = createServer({ cert, key }, (req, res) => {
    handle(req, res).catch(() => send(res, 500, 'text/plain', 'internal error'));
  });

  async function handle(req, res) {
    const url = new URL(req.url ?? '/', 'https://page.invalid');
    if (req.method === 'GET' && url.pathname === '/config.json') {
      return send(res, 200, 'application/json', JSON.stringify({ gatewayUrl, clientOptions }));
    }
    if (req.method === 'GET' && url.pathname === '/token') {
      const role = url.searchParams.get('role');
      const id = url.searchParams.get('id') ?? '';
      if ((role !== 'patient' && role !== 'doctor') || !OPAQUE.test(id)) {
        return send(res, 400, 'text/plain', 'bad role or id');
      }
      return send(res, 200, 'text/plain', await mintToken(role, id));
    }
    if (req.method === 'POST' && url.pathname === '/publish' && publish) {
      const status = await publish(url.searchParams.get('channel') ?? '');
      return send(res, status, 'text/plain', String(status));
    }
    if (req.method !== 'GET') return send(res, 405, 'text/plain', 'method not allowed');
    const file =
      url.pathname === '/' || url.pathname === '/index.html'
        ? path.join(here, 'index.html')
        : url.pathname === '/app.js'
          ? path.join(here, 'app.js')
          : url.pathname.startsWith('/sdk/') && /^[a-z-]+\.js(\.map)?$/.test(url.pathname.slice(5))
            ? path.join(sdkDist, url.pathname.slice(5))
            : null;
    if (file === null) return send(res, 404, 'text/plain', 'not found');
    const body = await readFile(file).catch(() => null);
    if (body === null) return send(res, 404, 'text/plain', 'not found (run npm run build)');
    return send(res, 200, TYPES[path.extname(file)] ?? 'application/octet-stream', body);
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  return {
    origin: `https://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res, status, type, body) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}
