import type { UserKey } from '../../core/principal.js';
import type { Standing } from '../user-standing/user-standing.js';

/** What the upgrade asks of the shared state for one verified ticket. */
export interface AdmissionRequest {
  readonly jti: string;
  readonly userKey: UserKey;
  /** The ticket's provider-session watermark keys (idp-session.ts `watermarkKeysFor`). */
  readonly watermarkKeys: readonly string[];
  /** The access token's `iat` the ticket carries (s), null when it had none. */
  readonly tokenIssuedAt: number | null;
  /** The slot this connection would take: its key, the user's cap and the lease. */
  readonly slot: {
    readonly connectionKey: string;
    readonly limit: number;
    readonly leaseMs: number;
  };
  readonly nowMs: number;
}

/**
 * The slot, as far as the store went: `taken` (held for this connection), `full` (the user
 * holds `limit` live slots: refused) or `not_taken` (not tried: the connection cap guard
 * takes it through ConnectionCounter, as without this store).
 */
export type SlotOutcome = 'taken' | 'full' | 'not_taken';

export type AdmissionFacts =
  | { readonly redeemed: false }
  | { readonly redeemed: true; readonly standing: Standing; readonly slot: SlotOutcome };

/**
 * The store half of the upgrade's ticket guards (src/gateway/upgrade-ticket.guards.ts) in one
 * call: redeem the ticket (exactly once, cluster-wide); only if that won, read the user's
 * Standing; and, where one script can see it all, take the connection slot when the block
 * and the watermarks the script read would let the guards pass. The guards still decide, in
 * their order, from these facts; a slot taken for an upgrade a guard then refuses is given
 * back like any slot of a refused upgrade.
 *
 * Rejects (StoreUnavailableError) only when the redemption's outcome is unknown; a fact read
 * after a won redemption that could not be read is marked unread in the Standing.
 */
export abstract class UpgradeAdmission {
  abstract admit(request: AdmissionRequest): Promise<AdmissionFacts>;
}
