/**
 * The audit log as separate processes see it: the verifier CLI, and a node killed with SIGKILL
 * while writing. Both run the compiled dist/, built once here exactly as `npm run build` does.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fstatSync, readSync } from 'node:fs';
import { appendFile, open, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  connected,
  readAudit,
  readiness,
  startAuditNode,
  tempDir,
  TEST_AUDIT_KEY,
  uniqueNodeId,
} from '../audit/support/audit-helpers.js';
import { buildDist, childEnv, ROOT, verifyCli } from '../audit/support/audit-processes.js';
import { TEST_DEV_SECRETS, uniquePrefix } from '../support/app.js';
import { eventually } from '../support/http-client.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { verifyChain } from '../../src/core/audit-verify.js';

const cleanup: (() => Promise<void>)[] = [];
const children = new Set<ChildProcess>();

async function recordedFile(label: string, count: number, env: Record<string, string> = {}) {
  const { dir, remove } = await tempDir(label);
  cleanup.push(remove);
  const nodeId = uniqueNodeId(label);
  const { node, audit, file } = await startAuditNode(dir, nodeId, env);
  if (env.REDIS_URL !== undefined) {
    await eventually(async () => (await readiness(node)).status === 200);
  }
  for (let i = 0; i < count; i++) audit.record(connected(`c-${i}`));
  await node.stop();
  return { dir, nodeId, file };
}

beforeAll(buildDist, 120_000);

afterEach(async () => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  for (const step of cleanup.splice(0).reverse()) await step();
});

describe('npm run audit:verify', () => {
  it('prints ok and the record count for an intact file', async () => {
    const { file } = await recordedFile('cli-ok', 40);
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n').length;
    await expect(verifyCli([file])).resolves.toEqual({
      code: 0,
      stdout: `ok ${lines} records\n`,
      stderr: '',
    });
  });

  it('exits 1 naming the first bad seq when a record was edited', async () => {
    const { file } = await recordedFile('cli-edit', 40);
    const lines = (await readFile(file, 'utf8')).split('\n');
    lines[16] = lines[16]!.replace('"reason":"ticket_redeemed"', '"reason":"ticket_rejected"');
    await writeFile(file, lines.join('\n'));
    await expect(verifyCli([file])).resolves.toEqual({
      code: 1,
      stdout: 'bad seq 17: hash_mismatch\n',
      stderr: '',
    });
  });

  it('fails at the first checkpoint when verified with another signing key', async () => {
    const { file } = await recordedFile('cli-key', 5);
    const outcome = await verifyCli([file], { AUDIT_SIGNING_KEY: 'x'.repeat(43) });
    expect(outcome).toMatchObject({ code: 1, stdout: 'bad seq 1: bad_checkpoint_signature\n' });
  });

  it('warns about a torn last line but verifies the complete records', async () => {
    const { file } = await recordedFile('cli-torn', 10);
    const count = (await readAudit(file)).records.length;
    await appendFile(file, '{"seq":999,"ts":"20');
    const outcome = await verifyCli([file]);
    expect(outcome).toMatchObject({ code: 0, stdout: `ok ${count} records\n` });
    expect(outcome.stderr).toContain('torn line');
  });

  describe('with --redis-url', () => {
    let server: RedisServerHandle;
    beforeAll(async () => {
      server = await startRedisServer();
    });
    afterAll(async () => {
      await server.stop();
    });

    it('passes while the file reaches the stored checkpoint and fails once its tail is deleted', async () => {
      const prefix = uniquePrefix('cli');
      const { file } = await recordedFile('cli-redis', 50, {
        REDIS_URL: server.url,
        REDIS_KEY_PREFIX: prefix,
      });
      const args = [file, '--redis-url', server.url, '--key-prefix', prefix];
      const { records } = await readAudit(file);
      const checkpointSeq = records.at(-1)!.seq;
      await expect(verifyCli(args)).resolves.toEqual({
        code: 0,
        stdout: `ok ${records.length} records\nexternal checkpoint seq ${checkpointSeq} matches\n`,
        stderr: '',
      });

      const kept = records.slice(0, -4);
      await writeFile(file, kept.map((r) => JSON.stringify(r) + '\n').join(''));
      await expect(verifyCli([file])).resolves.toMatchObject({ code: 0 });
      await expect(verifyCli(args)).resolves.toMatchObject({
        code: 1,
        stdout: `bad seq ${kept.length + 1}: behind_external_checkpoint\n`,
      });
      // The same comparison against a copy of the Redis value shipped elsewhere.
      const { seq, hash, sig, ts } = records.at(-1)!;
      const shipped = `${file}.checkpoint.json`;
      await writeFile(shipped, JSON.stringify({ seq, hash, sig, ts }));
      await expect(verifyCli([file, '--checkpoint-file', shipped])).resolves.toMatchObject({
        code: 1,
        stdout: `bad seq ${kept.length + 1}: behind_external_checkpoint\n`,
      });
      // A different prefix holds no checkpoint for this node: the comparison cannot be made.
      const other = await verifyCli([file, '--redis-url', server.url, '--key-prefix', 'none:']);
      expect(other.code).toBe(1);
      expect(other.stderr).toContain('no audit checkpoint stored in Redis');
    });
  });
});

describe('a node killed with SIGKILL while writing', () => {
  const fixture = path.join(ROOT, 'test/audit/fixtures/record-until-killed.mjs');

  /** Starts the recording child on `dir` and SIGKILLs it, preferably in the middle of an append. */
  async function killWhileWriting(dir: string, nodeId: string, file: string): Promise<void> {
    const env = childEnv({
      AUDIT_DIR: dir,
      NODE_ID: nodeId,
      TEST_DEV_SECRETS: JSON.stringify(TEST_DEV_SECRETS),
    });
    const child = spawn(process.execPath, [fixture], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.add(child);
    const [ready] = (await once(child.stdout!, 'data')) as [Buffer];
    expect(ready.toString()).toBe('ready\n');
    const handle = await open(file, 'r');
    try {
      const grown = (await handle.stat()).size + 500_000;
      await eventually(async () => (await handle.stat()).size >= grown, { timeoutMs: 20_000 });
      // Then, for up to 2 s, polls (synchronously, to react within microseconds) for a moment
      // when the file does not end in a newline: an append is under way and the kill tears it.
      const lastByte = Buffer.alloc(1);
      const deadline = Date.now() + 2_000;
      for (let polls = 1; Date.now() < deadline; polls++) {
        readSync(handle.fd, lastByte, 0, 1, fstatSync(handle.fd).size - 1);
        if (lastByte[0] !== 0x0a) break;
        if (polls % 100 === 0) await nextTurn();
      }
    } finally {
      await handle.close();
    }
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    expect(await exited).toEqual([null, 'SIGKILL']);
    children.delete(child);
  }

  it('restarts from the last complete record, reporting a torn tail if the kill left one', async () => {
    const { dir, remove } = await tempDir('killed');
    cleanup.push(remove);
    const nodeId = uniqueNodeId('killed');
    const file = path.join(dir, `audit-${nodeId}.jsonl`);
    // Whether the kill tears an append is up to timing (it often does not, on a loaded test
    // machine); audit-log.spec.ts tears one deterministically. Either way, nothing complete may
    // be lost and the chain must continue.
    await killWhileWriting(dir, nodeId, file);
    const before = await readAudit(file);
    expect(verifyChain(before.records, { key: TEST_AUDIT_KEY })).toMatchObject({ ok: true });
    const last = before.records.at(-1)!;
    const complete = await readFile(file, 'utf8').then((t) => t.slice(0, t.lastIndexOf('\n') + 1));

    const { node, audit } = await startAuditNode(dir, nodeId);
    cleanup.push(() => node.stop());
    audit.record(connected('after-restart'));
    await expect(audit.flush()).resolves.toBe(true);

    const after = await readAudit(file);
    expect(after.tornTail).toBe(false);
    // Every complete record is kept byte for byte; only the torn tail went.
    expect((await readFile(file, 'utf8')).startsWith(complete)).toBe(true);
    expect(after.records[before.records.length]).toMatchObject({
      seq: last.seq + 1,
      prev: last.hash,
      event: 'audit.checkpoint',
      reason: before.tornTail ? 'start_torn_tail' : 'start',
    });
    expect(node.logs.text.includes('torn line')).toBe(before.tornTail);
    expect(verifyChain(after.records, { key: TEST_AUDIT_KEY })).toMatchObject({ ok: true });
  }, 60_000);
});
