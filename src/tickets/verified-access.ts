import type { Request } from 'express';
import type { Principal, UserKey } from '../core/principal.js';
import type { TicketContext } from '../core/ticket.js';

/**
 * What AccessTokenGuard learned from a request's access token, riding on the request for the
 * guards and handler after it (the ticket throttler tracks by `userKey`; the issuer signs
 * for `principal`). Never the token itself.
 */
export interface VerifiedAccess {
  readonly principal: Principal;
  readonly userKey: UserKey;
  /** The access token's `exp`, epoch ms: no ticket or session outlives it. */
  readonly expiresAt: number;
  /** Digests of its `sub` and `sid`, its `iat`, and its carecast scopes, for the ticket. */
  readonly context: TicketContext;
}

const VERIFIED_ACCESS = Symbol('carecast.verified-access');

type Carrying = Request & { [VERIFIED_ACCESS]?: VerifiedAccess };

/** Set once by AccessTokenGuard after the token verified and a principal was derived. */
export function attachVerifiedAccess(req: Request, access: VerifiedAccess): void {
  (req as Carrying)[VERIFIED_ACCESS] = access;
}

/** The verified access of this request, or undefined before AccessTokenGuard passed it. */
export function verifiedAccessOf(req: Request): VerifiedAccess | undefined {
  return (req as Carrying)[VERIFIED_ACCESS];
}
