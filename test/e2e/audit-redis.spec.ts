import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { parseStoredCheckpoint } from '../../src/audit/checkpoint-store.js';
import {
  checkpoints,
  connected,
  readAudit,
  readiness,
  startAuditNode,
  tempDir,
  uniqueNodeId,
  verifyAuditFile,
} from '../audit/support/audit-helpers.js';
import { uniquePrefix } from '../support/app.js';
import { eventually } from '../support/http-client.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';

let server: RedisServerHandle;
let redis: Redis;
const cleanup: (() => Promise<void>)[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { lazyConnect: true, retryStrategy: () => 100 });
  redis.on('error', () => undefined); // asserted through command results
  await redis.connect();
});

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

async function redisNode(label: string) {
  const { dir, remove } = await tempDir(label);
  cleanup.push(remove);
  const nodeId = uniqueNodeId(label);
  const prefix = uniquePrefix(label);
  const env = { REDIS_URL: server.url, REDIS_KEY_PREFIX: prefix };
  const key = `${prefix}audit:checkpoint:${nodeId}`;
  const start = async () => {
    const started = await startAuditNode(dir, nodeId, env);
    await eventually(async () => (await readiness(started.node)).status === 200);
    return started;
  };
  const stored = async () => parseStoredCheckpoint(await redis.get(key));
  return { start, stored, key };
}

describe('audit checkpoints kept in Redis', () => {
  it('stores the latest checkpoint of the node, and a file cut short no longer reaches it', async () => {
    const { start, stored } = await redisNode('audit-cp');
    const { node, audit, file } = await start();
    for (let i = 0; i < 30; i++) audit.record(connected(`c-${i}`));
    await node.stop();

    const { records } = await readAudit(file);
    const last = records.at(-1)!;
    expect(last).toMatchObject({ event: 'audit.checkpoint', reason: 'shutdown' });
    await expect(stored()).resolves.toEqual({
      seq: last.seq,
      hash: last.hash,
      sig: last.sig,
      ts: last.ts,
    });
    const external = (await stored())!;
    await expect(verifyAuditFile(file, external)).resolves.toMatchObject({ ok: true });

    // Deleting the tail (up to and including the last checkpoint) leaves a valid chain...
    const cut = records.slice(0, -5);
    await writeFile(file, cut.map((r) => JSON.stringify(r) + '\n').join(''));
    await expect(verifyAuditFile(file)).resolves.toMatchObject({ ok: true });
    // ...that the stored checkpoint exposes.
    await expect(verifyAuditFile(file, external)).resolves.toEqual({
      ok: false,
      seq: cut.length + 1,
      reason: 'behind_external_checkpoint',
    });
  });

  it('keeps writing while Redis is down, and stores checkpoints again once it is back', async () => {
    const { start, stored } = await redisNode('audit-down');
    const { node, audit, file } = await start();
    cleanup.push(() => node.stop());
    await server.stop();
    await eventually(async () => (await readiness(node)).reasons.includes('redis_unavailable'));

    for (let i = 0; i < 1000; i++) audit.record(connected(`down-${i}`));
    await expect(audit.flush()).resolves.toBe(true);
    expect((await readiness(node)).reasons).toEqual(['redis_unavailable']);
    const during = checkpoints((await readAudit(file)).records);
    expect(during.map((r) => r.reason)).toEqual(['start', 'count']);

    await server.start();
    await eventually(async () => (await readiness(node)).status === 200);
    for (let i = 0; i < 1000; i++) audit.record(connected(`up-${i}`));
    await expect(audit.flush()).resolves.toBe(true);
    const latest = checkpoints((await readAudit(file)).records).at(-1)!;
    await eventually(async () => (await stored())?.seq === latest.seq);
    await expect(verifyAuditFile(file, (await stored())!)).resolves.toMatchObject({ ok: true });
  });

  it('never moves the stored checkpoint back when a node restarts on a file cut short', async () => {
    const { start, stored, key } = await redisNode('audit-behind');
    const first = await start();
    for (let i = 0; i < 20; i++) first.audit.record(connected(`a-${i}`));
    await first.node.stop();
    const evidence = (await stored())!;
    const { records } = await readAudit(first.file);
    await writeFile(
      first.file,
      records
        .slice(0, -3)
        .map((r) => JSON.stringify(r) + '\n')
        .join(''),
    );

    const second = await start();
    cleanup.push(() => second.node.stop());
    for (let i = 0; i < 1000; i++) second.audit.record(connected(`b-${i}`));
    await expect(second.audit.flush()).resolves.toBe(true);
    await eventually(async () =>
      second.node.logs.text.includes('behind the checkpoint kept in Redis'),
    );
    await expect(stored()).resolves.toEqual(evidence);
    await expect(verifyAuditFile(second.file, evidence)).resolves.toMatchObject({
      ok: false,
      seq: evidence.seq,
      reason: 'behind_external_checkpoint',
    });

    // Once an operator has looked into it and deleted the key, checkpoints are stored again.
    await redis.del(key);
    for (let i = 0; i < 1000; i++) second.audit.record(connected(`c-${i}`));
    await expect(second.audit.flush()).resolves.toBe(true);
    const latest = checkpoints((await readAudit(second.file)).records).at(-1)!;
    await eventually(async () => (await stored())?.seq === latest.seq);
  });
});
