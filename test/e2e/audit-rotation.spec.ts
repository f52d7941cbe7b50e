/**
 * Audit rotation in a running node (contract §7): by size and by age, the chain continuing
 * across files, and the Redis checkpoint still exposing a newest file cut short. Crashes at
 * each step of a rotation are in audit-rotation-process.spec.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile, truncate } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { parseStoredCheckpoint } from '../../src/audit/checkpoint-store.js';
import {
  connected,
  readiness,
  startAuditNode,
  tempDir,
  uniqueNodeId,
} from '../audit/support/audit-helpers.js';
import {
  chainFiles,
  rotatedFilesHold,
  verifyNodeFiles,
} from '../audit/support/rotation-helpers.js';
import { uniquePrefix } from '../support/app.js';
import { eventually } from '../support/http-client.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';

const cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function rotatingNode(label: string, env: Record<string, string>) {
  const { dir, remove } = await tempDir(label);
  cleanup.push(remove);
  const nodeId = uniqueNodeId(label);
  const started = await startAuditNode(dir, nodeId, env);
  cleanup.push(() => started.node.stop());
  return { dir, nodeId, ...started };
}

describe('rotation by size (AUDIT_ROTATE_BYTES)', () => {
  it('ends each full file with a checkpoint, renames it by seq range and continues the chain', async () => {
    const { dir, nodeId, node, audit, file } = await rotatingNode('rot-size', {
      AUDIT_ROTATE_BYTES: '4096',
    });
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 10; i++) audit.record(connected(`c-${round}-${i}`));
      await expect(audit.flush()).resolves.toBe(true);
    }
    // Stopping waits for a rotation under way; the files then hold everything recorded.
    await node.stop();
    const files = await chainFiles(dir, nodeId);
    expect(files.length).toBeGreaterThanOrEqual(3);
    expect(files.at(-1)).toBe(file);
    for (const rotated of files.slice(0, -1)) {
      expect(path.basename(rotated)).toMatch(new RegExp(`^audit-${nodeId}\\.\\d+-\\d+\\.jsonl$`));
    }
    const contents = await rotatedFilesHold(dir, nodeId);
    // Each later file opens with a checkpoint that links to the rotated file's last record.
    for (let i = 1; i < contents.length; i++) {
      const [previous, opening] = [contents[i - 1]!.at(-1)!, contents[i]![0]!];
      expect(opening).toMatchObject({
        event: 'audit.checkpoint',
        reason: 'after_rotation',
        seq: previous.seq + 1,
        prev: previous.hash,
      });
    }
    // Nothing recorded is lost or written twice across the files.
    const conns = contents.flat().flatMap((r) => (r.conn === undefined ? [] : [r.conn]));
    expect(conns).toHaveLength(60);
    expect(new Set(conns).size).toBe(60);
    const all = contents.flat().length;
    await expect(verifyNodeFiles(dir, nodeId)).resolves.toMatchObject({ ok: true, records: all });
  });
});

describe('rotation by age (AUDIT_ROTATE_SECONDS)', () => {
  it('rotates a file once its first record is older than the limit', async () => {
    const { dir, nodeId, node, audit } = await rotatingNode('rot-age', {
      AUDIT_ROTATE_SECONDS: '1',
    });
    audit.record(connected('early'));
    await expect(audit.flush()).resolves.toBe(true);
    // The file's first record (the start checkpoint) was written by now, so once a second
    // (and a margin) has passed from here, the file is older than the limit.
    const firstRecordBy = Date.now();
    await eventually(async () => Date.now() - firstRecordBy > 1100, { timeoutMs: 3000 });
    audit.record(connected('late'));
    await expect(audit.flush()).resolves.toBe(true);
    await node.stop();
    const contents = await rotatedFilesHold(dir, nodeId);
    expect(contents).toHaveLength(2);
    expect(contents[0]!.map((r) => r.conn)).toContain('early');
    expect(contents[1]!.map((r) => r.conn)).toContain('late');
    await expect(verifyNodeFiles(dir, nodeId)).resolves.toMatchObject({ ok: true });
  });
});

describe('with the checkpoint kept in Redis', () => {
  let server: RedisServerHandle;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url, { lazyConnect: true, retryStrategy: () => 100 });
    redis.on('error', () => undefined); // asserted through command results
    await redis.connect();
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('still detects the newest file cut short after rotations', async () => {
    const prefix = uniquePrefix('rot-redis');
    const { dir, nodeId, node, audit, file } = await rotatingNode('rot-redis', {
      AUDIT_ROTATE_BYTES: '4096',
      REDIS_URL: server.url,
      REDIS_KEY_PREFIX: prefix,
    });
    await eventually(async () => (await readiness(node)).status === 200);
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 10; i++) audit.record(connected(`c-${round}-${i}`));
      await expect(audit.flush()).resolves.toBe(true);
    }
    await node.stop();
    const stored = parseStoredCheckpoint(await redis.get(`${prefix}audit:checkpoint:${nodeId}`));
    expect(stored).not.toBeNull();
    const external = { seq: stored!.seq, hash: stored!.hash };
    expect((await chainFiles(dir, nodeId)).length).toBeGreaterThanOrEqual(2);
    await expect(verifyNodeFiles(dir, nodeId, external)).resolves.toMatchObject({ ok: true });

    // Cut the active file back to its first record: the rotated files alone verify, but the
    // chain no longer reaches the stored checkpoint, and the break is named in that file.
    const text = await readFile(file, 'utf8');
    await truncate(file, text.indexOf('\n') + 1);
    await expect(verifyNodeFiles(dir, nodeId)).resolves.toMatchObject({ ok: true });
    await expect(verifyNodeFiles(dir, nodeId, external)).resolves.toMatchObject({
      ok: false,
      file,
      reason: 'behind_external_checkpoint',
    });
  });
});
