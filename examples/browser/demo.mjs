/* global fetch */
// `npm run demo`: one development node (dist/main.js) and the demo page on its own https
// origin, which the node allowlists. Development only: it mints access tokens with the
// node's generated dev secret, exactly as `npm run token` does.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import process from 'node:process';
import console from 'node:console';
import { DEV_PUBLISHER_KEY_ID } from '../../dist/config/config.types.js';
import { signatureHeader } from '../../dist/core/publisher-signature.js';
import { loadOrCreateDevSecrets } from '../../dist/dev/dev-secrets.js';
import { runTokenCommand } from '../../dist/dev/token-command.js';
import { loadOrCreateDevCertificate } from '../../dist/tls/dev-certificate.js';
import { startPageServer } from './page-server.mjs';

const pagePort = Number(process.env.DEMO_PORT ?? 5443);
const pageOrigin = `https://localhost:${pagePort}`;
const gatewayPort = process.env.PORT ?? '8443';
const gatewayUrl = process.env.PUBLIC_URL ?? `https://localhost:${gatewayPort}`;
const internalUrl = `http://127.0.0.1:${process.env.INTERNAL_PORT ?? '9090'}`;
const allowed = process.env.ALLOWED_ORIGINS ?? gatewayUrl;
const env = { ...process.env, ALLOWED_ORIGINS: `${allowed},${pageOrigin}` };

// Created before the node starts, so the node and the token helper share the dev secrets,
// and the node and the page serve the one development certificate kept in ./data.
const secrets = await loadOrCreateDevSecrets();
const certificate = await loadOrCreateDevCertificate();
const node = spawn(process.execPath, ['dist/main.js'], { env, stdio: 'inherit' });
node.once('exit', (code) => process.exit(code ?? 1));

async function mintToken(role, id) {
  const result = await runTokenCommand({
    argv: ['--role', role, '--id', id],
    env,
    hostname: hostname(),
    pid: process.pid,
    nowSeconds: Math.floor(Date.now() / 1000),
    loadDevSecrets: async () => secrets,
  });
  if (result.exitCode !== 0) throw new Error(result.stderr);
  return result.stdout;
}

async function publish(channel) {
  const path = '/internal/v1/notifications';
  const body = JSON.stringify({
    id: `evt-demo${randomBytes(6).toString('hex')}`,
    channel,
    kind: 'appointment.updated',
    ref: `apt-demo${randomBytes(4).toString('hex')}`,
  });
  const t = Math.floor(Date.now() / 1000);
  const res = await fetch(`${internalUrl}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'carecast-signature': signatureHeader(
        DEV_PUBLISHER_KEY_ID,
        secrets.publisherSecret,
        t,
        'POST',
        path,
        body,
      ),
    },
    body,
  });
  return res.status;
}

const page = await startPageServer({
  host: 'localhost',
  port: pagePort,
  gatewayUrl,
  mintToken,
  publish,
  certificate,
});
console.log(`
carecast demo page: ${page.origin}/?role=patient&id=pt-4c9a1b2e
Both origins serve the development certificate in ./data/dev-tls-cert.pem (kept across
restarts): trust it once (README, "Trust the development certificate"), or open
${gatewayUrl}/v1/tickets and ${page.origin} and accept the warning. Ctrl-C stops both.
`);
const stop = () => {
  void page.close();
  node.kill('SIGTERM');
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
