// The bare fan-out baseline: an HTTP(S) server with a `ws` WebSocketServer and one ioredis
// subscriber on ONE Redis channel, a channel -> sockets map, each frame encoded once and the
// same buffer sent to every socket of its channel. No signature, idempotency, authorization,
// history or audit. Clients connect (no ticket), send the same `subscribe` frame carecast
// takes and get an ack.
//
// Used in-process by bench/fanout.mjs (startBaseline), or as its own process:
//   node --import ./bench/fanout/probe.mjs bench/fanout/bare-server.mjs <redis-url> <tls|plain>
// which prints one JSON line {"port":<n>} once listening and stops on SIGTERM.
import { Buffer } from 'node:buffer';
import http from 'node:http';
import https from 'node:https';
import { Redis } from 'ioredis';
import { WebSocketServer } from 'ws';
import { BASELINE_CHANNEL, HOST } from './constants.mjs';
import { isEntryPoint, serveFromCommandLine } from './server-process.mjs';

export async function startBaseline(tls, redisUrl) {
  // Key material only: the baseline keeps Node's https defaults (such as the ALPN list),
  // whatever else carecast's listener sets.
  const server = tls
    ? https.createServer(
        { cert: tls.cert, key: tls.key, minVersion: tls.minVersion },
        (_req, res) => res.writeHead(404).end(),
      )
    : http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 4096,
    handleProtocols: (offered) => (offered.has('carecast.v1') ? 'carecast.v1' : false),
  });
  const byChannel = new Map();
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      const mine = new Set();
      ws.on('error', () => ws.terminate());
      ws.on('message', (data) => {
        const frame = JSON.parse(String(data));
        if (frame.type !== 'subscribe') return;
        let sockets = byChannel.get(frame.channel);
        if (!sockets) byChannel.set(frame.channel, (sockets = new Set()));
        sockets.add(ws);
        mine.add(frame.channel);
        ws.send(JSON.stringify({ type: 'ack', id: frame.id }));
      });
      ws.on('close', () => {
        for (const channel of mine) byChannel.get(channel)?.delete(ws);
      });
      ws.send(JSON.stringify({ type: 'welcome' }));
    });
  });
  const subscriber = new Redis(redisUrl, { lazyConnect: true });
  await subscriber.connect();
  const subscribed = subscriber.subscribe(BASELINE_CHANNEL);
  subscriber.on('message', (_channel, payload) => {
    // Frames start {"type":"notification","channel":"<channel>",...
    const start = payload.indexOf('"channel":"') + 11;
    const sockets = byChannel.get(payload.slice(start, payload.indexOf('"', start)));
    if (!sockets) return;
    const buffer = Buffer.from(payload);
    for (const ws of sockets) {
      if (ws.readyState === ws.OPEN) ws.send(buffer, { binary: false });
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, resolve);
  });
  await subscribed;
  return {
    port: server.address().port,
    stop: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      subscriber.disconnect();
    },
  };
}

if (isEntryPoint(import.meta.url)) await serveFromCommandLine(startBaseline);
