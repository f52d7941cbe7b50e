import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerRequest,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { Request } from 'express';
import { AuditService } from '../audit/audit.service.js';
import { rateLimited } from '../core/audit-entries.js';
import type { ServiceActor } from '../core/audit-vocabulary.js';
import type { UserKey } from '../core/principal.js';
import { ApiError } from '../http/api-error.js';
import { StoreUnavailableError } from '../redis/store-unavailable.error.js';
import { bucketOf, limitReason, type ThrottlerName } from './throttlers.js';

/** Why a throttled route refused a request, for the endpoint's own records. */
export type ThrottleRefusal = 'rate_limited' | 'unavailable';

/** Who a throttled request is counted for and audited as. */
export type ThrottledActor = UserKey | ServiceActor | 'anonymous';

/** Retry-After of a 503 while the counter's store is down, as every other store refusal. */
const UNAVAILABLE_RETRY_SECONDS = '1';

/**
 * A ThrottlerGuard that applies exactly one named throttler, whatever other throttlers are
 * registered, so a route's guard never counts it against another endpoint's limit.
 *
 * Refusals leave through ApiError and the ErrorResponseFilter: over the limit, 429
 * `{"error":"rate_limited"}` with a whole-seconds `Retry-After` (the window's end, never 0),
 * audited `rate.limited` with the limit's name; counter store down, 503 `{"error":"unavailable"}`
 * with `Retry-After: 1` (fail closed). Both also go to the endpoint's own records (`refused`).
 * The tracker is an id (user key, key id) that the guards before this one verified.
 */
export abstract class NamedThrottlerGuard extends ThrottlerGuard {
  protected abstract readonly throttlerName: ThrottlerName;

  constructor(
    options: ThrottlerModuleOptions,
    storage: ThrottlerStorage,
    reflector: Reflector,
    protected readonly audit: AuditService,
  ) {
    super(options, storage, reflector);
  }

  /** Who is counted; also the actor of the audit records. Verified by an earlier guard. */
  protected abstract trackerOf(req: Request): string;

  /** The audit actor, from the same verified id as the tracker: the user key or `service:<kid>`. */
  protected abstract actorOf(req: Request): ThrottledActor;

  /** The endpoint's own records of a refusal (its rejection event and metrics). */
  protected abstract refused(req: Request, actor: ThrottledActor, refusal: ThrottleRefusal): void;

  override async onModuleInit(): Promise<void> {
    await super.onModuleInit();
    this.throttlers = this.throttlers.filter((t) => t.name === this.throttlerName);
    if (this.throttlers.length !== 1) {
      throw new Error(`throttler "${this.throttlerName}" is not registered exactly once`);
    }
  }

  protected override getTracker(req: Record<string, unknown>): Promise<string> {
    return Promise.resolve(this.trackerOf(req as unknown as Request));
  }

  /** The counter's bucket: readable and the same as before the throttler, never a hash. */
  protected override generateKey(_context: ExecutionContext, tracker: string): string {
    return bucketOf(this.throttlerName, tracker);
  }

  protected override async handleRequest(request: ThrottlerRequest): Promise<boolean> {
    try {
      return await super.handleRequest(request);
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      const req = requestOf(request.context);
      this.refused(req, this.actorOf(req), 'unavailable');
      throw new ApiError('unavailable', { 'Retry-After': UNAVAILABLE_RETRY_SECONDS });
    }
  }

  protected override throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const req = requestOf(context);
    const actor = this.actorOf(req);
    this.audit.record(rateLimited(limitReason(this.throttlerName), actor));
    this.refused(req, actor, 'rate_limited');
    throw new ApiError('rate_limited', { 'Retry-After': String(detail.timeToBlockExpire) });
  }
}

function requestOf(context: ExecutionContext): Request {
  return context.switchToHttp().getRequest<Request>();
}
