import express, { type NextFunction, type Request, type Response } from 'express';
import { sendError } from '../http/error-response.filter.js';
import type { LogoutRecorder } from './logout-recorder.js';

export const LOGOUT_PATH = '/v1/backchannel-logout';

/** A logout token is at most 16 KiB; the form around it stays well under this. */
const MAX_FORM_BYTES = '32kb';

/**
 * Parses `application/x-www-form-urlencoded` bodies of the logout path only (express's
 * urlencoded parser, flat: no nested objects). Installed on that path alone so no other route
 * starts accepting forms. A body it cannot parse (too large, bad charset, broken encoding) is
 * 400 `invalid_request` like every other refusal of the endpoint (recorded as
 * `malformed_request`), never a 413 or 415; a body
 * of another type stays unparsed and the controller refuses it.
 */
export function logoutFormParser(recorder: LogoutRecorder) {
  const parse = express.urlencoded({
    extended: false,
    limit: MAX_FORM_BYTES,
    parameterLimit: 10,
    type: 'application/x-www-form-urlencoded',
  });
  return (req: Request, res: Response, next: NextFunction): void => {
    parse(req, res, (error?: unknown) => {
      if (error === undefined || error === null) return next();
      recorder.refused('malformed_request');
      sendError(res, 'invalid_request');
    });
  };
}
