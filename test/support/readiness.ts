import type { RunningNode } from './app.js';
import { eventually, request } from './http-client.js';

/**
 * A node listens before its Redis connection is ready and answers tickets and publishes 503
 * until then (its /readyz says so). A load balancer routes to a node once it is ready; specs
 * that need a node serving wait for the same, so the first thing their clients see is what
 * the spec is about, not a node still starting.
 */
export async function isReady(node: Pick<RunningNode, 'internalUrl'>): Promise<boolean> {
  return (await request(`${node.internalUrl}/readyz`)).status === 200;
}

/** Waits until every node in `nodes` answers /readyz 200 (eventually's default timeout). */
export async function untilReady(
  nodes: Pick<RunningNode, 'internalUrl'> | readonly Pick<RunningNode, 'internalUrl'>[],
  options: { timeoutMs?: number } = {},
): Promise<void> {
  for (const node of Array.isArray(nodes) ? nodes : [nodes]) {
    await eventually(() => isReady(node), options);
  }
}
