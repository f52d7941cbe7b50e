import type { IncomingMessage } from 'node:http';
import { TLSSocket } from 'node:tls';
import { Inject, Logger } from '@nestjs/common';
import { type OnGatewayConnection, WebSocketGateway } from '@nestjs/websockets';
import type { WebSocket } from 'ws';
import { AuditService } from '../audit/audit.service.js';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import { wsClosed, wsConnected } from '../core/audit-entries.js';
import { sessionExpiry } from '../core/ticket.js';
import { type TlsReport, transportFacts } from '../core/transport.js';
import { Metrics } from '../metrics/metrics.js';
import { ChannelIndex } from '../channels/channel-index.js';
import { ConnectionCounter } from '../stores/connection-counter/connection-counter.js';
import { Delivery } from './delivery.js';
import { FrameHandler } from './frame-handler.js';
import { Session, type SessionLimits } from './session.js';
import { SessionRegistry } from './session-registry.js';
import { UpgradeAuthenticator } from './upgrade-authenticator.js';

/** Close codes counted by their own label; anything else is `other`, keeping labels bounded. */
const KNOWN_CLOSE_CODES = new Set([
  1000, 1001, 1005, 1006, 1007, 1009, 1011, 4001, 4002, 4008, 4009, 4500, 4503,
]);

/**
 * Turns an admitted socket into a session: welcome frame, frame handling, pong tracking and
 * the close bookkeeping. The upgrade itself was authenticated by UpgradeAuthenticator.
 */
@WebSocketGateway({ path: '/v1/ws' })
export class Gateway implements OnGatewayConnection {
  private readonly logger = new Logger(Gateway.name);
  private readonly limits: SessionLimits;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly upgrades: UpgradeAuthenticator,
    private readonly registry: SessionRegistry,
    private readonly index: ChannelIndex,
    private readonly frames: FrameHandler,
    private readonly delivery: Delivery,
    private readonly connections: ConnectionCounter,
    private readonly audit: AuditService,
    private readonly metrics: Metrics,
  ) {
    this.limits = {
      maxBufferedBytes: config.websocket.maxBufferedBytes,
      frameRate: config.websocket.frameRatePerConnection,
    };
  }

  handleConnection(socket: WebSocket, req: IncomingMessage): void {
    const admission = this.upgrades.take(req);
    if (!admission) {
      socket.terminate();
      return;
    }
    const now = Date.now();
    const expiresAt = sessionExpiry(
      now,
      this.config.websocket.sessionMaxSeconds,
      admission.grant.accessTokenExpiresAt,
    );
    const session = new Session(socket, admission, now, expiresAt, this.limits, (s, ch, n) =>
      this.delivery.slowConsumer(s, ch, n),
    );
    this.registry.add(session);
    const transport = transportFacts(tlsReportOf(req));
    this.audit.record(wsConnected(session, admission.grant.jti, transport));
    socket.on('message', (data, isBinary) => {
      this.frames
        .handle(session, data, isBinary)
        .catch(() => session.close('internal_error', Date.now()));
    });
    socket.on('pong', () => session.notePong());
    // autoPong is off (CarecastWsAdapter): a client's ping counts and its pong is bounded.
    socket.on('ping', (data: Buffer) => this.frames.controlPing(session, data));
    socket.on('error', () => this.logger.debug({ conn: session.id }, 'socket error'));
    // `on`, not `once`: a socket closes once, and `once` would add a wrapper per socket.
    socket.on('close', (code: number) => this.closed(session, code));
    session.send({
      type: 'welcome',
      connectionId: session.id,
      sessionExpiresAt: session.expiresAt,
      heartbeatSeconds: this.config.websocket.heartbeatSeconds,
    });
  }

  private closed(session: Session, code: number): void {
    this.registry.remove(session);
    this.index.removeAll(session);
    this.connections.release(session.userKey, session.slotKey).catch(() => undefined);
    this.metrics.wsCloses.inc({ code: KNOWN_CLOSE_CODES.has(code) ? String(code) : 'other' });
    this.audit.record(wsClosed(session, session.closeReason ?? 'peer_closed', code));
  }
}

/** The TLS version and cipher this node negotiated; null when a trusted proxy terminated TLS. */
function tlsReportOf(req: IncomingMessage): TlsReport | null {
  const socket = req.socket;
  if (!(socket instanceof TLSSocket)) return null;
  return { protocol: socket.getProtocol(), cipher: socket.getCipher()?.standardName ?? null };
}
