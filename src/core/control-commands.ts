/**
 * Node-to-node commands on the bus's control channel. Every node receives every command and
 * acts on its own sessions only.
 */
export type ControlCommand =
  | { readonly type: 'careteam.removed'; readonly patient: string; readonly doctor: string }
  | { readonly type: 'user.disconnect'; readonly user: string };

export function encodeControl(command: ControlCommand): string {
  return JSON.stringify(command);
}

/** Null for anything that is not a well-formed command: the control channel is not trusted blindly. */
export function decodeControl(payload: string): ControlCommand | null {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  switch (v.type) {
    case 'careteam.removed':
      return typeof v.patient === 'string' && typeof v.doctor === 'string'
        ? { type: v.type, patient: v.patient, doctor: v.doctor }
        : null;
    case 'user.disconnect':
      return typeof v.user === 'string' ? { type: v.type, user: v.user } : null;
    default:
      return null;
  }
}
