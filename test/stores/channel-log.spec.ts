import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BusMessage } from '../../src/core/bus-message.js';
import type { ChannelName } from '../../src/core/channel.js';
import { completeFrame, recoveryOf } from '../../src/core/position.js';
import { channelMetaKey } from '../../src/redis/channel-keys.js';
import type { RedisService } from '../../src/redis/redis.service.js';
import {
  type ChannelLog,
  IDEMPOTENCY_WINDOW_SECONDS,
  type LogEntry,
} from '../../src/stores/channel-log/channel-log.js';
import { MemoryChannelLog } from '../../src/stores/channel-log/memory-channel-log.js';
import { RedisChannelLog } from '../../src/stores/channel-log/redis-channel-log.js';
import { testConfig } from '../support/app.js';
import { Nodes, type RedisTarget, standaloneTarget, uniqueId } from './store-fixtures.js';

const T0 = 1_800_000_000_000;
const SIZE = 3;
const TTL_SECONDS = 60;
const nodes = new Nodes('channel-log');
let target: RedisTarget;
let nodeA: RedisService;
let nodeB: RedisService;

beforeAll(async () => {
  target = await standaloneTarget();
  [nodeA, nodeB] = (await nodes.connect(target, 2)) as [RedisService, RedisService];
});

afterAll(async () => {
  await nodes.closeAll();
  await target.stop();
});

const settings = (size = SIZE) =>
  testConfig({ HISTORY_SIZE: String(size), HISTORY_TTL_SECONDS: String(TTL_SECONDS) });

/** Two nodes' logs: one shared memory log, or two Redis logs on one Redis. */
const impls: { name: string; logs(size?: number): [ChannelLog, ChannelLog] }[] = [
  {
    name: 'memory',
    logs: (size) => {
      const log = new MemoryChannelLog(settings(size));
      return [log, log];
    },
  },
  {
    name: 'redis',
    logs: (size) => [
      new RedisChannelLog(nodeA, settings(size)),
      new RedisChannelLog(nodeB, settings(size)),
    ],
  },
];

const channel = (): ChannelName => `patient:${uniqueId('pt').replace(/[^A-Za-z0-9_-]/g, '-')}`;
const entry = (ch: ChannelName, id = uniqueId('evt'), ts = T0): LogEntry => ({
  channel: ch,
  id,
  ts,
  head: `{"type":"notification","channel":"${ch}","id":"${id}","kind":"k","ref":"r","ts":${ts}`,
});
const published: BusMessage[] = [];
const publishLocally = (_channel: string, message: BusMessage) => published.push(message);

describe.each(impls)('$name channel log', (impl) => {
  it('gives each new notification the next seq and a repeated id none, whichever node sees it', async () => {
    const [a, b] = impl.logs();
    const ch = channel();
    const first = entry(ch);
    expect(await a.append([first, entry(ch)], T0, publishLocally)).toEqual([
      { outcome: 'published', seq: 1 },
      { outcome: 'published', seq: 2 },
    ]);
    expect(await b.append([first, entry(ch)], T0 + 1000, publishLocally)).toEqual([
      { outcome: 'duplicate' },
      { outcome: 'published', seq: 3 },
    ]);
    // Idempotency is per channel: the same id on another channel is a new notification.
    expect(await b.append([entry(channel(), first.id)], T0, publishLocally)).toEqual([
      { outcome: 'published', seq: 1 },
    ]);
  });

  it('tells every node the same epoch, at seq 0 before the first notification', async () => {
    const [a, b] = impl.logs();
    const ch = channel();
    const read = await a.read(ch, null, T0);
    expect(read).toEqual({ position: { epoch: expect.any(String), seq: 0 }, replay: [] });
    expect((await b.read(ch, null, T0 + 1)).position).toEqual(read.position);
  });

  it('replays exactly the frames after since, with their seq, in order', async () => {
    const [a, b] = impl.logs();
    const ch = channel();
    const { position } = await a.read(ch, null, T0);
    const sent = [entry(ch), entry(ch), entry(ch)];
    await a.append(sent, T0, publishLocally);
    const read = await b.read(ch, { epoch: position.epoch, seq: 1 }, T0 + 1);
    expect(read.position).toEqual({ epoch: position.epoch, seq: 3 });
    expect(read.replay).toEqual([completeFrame(sent[1]!.head, 2), completeFrame(sent[2]!.head, 3)]);
    expect(recoveryOf({ epoch: position.epoch, seq: 1 }, read.position, read.replay, true)).toBe(
      true,
    );
  });

  it('replays nothing for a gap beyond the history, another epoch, or a position ahead', async () => {
    const [a] = impl.logs();
    const ch = channel();
    const { position } = await a.read(ch, null, T0);
    await a.append([entry(ch), entry(ch), entry(ch), entry(ch)], T0, publishLocally);
    for (const since of [
      { epoch: position.epoch, seq: 0 },
      { epoch: 'another-epoch', seq: 3 },
      { epoch: position.epoch, seq: 5 },
    ]) {
      const read = await a.read(ch, since, T0 + 1);
      expect(read.replay).toEqual([]);
      expect(recoveryOf(since, read.position, read.replay, true)).toBe(false);
    }
    const caughtUp = await a.read(ch, { epoch: position.epoch, seq: 4 }, T0 + 1);
    expect(recoveryOf({ epoch: position.epoch, seq: 4 }, caughtUp.position, [], true)).toBe(true);
  });

  it('keeps positions but no frames with HISTORY_SIZE=0', async () => {
    const [a, b] = impl.logs(0);
    const ch = channel();
    const { position } = await a.read(ch, null, T0);
    expect(await a.append([entry(ch), entry(ch)], T0, publishLocally)).toEqual([
      { outcome: 'published', seq: 1 },
      { outcome: 'published', seq: 2 },
    ]);
    const read = await b.read(ch, { epoch: position.epoch, seq: 1 }, T0 + 1);
    expect(read).toEqual({ position: { epoch: position.epoch, seq: 2 }, replay: [] });
  });
});

describe(RedisChannelLog.name, () => {
  it('starts a new epoch at seq 1 once the position is lost, never reusing the old one', async () => {
    const log: ChannelLog = new RedisChannelLog(nodeA, settings());
    const ch = channel();
    await log.append([entry(ch), entry(ch)], T0, publishLocally);
    const before = (await log.read(ch, null, T0)).position;
    await nodeA.client!.del(channelMetaKey(nodeA, ch));
    expect(await log.append([entry(ch)], T0 + 1, publishLocally)).toEqual([
      { outcome: 'published', seq: 1 },
    ]);
    const after = await log.read(ch, { epoch: before.epoch, seq: 2 }, T0 + 2);
    expect(after.position.epoch).not.toBe(before.epoch);
    expect(after).toEqual({ position: { epoch: after.position.epoch, seq: 1 }, replay: [] });
  });

  it('keeps the history and position for HISTORY_TTL_SECONDS after the last notification', async () => {
    const log: ChannelLog = new RedisChannelLog(nodeA, settings());
    const ch = channel();
    await log.append([entry(ch)], T0, publishLocally);
    const ttl = await nodeA.client!.pttl(channelMetaKey(nodeA, ch));
    expect(ttl).toBeGreaterThan((TTL_SECONDS - 5) * 1000);
    expect(ttl).toBeLessThanOrEqual(TTL_SECONDS * 1000);
  });
});

describe(MemoryChannelLog.name, () => {
  it('publishes each new notification locally with its seq, in order', async () => {
    const log = new MemoryChannelLog(settings());
    const ch = channel();
    const sent: BusMessage[] = [];
    await log.append([entry(ch, 'evt-local001'), entry(ch, 'evt-local002')], T0, (_c, m) =>
      sent.push(m),
    );
    expect(sent.map((m) => [m.id, m.seq])).toEqual([
      ['evt-local001', 1],
      ['evt-local002', 2],
    ]);
    expect(JSON.parse(sent[1]!.frame)).toMatchObject({ id: 'evt-local002', seq: 2 });
  });

  it('starts a new epoch once the channel expired, and drops it from memory', async () => {
    const log = new MemoryChannelLog(settings());
    const ch = channel();
    await log.append([entry(ch)], T0, publishLocally);
    const before = (await log.read(ch, null, T0)).position;
    const later = T0 + TTL_SECONDS * 1000;
    await log.read(channel(), null, later);
    expect(log.channelCount).toBe(1);
    const after = await log.read(ch, { epoch: before.epoch, seq: 1 }, later);
    expect(after.position).toEqual({ epoch: expect.any(String), seq: 0 });
    expect(after.position.epoch).not.toBe(before.epoch);
    expect(after.replay).toEqual([]);
  });

  it('forgets an id once the window has passed', async () => {
    const log = new MemoryChannelLog(settings());
    const ch = channel();
    await log.append([entry(ch, 'evt-window01')], T0, publishLocally);
    const window = IDEMPOTENCY_WINDOW_SECONDS * 1000;
    expect(await log.append([entry(ch, 'evt-window01')], T0 + window - 1, publishLocally)).toEqual([
      { outcome: 'duplicate' },
    ]);
    expect(
      (await log.append([entry(ch, 'evt-window01')], T0 + window, publishLocally))[0],
    ).toMatchObject({ outcome: 'published' });
  });
});
