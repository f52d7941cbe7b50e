import { Body, Controller, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiErrors, PublisherSigned } from '../api-docs/api-responses.js';
import {
  DISCONNECT_BODY_SCHEMA,
  EMPTY_OBJECT_SCHEMA,
  USER_KEY_SCHEMA,
} from '../api-docs/json-schemas.js';
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
@ApiTags('users')
@PublisherSigned()
export class UsersController {
  constructor(
    private readonly blocks: UserBlocks,
    private readonly bus: Bus,
    private readonly audit: AuditService,
  ) {}

  @Post()
  @ApiOperation({
    summary: "Close every connection of a user, and optionally block the user's tickets",
    description: 'Every connection of the user, on every node, closes with 4503 `access_revoked`.',
  })
  @ApiParam({ name: 'user', schema: USER_KEY_SCHEMA })
  @ApiBody({ required: false, schema: DISCONNECT_BODY_SCHEMA })
  @ApiAcceptedResponse({
    description: 'Disconnect broadcast to every node.',
    content: { 'application/json': { schema: EMPTY_OBJECT_SCHEMA } },
  })
  @ApiErrors('bad_request', 'payload_too_large', 'invalid_payload', 'unavailable')
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
