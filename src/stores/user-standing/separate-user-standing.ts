import type { UserKey } from '../../core/principal.js';
import { LogoutStore } from '../logout-store/logout-store.js';
import { UserBlocks } from '../user-blocks/user-blocks.js';
import { type Standing, UserStanding } from './user-standing.js';

/**
 * Standing through the two stores' own calls, sent together: on Redis Cluster (a user's block
 * and a session's watermarks hash to different slots, so no one script may touch them all)
 * and in embedded mode. Each fact fails on its own, as each store's call does.
 */
export class SeparateUserStanding extends UserStanding {
  constructor(
    private readonly blocks: UserBlocks,
    private readonly logouts: LogoutStore,
  ) {
    super();
  }

  async read(userKey: UserKey, watermarkKeys: readonly string[], nowMs: number): Promise<Standing> {
    const [blocked, loggedOutAt] = await Promise.all([
      this.blocks.isBlocked(userKey, nowMs).catch(() => null),
      watermarkKeys.length === 0
        ? null
        : this.logouts.loggedOutAt(watermarkKeys, nowMs).catch(() => undefined),
    ]);
    return { blocked, loggedOutAt };
  }
}
