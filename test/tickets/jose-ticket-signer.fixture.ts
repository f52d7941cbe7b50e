import { randomBytes } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import type { Config } from '../../src/config/config.types.js';
import type { Principal } from '../../src/core/principal.js';
import {
  buildTicketClaims,
  readTicketClaims,
  TICKET_AUDIENCE,
  TICKET_TYPE,
} from '../../src/core/ticket.js';
import type { SignedTicket, TicketCheck } from '../../src/tickets/ticket-signer.js';

/**
 * The jose-based ticket signer that nodes ran before TicketSigner moved to @nestjs/jwt, kept
 * verbatim (minus Nest) for the interop test only: during a rolling deploy, old and new nodes
 * must accept each other's tickets. Never imported by src/.
 */
export class JoseTicketSigner {
  private readonly key: Uint8Array;
  private readonly ttlSeconds: number;

  constructor(config: Config) {
    this.key = new TextEncoder().encode(config.tickets.secret);
    this.ttlSeconds = config.tickets.ttlSeconds;
  }

  async sign(principal: Principal, accessTokenExp: number, nowMs: number): Promise<SignedTicket> {
    const jti = randomBytes(16).toString('base64url');
    const claims = buildTicketClaims(principal, {
      jti,
      nowMs,
      ttlSeconds: this.ttlSeconds,
      accessTokenExp,
    });
    const token = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'HS256', typ: TICKET_TYPE })
      .sign(this.key);
    return { token, jti, expiresIn: claims.exp - claims.iat };
  }

  async verify(token: string, nowMs: number): Promise<TicketCheck> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        audience: TICKET_AUDIENCE,
        typ: TICKET_TYPE,
        requiredClaims: ['exp', 'iat', 'jti', 'sub'],
        currentDate: new Date(nowMs),
      });
      const read = readTicketClaims(payload);
      return read.ok ? { ok: true, grant: read.grant } : { ok: false, reason: read.error };
    } catch (error) {
      return {
        ok: false,
        reason: error instanceof errors.JWTExpired ? 'ticket_expired' : 'ticket_invalid',
      };
    }
  }
}
