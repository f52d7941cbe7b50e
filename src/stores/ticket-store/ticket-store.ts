/**
 * Where issued ticket ids wait to be redeemed, exactly once. Redis in a cluster (`SET NX EX`
 * on issue, `GETDEL` on redemption, so two nodes racing for one ticket cannot both win), memory
 * in embedded mode. Both reject with StoreUnavailableError when they cannot answer.
 */
export abstract class TicketStore {
  /** Records `jti` as redeemable for `ttlSeconds`. */
  abstract issue(jti: string, ttlSeconds: number, nowMs: number): Promise<void>;
  /** True exactly once per issued, unexpired `jti`; false when unknown, expired or used. */
  abstract redeem(jti: string, nowMs: number): Promise<boolean>;
}
