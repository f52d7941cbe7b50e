import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import type { RunningNode } from './app.js';

export const TEST_ORIGIN = 'https://app.carecast.test';

export interface ConnectOptions {
  ticket?: string;
  origin?: string | null;
  /** Replaces the whole Sec-WebSocket-Protocol list. */
  protocols?: string[];
  headers?: Record<string, string>;
  protocolVersion?: number;
  /** Answer pings automatically (the default, as browsers do). */
  autoPong?: boolean;
  url?: string;
}

export type Connected = { ok: true; client: TestClient };
export type Refused = {
  ok: false;
  status: number;
  body: string;
  headers: IncomingMessage['headers'];
};

/** Opens `wss://…/v1/ws` the way a client would, and reports a refusal as its HTTP response. */
export function connect(
  node: RunningNode,
  options: ConnectOptions = {},
): Promise<Connected | Refused> {
  const protocols = options.protocols ?? [
    'carecast.v1',
    ...(options.ticket ? [`ticket.${options.ticket}`] : []),
  ];
  const url = options.url ?? `${node.publicUrl.replace(/^http/, 'ws')}/v1/ws`;
  const ws = new WebSocket(url, protocols, {
    rejectUnauthorized: false,
    ...(options.origin === null ? {} : { origin: options.origin ?? TEST_ORIGIN }),
    headers: options.headers,
    protocolVersion: options.protocolVersion ?? 13,
    autoPong: options.autoPong ?? true,
    perMessageDeflate: false,
  });
  const client = new TestClient(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ok: true, client }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () =>
        resolve({ ok: false, status: res.statusCode ?? 0, body, headers: res.headers }),
      );
      res.on('error', reject);
    });
    ws.once('error', reject);
  });
}

/** Connects and fails the test unless the upgrade succeeded. */
export async function connectOk(
  node: RunningNode,
  options: ConnectOptions = {},
): Promise<TestClient> {
  const result = await connect(node, options);
  if (!result.ok) throw new Error(`upgrade refused: ${result.status} ${result.body}`);
  return result.client;
}

type Frame = Record<string, unknown> & { type: string };

/** A connected client that queues frames so a test can wait for the next one of a type. */
export class TestClient {
  readonly frames: string[] = [];
  private readonly queue: Frame[] = [];
  private waiters: { type: string | undefined; resolve: (f: Frame) => void }[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const text = data.toString();
      this.frames.push(text);
      const frame = JSON.parse(text) as Frame;
      const i = this.waiters.findIndex((w) => w.type === undefined || w.type === frame.type);
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(frame);
      else this.queue.push(frame);
    });
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    ws.on('error', () => undefined);
  }

  /** The next frame (of `type`, when given), waiting at most `timeoutMs`. */
  next(type?: string, timeoutMs = 5000): Promise<Frame> {
    const i = this.queue.findIndex((f) => type === undefined || f.type === type);
    if (i >= 0) return Promise.resolve(this.queue.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const waiter = { type, resolve: (f: Frame) => (clearTimeout(timer), resolve(f)) };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no ${type ?? ''} frame within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  send(frame: object | string): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Resolves with the close code and reason, failing after `timeoutMs`. */
  closedWithin(timeoutMs: number): Promise<{ code: number; reason: string }> {
    let timer: NodeJS.Timeout;
    return Promise.race([
      this.closed,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.close();
  }
}
