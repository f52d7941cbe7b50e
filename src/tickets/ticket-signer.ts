import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { errors, jwtVerify, SignJWT } from 'jose';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import type { Principal } from '../core/principal.js';
import {
  buildTicketClaims,
  readTicketClaims,
  TICKET_AUDIENCE,
  TICKET_TYPE,
  type TicketGrant,
} from '../core/ticket.js';

export interface SignedTicket {
  readonly token: string;
  readonly jti: string;
  /** Seconds until the ticket expires (the TTL, or less when the access token ends sooner). */
  readonly expiresIn: number;
}

export type TicketCheck =
  { ok: true; grant: TicketGrant } | { ok: false; reason: 'ticket_invalid' | 'ticket_expired' };

/**
 * Signs and verifies ticket JWTs with TICKET_SECRET (HS256 only, `typ` and `aud=ws` checked).
 * Verification happens before redemption, so a forged ticket can never burn a real one.
 */
@Injectable()
export class TicketSigner {
  private readonly key: Uint8Array;
  private readonly ttlSeconds: number;

  constructor(@Inject(CONFIG) config: Config) {
    this.key = new TextEncoder().encode(config.tickets.secret);
    this.ttlSeconds = config.tickets.ttlSeconds;
  }

  async sign(principal: Principal, accessTokenExp: number, nowMs: number): Promise<SignedTicket> {
    // 128 bits of randomness, as the contract requires of `jti`.
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
