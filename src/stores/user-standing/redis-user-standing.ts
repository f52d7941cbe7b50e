import type { UserKey } from '../../core/principal.js';
import { RedisService } from '../../redis/redis.service.js';
import { scriptedCommand } from '../../redis/scripted-command.js';
import { latestWatermark, watermarkKey } from '../logout-store/redis-logout-store.js';
import { blockKey } from '../user-blocks/redis-user-blocks.js';
import { type Standing, UNREAD_STANDING, UserStanding } from './user-standing.js';

/**
 * The block and the watermarks, read in one script: `EXISTS` and a `GET` per watermark, the
 * same reads RedisUserBlocks and RedisLogoutStore make, in one command and one round trip.
 * Reads only. KEYS[1] = block key, KEYS[2..] = watermark keys. Returns {exists, value...}.
 */
export const READ_STANDING_LUA = `
local function read_standing(block_key, first_mark, last_mark)
  local reply = {redis.call('EXISTS', block_key)}
  for i = first_mark, last_mark do
    reply[#reply + 1] = redis.call('GET', KEYS[i])
  end
  return reply
end
`;

const readStanding = scriptedCommand<string[], [number, ...(string | null)[]]>(
  'carecastReadStanding',
  `${READ_STANDING_LUA}
return read_standing(KEYS[1], 2, #KEYS)
`,
  null,
);

/**
 * Standing on a standalone Redis, where every key is on the one server: one command. The
 * script runs whole or not at all, so a failure leaves both facts unread, which is what the
 * separate calls give when the one server is down.
 */
export class RedisUserStanding extends UserStanding {
  constructor(private readonly redis: RedisService) {
    super();
  }

  async read(
    userKey: UserKey,
    watermarkKeys: readonly string[],
    _nowMs: number,
  ): Promise<Standing> {
    const keys = [
      blockKey(this.redis, userKey),
      ...watermarkKeys.map((key) => watermarkKey(this.redis, key)),
    ];
    try {
      const reply = await this.redis.run((c) => readStanding(c, String(keys.length), ...keys));
      return standingOf(reply);
    } catch {
      return UNREAD_STANDING;
    }
  }
}

/** The script's reply {exists, watermark values...} as a Standing. */
export function standingOf([exists, ...marks]: readonly [number, ...(string | null)[]]): Standing {
  return { blocked: Number(exists) === 1, loggedOutAt: latestWatermark(marks) };
}
