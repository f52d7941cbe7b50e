import { RedisService } from '../../redis/redis.service.js';
import { CareTeamStore } from './care-team-store.js';

/** One Redis set per patient, `careteam:<patientId>`, holding doctor ids. */
export class RedisCareTeamStore extends CareTeamStore {
  constructor(private readonly redis: RedisService) {
    super();
  }

  async add(patientId: string, doctorId: string): Promise<void> {
    await this.redis.run((client) => client.sadd(this.redis.key('careteam', patientId), doctorId));
  }

  async remove(patientId: string, doctorId: string): Promise<boolean> {
    const removed = await this.redis.run((client) =>
      client.srem(this.redis.key('careteam', patientId), doctorId),
    );
    return removed === 1;
  }

  async isMember(patientId: string, doctorId: string): Promise<boolean> {
    const member = await this.redis.run((client) =>
      client.sismember(this.redis.key('careteam', patientId), doctorId),
    );
    return member === 1;
  }
}
