import type { IncomingMessage } from 'node:http';
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AuditService } from '../audit/audit.service.js';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import { originAllowed } from '../core/origin.js';
import { UPGRADE_CONTEXT, UpgradeRefused } from '../core/upgrade.js';
import { Metrics } from '../metrics/metrics.js';
import { corsHeaders } from './cors.js';
import { rejectTicket } from './ticket-rejection.js';

type Transport = 'http' | typeof UPGRADE_CONTEXT;

/**
 * The Origin check of both public transports, told apart by the execution context's type
 * (the rule itself is `originAllowed` in src/core/origin.ts):
 * - `http` (the ticket endpoint): an absent Origin passes, except on a CORS preflight; a
 *   present one must be listed. A refusal is 403 `origin_not_allowed`, audited as
 *   `ticket.rejected`. A listed origin gets its CORS headers set here, before any later
 *   guard or the handler can refuse, so the browser can read every answer, refusals included.
 * - `ws-upgrade`: the Origin must be present and listed; a refusal is an UpgradeRefused,
 *   which the upgrade authenticator audits and answers.
 * Either way it runs before the ticket or token is looked at, so a refused origin spends
 * nothing.
 */
@Injectable()
export class OriginGuard implements CanActivate {
  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly audit: AuditService,
    private readonly metrics: Metrics,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const transport = context.getType<Transport>();
    switch (transport) {
      case 'http':
        return this.checkTicketRequest(
          context.switchToHttp().getRequest<Request>(),
          context.switchToHttp().getResponse<Response>(),
        );
      case UPGRADE_CONTEXT:
        return this.checkUpgrade(context.getArgByIndex<IncomingMessage>(0));
      default:
        // A transport this guard does not know: refuse rather than guess its rule.
        throw new Error(`OriginGuard cannot guard a ${String(transport)} context`);
    }
  }

  private checkTicketRequest(req: Request, res: Response): boolean {
    const origin = req.headers.origin;
    const rule = req.method === 'OPTIONS' ? 'required' : 'optional';
    if (!originAllowed(origin, this.config.allowedOrigins, rule)) {
      throw rejectTicket(this.audit, this.metrics, 'origin_not_allowed');
    }
    if (origin !== undefined) res.set(corsHeaders(origin));
    return true;
  }

  private checkUpgrade(req: IncomingMessage): boolean {
    if (!originAllowed(req.headers.origin, this.config.allowedOrigins, 'required')) {
      throw new UpgradeRefused('origin_not_allowed');
    }
    return true;
  }
}
