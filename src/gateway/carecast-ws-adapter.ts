import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import { type ServerOptions, WebSocketServer } from 'ws';
import type { Config } from '../config/config.types.js';
import { PROTOCOL } from '../core/protocol.js';
import type { UpgradeAuthenticator } from './upgrade-authenticator.js';

/**
 * The WebSocket transport. Nest's WsAdapter routes upgrades by path with no way to refuse
 * one with an HTTP status, and drops malformed frames silently; this adapter instead hands
 * every upgrade of the public server to UpgradeAuthenticator, which runs the upgrade guards
 * before any 101, and leaves frames to the gateway's FrameHandler, which answers each one.
 */
export class CarecastWsAdapter extends WsAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly upgrades: UpgradeAuthenticator,
    private readonly config: Config,
  ) {
    super(app);
  }

  override create(): WebSocketServer {
    const options: ServerOptions & { maxFragments: number } = {
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: this.config.websocket.maxPayloadBytes,
      // A payload limit alone still lets a client send thousands of one-byte fragments.
      maxFragments: 64,
      // Always `carecast.v1`: the upgrade was refused unless offered, and the ticket
      // entry must never be echoed back.
      handleProtocols: () => PROTOCOL,
      // The gateway answers client pings itself, under the frame budget and the buffer limit.
      autoPong: false,
    };
    const server = new WebSocketServer(options);
    server.on('error', () => undefined);
    const publicServer = this.httpServer as Server;
    publicServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      void this.upgrades.handle(req, socket, head, server);
    });
    return server;
  }

  override bindMessageHandlers(): void {
    // Frames are handled by FrameHandler, which never drops one silently.
  }

  /**
   * Nest would add a `close` listener (and its closure) to every socket to feed
   * `handleDisconnect`, which the gateway does not implement: it listens for `close` itself.
   */
  override bindClientDisconnect(): void {
    // Close bookkeeping is the gateway's own `close` listener.
  }
}
