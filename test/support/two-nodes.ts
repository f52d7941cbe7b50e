import { type RunningNode, startNode, type TestNode, uniquePrefix } from './app.js';
import { startProcessNode } from './process-node.js';
import { untilReady } from './readiness.js';
import { type RedisServerHandle, startRedisServer } from './redis-server.js';
import { TEST_ORIGIN } from './ws-client.js';

/**
 * Two gateway nodes sharing one private Redis, as a cluster runs: node A in this process
 * (its config, logs and audit at hand) and node B as its own process (dist/main.js), since
 * metrics live in a process-wide registry and each node's /metrics must show only its own
 * counts. Both are ready (/readyz 200) when this resolves.
 */
export interface TwoNodes {
  readonly redis: RedisServerHandle;
  readonly a: TestNode;
  readonly b: RunningNode;
  stop(): Promise<void>;
}

/** `label` makes the key prefix unique; `env` adds to (or overrides) the shared settings. */
export async function startTwoNodes(
  label: string,
  env: Record<string, string> = {},
  nodeIds: readonly [string, string] = [`${label}-a`, `${label}-b`],
): Promise<TwoNodes> {
  const redis = await startRedisServer();
  const shared = {
    ALLOWED_ORIGINS: TEST_ORIGIN,
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: uniquePrefix(label),
    ...env,
  };
  const a = await startNode({ ...shared, NODE_ID: nodeIds[0] });
  const b = await startProcessNode({ ...shared, NODE_ID: nodeIds[1] });
  await untilReady([b, a]);
  return {
    redis,
    a,
    b,
    stop: async () => {
      await a.stop();
      await b.stop();
      await redis.stop();
    },
  };
}
