import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { Cluster, Redis } from 'ioredis';
import { CONFIG } from '../config/config.module.js';
import type { Config, RedisTopology } from '../config/config.types.js';
import { Metrics } from '../metrics/metrics.js';
import { StoreUnavailableError } from './store-unavailable.error.js';
import {
  clusterOptions,
  commandConnectionOptions,
  subscriberConnectionOptions,
} from './redis-options.js';

export type RedisClient = Redis | Cluster;
type Connected = Exclude<RedisTopology, { kind: 'embedded' }>;

/**
 * The node's Redis connections: one shared command connection and any number of dedicated
 * subscriber connections. In embedded mode there are none and every store runs in memory.
 * Keys and channels are never prefixed by ioredis (its keyPrefix skips pub/sub): callers
 * build names with `key()`.
 */
@Injectable()
export class RedisService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RedisService.name);
  private readonly topology: RedisTopology;
  private readonly prefix: string;
  private readonly subscribers = new Set<RedisClient>();
  private command: RedisClient | null = null;
  private up = false;
  /** Connected but not answering: a command and the PING after it timed out. */
  private stalled = false;
  private probing = false;
  private everUp = false;
  private reportedUnreachable = false;

  constructor(
    @Inject(CONFIG) config: Config,
    private readonly metrics: Metrics,
  ) {
    this.topology = config.redis.topology;
    this.prefix = config.redis.keyPrefix;
  }

  get embedded(): boolean {
    return this.topology.kind === 'embedded';
  }

  /** One Redis server holds every key: a script may touch keys that would differ in slot on Cluster. */
  get standalone(): boolean {
    return this.topology.kind === 'standalone';
  }

  /** The command connection; null in embedded mode. Commands fail fast while Redis is down. */
  get client(): RedisClient | null {
    return this.command;
  }

  /** True while commands can be served: always in embedded mode. */
  isReady(): boolean {
    return this.embedded || (this.up && !this.stalled);
  }

  /**
   * Runs `command` on the command connection, for request paths. Any failure (down, timeout,
   * embedded mode) rejects with StoreUnavailableError, never the ioredis error, whose message
   * and attached command could reach a client or a log line.
   */
  async run<T>(command: (client: RedisClient) => Promise<T>): Promise<T> {
    const client = this.command;
    if (client === null) throw new StoreUnavailableError();
    try {
      return await command(client);
    } catch (error) {
      if (isTimeout(error)) this.probe(client);
      throw new StoreUnavailableError();
    }
  }

  key(...parts: string[]): string {
    return this.prefix + parts.join(':');
  }

  onModuleInit(): void {
    if (this.topology.kind === 'embedded') {
      this.metrics.redisUp.set(1);
      this.logger.log(
        'no REDIS_URL or REDIS_CLUSTER_NODES: embedded single-node mode, in-memory stores',
      );
      return;
    }
    this.metrics.redisUp.set(0);
    const client = connect(this.topology, 'command');
    client.on('ready', () => this.setUp(true));
    client.on('close', () => {
      if (!this.everUp && !this.reportedUnreachable) {
        this.reportedUnreachable = true;
        this.logger.warn('redis unreachable; not ready until it answers, retrying');
      }
      this.setUp(false);
    });
    client.on('end', () => this.setUp(false));
    // Errors surface through 'close'; an unhandled 'error' event would crash the process.
    client.on('error', () => undefined);
    this.command = client;
    client.connect().catch(() => undefined);
  }

  /** A new dedicated subscriber connection, closed with the app. */
  createSubscriber(): RedisClient {
    if (this.topology.kind === 'embedded') throw new Error('no Redis in embedded mode');
    const subscriber = connect(this.topology, 'subscriber');
    subscriber.on('error', () => undefined);
    this.subscribers.add(subscriber);
    subscriber.connect().catch(() => undefined);
    return subscriber;
  }

  async onApplicationShutdown(): Promise<void> {
    const clients = [...this.subscribers, ...(this.command ? [this.command] : [])];
    this.subscribers.clear();
    this.command = null;
    await Promise.all(clients.map(close));
    this.setUp(false);
  }

  /**
   * A command timed out on a connection that looks open: Redis may be hung (stopped, swapping,
   * cut off without a reset), which no connection event reports. PING until it answers; while
   * a PING too times out the node is not ready. One probe at a time, each PING bounded by the
   * command timeout; it ends with the connection (the 'close' handling covers that case).
   */
  private probe(client: RedisClient): void {
    if (this.probing) return;
    this.probing = true;
    void (async () => {
      while (this.command === client && client.status === 'ready') {
        const failure = await client.ping().then(
          () => null,
          (error: unknown) => error,
        );
        if (failure === null || !isTimeout(failure)) break;
        this.setStalled(true);
      }
      this.setStalled(false);
      this.probing = false;
    })();
  }

  private setStalled(stalled: boolean): void {
    if (stalled === this.stalled) return;
    this.stalled = stalled;
    this.metrics.redisUp.set(this.isReady() ? 1 : 0);
    if (stalled) this.logger.warn('redis not answering; not ready until it does');
    else this.logger.log('redis answering again');
  }

  private setUp(up: boolean): void {
    if (up === this.up) return;
    this.up = up;
    this.everUp ||= up;
    this.metrics.redisUp.set(this.isReady() ? 1 : 0);
    if (up) this.logger.log('redis connection ready');
    else this.logger.warn('redis connection lost; reconnecting');
  }
}

function connect(topology: Connected, role: 'command' | 'subscriber'): RedisClient {
  const options = role === 'command' ? commandConnectionOptions : subscriberConnectionOptions;
  const name = `carecast-${role}`;
  if (topology.kind === 'cluster') {
    return new Cluster(
      topology.nodes.map((n) => ({ host: n.host, port: n.port })),
      {
        ...clusterOptions({ ...options, connectionName: name }, role === 'subscriber'),
        // ioredis routes SSUBSCRIBE by slot only on a Cluster built for sharded subscribers.
        shardedSubscribers: role === 'subscriber',
      },
    );
  }
  return new Redis(topology.url, { ...options, connectionName: name });
}

/** ioredis rejects a command that outlived `commandTimeout` with exactly this message. */
function isTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === 'Command timed out';
}

/** QUIT when possible so replies in flight arrive; otherwise drop the socket at once. */
async function close(client: RedisClient): Promise<void> {
  if (client.status === 'ready') {
    await client.quit().catch(() => undefined);
  }
  client.disconnect();
}
