import { randomBytes } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import { ConnectionCounter, slotLeaseMs } from '../stores/connection-counter/connection-counter.js';
import { loggedOutBy, watermarkKeysFor } from '../core/idp-session.js';
import { LogoutStore } from '../stores/logout-store/logout-store.js';
import { TicketStore } from '../stores/ticket-store/ticket-store.js';
import { UserBlocks } from '../stores/user-blocks/user-blocks.js';
import { TicketSigner } from '../tickets/ticket-signer.js';
import { upgradeAttemptOf } from './upgrade-attempt.js';

/**
 * The upgrade guards that decide on the ticket and its holder, after the request guards.
 * From the signature guard on, a refusal names the user and the ticket id. A store that
 * fails throws its own error, which the authenticator answers 503 `unavailable`.
 */

/**
 * `ticket_invalid` or `ticket_expired` unless the ticket verifies (TicketSigner: HS256,
 * `typ`, `aud=ws`, `exp`). Verification comes before redemption, so a forged ticket can
 * never burn the real one it copies.
 */
@Injectable()
export class TicketSignatureGuard implements CanActivate {
  constructor(private readonly signer: TicketSigner) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const attempt = upgradeAttemptOf(context);
    const verified = await this.signer.verify(attempt.ticket, attempt.startedAt);
    if (!verified.ok) throw attempt.refusal(verified.reason);
    attempt.verified(verified.grant);
    return true;
  }
}

/**
 * `ticket_reused` unless this request redeems the ticket (GETDEL: exactly one caller wins,
 * cluster-wide). A verified ticket is redeemed before anything else can refuse it: from here
 * on it is spent whatever follows.
 */
@Injectable()
export class TicketRedemptionGuard implements CanActivate {
  constructor(private readonly tickets: TicketStore) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const attempt = upgradeAttemptOf(context);
    if (!(await this.tickets.redeem(attempt.grant.jti, attempt.startedAt))) {
      throw attempt.refusal('ticket_reused');
    }
    return true;
  }
}

/** `user_blocked` while the internal API's disconnect block on this user lasts. */
@Injectable()
export class UserBlockGuard implements CanActivate {
  constructor(private readonly blocks: UserBlocks) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const attempt = upgradeAttemptOf(context);
    if (await this.blocks.isBlocked(attempt.actor, attempt.startedAt)) {
      throw attempt.refusal('user_blocked');
    }
    return true;
  }
}

/**
 * `too_many_connections` once the user holds MAX_CONNECTIONS_PER_USER live slots across the
 * cluster; otherwise takes a slot for a new connection id. The last guard: a slot is only
 * ever taken for an upgrade that nothing else refuses, and the authenticator gives it back
 * if the socket dies before the 101.
 */
@Injectable()
export class ConnectionCapGuard implements CanActivate {
  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly connections: ConnectionCounter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const attempt = upgradeAttemptOf(context);
    const connectionId = randomBytes(12).toString('base64url');
    const slotKey = `${this.config.nodeId}:${connectionId}`;
    const { maxConnectionsPerUser, heartbeatSeconds } = this.config.websocket;
    const acquired = await this.connections.acquire(
      attempt.actor,
      slotKey,
      maxConnectionsPerUser,
      slotLeaseMs(heartbeatSeconds),
      attempt.startedAt,
    );
    if (!acquired) throw attempt.refusal('too_many_connections');
    attempt.holdSlot(connectionId, slotKey);
    return true;
  }
}

/**
 * `ticket_invalid` for a ticket of an access token issued at or before a back-channel logout
 * of its provider session (contract §8): a ticket obtained just before the logout must not
 * open a session after it. The ticket carries the token's `iat` (`idp_iat`), so the rule is
 * exactly the ticket endpoint's (a token without `iat` is refused while the watermark lasts).
 */
@Injectable()
export class LoggedOutTicketGuard implements CanActivate {
  constructor(private readonly logouts: LogoutStore) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const attempt = upgradeAttemptOf(context);
    const keys = watermarkKeysFor(attempt.grant.idp);
    if (keys.length === 0) return true;
    const at = await this.logouts.loggedOutAt(keys, attempt.startedAt);
    if (loggedOutBy(attempt.grant.tokenIssuedAt, at)) throw attempt.refusal('ticket_invalid');
    return true;
  }
}
