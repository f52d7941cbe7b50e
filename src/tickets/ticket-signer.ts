import { createSecretKey, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { type JwtModuleOptions, JwtService, TokenExpiredError } from '@nestjs/jwt';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import type { Principal } from '../core/principal.js';
import {
  buildTicketClaims,
  NO_TICKET_CONTEXT,
  readTicketClaims,
  TICKET_AUDIENCE,
  TICKET_TYPE,
  type TicketContext,
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

/** What `verify` with `complete: true` hands back, before this class has looked at it. */
interface DecodedJwt {
  readonly header: Readonly<Record<string, unknown>>;
  /** jsonwebtoken also accepts a payload that is not a JSON object. */
  readonly payload: unknown;
}

/** The claims jsonwebtoken does not insist on but every ticket carries. */
const REQUIRED_CLAIMS = ['exp', 'iat', 'jti', 'sub'] as const;

/**
 * JwtModule options for tickets (registered in TicketsModule): HS256 with TICKET_SECRET.
 * TICKET_SECRET_PREVIOUS gets the same options (ticketJwtOptionsFor), so a ticket passes the
 * same checks whichever of the two secrets signed it.
 *
 * - The secret is a KeyObject: given a string, jsonwebtoken first tries to parse it as a PEM
 *   key on every call, which costs about 30x the HMAC itself.
 * - Sign options never set `noTimestamp` nor `expiresIn`: `iat` and `exp` come from core's
 *   buildTicketClaims (and so from the caller's `nowMs`), and jsonwebtoken keeps a payload's
 *   own `iat`.
 * - Verify allows HS256 only, so `none`, HS384/HS512 and RS256-with-the-secret-as-public-key
 *   are refused before any signature check.
 */
export function ticketJwtOptions(config: Config): JwtModuleOptions {
  return ticketJwtOptionsFor(config.tickets.secret);
}

export function ticketJwtOptionsFor(secret: string): JwtModuleOptions {
  return {
    secret: createSecretKey(Buffer.from(secret, 'utf8')),
    signOptions: { algorithm: 'HS256', header: { alg: 'HS256', typ: TICKET_TYPE } },
    verifyOptions: { algorithms: ['HS256'], audience: TICKET_AUDIENCE },
  };
}

/**
 * Signs and verifies ticket JWTs through @nestjs/jwt (jsonwebtoken), with the options above.
 * Verification happens before redemption, so a forged ticket can never burn a real one.
 *
 * Invariants:
 * - jsonwebtoken checks the signature, the algorithm allowlist, `aud` and, when present,
 *   `exp` against `nowMs`. It checks neither the header `typ` nor that `exp`, `iat`, `jti`
 *   and `sub` are present, so this class does: a ticket lacking any of them is invalid.
 * - Tickets are the same bytes the former jose signer produced (same header, claims and key),
 *   so tickets verify across a rolling deploy in both directions.
 * - Tickets are signed with TICKET_SECRET only. With TICKET_SECRET_PREVIOUS set, a ticket whose
 *   signature does not hold under TICKET_SECRET is verified again, by every same check, under
 *   that second secret: during a rolling rotation, tickets of nodes on the other secret redeem
 *   (docs/runbook.md, "Rotate the ticket secret").
 */
@Injectable()
export class TicketSigner {
  private readonly ttlSeconds: number;
  /** The same checks keyed with TICKET_SECRET_PREVIOUS; null when it is not set. */
  private readonly previous: JwtService | null;

  constructor(
    private readonly jwt: JwtService,
    @Inject(CONFIG) config: Config,
  ) {
    this.ttlSeconds = config.tickets.ttlSeconds;
    const previousSecret = config.tickets.previousSecret;
    this.previous =
      previousSecret === null ? null : new JwtService(ticketJwtOptionsFor(previousSecret));
  }

  async sign(
    principal: Principal,
    accessTokenExp: number,
    nowMs: number,
    context: TicketContext = NO_TICKET_CONTEXT,
  ): Promise<SignedTicket> {
    // 128 bits of randomness, as the contract requires of `jti`.
    const jti = randomBytes(16).toString('base64url');
    const claims = buildTicketClaims(
      principal,
      { jti, nowMs, ttlSeconds: this.ttlSeconds, accessTokenExp },
      context,
    );
    const token = this.jwt.sign({ ...claims });
    return { token, jti, expiresIn: claims.exp - claims.iat };
  }

  async verify(token: string, nowMs: number): Promise<TicketCheck> {
    const current = verifyWith(this.jwt, token, nowMs);
    // Expiry is judged only once a signature held, so `ticket_expired` names the right key.
    if (current.ok || current.reason === 'ticket_expired' || this.previous === null) {
      return current;
    }
    return verifyWith(this.previous, token, nowMs);
  }
}

/** Every check of a ticket, with the key and options of `jwt`. */
function verifyWith(jwt: JwtService, token: string, nowMs: number): TicketCheck {
  let verified: DecodedJwt;
  try {
    verified = jwt.verify<DecodedJwt>(token, {
      complete: true,
      clockTimestamp: Math.floor(nowMs / 1000),
    });
  } catch (error) {
    const expired = error instanceof TokenExpiredError;
    return { ok: false, reason: expired ? 'ticket_expired' : 'ticket_invalid' };
  }
  const { header, payload } = verified;
  if (!headerIsTicket(header) || !hasRequiredClaims(payload)) {
    return { ok: false, reason: 'ticket_invalid' };
  }
  const read = readTicketClaims(payload);
  return read.ok ? { ok: true, grant: read.grant } : { ok: false, reason: read.error };
}

/** Exactly our `typ`; `crit` names extensions jsonwebtoken would silently ignore. */
function headerIsTicket(header: DecodedJwt['header']): boolean {
  return header.alg === 'HS256' && header.typ === TICKET_TYPE && !('crit' in header);
}

/** A JSON object payload (jsonwebtoken also accepts a bare string) with all required claims. */
function hasRequiredClaims(payload: unknown): payload is Readonly<Record<string, unknown>> {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return false;
  const claims = payload as Readonly<Record<string, unknown>>;
  if (!REQUIRED_CLAIMS.every((claim) => Object.hasOwn(claims, claim))) return false;
  return typeof claims.exp === 'number' && typeof claims.iat === 'number';
}
