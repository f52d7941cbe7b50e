import { CHANNEL_KINDS } from '../core/channel.js';
import { MAX_BATCH } from '../core/notification.js';
import { OPAQUE_ID } from '../core/opaque-id.js';
import { NOTIFICATION_KIND } from '../config/env-fields.js';

/**
 * JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of the values the HTTP routes take and
 * give, built from the grammars the code checks with, so the documents cannot drift from
 * them. Used by the routes' `@nestjs/swagger` decorators.
 */

type Schema = Record<string, unknown>;

/** The opaque-id body of OPAQUE_ID without its anchors, for embedding in longer patterns. */
const OPAQUE_ID_BODY = OPAQUE_ID.source.replace(/^\^/, '').replace(/\$$/, '');

export const OPAQUE_ID_SCHEMA: Schema = {
  type: 'string',
  pattern: OPAQUE_ID.source,
  description: '8-64 of `[A-Za-z0-9_-]`, at least one letter (never a bare record number).',
  examples: ['pt-4c9a1b2e'],
};

export const CHANNEL_SCHEMA: Schema = {
  type: 'string',
  pattern: `^(?:${CHANNEL_KINDS.join('|')}):${OPAQUE_ID_BODY}$`,
  description: '`patient:<opaqueId>` or `doctor:<opaqueId>`.',
  examples: ['patient:pt-4c9a1b2e'],
};

export const USER_KEY_SCHEMA: Schema = {
  type: 'string',
  pattern: `^(?:patient|doctor):${OPAQUE_ID_BODY}$`,
  description: '`<role>:<id>`, e.g. `doctor:dr-7f3k2m9q`.',
  examples: ['doctor:dr-7f3k2m9q'],
};

const NOTIFICATION_SCHEMA: Schema = {
  type: 'object',
  required: ['id', 'channel', 'kind', 'ref'],
  additionalProperties: false,
  properties: {
    id: {
      ...OPAQUE_ID_SCHEMA,
      description: 'Idempotency key: a repeat within 10 minutes is not delivered twice.',
      examples: ['evt-2b7c9d1e'],
    },
    channel: CHANNEL_SCHEMA,
    kind: {
      type: 'string',
      pattern: NOTIFICATION_KIND.source,
      description:
        'One of `NOTIFICATION_KINDS` (default `appointment.created, appointment.updated, ' +
        'appointment.cancelled, message.received, result.available`).',
      examples: ['appointment.updated'],
    },
    ref: { ...OPAQUE_ID_SCHEMA, examples: ['apt-9x8c7v6b'] },
  },
};

export const PUBLISH_BODY_SCHEMA: Schema = {
  oneOf: [
    NOTIFICATION_SCHEMA,
    {
      type: 'object',
      required: ['notifications'],
      additionalProperties: false,
      properties: {
        notifications: {
          type: 'array',
          minItems: 1,
          maxItems: MAX_BATCH,
          items: NOTIFICATION_SCHEMA,
        },
      },
    },
  ],
};

export const PUBLISH_ACCEPTED_SCHEMA: Schema = {
  type: 'object',
  required: ['accepted'],
  additionalProperties: false,
  properties: {
    accepted: {
      type: 'array',
      description: 'One entry per notification, in request order.',
      items: {
        type: 'object',
        required: ['id', 'duplicate'],
        additionalProperties: false,
        properties: {
          id: OPAQUE_ID_SCHEMA,
          duplicate: {
            type: 'boolean',
            description: 'The id was seen within 10 minutes: accepted, not delivered again.',
          },
        },
      },
    },
  },
};

export const EMPTY_OBJECT_SCHEMA: Schema = {
  type: 'object',
  additionalProperties: false,
  maxProperties: 0,
};

export const DISCONNECT_BODY_SCHEMA: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    blockSeconds: {
      type: 'integer',
      minimum: 1,
      maximum: 30 * 24 * 3600,
      description: 'Refuse tickets to the user (403 `user_blocked`) for this long.',
    },
  },
};

export const TICKET_SCHEMA: Schema = {
  type: 'object',
  required: ['ticket', 'expiresIn', 'url', 'protocol'],
  additionalProperties: false,
  properties: {
    ticket: {
      type: 'string',
      description:
        'A one-time JWT (`aud=ws`), redeemed once at the upgrade, in ' +
        '`Sec-WebSocket-Protocol: carecast.v1, ticket.<ticket>`.',
    },
    expiresIn: {
      type: 'integer',
      minimum: 1,
      maximum: 60,
      description: 'Seconds (`TICKET_TTL_SECONDS`).',
    },
    url: { type: 'string', pattern: '^wss://', examples: ['wss://gw.example.com/v1/ws'] },
    protocol: { type: 'string', const: 'carecast.v1' },
  },
};

export const HEALTH_SCHEMA: Schema = {
  type: 'object',
  required: ['status'],
  additionalProperties: false,
  properties: { status: { type: 'string', const: 'ok' } },
};

export const READY_SCHEMA: Schema = {
  type: 'object',
  required: ['status'],
  additionalProperties: false,
  properties: { status: { type: 'string', const: 'ready' } },
};

export const NOT_READY_SCHEMA: Schema = {
  type: 'object',
  required: ['status', 'reasons'],
  additionalProperties: false,
  properties: {
    status: { type: 'string', const: 'not_ready' },
    reasons: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', enum: ['draining', 'redis_unavailable', 'audit_unavailable'] },
    },
  },
};
