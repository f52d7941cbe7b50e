import { Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import type { LogoutProblem } from '../core/audit-vocabulary.js';
import { encodeControl } from '../core/control-commands.js';
import { watermarkKeyOf } from '../core/idp-session.js';
import { checkLogoutClaims, logoutJtiDigest } from '../core/logout-token.js';
import { derivePrincipal, userKey, type UserKey } from '../core/principal.js';
import { Bus } from '../fanout/bus.js';
import { ApiError } from '../http/api-error.js';
import { LOGOUT_JTI_TTL_SECONDS, LogoutStore } from '../stores/logout-store/logout-store.js';
import { AccessTokenVerifier } from '../tickets/access-token-verifier.js';
import { LogoutRecorder } from './logout-recorder.js';

/**
 * Acts on one back-channel logout token (contract §8), in this order, each step refusing with
 * 400 `invalid_request` (recorded with the failed check) and nothing done:
 * 1. signature, `iss`, `aud` (AUTH_LOGOUT_AUDIENCE), algorithm, `exp` if present: the
 *    access-token verifier, so the same key source and allowlist;
 * 2. the logout claims: `iat` window, `jti`, `events`, `sub`/`sid`, no `nonce` (core);
 * 3. the `jti` is claimed in the replay store (cluster-wide, 10 minutes): a replay stops here.
 * Then its effect: the watermark of its target is set to now (kept for the longest an access
 * token lives, plus the clock tolerance), and every node is told to close the target's sessions.
 *
 * The replay claim comes before any effect, so a replayed token never moves a watermark. A
 * store or bus failure after the claim is a 400 too (`unavailable`); the provider's retry is
 * then a replay: operators see both in the metrics and re-run the logout at the provider.
 */
@Injectable()
export class BackchannelLogoutService {
  private readonly toleranceSeconds: number;
  private readonly watermarkSeconds: number;

  constructor(
    @Inject(CONFIG) config: Config,
    private readonly verifier: AccessTokenVerifier,
    private readonly store: LogoutStore,
    private readonly bus: Bus,
    private readonly recorder: LogoutRecorder,
  ) {
    this.toleranceSeconds = config.auth.clockToleranceSeconds;
    this.watermarkSeconds = config.auth.maxTokenLifetimeSeconds + config.auth.clockToleranceSeconds;
  }

  async logout(token: string): Promise<void> {
    const verified = await this.verifier.verifyLogoutToken(token).catch(() => null);
    if (verified === null) throw this.refuse('unavailable');
    if (!verified.ok) throw this.refuse(verified.error);
    const nowMs = Date.now();
    const nowSeconds = Math.floor(nowMs / 1000);
    const checked = checkLogoutClaims(verified.claims, nowSeconds, this.toleranceSeconds);
    if (!checked.ok) throw this.refuse(checked.problem);
    const { jti, target } = checked.claims;
    const fresh = await this.store
      .claimJti(logoutJtiDigest(jti), LOGOUT_JTI_TTL_SECONDS, nowMs)
      .catch(() => null);
    if (fresh === null) throw this.refuse('unavailable');
    if (!fresh) throw this.refuse('replayed');
    try {
      // The watermark first: a reconnect racing the broadcast must already be refused.
      await this.store.markLoggedOut(
        watermarkKeyOf(target),
        nowSeconds,
        this.watermarkSeconds,
        nowMs,
      );
      await this.bus.publishControl(encodeControl({ type: 'user.logout', target }));
    } catch {
      throw this.refuse('unavailable');
    }
    this.recorder.accepted(actorOf(verified.claims));
  }

  private refuse(problem: LogoutProblem): ApiError {
    this.recorder.refused(problem);
    return new ApiError('invalid_request');
  }
}

/** The carecast user the token names, when its claims name one (§2); else `anonymous`. */
function actorOf(claims: Record<string, unknown>): UserKey | 'anonymous' {
  const derived = derivePrincipal(claims);
  return derived.ok ? userKey(derived.principal) : 'anonymous';
}
