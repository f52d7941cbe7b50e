import { eventually, request } from '../../support/http-client.js';
import type { ProcessNode } from '../../support/process-node.js';

/**
 * A node process prints its "listening" line before its Redis connection is ready, and
 * answers tickets and publishes 503 until then (its /readyz says so). A load balancer routes
 * to a node once it is ready; the fault specs wait for the same, so the first thing their
 * clients see is the fault under test, not a node still starting.
 */
export async function isReady(node: ProcessNode): Promise<boolean> {
  return (await request(`${node.internalUrl}/readyz`)).status === 200;
}

export async function untilReady(...nodes: ProcessNode[]): Promise<void> {
  for (const node of nodes) await eventually(() => isReady(node), { timeoutMs: 15_000 });
}
