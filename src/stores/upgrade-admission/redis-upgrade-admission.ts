import { RedisService } from '../../redis/redis.service.js';
import { scriptedCommand } from '../../redis/scripted-command.js';
import { ACQUIRE_SLOT_LUA, slotsKey } from '../connection-counter/redis-connection-counter.js';
import { watermarkKey } from '../logout-store/redis-logout-store.js';
import { ticketKey } from '../ticket-store/redis-ticket-store.js';
import { blockKey } from '../user-blocks/redis-user-blocks.js';
import { READ_STANDING_LUA, standingOf } from '../user-standing/redis-user-standing.js';
import {
  type AdmissionFacts,
  type AdmissionRequest,
  type SlotOutcome,
  UpgradeAdmission,
} from './upgrade-admission.js';

/**
 * The upgrade's store steps in one script, in the guards' order: `GETDEL` the ticket (a
 * reused one ends the script: nothing else is read or taken), read the block and the
 * watermarks (READ_STANDING_LUA), then take the slot (ACQUIRE_SLOT_LUA) unless the block
 * exists or a watermark is at or after the token's `iat` (or the token has none): the rule of
 * core `loggedOutBy`, so the slot is taken exactly when the guards will pass. Where the two
 * could ever differ the outcome stays safe: a watermark the script cannot read as a number
 * leaves the slot `not_taken` (the cap guard takes it if the guards pass), and a slot taken
 * for an upgrade a guard refuses is released with the refusal.
 * KEYS: ticket, block, the user's slots, watermark keys. ARGV: token iat ('' for none),
 * nowMs, limit, connection key, lease expiry ms, lease ms.
 * Returns {0} (not redeemed) or {1, slot outcome, {exists, watermark values...}}.
 */
const ADMIT_SCRIPT = `${READ_STANDING_LUA}${ACQUIRE_SLOT_LUA}
if redis.call('GETDEL', KEYS[1]) ~= '1' then
  return {0}
end
local standing = read_standing(KEYS[2], 4, #KEYS)
local refused = standing[1] == 1
local iat = tonumber(ARGV[1])
for i = 2, #standing do
  if standing[i] then
    local at = tonumber(standing[i])
    if iat == nil or at == nil or iat <= at then
      refused = true
    end
  end
end
local slot = 'not_taken'
if not refused then
  slot = acquire_slot(KEYS[3], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]) == 1 and 'taken' or 'full'
end
return {1, slot, standing}
`;

type AdmitReply = [0] | [1, SlotOutcome, [number, ...(string | null)[]]];

const admitOnce = scriptedCommand<string[], AdmitReply>('carecastAdmitUpgrade', ADMIT_SCRIPT, null);

/**
 * The admission on a standalone Redis, where every key is on the one server: one command
 * and one round trip for what took four (GETDEL, EXISTS, the watermark GETs, the slot script).
 * The keys are the stores' own, so nodes of this and the previous version share one state.
 */
export class RedisUpgradeAdmission extends UpgradeAdmission {
  constructor(private readonly redis: RedisService) {
    super();
  }

  async admit(request: AdmissionRequest): Promise<AdmissionFacts> {
    const { jti, userKey, watermarkKeys, tokenIssuedAt, slot, nowMs } = request;
    const keys = [
      ticketKey(this.redis, jti),
      blockKey(this.redis, userKey),
      slotsKey(this.redis, userKey),
      ...watermarkKeys.map((key) => watermarkKey(this.redis, key)),
    ];
    const reply = await this.redis.run((c) =>
      admitOnce(
        c,
        String(keys.length),
        ...keys,
        tokenIssuedAt === null ? '' : String(tokenIssuedAt),
        String(nowMs),
        String(slot.limit),
        slot.connectionKey,
        String(nowMs + slot.leaseMs),
        String(slot.leaseMs),
      ),
    );
    if (Number(reply[0]) !== 1) return { redeemed: false };
    const [, outcome, standing] = reply as Extract<AdmitReply, [1, ...unknown[]]>;
    return { redeemed: true, standing: standingOf(standing), slot: slotOutcomeOf(outcome) };
  }
}

function slotOutcomeOf(reply: string): SlotOutcome {
  switch (reply) {
    case 'taken':
    case 'full':
    case 'not_taken':
      return reply;
    default:
      throw new Error('unexpected slot outcome from the admission script');
  }
}
