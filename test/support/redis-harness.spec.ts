import { existsSync } from 'node:fs';
import path from 'node:path';
import { Cluster, Redis } from 'ioredis';
import type { RedisClusterHandle, RedisServerHandle } from './redis-server.js';
import { PID_DIR, startRedisCluster, startRedisServer } from './redis-server.js';

const clients: (Redis | Cluster)[] = [];
const handles: (RedisServerHandle | RedisClusterHandle)[] = [];

function track<T extends Redis | Cluster>(client: T): T {
  clients.push(client);
  return client;
}

function client(port: number): Redis {
  const redis = track(
    new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null }),
  );
  redis.on('error', () => undefined); // failures are asserted through command promises
  return redis;
}

async function pidOf(redis: Redis): Promise<number> {
  const match = /process_id:(\d+)/.exec(await redis.info('server'));
  return Number(match?.[1]);
}

function expectGone(pid: number): void {
  expect(() => process.kill(pid, 0)).toThrow();
  expect(existsSync(path.join(PID_DIR, String(pid)))).toBe(false);
}

afterAll(async () => {
  // A second disconnect() of a closed ioredis client leaves a 2 s timer behind.
  for (const c of clients) if (c.status !== 'end') c.disconnect();
  await Promise.allSettled(handles.map((h) => h.stop()));
});

describe('startRedisServer', () => {
  it('serves, stops, and restarts on the same port', async () => {
    const server = await startRedisServer();
    handles.push(server);
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);

    const first = client(server.port);
    await first.set('k', 'v');
    await expect(first.get('k')).resolves.toBe('v');
    const pid = await pidOf(first);
    expect(existsSync(path.join(PID_DIR, String(pid)))).toBe(true);
    first.disconnect();

    await server.stop();
    await server.stop();
    expectGone(pid);
    const refused = client(server.port);
    const errors: NodeJS.ErrnoException[] = [];
    refused.on('error', (err: NodeJS.ErrnoException) => errors.push(err));
    await expect(refused.connect()).rejects.toThrow();
    expect(errors.map((e) => e.code)).toContain('ECONNREFUSED');

    await server.start();
    const second = client(server.port);
    await expect(second.ping()).resolves.toBe('PONG');
    expect(await pidOf(second)).not.toBe(pid);
    second.disconnect();
    await server.stop();
  });
});

describe('startRedisCluster', () => {
  it('forms a three-master cluster that serves keys in every slot range', async () => {
    const cluster = await startRedisCluster();
    handles.push(cluster);
    expect(cluster.nodes).toHaveLength(3);
    expect(cluster.nodesEnv).toBe(cluster.nodes.map((n) => `127.0.0.1:${n.port}`).join(','));

    const nodeClients = cluster.nodes.map((n) => client(n.port));
    const pids = await Promise.all(nodeClients.map(pidOf));
    // 'b' → 3300, 'c' → 7365, 'a' → 15495: one key per master.
    const keys = ['b', 'c', 'a'];
    const slots = await Promise.all(keys.map((k) => nodeClients[0]!.call('CLUSTER', 'KEYSLOT', k)));
    expect(slots).toEqual([3300, 7365, 15495]);

    const redis = track(new Cluster(cluster.nodes));
    for (const key of keys) await redis.set(key, `value-${key}`);
    for (const key of keys) await expect(redis.get(key)).resolves.toBe(`value-${key}`);

    redis.disconnect();
    for (const c of nodeClients) c.disconnect();
    await cluster.stop();
    pids.forEach(expectGone);
  });
});
