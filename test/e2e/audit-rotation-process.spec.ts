/**
 * Rotation as separate processes see it: a node SIGKILLed at each step of a rotation restarts
 * without losing or repeating a record, and `npm run audit:verify` checks several files as one
 * chain, naming the file and seq of a break, in constant memory.
 */
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  connected,
  readAudit,
  startAuditNode,
  tempDir,
  TEST_AUDIT_KEY,
  uniqueNodeId,
} from '../audit/support/audit-helpers.js';
import { buildDist, childEnv, command, ROOT, verifyCli } from '../audit/support/audit-processes.js';
import { chainFiles, chainText, rotatedFilesHold } from '../audit/support/rotation-helpers.js';
import { TEST_DEV_SECRETS } from '../support/app.js';

const cleanup: (() => Promise<void>)[] = [];
const children = new Set<ChildProcess>();
const ROTATE = { AUDIT_ROTATE_BYTES: '4096' };

beforeAll(buildDist, 120_000);

afterEach(async () => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function scratch(label: string) {
  const { dir, remove } = await tempDir(label);
  cleanup.push(remove);
  return { dir, nodeId: uniqueNodeId(label) };
}

/** Runs the fixture until it kills itself at `step` of its third rotation. */
async function killAtStep(dir: string, nodeId: string, step: string): Promise<void> {
  const fixture = path.join(ROOT, 'test/audit/fixtures/rotate-until-killed.mjs');
  const env = childEnv({
    ...ROTATE,
    AUDIT_DIR: dir,
    NODE_ID: nodeId,
    KILL_AT: step,
    TEST_DEV_SECRETS: JSON.stringify(TEST_DEV_SECRETS),
  });
  const child = spawn(process.execPath, [fixture], { cwd: ROOT, env, stdio: 'inherit' });
  children.add(child);
  expect(await once(child, 'exit')).toEqual([null, 'SIGKILL']);
  children.delete(child);
}

/** What the active file looks like when the kill hit each step (proves where it hit). */
async function activeState(file: string): Promise<string> {
  const size = await stat(file).then(
    (s) => s.size,
    () => null,
  );
  if (size === null) return 'missing';
  if (size === 0) return 'empty';
  const { records, tornTail } = await readAudit(file);
  if (tornTail) return 'torn';
  return `ends with ${records.at(-1)!.reason}${records.length === 1 ? ' only' : ''}`;
}

describe('a node killed at each step of a rotation', () => {
  it.each([
    ['torn_checkpoint', 'torn'],
    ['before_rename', 'ends with rotation'],
    ['after_rename', 'missing'],
    ['after_create', 'empty'],
    ['after_opening', 'ends with after_rotation only'],
  ])(
    '%s: restarts losing and repeating nothing',
    async (step, state) => {
      const { dir, nodeId } = await scratch(`kill-${step.replace('_', '')}`);
      const active = path.join(dir, `audit-${nodeId}.jsonl`);
      await killAtStep(dir, nodeId, step);
      expect(await activeState(active)).toBe(state);
      const text = await chainText(dir, nodeId);
      const durable = text.slice(0, text.lastIndexOf('\n') + 1); // a torn tail was never durable
      const lastBefore = JSON.parse(durable.trimEnd().split('\n').at(-1)!) as { seq: number };

      const { node, audit } = await startAuditNode(dir, nodeId, ROTATE);
      cleanup.push(() => node.stop());
      audit.record(connected('after-restart'));
      await expect(audit.flush()).resolves.toBe(true);
      await node.stop();

      // Every durable record is still there, byte for byte and in order; the chain goes on.
      expect((await chainText(dir, nodeId)).startsWith(durable)).toBe(true);
      const records = (await rotatedFilesHold(dir, nodeId)).flat();
      expect(records.find((r) => r.seq === lastBefore.seq + 1)).toMatchObject({
        event: 'audit.checkpoint',
        reason: step === 'torn_checkpoint' ? 'start_torn_tail' : 'start',
      });
      expect(records.filter((r) => r.conn === 'after-restart')).toHaveLength(1);
      const files = await chainFiles(dir, nodeId);
      expect(files.at(-1)).toBe(active);
      await expect(verifyCli(files)).resolves.toMatchObject({
        code: 0,
        stdout: `ok ${records.length} records\n`,
      });
    },
    60_000,
  );
});

describe('npm run audit:verify with several files', () => {
  async function rotatedNode(label: string) {
    const { dir, nodeId } = await scratch(label);
    const { node, audit } = await startAuditNode(dir, nodeId, ROTATE);
    cleanup.push(() => node.stop());
    for (let round = 0; round < 8; round++) {
      for (let i = 0; i < 10; i++) audit.record(connected(`c-${round}-${i}`));
      await audit.flush();
    }
    await node.stop();
    const files = await chainFiles(dir, nodeId);
    expect(files.length).toBeGreaterThanOrEqual(3);
    return { files, records: (await rotatedFilesHold(dir, nodeId)).flat() };
  }

  it('checks them in order as one chain, and the newest file alone from its opening checkpoint', async () => {
    const { files, records } = await rotatedNode('cli-multi');
    await expect(verifyCli(files)).resolves.toEqual({
      code: 0,
      stdout: `ok ${records.length} records\n`,
      stderr: '',
    });
    const newest = await readAudit(files.at(-1)!);
    const alone = await verifyCli([files.at(-1)!]);
    expect(alone).toMatchObject({ code: 0, stdout: `ok ${newest.records.length} records\n` });
    expect(alone.stderr).toContain(`starts at seq ${newest.records[0]!.seq}`);
  });

  it('names the file and seq of the first break', async () => {
    const { files } = await rotatedNode('cli-break');
    const second = await readAudit(files[1]!);
    const third = await readAudit(files[2]!);
    const withoutSecond = files.toSpliced(1, 1);
    await expect(verifyCli(withoutSecond)).resolves.toEqual({
      code: 1,
      stdout: `bad seq ${second.records[0]!.seq}: seq_gap in ${files[2]}\n`,
      stderr: '',
    });
    const lines = (await readFile(files[1]!, 'utf8')).split('\n');
    lines[2] = lines[2]!.replace('"actor":"user-1"', '"actor":"user-2"');
    await writeFile(files[1]!, lines.join('\n'));
    await expect(verifyCli(files)).resolves.toEqual({
      code: 1,
      stdout: `bad seq ${second.records[2]!.seq}: hash_mismatch in ${files[1]}\n`,
      stderr: '',
    });
    expect(third.records[0]!.seq).toBe(second.records.at(-1)!.seq + 1);
  });
});

describe('npm run audit:verify in constant memory', () => {
  // 4 files x 500 000 records, about 700 MB: the verifier's memory must not follow the size.
  // The proof is the heap cap: the verifier runs with its V8 heap capped far below the input,
  // so one that held a file (or a file's lines) would die of heap exhaustion. Its peak RSS is
  // reported and kept under half the input; RSS itself swings with GC and native-memory
  // timing on a loaded machine (116 to 191 MiB for the same run here), so it is no tighter.
  const FILES = 4;
  const PER_FILE = 500_000;
  const HEAP_CAP_MB = 48;
  const PEAK_RSS_LIMIT_KB = 350 * 1024;

  it(`verifies ${FILES * PER_FILE} records in ${FILES} files under ${PEAK_RSS_LIMIT_KB / 1024} MB`, async () => {
    const { dir, nodeId } = await scratch('cli-memory');
    const started = Date.now();
    const generator = path.join(ROOT, 'test/audit/fixtures/generate-rotated-chain.mjs');
    const generated = await command(
      process.execPath,
      [generator, dir, nodeId, String(FILES), String(PER_FILE)],
      { AUDIT_KEY: TEST_AUDIT_KEY },
    );
    expect(generated).toMatchObject({ code: 0, stderr: '' });
    const chain = JSON.parse(generated.stdout) as {
      paths: string[];
      bytes: number;
      records: number;
    };
    const generatedMs = Date.now() - started;
    const preload = path.join(ROOT, 'test/audit/fixtures/report-peak-rss.mjs');
    const outcome = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve) => {
        const args = [
          `--max-old-space-size=${HEAP_CAP_MB}`,
          '--import',
          preload,
          'scripts/audit-verify.mjs',
          ...chain.paths,
        ];
        const env = childEnv({ AUDIT_SIGNING_KEY: TEST_AUDIT_KEY });
        const child = spawn(process.execPath, args, { cwd: ROOT, env });
        children.add(child);
        let [stdout, stderr] = ['', ''];
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('exit', (code) => resolve({ code, stdout, stderr }));
      },
    );
    const verifiedMs = Date.now() - started - generatedMs;
    await Promise.all(chain.paths.map((p) => rm(p)));
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toBe(`ok ${chain.records} records\n`);
    const peakKb = Number(/peak-rss-kb (\d+)/.exec(outcome.stderr)?.[1]);
    console.log(
      `audit:verify: ${chain.records} records, ${(chain.bytes / 2 ** 20).toFixed(0)} MiB in ` +
        `${FILES} files, generated in ${generatedMs} ms, verified in ${verifiedMs} ms, ` +
        `peak RSS ${(peakKb / 1024).toFixed(1)} MiB`,
    );
    expect(peakKb).toBeLessThan(PEAK_RSS_LIMIT_KB);
  }, 120_000);
});
