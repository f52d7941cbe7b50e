/**
 * The bounded in-memory queue between `AuditService.record()` and the writer.
 *
 * Bounded so that a sink that is down (full disk, unwritable directory) costs a fixed amount of
 * memory rather than the whole process: once full, `push` refuses and the caller counts the
 * dropped record. Every operation is O(1) except `take` of part of the queue, which only
 * happens when more than a batch is waiting.
 */

/**
 * Entries held while the writer is busy or the sink is down. At the rates a node produces
 * (a few thousand records a second at most) this covers seconds of outage, in a few MB.
 */
export const AUDIT_QUEUE_CAPACITY = 10_000;

/**
 * The most records linked and appended as one group commit (one write, one datasync). Linking
 * (canonical JSON + SHA-256 per record) runs on the event loop, so a batch is also the longest
 * stretch the writer holds it: 500 records is a few ms, while one fsync already amortises over
 * that many records. Under load, batches follow each other with the event loop served between.
 */
export const AUDIT_MAX_BATCH = 500;

export class BoundedQueue<T> {
  private items: T[] = [];

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.items.length;
  }

  /** Adds `item` unless the queue is full; false means the item was not taken. */
  push(item: T): boolean {
    if (this.items.length >= this.capacity) return false;
    this.items.push(item);
    return true;
  }

  /** Removes and returns up to `max` items from the front, oldest first. */
  take(max: number): T[] {
    if (this.items.length <= max) {
      const all = this.items;
      this.items = [];
      return all;
    }
    return this.items.splice(0, max);
  }

  /** Removes everything; returns how many items there were. */
  clear(): number {
    const n = this.items.length;
    this.items = [];
    return n;
  }
}
