import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { RedisTopology } from '../config/config.types.js';
import { type BusMessage, messageOfFrame } from '../core/bus-message.js';
import { Metrics } from '../metrics/metrics.js';
import { channelOfTopic, channelTopic, topicHead } from '../redis/channel-keys.js';
import { RedisService, type RedisClient } from '../redis/redis.service.js';
import { Bus } from './bus.js';
import { FollowBatcher } from './follow-batcher.js';

/** Channels per (UN)SUBSCRIBE command, so one huge batch never becomes one huge command. */
const MAX_CHANNELS_PER_COMMAND = 500;

/**
 * The Redis adapter for horizontal fan-out: the Bus that lets any number of gateway nodes
 * share notifications and control commands over Redis pub/sub (contract §6), so a
 * notification published on any node reaches the subscribers on every node. Channel `c`
 * travels on `<prefix>{ch:c}` (channel-keys.ts: the same name the publish script of the
 * channel log uses, in the slot of the channel's history), control on `<prefix>control`;
 * standalone uses
 * SUBSCRIBE/PUBLISH, Redis Cluster sharded SSUBSCRIBE/SPUBLISH for channels and plain
 * pub/sub for control, which every node gets.
 *
 * Invariants:
 * - Subscriptions live on one dedicated subscriber connection (per shard on a cluster) and
 *   follow the Bus's counts, through the FollowBatcher; ioredis resubscribes them all after
 *   a reconnect, so no follow has to be repeated.
 * - A channel message reaches the handler only while its channel is followed here, so an
 *   unfollow takes effect at once even before Redis has processed the UNSUBSCRIBE.
 * - Publishing goes through the command connection (`redis.run`): no offline queue, so with
 *   Redis down it rejects with StoreUnavailableError within a second and never blocks.
 * - A throwing handler is logged and never reaches ioredis's reply parser.
 * - The wire format of a channel message is the frame alone: the frame already holds the id,
 *   publish time and seq, which the receiver reads back once per message (`messageOfFrame`).
 *   Notifications are published by the channel log's script, not here (see
 *   redis-channel-log.ts); `publish` serves frames that have no history.
 */
export class RedisFanoutAdapter extends Bus implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RedisFanoutAdapter.name);
  private readonly topicHead: string;
  private readonly controlKey: string;
  private readonly batcher: FollowBatcher;
  /** RedisService's dedicated subscriber connection (it closes it with the app). */
  private subscriber: RedisClient | null = null;
  /**
   * On Redis Cluster, channel messages use sharded pub/sub, so each travels only to the shard
   * owning its slot instead of over the cluster bus to every node.
   */
  private readonly sharded: boolean;
  private controlSubscribed: Promise<void> = Promise.resolve();
  /** Channel messages received since the last scrape: counted per message, reported per scrape. */
  private channelMessages = 0;
  private closed = false;

  constructor(
    private readonly redis: RedisService,
    private readonly metrics: Metrics,
    topology: RedisTopology,
  ) {
    super(metrics);
    metrics.onScrape(() => {
      metrics.busMessagesReceived.inc({ kind: 'channel' }, this.channelMessages);
      this.channelMessages = 0;
    });
    this.topicHead = topicHead(redis);
    this.controlKey = redis.key('control');
    this.sharded = topology.kind === 'cluster';
    this.batcher = new FollowBatcher(
      (subscribe, unsubscribe) => this.applyBatch(subscribe, unsubscribe),
      (channels) => this.logger.warn(`(un)subscribing ${channels} channels failed; retrying`),
      (channel) => this.isFollowed(channel),
    );
  }

  onModuleInit(): void {
    const subscriber = this.redis.createSubscriber();
    this.subscriber = subscriber;
    subscriber.on('message', this.receive);
    if (this.sharded) subscriber.on('smessage', this.receive);
    this.controlSubscribed = subscriber.subscribe(this.controlKey).then(
      () => undefined,
      () => {
        if (!this.closed) this.logger.error('subscribing to the control channel failed');
      },
    );
  }

  async publish(channel: string, message: BusMessage): Promise<void> {
    const key = channelTopic(this.redis, channel);
    const payload = message.frame;
    await this.send('channel', (client) =>
      this.sharded ? client.spublish(key, payload) : client.publish(key, payload),
    );
  }

  async publishControl(payload: string): Promise<void> {
    await this.send('control', (client) => client.publish(this.controlKey, payload));
  }

  protected followChanged(channel: string): void {
    this.batcher.changed(channel);
  }

  /**
   * Resolves once the control subscription and every follow and unfollow made so far are in
   * effect in Redis (or failed and await their retry). A publish after it reaches this node.
   */
  override async flushed(): Promise<void> {
    await Promise.all([this.controlSubscribed, this.batcher.settled()]);
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    this.batcher.close();
    const subscriber = this.subscriber;
    this.subscriber = null;
    if (subscriber === null) return;
    subscriber.off('message', this.receive);
    subscriber.off('smessage', this.receive);
  }

  private async send(
    kind: 'channel' | 'control',
    command: (client: RedisClient) => Promise<unknown>,
  ): Promise<void> {
    try {
      await this.redis.run(command);
    } catch (err) {
      this.metrics.busPublishFailures.inc({ kind });
      throw err;
    }
  }

  /**
   * Sharded (UN)SUBSCRIBE accepts only channels of one slot and distinct channels seldom share
   * one, so on a cluster a batch is one command per channel, all written in the same tick.
   */
  private async applyBatch(subscribe: string[], unsubscribe: string[]): Promise<void> {
    const client = this.subscriber;
    if (client === null) throw new Error('bus not started');
    const toSubscribe = subscribe.map((c) => channelTopic(this.redis, c));
    const toUnsubscribe = unsubscribe.map((c) => channelTopic(this.redis, c));
    const commands: Promise<unknown>[] = [];
    if (this.sharded) {
      for (const key of toSubscribe) commands.push(client.ssubscribe(key));
      for (const key of toUnsubscribe) commands.push(client.sunsubscribe(key));
    } else {
      for (const keys of chunks(toSubscribe)) commands.push(client.subscribe(...keys));
      for (const keys of chunks(toUnsubscribe)) commands.push(client.unsubscribe(...keys));
    }
    await Promise.all(commands);
  }

  private readonly receive = (redisChannel: string, payload: string): void => {
    if (redisChannel === this.controlKey) {
      this.metrics.busMessagesReceived.inc({ kind: 'control' });
      this.dispatchControl(payload);
      return;
    }
    const channel = channelOfTopic(this.topicHead, redisChannel);
    if (channel === null) return;
    this.channelMessages += 1;
    if (!this.isFollowed(channel)) return;
    this.dispatchMessage(channel, messageOfFrame(payload));
  };
}

function chunks(keys: string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < keys.length; i += MAX_CHANNELS_PER_COMMAND) {
    out.push(keys.slice(i, i + MAX_CHANNELS_PER_COMMAND));
  }
  return out;
}
