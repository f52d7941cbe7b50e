import WebSocket from 'ws';
import {
  CarecastClient,
  type Notification,
  type RecoveryFailure,
  type StateChange,
  TicketError,
} from '../../../packages/client/src/carecast-client.js';
import type { RunningNode } from '../../support/app.js';
import { request } from '../../support/http-client.js';
import type { CanaryWatch } from '../../support/phi-canary.js';
import { TEST_ORIGIN } from '../../support/ws-client.js';

/**
 * A subscriber as an app runs it: the SDK (packages/client) on `ws`, one channel, reconnecting
 * with `since` after any loss. Its getTicket stands in for a load balancer: it asks the nodes
 * in order of preference and skips one that does not answer (killed, or draining and no
 * longer accepting), so a client of a dead node lands on the next one.
 */
export class FollowingClient {
  readonly received: Notification[] = [];
  readonly recoveryFailures: RecoveryFailure[] = [];
  readonly states: StateChange[] = [];
  /** The public URL of the node the latest ticket came from. */
  lastNode: string | null = null;
  subscribed = false;
  revoked = false;
  private readonly client: CarecastClient;

  constructor(
    private readonly nodes: readonly RunningNode[],
    private readonly token: () => Promise<string>,
    readonly channel: string,
    watch: CanaryWatch,
  ) {
    this.client = new CarecastClient({
      getTicket: () => this.ticket(),
      webSocket: (url, protocols) => {
        const ws = new WebSocket(url, protocols, {
          origin: TEST_ORIGIN,
          rejectUnauthorized: false, // the nodes' self-signed development certificates
          perMessageDeflate: false,
        });
        ws.on('message', (data) => watch.frame(data as Buffer));
        ws.on('close', (_code, reason) => watch.closeReason(reason));
        return ws;
      },
      backoff: { initialMs: 100, maxMs: 500 },
    });
    this.client.on('state', (s) => this.states.push(s));
    this.client.subscribe(channel, {
      onNotification: (n) => this.received.push(n),
      onSubscribed: () => (this.subscribed = true),
      onRecoveryFailed: (info) => this.recoveryFailures.push(info),
      onRevoked: () => (this.revoked = true),
    });
  }

  connect(): void {
    this.client.connect();
  }

  close(): void {
    this.client.close();
  }

  get connected(): boolean {
    return this.client.state === 'connected';
  }

  /** How many times each notification id arrived. */
  counts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const n of this.received) counts.set(n.id, (counts.get(n.id) ?? 0) + 1);
    return counts;
  }

  private async ticket() {
    for (const node of this.nodes) {
      const res = await request(`${node.publicUrl}/v1/tickets`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await this.token()}`, origin: TEST_ORIGIN },
        timeoutMs: 3000,
      }).catch(() => null);
      if (res === null) continue; // not answering: the balancer tries the next node
      const body = res.json() as { error?: string; ticket: string; protocol: string };
      if (res.status !== 201) throw new TicketError(res.status, body.error ?? 'unknown');
      this.lastNode = node.publicUrl;
      // The nodes listen on ports picked at start, which their PUBLIC_URL cannot name.
      const url = `${node.publicUrl.replace('https:', 'wss:')}/v1/ws`;
      return { ticket: body.ticket, expiresIn: 60, url, protocol: body.protocol };
    }
    throw new Error('no node answered');
  }
}
