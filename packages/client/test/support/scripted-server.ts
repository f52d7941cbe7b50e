import type { WebSocketLike } from '../../src/connection.js';
import type { FakeClock } from './fake-clock.js';

type Frame = Record<string, unknown> & { type: string };

/** One socket the client opened; the test plays the gateway's side of it. */
export class ScriptedSocket implements WebSocketLike {
  readyState = 0;
  onmessage: ((event: never) => void) | null = null;
  onclose: ((event: never) => void) | null = null;
  onerror: ((event: never) => void) | null = null;
  /** Client frames not yet taken by the test, parsed. */
  readonly inbox: Frame[] = [];
  /** Every client frame with the virtual time it was sent at. */
  readonly log: { at: number; frame: Frame }[] = [];
  closedByClient: number | null = null;
  /** A live server answers JSON pings at once; switch off to play a dead one. */
  answerPings = true;

  constructor(
    readonly url: string,
    readonly protocols: string[],
    private readonly clock: FakeClock,
  ) {}

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    const frame = JSON.parse(data) as Frame;
    this.log.push({ at: this.clock.now(), frame });
    if (frame.type === 'ping' && this.answerPings) {
      queueMicrotask(() => this.push({ type: 'pong', id: frame.id }));
    } else {
      this.inbox.push(frame);
    }
  }

  close(code?: number): void {
    this.closedByClient = code ?? 1005;
    this.readyState = 3;
  }

  /** The upgrade succeeds and the server greets. */
  accept(welcome: Partial<Frame> = {}): void {
    this.readyState = 1;
    this.push({
      type: 'welcome',
      connectionId: 'conn-0001',
      sessionExpiresAt: this.clock.now() + 3_600_000,
      heartbeatSeconds: 25,
      ...welcome,
    });
  }

  push(frame: Frame): void {
    (this.onmessage as ((e: { data: string }) => void) | null)?.({ data: JSON.stringify(frame) });
  }

  /** The server (or the network) ends the connection with `code`; 1006 for a refused upgrade. */
  drop(code: number): void {
    this.readyState = 3;
    (this.onclose as ((e: { code: number }) => void) | null)?.({ code });
  }

  /** Removes and returns the client frames of `type` received so far. */
  take(type: string): Frame[] {
    const taken = this.inbox.filter((f) => f.type === type);
    for (const f of taken) this.inbox.splice(this.inbox.indexOf(f), 1);
    return taken;
  }

  /** Answers a subscribe with an ack at `seq` (and `recovered` when it asked with since). */
  ackSubscribe(frame: Frame, epoch: string, seq: number, recovered?: boolean): void {
    this.push({
      type: 'ack',
      id: frame.id,
      epoch,
      seq,
      ...(recovered === undefined ? {} : { recovered }),
    });
  }
}

/** Hands out ScriptedSockets to the client and keeps them for the test. */
export class ScriptedServer {
  readonly sockets: ScriptedSocket[] = [];

  constructor(private readonly clock: FakeClock) {}

  readonly webSocket = (url: string, protocols: string[]): WebSocketLike => {
    const socket = new ScriptedSocket(url, protocols, this.clock);
    this.sockets.push(socket);
    return socket;
  };

  get last(): ScriptedSocket {
    const socket = this.sockets.at(-1);
    if (socket === undefined) throw new Error('the client opened no socket');
    return socket;
  }
}
