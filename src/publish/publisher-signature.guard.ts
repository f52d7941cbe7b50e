import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { AuditService } from '../audit/audit.service.js';
import { CONFIG } from '../config/config.module.js';
import type { Config } from '../config/config.types.js';
import { signatureRejected } from '../core/audit-entries.js';
import { SIGNATURE_HEADER, verifySignature } from '../core/publisher-signature.js';
import { ApiError } from '../http/api-error.js';

const PUBLISHER = Symbol('carecast.publisher');

/** The key id that signed this request; set by PublisherSignatureGuard. */
export function publisherOf(req: Request): string {
  return (req as Request & { [PUBLISHER]?: string })[PUBLISHER] ?? 'unknown';
}

/**
 * Every `/internal/v1/*` request must carry a valid `Carecast-Signature` over its raw bytes
 * (contract §5). Anything else is 401 `invalid_signature`, audited with the failure kind.
 *
 * A body that is not `application/json` is refused 415 `unsupported_media_type` first: only
 * JSON bodies are read (and kept raw for the signature), so checking the signature of any
 * other body would check it over nothing and answer a misleading 401.
 */
@Injectable()
export class PublisherSignatureGuard implements CanActivate {
  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly audit: AuditService,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request & { rawBody?: Buffer }>();
    if (hasBody(req) && !req.is('application/json')) throw new ApiError('unsupported_media_type');
    const header = req.headers[SIGNATURE_HEADER];
    const verified = verifySignature({
      header: typeof header === 'string' ? header : undefined,
      method: req.method,
      path: req.originalUrl,
      rawBody: req.rawBody ?? Buffer.alloc(0),
      nowSeconds: Math.floor(Date.now() / 1000),
      keys: this.config.publish.keys,
    });
    if (!verified.ok) {
      this.audit.record(signatureRejected(verified.reason));
      throw new ApiError('invalid_signature');
    }
    (req as Request & { [PUBLISHER]?: string })[PUBLISHER] = verified.kid;
    return true;
  }
}

/** As the body parsers decide it: a length other than 0, or a chunked body. */
function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
