/**
 * Which doctors are on which patient's care team (contract §5). Redis sets shared by every
 * node, or memory in embedded mode. Request paths fail fast with StoreUnavailableError.
 */
export abstract class CareTeamStore {
  abstract add(patientId: string, doctorId: string): Promise<void>;
  /** True when the doctor was a member and no longer is. */
  abstract remove(patientId: string, doctorId: string): Promise<boolean>;
  abstract isMember(patientId: string, doctorId: string): Promise<boolean>;
}
