import type { LoggerService } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { ConfigModule } from '../../src/config/config.module.js';
import type { BusMessage } from '../../src/core/bus-message.js';
import { Bus } from '../../src/fanout/bus.js';
import { FanoutModule } from '../../src/fanout/fanout.module.js';
import { MemoryBus } from '../../src/fanout/memory-bus.js';
import { RedisFanoutAdapter } from '../../src/fanout/redis-fanout-adapter.js';
import { ScrapeHooks } from '../../src/metrics/scrape-hooks.js';
import { channelTopic } from '../../src/redis/channel-keys.js';
import { RedisService } from '../../src/redis/redis.service.js';
import { testConfig } from '../support/app.js';
import { eventually } from '../support/http-client.js';
import {
  type PrivateMetrics,
  privateMetrics,
  withPrivateMetrics,
} from '../support/private-metrics.js';

export interface Delivery {
  channel: string;
  payload: string;
}

/** Items in arrival order; next() waits for one (bounded), so tests wait on events, not time. */
export class Inbox<T> {
  private readonly items: T[] = [];
  private waiter: ((item: T) => void) | null = null;

  readonly push = (item: T): void => {
    const waiter = this.waiter;
    this.waiter = null;
    if (waiter) waiter(item);
    else this.items.push(item);
  };

  next(timeoutMs = 3000): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift() as T);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`nothing arrived within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = (item) => {
        clearTimeout(timer);
        resolve(item);
      };
    });
  }

  async take(count: number, timeoutMs = 3000): Promise<T[]> {
    const out: T[] = [];
    while (out.length < count) out.push(await this.next(timeoutMs));
    return out;
  }
}

/** One gateway node's bus, built by FanoutModule exactly as the app builds it. */
export interface BusNode {
  bus: MemoryBus | RedisFanoutAdapter;
  /** The node's own metrics: bus nodes of one test share a process, not their counts. */
  metrics: PrivateMetrics;
  /** Runs the node's before-scrape hooks, as a scrape of /metrics would. */
  beforeScrape(): void;
  /** The node's RedisService; its command connection doubles as a probe in tests. */
  redis: RedisService;
  deliveries: Inbox<Delivery>;
  /** The same channel messages as `deliveries`, whole: frame, id and publish time. */
  messages: Inbox<BusMessage>;
  controls: Inbox<string>;
  close(): Promise<void>;
}

/** A bus message of `frame` alone, without the id, publish time and seq a notification has. */
export function frameOnly(frame: string): BusMessage {
  return { id: null, ts: null, seq: null, frame };
}

/** A payload the test handler throws on instead of recording. */
export const THROWING_PAYLOAD = 'make-the-handler-throw';

const silent: LoggerService = {
  log: () => undefined,
  error: () => undefined,
  warn: () => undefined,
};

/**
 * Starts a node's bus from `env` (no Redis variables: embedded). Nodes given the same Redis
 * and REDIS_KEY_PREFIX form one cluster. Resolves once Redis answers and the control channel
 * is subscribed.
 */
export async function startBusNode(env: Record<string, string> = {}): Promise<BusNode> {
  const metrics = privateMetrics();
  const moduleRef: TestingModule = await withPrivateMetrics(
    Test.createTestingModule({
      imports: [ConfigModule.forRoot(testConfig(env)), FanoutModule],
    }),
    metrics,
  )
    .setLogger(silent)
    .compile();
  await moduleRef.init();
  const bus = moduleRef.get(Bus);
  if (!(bus instanceof MemoryBus) && !(bus instanceof RedisFanoutAdapter))
    throw new Error('unknown bus');
  const redis = moduleRef.get(RedisService);
  await eventually(async () => redis.isReady(), { timeoutMs: 10_000 });
  await bus.flushed();
  const deliveries = new Inbox<Delivery>();
  const messages = new Inbox<BusMessage>();
  const controls = new Inbox<string>();
  bus.onMessage((channel, message) => {
    if (message.frame === THROWING_PAYLOAD) throw new Error('handler failed');
    deliveries.push({ channel, payload: message.frame });
    messages.push(message);
  });
  bus.onControl(controls.push);
  return {
    bus,
    metrics,
    beforeScrape: () => moduleRef.get(ScrapeHooks).run(),
    redis,
    deliveries,
    messages,
    controls,
    close: () => moduleRef.close(),
  };
}

/** Every node a spec started, closed in afterEach/afterAll. */
export class BusNodes {
  private readonly open: BusNode[] = [];

  async start(env: Record<string, string> = {}): Promise<BusNode> {
    const node = await startBusNode(env);
    this.open.push(node);
    return node;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.open.splice(0).map((node) => node.close()));
  }
}

/** The value of one metric series in the node's /metrics text, e.g. `x_total{kind="a"}`. */
export async function metricValue(node: BusNode, series: string): Promise<number> {
  node.beforeScrape();
  const line = (await node.metrics.registry.metrics())
    .split('\n')
    .find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no series ${series}`);
  return Number(line.slice(series.length + 1));
}

/** Subscriber counts Redis reports for app channels (standalone PUBSUB NUMSUB). */
export async function numsub(node: BusNode, channels: string[]): Promise<number[]> {
  const keys = channels.map((c) => channelTopic(node.redis, c));
  const reply = (await node.redis.client!.call('PUBSUB', 'NUMSUB', ...keys)) as (string | number)[];
  return keys.map((_, i) => Number(reply[2 * i + 1]));
}
