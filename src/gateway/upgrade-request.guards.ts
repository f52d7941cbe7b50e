import { TLSSocket } from 'node:tls';
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import { checkHandshake, UpgradeRefused } from '../core/upgrade.js';
import { trustedProxyCheck } from '../http/trusted-proxy.js';
import { DrainState } from '../lifecycle/drain-state.js';
import { upgradeAttemptOf, upgradeRequestOf } from './upgrade-attempt.js';

/**
 * The upgrade guards that look at the request and the node only: no store is touched and
 * nothing is spent, so a request they refuse leaves its ticket usable. They run in the
 * `ws-upgrade` context (UpgradeAuthenticator), each refusing with an UpgradeRefused.
 */

/**
 * `not_tls` unless the request came over TLS: the public listener's own TLS, or, behind a
 * proxy (`TLS_TERMINATED_BY_PROXY`), a peer in `TRUSTED_PROXIES` that forwarded exactly
 * `X-Forwarded-Proto: https`.
 */
@Injectable()
export class TlsTransportGuard implements CanActivate {
  private readonly viaTrustedProxy: ReturnType<typeof trustedProxyCheck> | null;

  constructor(@Inject(CONFIG) config: Config) {
    const tls = config.publicListener.tls;
    this.viaTrustedProxy = tls.kind === 'proxy' ? trustedProxyCheck(tls.trustedProxies) : null;
  }

  canActivate(context: ExecutionContext): boolean {
    const req = upgradeRequestOf(context);
    const secure = this.viaTrustedProxy
      ? this.viaTrustedProxy(req.socket.remoteAddress, req.headers['x-forwarded-proto'])
      : req.socket instanceof TLSSocket && req.socket.encrypted;
    if (!secure) throw new UpgradeRefused('not_tls');
    return true;
  }
}

/**
 * `bad_version`, `bad_protocol` or `ticket_missing` unless the request is a version-13 GET
 * upgrade offering `carecast.v1` and exactly one ticket (checkHandshake); on success the
 * attempt holds the ticket text for the signature guard.
 */
@Injectable()
export class HandshakeGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const { method, headers } = upgradeRequestOf(context);
    const checked = checkHandshake({
      method,
      upgrade: headers.upgrade,
      key: headers['sec-websocket-key'],
      version: headers['sec-websocket-version'],
      protocols: headers['sec-websocket-protocol'],
    });
    if (!checked.ok) throw new UpgradeRefused(checked.reason);
    upgradeAttemptOf(context).presentTicket(checked.ticket);
    return true;
  }
}

/** `draining` once the node is shutting down: it takes no new sessions. */
@Injectable()
export class DrainingGuard implements CanActivate {
  constructor(private readonly drain: DrainState) {}

  canActivate(): boolean {
    if (this.drain.draining) throw new UpgradeRefused('draining');
    return true;
  }
}
