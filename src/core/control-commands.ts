import { IDP_DIGEST, type LogoutTarget } from './idp-session.js';

/**
 * Node-to-node commands on the bus's control channel. Every node receives every command and
 * acts on its own sessions only.
 */
export type ControlCommand =
  | { readonly type: 'careteam.removed'; readonly patient: string; readonly doctor: string }
  | { readonly type: 'user.disconnect'; readonly user: string }
  /** A back-channel logout: close every session whose access token the target names. */
  | { readonly type: 'user.logout'; readonly target: LogoutTarget };

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
    case 'user.logout': {
      const target = decodeTarget(v.target);
      return target === null ? null : { type: v.type, target };
    }
    default:
      return null;
  }
}

function decodeTarget(value: unknown): LogoutTarget | null {
  if (typeof value !== 'object' || value === null) return null;
  const { sub, sid } = value as Record<string, unknown>;
  const digest = (d: unknown): string | null | undefined =>
    d === null ? null : typeof d === 'string' && IDP_DIGEST.test(d) ? d : undefined;
  const s = digest(sub);
  const i = digest(sid);
  if (s === undefined || i === undefined) return null;
  if (s !== null) return { sub: s, sid: i };
  return i === null ? null : { sub: null, sid: i };
}
