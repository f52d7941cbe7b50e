import { type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerRequest,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { Request } from 'express';
import { AuditService } from '../audit/audit.service.js';
import { ApiError } from '../http/api-error.js';
import {
  NamedThrottlerGuard,
  type ThrottledActor,
  type ThrottleRefusal,
} from '../throttle/named-throttler.guard.js';
import { LogoutRecorder } from './logout-recorder.js';

/** Every caller shares one bucket: the identity provider is not identified before the token. */
const ALL_CALLERS = 'all';

/**
 * `RATE_BACKCHANNEL_LOGOUT` on `POST /v1/backchannel-logout`, one cluster-wide window for all
 * callers, counted before the token is verified so a flood of junk costs no signature checks.
 * Over the limit, or with the counter's store down, the answer is 400 `invalid_request` like
 * every refusal of this endpoint (contract §8, which follows the specification's §2.8), audited
 * as `rate.limited` (over the limit) and as a refused logout.
 */
@Injectable()
export class LogoutThrottlerGuard extends NamedThrottlerGuard {
  protected readonly throttlerName = 'logout';

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    audit: AuditService,
    private readonly recorder: LogoutRecorder,
  ) {
    super(options, storage, reflector, audit);
  }

  protected trackerOf(_req: Request): string {
    return ALL_CALLERS;
  }

  protected actorOf(_req: Request): ThrottledActor {
    return 'anonymous';
  }

  protected refused(_req: Request, _actor: ThrottledActor, refusal: ThrottleRefusal): void {
    this.recorder.refused(refusal);
  }

  protected override async handleRequest(request: ThrottlerRequest): Promise<boolean> {
    try {
      return await super.handleRequest(request);
    } catch (error) {
      throw error instanceof ApiError ? new ApiError('invalid_request') : error;
    }
  }

  protected override async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    try {
      await super.throwThrottlingException(context, detail);
    } catch (error) {
      throw error instanceof ApiError ? new ApiError('invalid_request') : error;
    }
  }
}
