import { TicketStore } from '../ticket-store/ticket-store.js';
import { UserStanding } from '../user-standing/user-standing.js';
import {
  type AdmissionFacts,
  type AdmissionRequest,
  UpgradeAdmission,
} from './upgrade-admission.js';

/**
 * The admission through the stores' own calls: on Redis Cluster (the ticket, the block, the
 * watermarks and the slots hash to different slots) and in embedded mode. The redemption and
 * the Standing reads are sent together, so on Cluster they cost one round trip; the
 * Standing is looked at only if the redemption won, so a reused ticket is refused as reused
 * whatever the other reads did. The slot is left to the connection cap guard.
 */
export class SeparateUpgradeAdmission extends UpgradeAdmission {
  constructor(
    private readonly tickets: TicketStore,
    private readonly standing: UserStanding,
  ) {
    super();
  }

  async admit(request: AdmissionRequest): Promise<AdmissionFacts> {
    const { jti, userKey, watermarkKeys, nowMs } = request;
    // Both calls are written now; UserStanding.read never rejects (each fact fails alone).
    const standing = this.standing.read(userKey, watermarkKeys, nowMs);
    if (!(await this.tickets.redeem(jti, nowMs))) return { redeemed: false };
    return { redeemed: true, standing: await standing, slot: 'not_taken' };
  }
}
