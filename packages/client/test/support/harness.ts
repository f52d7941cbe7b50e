import { CarecastClient, type StateChange, TicketError } from '../../src/carecast-client.js';
import type { CarecastClientOptions } from '../../src/options.js';
import type { TicketResponse } from '../../src/ticket.js';
import { FakeClock } from './fake-clock.js';
import { ScriptedServer } from './scripted-server.js';

export type TicketScript = (n: number) => TicketResponse | TicketError | Error;

/** A ticket answer as `POST /v1/tickets` gives it; the n-th ticket is `tkt-n`. */
export function ticket(n: number): TicketResponse {
  return {
    ticket: `tkt-${n}`,
    expiresIn: 60,
    url: 'wss://gw.test/v1/ws',
    protocol: 'carecast.v1',
  };
}

/** A client on a fake clock against a scripted server, recording what it tells the app. */
export function harness(
  options: Partial<CarecastClientOptions> & { tickets?: TicketScript; draws?: number[] } = {},
) {
  const clock = new FakeClock();
  const server = new ScriptedServer(clock);
  const states: StateChange[] = [];
  const errors: { source: string; code: string }[] = [];
  const logs: string[] = [];
  let ticketCalls = 0;
  const draws = options.draws ?? [];
  const script = options.tickets ?? ticket;
  const client = new CarecastClient({
    getTicket: async () => {
      const answer = script(++ticketCalls);
      if (answer instanceof Error) throw answer;
      return answer;
    },
    webSocket: server.webSocket,
    clock,
    // A scripted draw sequence, then the middle of the range.
    random: () => draws.shift() ?? 0.5,
    log: (message, fields) => logs.push(`${message} ${JSON.stringify(fields)}`),
    ...options,
  });
  client.on('state', (change) => states.push(change));
  client.on('error', (error) => errors.push(error));
  return {
    client,
    clock,
    server,
    states,
    errors,
    logs,
    get ticketCalls() {
      return ticketCalls;
    },
    /** Connects and accepts the first socket; resolves once the client saw the welcome. */
    async connected(welcome: Record<string, unknown> = {}) {
      client.connect();
      await clock.advance(0);
      server.last.accept(welcome);
      await clock.advance(0);
      return server.last;
    },
  };
}

export { TicketError };
