import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import type { Config } from '../config/config.types.js';
import { type DevProcess, loadDevNodeConfig } from './dev-node-config.js';
import { requestTicket, trustedCertificates } from './ticket-request.js';
import { type DevTokenRequest, mintDevToken, parseTokenArgs } from './token-command.js';

/**
 * `npm run dev:listen -- --role <patient|doctor> --id <id> [--patient <id>] [--count <n>]`:
 * what a client app does, in a terminal. It mints a development access token (as
 * `npm run token`), gets a one-time ticket, opens the `wss://` connection with the node's
 * first allowed Origin, subscribes to the user's own channel (and, with `--patient`, to that
 * patient's channel through the doctor's launch context) and prints every frame it receives,
 * one JSON line each, on stdout. Status lines go to stderr. It verifies the node's
 * certificate (the development certificate in ./data), it never skips verification.
 */

export const LISTEN_USAGE =
  'usage: npm run dev:listen -- --role <patient|doctor> --id <opaque id> ' +
  '[--patient <opaque id>] [--count <notifications before exiting>]';

export interface ListenRequest {
  readonly token: DevTokenRequest;
  /** Exit 0 after this many notifications; null: until Ctrl-C or the node closes. */
  readonly count: number | null;
}

export function parseListenArgs(
  argv: readonly string[],
): { ok: true; value: ListenRequest } | { ok: false; error: string } {
  const rest: string[] = [];
  let count: number | null = null;
  try {
    const { values, tokens } = parseArgs({
      args: [...argv],
      strict: false,
      tokens: true,
      options: { count: { type: 'string' } },
    });
    for (const t of tokens) {
      if (t.kind === 'option' && t.name !== 'count') {
        rest.push(t.rawName, ...(t.value === undefined ? [] : [t.value]));
      } else if (t.kind === 'positional') {
        rest.push(t.value);
      }
    }
    if (values['count'] !== undefined) {
      const n = String(values['count']);
      if (!/^[1-9]\d{0,5}$/.test(n)) return { ok: false, error: '--count must be 1 or more' };
      count = Number(n);
    }
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
  const token = parseTokenArgs(rest);
  if (!token.ok) return token;
  return { ok: true, value: { token: token.value, count } };
}

export interface ListenIo extends DevProcess {
  readonly argv: readonly string[];
  readonly nowSeconds: number;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** Resolves when the user asks to stop (Ctrl-C). */
  readonly stopped: Promise<void>;
}

/** Exit codes: 0 stopped by the user or --count reached, 1 refused or closed, 2 bad arguments. */
export async function runListenCommand(io: ListenIo): Promise<number> {
  const loaded = await loadDevNodeConfig('dev:listen', io);
  if (!loaded.ok) return fail(io, 1, loaded.error);
  const parsed = parseListenArgs(io.argv);
  if (!parsed.ok) return fail(io, 2, `${parsed.error}\n${LISTEN_USAGE}`);
  const config = loaded.value;
  const { token: who, count } = parsed.value;

  const token = await mintDevToken(who, config.auth, io.nowSeconds);
  if (!token.ok) return fail(io, 1, token.error);
  let ca: string[];
  try {
    ca = await trustedCertificates(config);
  } catch {
    return fail(io, 1, 'no development certificate in ./data: start the node with npm start');
  }
  const publicUrl = config.publicListener.publicUrl;
  let ticket: { ticket: string; url: string; protocol: string };
  try {
    const answer = await requestTicket(publicUrl, token.value, ca);
    if (answer.status !== 201) {
      return fail(io, 1, `ticket refused: ${answer.status} ${answer.body}`);
    }
    ticket = JSON.parse(answer.body) as typeof ticket;
  } catch (error) {
    return fail(io, 1, `no node answers on ${publicUrl} (${(error as Error).message})`);
  }
  const channels = [`${who.role}:${who.id}`];
  if (who.patient !== null) channels.push(`patient:${who.patient}`);
  return listen(io, config, ticket, ca, channels, count);
}

function listen(
  io: ListenIo,
  config: Config,
  ticket: { ticket: string; url: string; protocol: string },
  ca: string[],
  channels: readonly string[],
  count: number | null,
): Promise<number> {
  const origin = config.allowedOrigins[0] ?? config.publicListener.publicUrl;
  const ws = new WebSocket(ticket.url, [ticket.protocol, `ticket.${ticket.ticket}`], {
    origin,
    ca,
  });
  return new Promise((resolve) => {
    let notifications = 0;
    let stopping = false;
    const done = (code: number) => {
      stopping = true;
      ws.close(1000);
      resolve(code);
    };
    void io.stopped.then(() => done(0));
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(fail(io, 1, `upgrade refused: ${res.statusCode} ${body}`)));
    });
    ws.on('error', (error) => resolve(fail(io, 1, `connection failed: ${error.message}`)));
    ws.on('open', () => {
      io.err(
        `connected to ${ticket.url} (Origin ${origin}); subscribing to ${channels.join(', ')}`,
      );
      channels.forEach((channel, i) =>
        ws.send(JSON.stringify({ type: 'subscribe', id: `s${i + 1}`, channel })),
      );
    });
    ws.on('message', (data) => {
      const text = String(data);
      io.out(text);
      if ((JSON.parse(text) as { type?: unknown }).type !== 'notification') return;
      notifications += 1;
      if (count !== null && notifications >= count) done(0);
    });
    ws.on('close', (code, reason) => {
      if (stopping) return;
      resolve(fail(io, 1, `closed by the node: ${code} ${String(reason)}`));
    });
  });
}

function fail(io: ListenIo, code: number, message: string): number {
  io.err(message);
  return code;
}
