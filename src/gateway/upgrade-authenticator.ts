import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Inject, Injectable, Logger, type OnModuleInit, UseGuards } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import type { WebSocket, WebSocketServer } from 'ws';
import { AuditService } from '../audit/audit.service.js';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import { upgradeRejected } from '../core/audit-entries.js';
import type { TicketGrant } from '../core/ticket.js';
import { UPGRADE_CONTEXT, UpgradeRefused } from '../core/upgrade.js';
import { publicSecurityHeaderLines } from '../http/public-security-headers.js';
import { refusalLog } from '../logging/refusal-log.js';
import { Metrics } from '../metrics/metrics.js';
import { ConnectionCounter } from '../stores/connection-counter/connection-counter.js';
import { OriginGuard } from '../tickets/origin.guard.js';
import { guardsOnlyContextCreator } from './guards-only-context.js';
import { UpgradeAttempt } from './upgrade-attempt.js';
import { DrainingGuard, HandshakeGuard, TlsTransportGuard } from './upgrade-request.guards.js';
import { rejectUpgrade, retryAfterOf, upgradeStatusOf } from './upgrade-response.js';
import {
  ConnectionCapGuard,
  LoggedOutTicketGuard,
  TicketRedemptionGuard,
  TicketSignatureGuard,
  UserBlockGuard,
} from './upgrade-ticket.guards.js';

export const WS_PATH = '/v1/ws';

/** What a successful upgrade hands to the gateway, riding on the upgrade request. */
export interface Admission {
  readonly grant: TicketGrant;
  readonly connectionId: string;
  /** This connection's slot in the cluster-wide per-user count. */
  readonly slotKey: string;
}

type GuardedAdmit = (req: IncomingMessage, attempt: UpgradeAttempt) => Promise<Admission>;

/**
 * Every check of `GET /v1/ws` runs here, from the public server's `upgrade` listener and
 * before any 101: the path (404), then `admit`'s guards in their declared order, through a
 * guards-only ExternalContextCreator in the `ws-upgrade` context. Guards never run on the
 * gateway's `handleConnection` (that is after the 101), so none of these checks may move
 * there.
 *
 * A guard refuses with an UpgradeRefused; any other failure (a store down, a bug) is 503
 * `unavailable`, never a 101. Either way the answer is a plain HTTP response, audited as
 * `ws.upgrade_rejected`, counted and logged (rate-limited) by reason; nothing about a socket
 * exists until all pass.
 */
@Injectable()
export class UpgradeAuthenticator implements OnModuleInit {
  private readonly logger = new Logger(UpgradeAuthenticator.name);
  private readonly admissions = new WeakMap<IncomingMessage, Admission>();
  private guardedAdmit: GuardedAdmit | null = null;
  /** The public listener's security headers, on every refusal as on every HTTP answer. */
  private readonly securityHeaders: readonly string[];

  constructor(
    @Inject(CONFIG) config: Config,
    private readonly modules: ModulesContainer,
    private readonly connections: ConnectionCounter,
    private readonly audit: AuditService,
    private readonly metrics: Metrics,
  ) {
    this.securityHeaders = publicSecurityHeaderLines(config.publicListener.publicUrl);
  }

  /**
   * Guards are resolved once every provider and enhancer of the app exists. The method itself
   * is passed, not a bound copy: its `@UseGuards` metadata is read from it.
   */
  onModuleInit(): void {
    this.guardedAdmit = guardsOnlyContextCreator(this.modules).create(
      this,
      this.admit as (...args: unknown[]) => unknown,
      'admit',
      undefined,
      undefined,
      undefined,
      undefined,
      { guards: true, interceptors: false, filters: false },
      UPGRADE_CONTEXT,
    ) as GuardedAdmit;
  }

  /**
   * Reached only when every guard passed, in the contract's order (§4): transport, Origin,
   * handshake, draining, ticket signature and claims, single-use redemption, user block,
   * back-channel logout, per-user connection cap.
   */
  @UseGuards(
    TlsTransportGuard,
    OriginGuard,
    HandshakeGuard,
    DrainingGuard,
    TicketSignatureGuard,
    TicketRedemptionGuard,
    UserBlockGuard,
    LoggedOutTicketGuard,
    ConnectionCapGuard,
  )
  admit(_req: IncomingMessage, attempt: UpgradeAttempt): Admission {
    const { connectionId, slotKey } = attempt.slot;
    return { grant: attempt.grant, connectionId, slotKey };
  }

  async handle(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    server: WebSocketServer,
  ): Promise<void> {
    const stopTimer = this.metrics.wsHandshakeDuration.startTimer();
    socket.on('error', destroySocket);
    if (pathOf(req) !== WS_PATH) {
      rejectUpgrade(socket, this.securityHeaders, 404, 'not_found');
      return;
    }
    const attempt = new UpgradeAttempt(Date.now());
    let admission: Admission;
    try {
      if (this.guardedAdmit === null) throw new Error('upgrade guards not initialised');
      admission = await this.guardedAdmit(req, attempt);
    } catch (error) {
      stopTimer({ outcome: 'rejected' });
      this.refuse(socket, this.refusalOf(error, attempt));
      this.releaseSlot(attempt);
      return;
    }
    // ws destroys a socket that can no longer be written or read (the client left, or sent
    // its FIN) instead of upgrading it; the slot taken for it must not wait for its lease.
    if (socket.destroyed || !socket.readable || !socket.writable) {
      socket.destroy();
      this.releaseSlot(attempt);
      return;
    }
    this.admissions.set(req, admission);
    let upgraded = false;
    server.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      upgraded = true;
      stopTimer({ outcome: 'accepted' });
      this.metrics.wsUpgradesAccepted.inc();
      server.emit('connection', ws, req);
    });
    // Without verifyClient, ws answers synchronously: a callback that has not run by now
    // never will (the handshake was aborted), and no session will release the slot.
    if (!upgraded) {
      this.admissions.delete(req);
      this.releaseSlot(attempt);
    }
  }

  /** The admission of an upgraded request, once: the gateway takes it when the socket opens. */
  take(req: IncomingMessage): Admission | undefined {
    const admission = this.admissions.get(req);
    this.admissions.delete(req);
    return admission;
  }

  private refusalOf(error: unknown, attempt: UpgradeAttempt): UpgradeRefused {
    if (error instanceof UpgradeRefused) return error;
    // The type only: messages of unexpected errors may carry request values.
    this.logger.warn({ errorType: errorType(error) }, 'upgrade check failed');
    return attempt.refusal('unavailable');
  }

  private refuse(socket: Duplex, refusal: UpgradeRefused): void {
    const { reason } = refusal;
    const status = upgradeStatusOf(reason);
    this.metrics.wsUpgradesRejected.inc({ reason });
    this.audit.record(upgradeRejected(reason, status, refusal.actor ?? 'anonymous', refusal.jti));
    refusalLog.refused('upgrade', reason, status);
    rejectUpgrade(socket, this.securityHeaders, status, reason, retryAfterOf(reason));
  }

  private releaseSlot(attempt: UpgradeAttempt): void {
    const slot = attempt.slotToRelease;
    if (slot === null) return;
    // A failed release heals by itself: the slot's lease runs out unrenewed.
    this.connections.release(slot.userKey, slot.slotKey).catch(() => undefined);
  }
}

/**
 * The upgrade socket's error listener. A module function, not an arrow in `handle`: the
 * listener stays on the socket for its whole life, and an arrow would keep `handle`'s scope
 * (the request, its headers, the `head` buffer and its 64 KB read chunk) alive with it.
 */
function destroySocket(this: Duplex): void {
  this.destroy();
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function errorType(e: unknown): string {
  return e instanceof Error ? e.constructor.name : typeof e;
}
