/**
 * The node's audit file: opening it where its chain ends, and durable appends.
 *
 * Invariants:
 * - Bytes are only ever appended. The one exception is a torn tail (see chain-tail.ts), which
 *   is cut off at open, and only after the caller has been told so it can log and count it.
 * - `append` resolves only once the bytes are on stable storage (datasync) and the file is
 *   still linked into the directory; an unlinked file would swallow records silently.
 */
import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, rename, truncate } from 'node:fs/promises';
import path from 'node:path';
import { type AuditRecord, parseLine } from '../core/audit-chain.js';
import { activeFileName } from './audit-file-names.js';
import { analyzeTail } from './chain-tail.js';

/** What open found at the end of the existing file. */
export interface FileEnd {
  readonly head: AuditRecord | null;
  /** Where the chain's last complete record ends: the file's length after open. */
  readonly keepBytes: number;
  readonly tornBytes: number;
  readonly headVerifies: boolean;
}

/** Thrown when the file ends in something that is neither a record nor a torn append. */
export class UnrecognisedAuditFileError extends Error {
  readonly code = 'AUDIT_FILE_UNRECOGNISED';
}

/** Thrown when the open file was deleted or moved away under the writer. */
export class AuditFileUnlinkedError extends Error {
  readonly code = 'AUDIT_FILE_UNLINKED';
}

const FIRST_WINDOW = 64 * 1024;
/** A record is well under 1 KiB; a last line longer than this is not one of ours. */
const MAX_WINDOW = 4 * 1024 * 1024;

export function auditFilePath(dir: string, nodeId: string): string {
  return path.join(dir, activeFileName(nodeId));
}

/** The first record's `seq` and `ts` (epoch ms); null when the first line is not a record. */
export interface FileStart {
  readonly seq: number;
  readonly at: number;
}

export class AuditFile {
  private constructor(
    private readonly handle: FileHandle,
    private size: number,
  ) {}

  /** The file's length: where the next append lands. */
  get bytes(): number {
    return this.size;
  }

  /**
   * Creates the directory and file as needed, cuts off a torn tail (calling `onTorn` first)
   * and opens the file for appending.
   */
  static async open(
    file: string,
    onTorn: (end: FileEnd) => void,
  ): Promise<{ file: AuditFile; end: FileEnd }> {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const end = await readEnd(file);
    if (end.tornBytes > 0) {
      onTorn(end);
      await truncate(file, end.keepBytes);
    }
    const created = end.keepBytes === 0 && end.tornBytes === 0;
    const handle = await open(file, 'a', 0o600);
    // A new file's directory entry must be durable too, or a crash could lose the whole file.
    if (created) await syncDirectory(path.dirname(file));
    return { file: new AuditFile(handle, end.keepBytes), end };
  }

  /** Where the chain in `file` ends, without changing the file; a missing file is empty. */
  static readEnd(file: string): Promise<FileEnd> {
    return readEnd(file);
  }

  /** The first record of `file` (for its rotated name and its age). */
  static async readStart(file: string): Promise<FileStart | null> {
    const handle = await open(file, constants.O_RDONLY);
    try {
      const window = await readRange(handle, 0, FIRST_WINDOW);
      const nl = window.indexOf(0x0a);
      const value = parseLine(window.subarray(0, nl === -1 ? 0 : nl).toString('utf8'));
      const { seq, ts } = (value ?? {}) as { seq?: unknown; ts?: unknown };
      const at = typeof ts === 'string' ? Date.parse(ts) : Number.NaN;
      return Number.isSafeInteger(seq) && !Number.isNaN(at) ? { seq: seq as number, at } : null;
    } finally {
      await handle.close();
    }
  }

  /**
   * Renames a closed file within its directory and makes the rename durable. Never replaces an
   * existing file: a name already taken means something else is wrong and must not be lost.
   */
  static async renameDurably(from: string, to: string): Promise<void> {
    const existing = await open(to, constants.O_RDONLY).catch(() => null);
    if (existing !== null) {
      await existing.close();
      throw Object.assign(new Error('the rotated audit file name is taken'), { code: 'EEXIST' });
    }
    await rename(from, to);
    await syncDirectory(path.dirname(to));
  }

  async append(bytes: Buffer): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, offset, bytes.length - offset);
      offset += bytesWritten;
    }
    // The link count is read after the write, so a batch appended to a file deleted meanwhile
    // fails (and is retried into a new file); side by side with datasync: one round trip.
    const [, { nlink }] = await Promise.all([this.handle.datasync(), this.handle.stat()]);
    if (nlink === 0) throw new AuditFileUnlinkedError('the audit file was removed while open');
    this.size += bytes.length;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

async function readEnd(file: string): Promise<FileEnd> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { head: null, keepBytes: 0, tornBytes: 0, headVerifies: true };
    }
    throw error;
  }
  try {
    const { size } = await handle.stat();
    for (let window = FIRST_WINDOW; ; window *= 4) {
      const start = Math.max(0, size - window);
      const bytes = await readRange(handle, start, size);
      const tail = analyzeTail(bytes, start);
      if (tail.kind === 'ok') return tail;
      if (tail.kind === 'unrecognised' || start === 0 || window >= MAX_WINDOW) break;
    }
    throw new UnrecognisedAuditFileError('the audit file does not end with an audit record');
  } finally {
    await handle.close();
  }
}

async function readRange(handle: FileHandle, start: number, end: number): Promise<Buffer> {
  const buffer = Buffer.alloc(end - start);
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, start + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Not every platform can fsync a directory; the file's own datasync still holds.
  }
}
