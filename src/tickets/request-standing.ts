import type { Request } from 'express';
import type { Standing } from '../stores/user-standing/user-standing.js';

/**
 * The verified user's Standing, read once per ticket request by NotLoggedOutGuard (the block
 * and the watermarks in one round trip) and riding on the request for UnblockedUserGuard,
 * which decides the block from it instead of reading the store again.
 */
const STANDING = Symbol('carecast.request-standing');

type Carrying = Request & { [STANDING]?: Standing };

/** Set once by NotLoggedOutGuard. */
export function attachStanding(req: Request, standing: Standing): void {
  (req as Carrying)[STANDING] = standing;
}

/** The Standing read for this request, or undefined before NotLoggedOutGuard ran. */
export function standingOf(req: Request): Standing | undefined {
  return (req as Carrying)[STANDING];
}
