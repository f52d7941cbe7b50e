import { Body, Controller, Header, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../api-docs/api-responses.js';
import { ApiError } from '../http/api-error.js';
import { NO_BODY } from '../http/response-shape.js';
import { ResponseShape } from '../http/response-shape.interceptor.js';
import { BackchannelLogoutService } from './backchannel-logout.service.js';
import { LogoutRecorder } from './logout-recorder.js';
import { LogoutThrottlerGuard } from './logout-throttler.guard.js';

/** Far above any real logout token; longer is refused before it is looked at. */
const MAX_LOGOUT_TOKEN_CHARS = 16_384;

/**
 * `POST /v1/backchannel-logout` (contract §8, OpenID Connect Back-Channel Logout 1.0): the
 * identity provider posts `logout_token=<JWT>` form-encoded, server to server (no Origin, no
 * CORS). 200 with `Cache-Control: no-store` and no body once every node was told; anything
 * else 400 `{"error":"invalid_request"}`, never echoing the token. The form body is parsed by
 * the middleware app.ts installs for this path only (a parse failure is the same 400).
 */
@Controller('v1/backchannel-logout')
@ApiTags('logout')
export class BackchannelLogoutController {
  constructor(
    private readonly logouts: BackchannelLogoutService,
    private readonly recorder: LogoutRecorder,
  ) {}

  @Post()
  @ApiOperation({
    summary: 'OpenID Connect Back-Channel Logout',
    description:
      'Called by the identity provider, server to server. Closes (4503) every session whose ' +
      'access token had the `sub` (and `sid`) of the logout token, on every node, and refuses ' +
      'tickets for that user’s access tokens issued at or before the logout.',
  })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({
    required: true,
    schema: {
      type: 'object',
      required: ['logout_token'],
      properties: {
        logout_token: {
          type: 'string',
          description:
            'The logout token (JWT): signed like access tokens, `aud` containing ' +
            '`AUTH_LOGOUT_AUDIENCE`, with `iat`, `jti`, `events`, `sub` and/or `sid`, no `nonce`.',
        },
      },
    },
  })
  @ApiOkResponse({
    description: 'Logged out: every node was told. No body.',
    headers: { 'Cache-Control': { schema: { type: 'string', enum: ['no-store'] } } },
  })
  @ApiErrors('invalid_request')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @UseGuards(LogoutThrottlerGuard)
  @ResponseShape(NO_BODY)
  async logout(@Body() body: unknown): Promise<void> {
    await this.logouts.logout(this.tokenOf(body));
  }

  /** Exactly one non-empty `logout_token` field (other form fields are ignored). */
  private tokenOf(body: unknown): string {
    const token =
      typeof body === 'object' && body !== null && Object.hasOwn(body, 'logout_token')
        ? (body as Record<string, unknown>).logout_token
        : undefined;
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_LOGOUT_TOKEN_CHARS) {
      this.recorder.refused('malformed_request');
      throw new ApiError('invalid_request');
    }
    return token;
  }
}
