import { jsonBody } from '../http/response-shape.js';
import type { ObjectShape } from '../http/response-shape.js';
import type { TicketResponse } from './ticket-issuer.service.js';

/**
 * The one body `POST /v1/tickets` may send (contract §3), for `@ResponseShape(...)` on the
 * tickets controller's issue route. Typed against TicketResponse, so a field added to the
 * answer fails to compile until it is declared here too. The CORS preflight
 * (`OPTIONS /v1/tickets`) sends no body: `@ResponseShape(NO_BODY)`.
 */
const TICKET_FIELDS = {
  ticket: 'string',
  expiresIn: 'number',
  url: 'string',
  protocol: 'string',
} as const satisfies { readonly [K in keyof TicketResponse]-?: ObjectShape[string] };

export const TICKET_RESPONSE_SHAPE = jsonBody(TICKET_FIELDS);
