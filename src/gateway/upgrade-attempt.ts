import type { IncomingMessage } from 'node:http';
import type { ExecutionContext } from '@nestjs/common';
import { userKey, type UserKey } from '../core/principal.js';
import type { TicketGrant } from '../core/ticket.js';
import { UPGRADE_CONTEXT, type UpgradeRejection, UpgradeRefused } from '../core/upgrade.js';
import type { SlotOutcome } from '../stores/upgrade-admission/upgrade-admission.js';
import type { Standing } from '../stores/user-standing/user-standing.js';

/** A connection's place in the cluster-wide per-user count, held once the cap guard passed. */
export interface ConnectionSlot {
  readonly userKey: UserKey;
  readonly connectionId: string;
  readonly slotKey: string;
}

/**
 * What the redemption guard's one store call (UpgradeAdmission) learned for the guards after
 * it, once the ticket was redeemed: the user's Standing, and the slot it took, found full, or
 * left to the cap guard, under the connection key it offered.
 */
export interface RedeemedAdmission {
  readonly standing: Standing;
  readonly slot: SlotOutcome;
  readonly connectionId: string;
  readonly slotKey: string;
}

/**
 * What the upgrade guards learn about one upgrade request, in the order they learn it: the
 * ticket text (handshake guard), the verified grant (signature guard), the redemption and
 * what the store read with it (redemption guard), the connection slot (cap guard). Each fact
 * is set once, by the guard that established it, and read by the guards after it; reading a
 * fact no guard has set throws, so a missing guard fails the upgrade instead of admitting it.
 */
export class UpgradeAttempt {
  private presentedTicket: string | null = null;
  private verifiedGrant: TicketGrant | null = null;
  private redeemedAdmission: RedeemedAdmission | null = null;
  /** A slot the store holds for this attempt, whichever step took it; released on refusal. */
  private takenSlot: ConnectionSlot | null = null;
  private heldSlot: ConnectionSlot | null = null;

  /** `startedAt`: the one clock reading every time-dependent check of this attempt uses. */
  constructor(readonly startedAt: number) {}

  get ticket(): string {
    return required(this.presentedTicket, 'ticket');
  }

  get grant(): TicketGrant {
    return required(this.verifiedGrant, 'grant');
  }

  get actor(): UserKey {
    return userKey(this.grant.principal);
  }

  get admission(): RedeemedAdmission {
    return required(this.redeemedAdmission, 'admission');
  }

  /** The slot the cap guard accepted; admit() reads it. */
  get slot(): ConnectionSlot {
    return required(this.heldSlot, 'slot');
  }

  /** The slot to give back when the upgrade does not complete, if one was taken. */
  get slotToRelease(): ConnectionSlot | null {
    return this.takenSlot;
  }

  presentTicket(ticket: string): void {
    this.presentedTicket = once(this.presentedTicket, ticket, 'ticket');
  }

  verified(grant: TicketGrant): void {
    this.verifiedGrant = once(this.verifiedGrant, grant, 'grant');
  }

  /** The ticket was redeemed; a slot the store took with it is released if a guard refuses. */
  redeemed(admission: RedeemedAdmission): void {
    this.redeemedAdmission = once(this.redeemedAdmission, admission, 'admission');
    if (admission.slot === 'taken') this.slotTaken();
  }

  /** The store holds the admission's slot for this attempt (taken by the cap guard). */
  slotTaken(): void {
    const { connectionId, slotKey } = this.admission;
    this.takenSlot = once(this.takenSlot, { userKey: this.actor, connectionId, slotKey }, 'slot');
  }

  /** The cap guard passed: the slot taken for this attempt is the connection's. */
  holdSlot(): void {
    this.heldSlot = once(this.heldSlot, required(this.takenSlot, 'taken slot'), 'held slot');
  }

  /** A refusal naming the user and the ticket id once the ticket has been verified. */
  refusal(reason: UpgradeRejection): UpgradeRefused {
    const grant = this.verifiedGrant;
    return grant === null
      ? new UpgradeRefused(reason)
      : new UpgradeRefused(reason, userKey(grant.principal), grant.jti);
  }
}

/**
 * The arguments the upgrade guards receive: the raw request, then its attempt. Guards that
 * only read headers (OriginGuard) take the request as argument 0 on either transport.
 */
export type UpgradeGuardArgs = [req: IncomingMessage, attempt: UpgradeAttempt];

export function upgradeRequestOf(context: ExecutionContext): IncomingMessage {
  return upgradeArgs(context)[0];
}

export function upgradeAttemptOf(context: ExecutionContext): UpgradeAttempt {
  return upgradeArgs(context)[1];
}

function upgradeArgs(context: ExecutionContext): UpgradeGuardArgs {
  if (context.getType<string>() !== UPGRADE_CONTEXT) {
    throw new Error(`an upgrade guard ran in a ${context.getType<string>()} context`);
  }
  return context.getArgs<UpgradeGuardArgs>();
}

function required<T>(value: T | null, what: string): T {
  if (value === null) throw new Error(`upgrade ${what} read before a guard set it`);
  return value;
}

function once<T>(current: T | null, next: T, what: string): T {
  if (current !== null) throw new Error(`upgrade ${what} set twice`);
  return next;
}
