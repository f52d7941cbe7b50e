import { readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

// Must match redis-server.ts; Jest loads this file without moduleNameMapper, so no relative imports.
const PID_DIR = path.join(os.tmpdir(), 'carecast-test-pids');

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface PidFile {
  /** [test process, its parent] */
  owners: number[];
  dir?: string;
}

async function readPidFile(file: string): Promise<PidFile> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<PidFile>;
    const owners = Array.isArray(parsed.owners) ? parsed.owners : [];
    const dir = typeof parsed.dir === 'string' ? parsed.dir : undefined;
    return { owners: owners.filter((n) => typeof n === 'number'), dir };
  } catch {
    return { owners: [] };
  }
}

async function isRedisServer(pid: number): Promise<boolean> {
  try {
    return (await readFile(`/proc/${pid}/comm`, 'utf8')).startsWith('redis-server');
  } catch {
    return true; // no procfs: trust the pid file
  }
}

/** SIGKILLs redis-servers leaked by this Jest run (or by runs whose process is gone). */
export default async function globalTeardown(): Promise<void> {
  const names = await readdir(PID_DIR).catch(() => []);
  for (const name of names) {
    const pid = Number(name);
    const file = path.join(PID_DIR, name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const { owners, dir } = await readPidFile(file);
    // A concurrent Jest run may still be using its servers; only a dead owner means orphan.
    const owner = owners[0];
    const ours = owners.includes(process.pid) || owner === undefined || !isAlive(owner);
    if (!ours) continue;
    if (isAlive(pid) && (await isRedisServer(pid))) process.kill(pid, 'SIGKILL');
    if (dir?.startsWith(path.join(os.tmpdir(), 'carecast-redis-'))) {
      await rm(dir, { recursive: true, force: true });
    }
    await rm(file, { force: true });
  }
}
