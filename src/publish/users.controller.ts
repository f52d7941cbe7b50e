import { Body, Controller, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { userDisconnected } from '../core/audit-entries.js';
import { encodeControl } from '../core/control-commands.js';
import { BODY_FIELD, reportableFieldName } from '../core/notification.js';
import { isUserKey } from '../core/principal.js';
import { Bus } from '../fanout/bus.js';
import { ApiError, unavailableOnFailure } from '../http/api-error.js';
import { jsonBody } from '../http/response-shape.js';
import { ResponseShape } from '../http/response-shape.interceptor.js';
import { UserBlocks } from '../stores/user-blocks/user-blocks.js';
import { PublisherSignatureGuard } from './publisher-signature.guard.js';

const MAX_BLOCK_SECONDS = 30 * 24 * 3600;

/**
 * `POST /internal/v1/users/<role>:<id>/disconnect` (contract §5): every connection of the
 * user, on every node, closes with 4503; with `blockSeconds`, tickets are refused meanwhile.
 */
@Controller('internal/v1/users/:user/disconnect')
@UseGuards(PublisherSignatureGuard)
export class UsersController {
  constructor(
    private readonly blocks: UserBlocks,
    private readonly bus: Bus,
    private readonly audit: AuditService,
  ) {}

  @Post()
  @HttpCode(202)
  @ResponseShape(jsonBody({}))
  async disconnect(@Param('user') user: string, @Body() body: unknown): Promise<object> {
    const fields = [...(isUserKey(user) ? [] : ['user']), ...blockSecondsProblems(body)];
    if (!isUserKey(user) || fields.length > 0) throw new ApiError('invalid_payload', {}, fields);
    const blockSeconds = (body as { blockSeconds?: number } | undefined)?.blockSeconds;
    // Block first: a reconnect racing the broadcast must already be refused.
    if (blockSeconds !== undefined)
      await unavailableOnFailure(this.blocks.block(user, blockSeconds, Date.now()));
    await unavailableOnFailure(
      this.bus.publishControl(encodeControl({ type: 'user.disconnect', user })),
    );
    // The disconnected user is the actor (§8's precedent for events about a user); the
    // calling service authenticated with its signature.
    const reason = blockSeconds === undefined ? 'disconnected' : 'disconnected_and_blocked';
    this.audit.record(userDisconnected(user, reason));
    return {};
  }
}

/** `{}` or `{"blockSeconds": N}` with N a whole number of seconds; nothing else. */
function blockSecondsProblems(body: unknown): string[] {
  if (body === undefined) return [];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return [BODY_FIELD];
  const problems = Object.keys(body)
    .filter((k) => k !== 'blockSeconds')
    .map(reportableFieldName);
  const n = (body as { blockSeconds?: unknown }).blockSeconds;
  if (
    n !== undefined &&
    !(Number.isSafeInteger(n) && (n as number) >= 1 && (n as number) <= MAX_BLOCK_SECONDS)
  ) {
    problems.push('blockSeconds');
  }
  return problems;
}
