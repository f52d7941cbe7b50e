import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { Inject, Injectable } from '@nestjs/common';
import type { WebSocket, WebSocketServer } from 'ws';
import { AuditService } from '../audit/audit.service.js';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import { userKey } from '../core/principal.js';
import type { TicketGrant } from '../core/ticket.js';
import { checkUpgradeRequest, type UpgradeRejection } from '../core/upgrade.js';
import { trustedProxyCheck } from '../http/trusted-proxy.js';
import { DrainState } from '../lifecycle/drain-state.js';
import { Metrics } from '../metrics/metrics.js';
import { TicketSigner } from '../tickets/ticket-signer.js';
import { TicketStore } from '../tickets/ticket-store.js';
import { UserBlocks } from '../users/user-blocks.js';
import { ConnectionCounter, slotLeaseMs } from './connection-counter.js';
import { rejectUpgrade, retryAfterOf, upgradeStatusOf } from './upgrade-response.js';

export const WS_PATH = '/v1/ws';

/** What a successful upgrade hands to the gateway, riding on the upgrade request. */
export interface Admission {
  readonly grant: TicketGrant;
  readonly connectionId: string;
  /** This connection's slot in the cluster-wide per-user count. */
  readonly slotKey: string;
}

type Refusal = { reason: UpgradeRejection; actor?: string; jti?: string };

/**
 * Every check of `GET /v1/ws` runs here, before any 101: TLS, Origin, a well-formed
 * `carecast.v1` upgrade with a ticket, then (unless draining) ticket signature and claims,
 * single-use redemption, user block, cluster-wide connection cap. A refusal is a plain HTTP
 * response, audited and counted; nothing about a socket exists until all pass.
 */
@Injectable()
export class UpgradeAuthenticator {
  private readonly admissions = new WeakMap<IncomingMessage, Admission>();
  private readonly viaTrustedProxy: ReturnType<typeof trustedProxyCheck> | null;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly signer: TicketSigner,
    private readonly tickets: TicketStore,
    private readonly blocks: UserBlocks,
    private readonly connections: ConnectionCounter,
    private readonly drain: DrainState,
    private readonly audit: AuditService,
    private readonly metrics: Metrics,
  ) {
    const tls = config.publicListener.tls;
    this.viaTrustedProxy = tls.kind === 'proxy' ? trustedProxyCheck(tls.trustedProxies) : null;
  }

  async handle(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    server: WebSocketServer,
  ): Promise<void> {
    const stopTimer = this.metrics.wsHandshakeDuration.startTimer();
    socket.on('error', () => socket.destroy());
    if (pathOf(req) !== WS_PATH) {
      rejectUpgrade(socket, 404, 'not_found');
      return;
    }
    const outcome = await this.admit(req).catch((): Refusal => ({ reason: 'unavailable' }));
    if ('reason' in outcome) {
      stopTimer({ outcome: 'rejected' });
      this.refuse(socket, outcome);
      return;
    }
    if (socket.destroyed) {
      await this.connections
        .release(userKey(outcome.grant.principal), outcome.slotKey)
        .catch(() => undefined);
      return;
    }
    this.admissions.set(req, outcome);
    server.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      stopTimer({ outcome: 'accepted' });
      this.metrics.wsUpgradesAccepted.inc();
      server.emit('connection', ws, req);
    });
  }

  /** The admission of an upgraded request, once: the gateway takes it when the socket opens. */
  take(req: IncomingMessage): Admission | undefined {
    const admission = this.admissions.get(req);
    this.admissions.delete(req);
    return admission;
  }

  private async admit(req: IncomingMessage): Promise<Admission | Refusal> {
    const headers = req.headers;
    const checked = checkUpgradeRequest(
      {
        secure: this.isSecure(req),
        method: req.method,
        upgrade: headers.upgrade,
        key: headers['sec-websocket-key'],
        origin: headers.origin,
        version: headers['sec-websocket-version'],
        protocols: headers['sec-websocket-protocol'],
      },
      this.config.allowedOrigins,
    );
    if (!checked.ok) return { reason: checked.reason };
    if (this.drain.draining) return { reason: 'draining' };
    const now = Date.now();
    const verified = await this.signer.verify(checked.ticket, now);
    if (!verified.ok) return { reason: verified.reason };
    const { grant } = verified;
    const actor = userKey(grant.principal);
    const jti = grant.jti;
    // A verified ticket is redeemed before anything else can fail: it is spent either way.
    if (!(await this.tickets.redeem(jti, now))) return { reason: 'ticket_reused', actor, jti };
    if (await this.blocks.isBlocked(actor, now)) return { reason: 'user_blocked', actor, jti };
    const connectionId = randomBytes(12).toString('base64url');
    const slotKey = `${this.config.nodeId}:${connectionId}`;
    const limit = this.config.websocket.maxConnectionsPerUser;
    if (
      !(await this.connections.acquire(
        actor,
        slotKey,
        limit,
        slotLeaseMs(this.config.websocket.heartbeatSeconds),
        now,
      ))
    ) {
      return { reason: 'too_many_connections', actor, jti };
    }
    return { grant, connectionId, slotKey };
  }

  private isSecure(req: IncomingMessage): boolean {
    if (this.viaTrustedProxy)
      return this.viaTrustedProxy(req.socket.remoteAddress, req.headers['x-forwarded-proto']);
    return req.socket instanceof TLSSocket && req.socket.encrypted;
  }

  private refuse(socket: Duplex, refusal: Refusal): void {
    const { reason } = refusal;
    this.metrics.wsUpgradesRejected.inc({ reason });
    this.audit.record({
      event: 'ws.upgrade_rejected',
      outcome: 'deny',
      reason,
      actor: refusal.actor ?? 'anonymous',
      ...(refusal.jti ? { jti: refusal.jti } : {}),
      code: upgradeStatusOf(reason),
    });
    rejectUpgrade(socket, upgradeStatusOf(reason), reason, retryAfterOf(reason));
  }
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
