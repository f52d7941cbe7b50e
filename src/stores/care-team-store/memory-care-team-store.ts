import { CareTeamStore } from './care-team-store.js';

/** Care teams of an embedded single node; gone at restart, like everything in that mode. */
export class MemoryCareTeamStore extends CareTeamStore {
  private readonly teams = new Map<string, Set<string>>();

  add(patientId: string, doctorId: string): Promise<void> {
    let team = this.teams.get(patientId);
    if (!team) this.teams.set(patientId, (team = new Set()));
    team.add(doctorId);
    return Promise.resolve();
  }

  remove(patientId: string, doctorId: string): Promise<boolean> {
    const team = this.teams.get(patientId);
    const removed = team?.delete(doctorId) ?? false;
    if (team?.size === 0) this.teams.delete(patientId);
    return Promise.resolve(removed);
  }

  isMember(patientId: string, doctorId: string): Promise<boolean> {
    return Promise.resolve(this.teams.get(patientId)?.has(doctorId) ?? false);
  }
}
