// The Socket.IO comparison server: `socket.io` over an HTTP(S) server (the same development
// certificate and options as the bare baseline), the WebSocket transport only (no polling,
// no upgrade from it), `@socket.io/redis-adapter` on two ioredis connections, one room per
// channel. Clients connect (no ticket, no auth), emit `subscribe` with the channel name and
// get an acknowledgement once the socket joined its room. Notifications come from the
// benchmark's publisher, itself a Socket.IO node (a `Server` with the same adapter and no
// sockets) calling `io.to(channel).emit('notification', frame)`: the adapter publishes the
// packet to Redis and every server with that room delivers it to its local sockets, the
// packet encoded once per broadcast. No signature, idempotency, authorization, history or
// audit: what the bare server does, the Socket.IO way, and no more.
//
// Used in-process by bench/fanout.mjs (startSocketIo), or as its own process:
//   node --import ./bench/fanout/probe.mjs bench/fanout/socketio-server.mjs <redis-url> <tls|plain>
// which prints one JSON line {"port":<n>} once listening and stops on SIGTERM.
import http from 'node:http';
import https from 'node:https';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { HOST } from './constants.mjs';
import { isEntryPoint, serveFromCommandLine } from './server-process.mjs';

/** Server options the Socket.IO server and the benchmark's publisher node share. */
export const SOCKET_IO_OPTIONS = {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  maxHttpBufferSize: 4096,
};

export async function startSocketIo(tls, redisUrl) {
  // Key material only, as the bare baseline: Node's https defaults otherwise.
  const server = tls
    ? https.createServer(
        { cert: tls.cert, key: tls.key, minVersion: tls.minVersion },
        (_req, res) => res.writeHead(404).end(),
      )
    : http.createServer((_req, res) => res.writeHead(404).end());
  const pubClient = new Redis(redisUrl, { lazyConnect: true });
  const subClient = new Redis(redisUrl, { lazyConnect: true });
  await Promise.all([pubClient.connect(), subClient.connect()]);
  const io = new Server(server, SOCKET_IO_OPTIONS);
  io.adapter(createAdapter(pubClient, subClient));
  io.on('connection', (socket) => {
    socket.on('subscribe', (channel, ack) => {
      if (typeof channel !== 'string' || typeof ack !== 'function') return;
      socket.join(channel);
      ack({ type: 'ack' });
    });
  });
  // The adapter's PSUBSCRIBE is in effect before anything is published (a PING after it on
  // the same connection returns after its reply).
  await subClient.ping();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, resolve);
  });
  return {
    port: server.address().port,
    stop: async () => {
      io.disconnectSockets(true);
      await new Promise((resolve) => {
        io.close(() => resolve());
        server.closeAllConnections();
      });
      pubClient.disconnect();
      subClient.disconnect();
    },
  };
}

if (isEntryPoint(import.meta.url)) await serveFromCommandLine(startSocketIo);
