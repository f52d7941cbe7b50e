import { describe, expect, it } from '@jest/globals';
import type { Notification } from '../src/frames.js';
import type { RecoveryFailure } from '../src/subscription.js';
import { harness } from './support/harness.js';

const CHANNEL = 'patient:pt-4c9a1b2e';
const EPOCH = 'mbx3k1qz-9f0c2a7d41e6b835';

function notification(seq: number, channel = CHANNEL) {
  return {
    type: 'notification',
    channel,
    id: `evt-${String(seq).padStart(8, '0')}`,
    kind: 'appointment.updated',
    ref: 'apt-9x8c7v6b',
    ts: 1_800_000_000_000 + seq,
    seq,
  };
}

/** A subscription that records what the app is told. */
function recorder() {
  const seen = {
    notifications: [] as Notification[],
    subscribed: 0,
    recoveryFailed: [] as RecoveryFailure[],
    revoked: 0,
    errors: [] as string[],
  };
  const handlers = {
    onNotification: (n: Notification) => seen.notifications.push(n),
    onSubscribed: () => (seen.subscribed += 1),
    onRecoveryFailed: (info: RecoveryFailure) => seen.recoveryFailed.push(info),
    onRevoked: () => (seen.revoked += 1),
    onError: (code: string) => seen.errors.push(code),
  };
  return { seen, handlers };
}

describe('CarecastClient: subscriptions across reconnects', () => {
  it('resubscribes with since = the last position seen and takes the replay', async () => {
    const h = harness();
    const { seen, handlers } = recorder();
    h.client.subscribe(CHANNEL, handlers);
    const first = await h.connected();
    const [sub] = first.take('subscribe');
    expect(sub).toEqual({ type: 'subscribe', id: sub!.id, channel: CHANNEL });
    first.ackSubscribe(sub!, EPOCH, 41);
    first.push(notification(42));
    first.push(notification(43));
    await h.clock.advance(0);
    first.drop(1006);
    await h.clock.advance(1000);
    const second = h.server.last;
    second.accept();
    await h.clock.advance(0);
    const [again] = second.take('subscribe');
    expect(again).toMatchObject({ channel: CHANNEL, since: { epoch: EPOCH, seq: 43 } });
    second.push(notification(44)); // the replay comes before the ack
    second.ackSubscribe(again!, EPOCH, 44, true);
    second.push(notification(45));
    await h.clock.advance(0);
    expect(seen.notifications.map((n) => n.seq)).toEqual([42, 43, 44, 45]);
    expect(seen.notifications[0]).toEqual({
      channel: CHANNEL,
      id: 'evt-00000042',
      kind: 'appointment.updated',
      ref: 'apt-9x8c7v6b',
      ts: 1_800_000_000_042,
      seq: 42,
    });
    expect(seen.subscribed).toBe(1);
    expect(seen.recoveryFailed).toEqual([]);
  });

  it('calls onRecoveryFailed on recovered:false, and carries on from the new position', async () => {
    const h = harness();
    const { seen, handlers } = recorder();
    const subscription = h.client.subscribe(CHANNEL, handlers);
    const first = await h.connected();
    first.ackSubscribe(first.take('subscribe')[0]!, EPOCH, 7);
    await h.clock.advance(0);
    first.drop(4001);
    await h.clock.advance(1000);
    h.server.last.accept();
    await h.clock.advance(0);
    const [again] = h.server.last.take('subscribe');
    h.server.last.ackSubscribe(again!, 'epoch-new-0001', 3, false);
    await h.clock.advance(0);
    expect(seen.recoveryFailed).toEqual([{ channel: CHANNEL, reason: 'history_unavailable' }]);
    expect(subscription.position).toEqual({ epoch: 'epoch-new-0001', seq: 3 });
    expect(subscription.state).toBe('active');
  });

  it('reports a seq that is not the previous plus one (reset or gap)', async () => {
    const h = harness();
    const { seen, handlers } = recorder();
    const subscription = h.client.subscribe(CHANNEL, handlers);
    const socket = await h.connected();
    socket.ackSubscribe(socket.take('subscribe')[0]!, EPOCH, 57);
    socket.push(notification(1)); // the history was reset under a new epoch
    await h.clock.advance(0);
    expect(seen.recoveryFailed).toEqual([{ channel: CHANNEL, reason: 'sequence_gap' }]);
    expect(seen.notifications.map((n) => n.seq)).toEqual([1]);
    // The epoch is unknown now, so the next resubscribe cannot ask for a replay.
    expect(subscription.position).toBeNull();
  });

  it('ends a revoked subscription and does not resubscribe it after a reconnect', async () => {
    const h = harness();
    const revoked = recorder();
    const kept = recorder();
    h.client.subscribe(CHANNEL, revoked.handlers);
    h.client.subscribe('doctor:dr-7f3k2m9q', kept.handlers);
    const first = await h.connected();
    for (const s of first.take('subscribe')) first.ackSubscribe(s, EPOCH, 0);
    first.push({ type: 'revoked', channel: CHANNEL });
    first.push(notification(1)); // a late one on the ended channel is not delivered
    await h.clock.advance(0);
    expect(revoked.seen.revoked).toBe(1);
    expect(revoked.seen.notifications).toEqual([]);
    first.drop(1006);
    await h.clock.advance(1000);
    h.server.last.accept();
    await h.clock.advance(0);
    expect(h.server.last.take('subscribe').map((s) => s.channel)).toEqual(['doctor:dr-7f3k2m9q']);
  });

  it('ends a subscription the gateway refuses for good', async () => {
    const h = harness();
    const { seen, handlers } = recorder();
    const subscription = h.client.subscribe(CHANNEL, handlers);
    const socket = await h.connected();
    const [sub] = socket.take('subscribe');
    socket.push({ type: 'error', id: sub!.id, code: 'forbidden' });
    await h.clock.advance(60_000);
    expect(seen.errors).toEqual(['forbidden']);
    expect(subscription.state).toBe('ended');
    expect(socket.take('subscribe')).toEqual([]);
  });

  it.each(['unavailable', 'rate_limited'])(
    'retries a subscribe answered %s after a backoff',
    async (code) => {
      const h = harness();
      const { seen, handlers } = recorder();
      h.client.subscribe(CHANNEL, handlers);
      const socket = await h.connected();
      const [sub] = socket.take('subscribe');
      socket.push({ type: 'error', id: sub!.id, code });
      await h.clock.advance(0);
      expect(socket.take('subscribe')).toEqual([]);
      await h.clock.advance(11_000);
      const [retry] = socket.take('subscribe');
      expect(retry).toMatchObject({ channel: CHANNEL });
      socket.ackSubscribe(retry!, EPOCH, 0);
      await h.clock.advance(0);
      expect(seen.subscribed).toBe(1);
      expect(h.errors).toEqual([{ source: 'subscribe', code }]);
    },
  );

  it('matches replies by id, whatever their order', async () => {
    const h = harness();
    const a = recorder();
    const b = recorder();
    const subA = h.client.subscribe('patient:pt-aaaaaaaa', a.handlers);
    const subB = h.client.subscribe('patient:pt-bbbbbbbb', b.handlers);
    const socket = await h.connected();
    const [sentA, sentB] = socket.take('subscribe');
    expect(sentA!.id).not.toBe(sentB!.id);
    socket.ackSubscribe(sentB!, 'epoch-b', 9);
    socket.ackSubscribe(sentA!, 'epoch-a', 4);
    await h.clock.advance(0);
    expect(subA.position).toEqual({ epoch: 'epoch-a', seq: 4 });
    expect(subB.position).toEqual({ epoch: 'epoch-b', seq: 9 });
  });

  it('unsubscribes on the wire, and undoes a subscribe still in flight', async () => {
    const h = harness();
    const live = h.client.subscribe(CHANNEL, recorder().handlers);
    const inFlight = h.client.subscribe('doctor:dr-7f3k2m9q', recorder().handlers);
    const socket = await h.connected();
    const [subLive, subInFlight] = socket.take('subscribe');
    socket.ackSubscribe(subLive!, EPOCH, 0);
    await h.clock.advance(0);
    live.unsubscribe();
    inFlight.unsubscribe();
    await h.clock.advance(0);
    expect(socket.take('unsubscribe').map((f) => f.channel)).toEqual([CHANNEL]);
    socket.ackSubscribe(subInFlight!, EPOCH, 0);
    await h.clock.advance(0);
    expect(socket.take('unsubscribe').map((f) => f.channel)).toEqual(['doctor:dr-7f3k2m9q']);
  });
});

describe('CarecastClient: pacing within the per-connection limits', () => {
  const channels = Array.from({ length: 45 }, (_, i) => `patient:pt-${String(i).padStart(8, 'x')}`);

  function maxInAnyWindow(times: number[], windowMs: number): number {
    return Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + windowMs).length));
  }

  it('resubscribes 45 channels within 20 subscribes per 10 s (RATE_SUBSCRIBE_PER_CONNECTION)', async () => {
    const h = harness();
    for (const channel of channels) h.client.subscribe(channel, recorder().handlers);
    const socket = await h.connected();
    await h.clock.advance(60_000);
    const subscribes = socket.log.filter((l) => l.frame.type === 'subscribe');
    expect(subscribes).toHaveLength(45);
    expect(
      maxInAnyWindow(
        subscribes.map((l) => l.at),
        10_000,
      ),
    ).toBe(20);
    expect(subscribes.slice(0, 20).every((l) => l.at === subscribes[0]!.at)).toBe(true);
  });

  it('keeps every client frame within the frame budget, with room left for a refresh', async () => {
    const h = harness({
      draws: [0],
      limits: {
        subscribe: { limit: 50, windowMs: 10_000 },
        frames: { limit: 10, windowMs: 10_000 },
      },
    });
    for (const channel of channels) h.client.subscribe(channel, recorder().handlers);
    const socket = await h.connected({ sessionExpiresAt: h.clock.now() + 70_000 });
    await h.clock.advance(36_000); // the refresh is due after 35 s, halfway through the lease
    const times = socket.log.map((l) => l.at);
    expect(maxInAnyWindow(times, 10_000)).toBeLessThanOrEqual(10);
    const refresh = socket.log.find((l) => l.frame.type === 'refresh');
    expect(refresh?.at).toBe(h.clock.now() - 1000);
  });
});

describe('CarecastClient: nothing of a notification is logged', () => {
  it('logs state names and codes only', async () => {
    const h = harness();
    h.client.subscribe(CHANNEL, recorder().handlers);
    const socket = await h.connected();
    socket.ackSubscribe(socket.take('subscribe')[0]!, EPOCH, 0);
    socket.push({ ...notification(1), ref: 'apt-canary0001', id: 'evt-canary0002' });
    socket.drop(1006);
    await h.clock.advance(1000);
    const logged = h.logs.join('\n');
    expect(logged).toContain('carecast disconnected');
    for (const secret of ['canary0001', 'canary0002', 'tkt-', CHANNEL, 'appointment']) {
      expect(logged).not.toContain(secret);
    }
  });
});
