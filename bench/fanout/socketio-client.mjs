// The Socket.IO side of the fan-out benchmark's client worker (bench/fanout/clients.mjs):
// socket.io-client sockets over the WebSocket transport only, and the publisher, a Socket.IO
// node with the Redis adapter that holds no sockets.
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { io } from 'socket.io-client';
import { SOCKET_IO_OPTIONS } from './socketio-server.mjs';

/**
 * One client: its own connection (`forceNew`, no multiplexing over a shared manager), no
 * reconnection (a drop is an error of the run, as for the other systems), subscribed once
 * the server acknowledged the join. `onNotification(frame)` gets each notification object.
 */
export async function connectSocketIo(url, channel, { onNotification, onDrop }) {
  const socket = io(url, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    timeout: 5000,
    rejectUnauthorized: false,
    perMessageDeflate: false,
  });
  socket.on('notification', onNotification);
  try {
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    const ack = await socket.timeout(5000).emitWithAck('subscribe', channel);
    if (ack?.type !== 'ack') throw new Error(`expected ack, got ${JSON.stringify(ack)}`);
  } catch (error) {
    socket.disconnect();
    throw error;
  }
  socket.once('disconnect', (reason) => onDrop(reason));
  return { channel, close: () => socket.disconnect() };
}

/**
 * The publisher: `io.to(channel).emit('notification', frame)` through the Redis adapter, as a
 * Socket.IO server that publishes would. Like `@socket.io/redis-emitter` it subscribes to
 * nothing: it has no room to deliver to and answers no cluster request, so a subscription
 * would only make Redis echo every packet back to it. Its PUBLISHes are auto-pipelined (the
 * bare publisher pipelines its batches alike).
 */
export async function socketIoPublisher(redisUrl) {
  const pubClient = new Redis(redisUrl, { enableAutoPipelining: true, lazyConnect: true });
  await pubClient.connect();
  const noSubscription = {
    psubscribe: () => undefined,
    subscribe: () => undefined,
    punsubscribe: () => undefined,
    unsubscribe: () => undefined,
    on: () => undefined,
    off: () => undefined,
    removeListener: () => undefined,
  };
  const node = new Server(SOCKET_IO_OPTIONS);
  node.adapter(createAdapter(pubClient, noSubscription));
  return {
    /**
     * Emits each frame to its channel's room; resolves once Redis has answered every PUBLISH
     * (a PING after them on the same connection), the point the bare publisher's pipeline
     * resolves: accepted, not yet delivered.
     */
    async publish(frames) {
      for (const frame of frames) node.to(frame.channel).emit('notification', frame);
      await pubClient.ping();
    },
    // Not `node.close()`: a Server never attached to an HTTP server has no engine to close.
    close: () => pubClient.disconnect(),
  };
}
