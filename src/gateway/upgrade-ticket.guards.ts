import { randomBytes } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import { ConnectionCounter, slotLeaseMs } from '../stores/connection-counter/connection-counter.js';
import { loggedOutBy, watermarkKeysFor } from '../core/idp-session.js';
import { StoreUnavailableError } from '../redis/store-unavailable.error.js';
import { UpgradeAdmission } from '../stores/upgrade-admission/upgrade-admission.js';
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
 * on it is spent whatever follows. The one store call (UpgradeAdmission) also reads, only
 * for a won redemption, what the block and logout guards decide on, and on a standalone
 * Redis takes the slot when they will pass: one round trip for the four guards' store work.
 */
@Injectable()
export class TicketRedemptionGuard implements CanActivate {
  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly admission: UpgradeAdmission,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const attempt = upgradeAttemptOf(context);
    const { grant, startedAt } = attempt;
    const connectionId = randomBytes(12).toString('base64url');
    const slotKey = `${this.config.nodeId}:${connectionId}`;
    const { maxConnectionsPerUser, heartbeatSeconds } = this.config.websocket;
    const facts = await this.admission.admit({
      jti: grant.jti,
      userKey: attempt.actor,
      watermarkKeys: watermarkKeysFor(grant.idp),
      tokenIssuedAt: grant.tokenIssuedAt,
      slot: {
        connectionKey: slotKey,
        limit: maxConnectionsPerUser,
        leaseMs: slotLeaseMs(heartbeatSeconds),
      },
      nowMs: startedAt,
    });
    if (!facts.redeemed) throw attempt.refusal('ticket_reused');
    attempt.redeemed({ standing: facts.standing, slot: facts.slot, connectionId, slotKey });
    return true;
  }
}

/** `user_blocked` while the internal API's disconnect block on this user lasts. */
@Injectable()
export class UserBlockGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const attempt = upgradeAttemptOf(context);
    const { blocked } = attempt.admission.standing;
    if (blocked === null) throw new StoreUnavailableError();
    if (blocked) throw attempt.refusal('user_blocked');
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
  canActivate(context: ExecutionContext): boolean {
    const attempt = upgradeAttemptOf(context);
    const at = attempt.admission.standing.loggedOutAt;
    if (at === undefined) throw new StoreUnavailableError();
    if (loggedOutBy(attempt.grant.tokenIssuedAt, at)) throw attempt.refusal('ticket_invalid');
    return true;
  }
}

/**
 * `too_many_connections` once the user holds MAX_CONNECTIONS_PER_USER live slots across the
 * cluster; otherwise the connection's slot is held. The last guard: a slot is only ever kept
 * for an upgrade that nothing else refuses, and the authenticator gives it back if the socket
 * dies before the 101. The slot was taken, or found full, with the redemption where one
 * script could (standalone Redis); otherwise it is taken here.
 */
@Injectable()
export class ConnectionCapGuard implements CanActivate {
  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly connections: ConnectionCounter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const attempt = upgradeAttemptOf(context);
    const { slot, slotKey } = attempt.admission;
    switch (slot) {
      case 'taken':
        break;
      case 'full':
        throw attempt.refusal('too_many_connections');
      case 'not_taken': {
        const { maxConnectionsPerUser, heartbeatSeconds } = this.config.websocket;
        const acquired = await this.connections.acquire(
          attempt.actor,
          slotKey,
          maxConnectionsPerUser,
          slotLeaseMs(heartbeatSeconds),
          attempt.startedAt,
        );
        if (!acquired) throw attempt.refusal('too_many_connections');
        attempt.slotTaken();
        break;
      }
    }
    attempt.holdSlot();
    return true;
  }
}
