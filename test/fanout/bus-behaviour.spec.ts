import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { notificationMessage } from '../../src/core/bus-message.js';
import type { Notification } from '../../src/core/notification.js';
import type { OpaqueId } from '../../src/core/opaque-id.js';
import { uniquePrefix } from '../support/app.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import {
  type BusNode,
  BusNodes,
  metricValue,
  THROWING_PAYLOAD,
  frameOnly,
} from './bus-fixtures.js';

/**
 * The behaviour every Bus shares, against MemoryBus (embedded) and RedisFanoutAdapter
 * (standalone Redis). "Not delivered" is never proven by waiting: a message on a followed
 * channel is published after it, and must be the next one to arrive (both buses keep
 * publish order).
 */
const nodes = new BusNodes();
let server: RedisServerHandle;

beforeAll(async () => {
  server = await startRedisServer();
});

afterEach(() => nodes.closeAll());

afterAll(async () => {
  await nodes.closeAll();
  await server.stop();
});

const impls: { name: string; env: () => Record<string, string> }[] = [
  { name: 'MemoryBus', env: () => ({}) },
  {
    name: 'RedisFanoutAdapter (standalone)',
    env: () => ({ REDIS_URL: server.url, REDIS_KEY_PREFIX: uniquePrefix('bus') }),
  },
];

describe.each(impls)('$name', ({ env }) => {
  let node: BusNode;

  beforeEach(async () => {
    node = await nodes.start(env());
  });

  it('delivers a followed channel under its app name with the exact payload', async () => {
    const payload = '{"type":"notification","channel":"patient:pt-1","ref":"apt-1"}';
    node.bus.follow('patient:pt-1');
    await node.bus.flushed();

    await node.bus.publish('patient:pt-other', frameOnly('not followed here'));
    await node.bus.publish('patient:pt-1', frameOnly(payload));

    expect(await node.deliveries.next()).toEqual({ channel: 'patient:pt-1', payload });
    expect(await metricValue(node, 'carecast_bus_followed_channels')).toBe(1);
  });

  it('hands the handler a notification with its id and publish time beside the frame', async () => {
    const notification: Notification = {
      id: 'nt-message01' as OpaqueId,
      channel: { kind: 'patient', id: 'pt-message01' as OpaqueId },
      kind: 'appointment',
      ref: 'apt-message01' as OpaqueId,
    };
    const sent = notificationMessage(notification, 1_750_000_000_123, 7);
    node.bus.follow('patient:pt-message01');
    await node.bus.flushed();

    await node.bus.publish('patient:pt-message01', sent);

    expect(await node.messages.next()).toEqual({
      id: 'nt-message01',
      ts: 1_750_000_000_123,
      seq: 7,
      frame: sent.frame,
    });
  });

  it('stops delivering a channel as soon as it is unfollowed', async () => {
    node.bus.follow('patient:a');
    node.bus.follow('patient:b');
    await node.bus.flushed();

    node.bus.unfollow('patient:a');
    await node.bus.publish('patient:a', frameOnly('after unfollow'));
    await node.bus.publish('patient:b', frameOnly('still followed'));

    expect(await node.deliveries.next()).toEqual({
      channel: 'patient:b',
      payload: 'still followed',
    });
  });

  it('counts follows: the channel stays followed until the last unfollow', async () => {
    node.bus.follow('doctor:d1');
    node.bus.follow('doctor:d1');
    node.bus.follow('doctor:d2');
    await node.bus.flushed();
    node.bus.unfollow('doctor:d1');
    await node.bus.flushed();

    await node.bus.publish('doctor:d1', frameOnly('one follower left'));
    expect(await node.deliveries.next()).toEqual({
      channel: 'doctor:d1',
      payload: 'one follower left',
    });

    node.bus.unfollow('doctor:d1');
    node.bus.unfollow('doctor:d1'); // unbalanced: must not disturb anything
    await node.bus.flushed();
    await node.bus.publish('doctor:d1', frameOnly('no follower left'));
    await node.bus.publish('doctor:d2', frameOnly('marker'));
    expect(await node.deliveries.next()).toEqual({ channel: 'doctor:d2', payload: 'marker' });
  });

  it('follows a doubly followed channel once, and a surplus unfollow leaves no debt', async () => {
    node.bus.follow('patient:twice');
    node.bus.follow('patient:twice');
    await node.bus.flushed();
    expect(await metricValue(node, 'carecast_bus_followed_channels')).toBe(1);

    node.bus.unfollow('patient:twice');
    node.bus.unfollow('patient:twice');
    node.bus.unfollow('patient:twice'); // one more than followed
    await node.bus.flushed();
    expect(await metricValue(node, 'carecast_bus_followed_channels')).toBe(0);

    // The surplus unfollow is not held against the next follow.
    node.bus.follow('patient:twice');
    await node.bus.flushed();
    await node.bus.publish('patient:twice', frameOnly('followed again'));
    expect(await node.deliveries.next()).toEqual({
      channel: 'patient:twice',
      payload: 'followed again',
    });
  });

  it('delivers control messages without any follow, and publish order holds', async () => {
    await node.bus.publishControl('revoke:1');
    await node.bus.publishControl('revoke:2');

    expect(await node.controls.take(2)).toEqual(['revoke:1', 'revoke:2']);
  });

  it('keeps delivering after the handler throws on one message', async () => {
    node.bus.follow('patient:x');
    await node.bus.flushed();

    await node.bus.publish('patient:x', frameOnly(THROWING_PAYLOAD));
    await node.bus.publish('patient:x', frameOnly('next one'));

    expect(await node.deliveries.next()).toEqual({ channel: 'patient:x', payload: 'next one' });
  });
});
