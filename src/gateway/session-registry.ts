import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { CONFIG } from '../config/config.module.js';
import { Multimap } from '../core/multimap.js';
import type { Config } from '../config/config.types.js';
import { DrainState } from '../lifecycle/drain-state.js';
import { Metrics } from '../metrics/metrics.js';
import { ConnectionCounter, slotLeaseMs } from '../stores/connection-counter/connection-counter.js';
import { SubscriptionService } from '../channels/subscription-service.js';
import { logoutMatches, type LogoutTarget } from '../core/idp-session.js';
import type { Session } from './session.js';

const SWEEP_INTERVAL_MS = 500;
/** A peer that does not finish the close handshake in this time is cut off. */
const CLOSE_HANDSHAKE_MS = 5000;

/**
 * This node's live sessions and the one sweep timer of the process: each tick closes
 * expired leases (4001) within a second of their end, ends break-glass grants that ran out
 * (a `revoked` frame, through SubscriptionService.grantEnded), and every heartbeat interval it closes
 * sessions that missed the last ping (4002), pings the rest and renews their connection
 * slots. No timer per connection.
 */
@Injectable()
export class SessionRegistry implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(SessionRegistry.name);
  private readonly sessions = new Set<Session>();
  private readonly byUser = new Multimap<string, Session>();
  private readonly heartbeatMs: number;
  private timer: NodeJS.Timeout | null = null;
  private nextHeartbeatAt = 0;
  private drained: (() => void) | null = null;

  constructor(
    @Inject(CONFIG) config: Config,
    private readonly connections: ConnectionCounter,
    private readonly metrics: Metrics,
    private readonly subscriptions: SubscriptionService,
    drain: DrainState,
  ) {
    this.heartbeatMs = config.websocket.heartbeatSeconds * 1000;
    drain.onDrain(() => this.closeAll());
    metrics.onScrape(() => metrics.wsConnections.set(this.sessions.size));
  }

  onModuleInit(): void {
    this.nextHeartbeatAt = Date.now() + this.heartbeatMs;
    this.timer = setInterval(() => this.sweep(Date.now()), SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    for (const session of this.sessions) session.terminate();
  }

  add(session: Session): void {
    this.sessions.add(session);
    this.byUser.add(session.userKey, session);
  }

  remove(session: Session): void {
    this.sessions.delete(session);
    this.byUser.delete(session.userKey, session);
    if (this.sessions.size === 0) this.drained?.();
  }

  /** This node's sessions of one user, for revocations and disconnects; no scan of all. */
  forUser(userKey: string): Session[] {
    return this.byUser.values(userKey);
  }

  /**
   * This node's open sessions whose access token a back-channel logout names. A scan of all
   * sessions: logouts are rare, and the provider's `sub` need not be the carecast user id.
   */
  forLogout(target: LogoutTarget): Session[] {
    return [...this.sessions].filter(
      (s) => s.closingSince === null && logoutMatches(target, s.idp),
    );
  }

  sweep(now: number): void {
    const heartbeat = now >= this.nextHeartbeatAt;
    if (heartbeat) this.nextHeartbeatAt = now + this.heartbeatMs;
    for (const session of this.sessions) {
      if (session.closingSince !== null) {
        if (now - session.closingSince > CLOSE_HANDSHAKE_MS) session.terminate();
      } else if (now >= session.expiresAt) {
        session.close('session_expired', now);
      } else {
        // Break-glass grants end here too: one sweep for the process, no timer per grant.
        for (const channel of session.expireGrants(now)) this.grantEnded(session, channel);
        if (heartbeat) session.heartbeat(now);
      }
    }
    if (heartbeat) this.renewSlots(now);
  }

  private grantEnded(session: Session, channel: string): void {
    this.subscriptions
      .grantEnded(session, channel)
      .catch(() => session.close('internal_error', Date.now()));
  }

  /** Drain: close every session with 1001 and wait until all are gone (bounded). */
  private async closeAll(): Promise<void> {
    if (this.sessions.size === 0) return;
    const now = Date.now();
    const gone = new Promise<void>((resolve) => (this.drained = resolve));
    for (const session of this.sessions) session.close('going_away', now);
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_HANDSHAKE_MS).unref());
    await Promise.race([gone, timeout]);
    for (const session of this.sessions) session.terminate();
  }

  private renewSlots(now: number): void {
    const slots = [...this.sessions]
      .filter((s) => s.closingSince === null)
      .map((s) => ({ userKey: s.userKey, connectionKey: s.slotKey }));
    if (slots.length === 0) return;
    this.connections.renew(slots, slotLeaseMs(this.heartbeatMs / 1000), now).catch(() => {
      this.logger.warn(
        'could not renew connection slots; they expire unless the next round succeeds',
      );
    });
  }
}
