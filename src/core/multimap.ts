/** A key's two or more values. Its own class, so a value is never mistaken for one. */
class Several<V> extends Set<V> {}

/**
 * A map from keys to sets of values that keeps a key's lone value without a Set. Most keys
 * (a user's sessions on a node, a session's channels) have one value, and a Set of one costs
 * about 150 bytes of heap per key; see docs/performance.md, memory per idle connection.
 *
 * Invariants: no key maps to an empty collection, and a key holds a Set only while it has two
 * or more values. Values are never `undefined` (it would read as "no value").
 */
export class Multimap<K, V extends NonNullable<unknown>> {
  private readonly entries = new Map<K, V | Several<V>>();

  has(key: K, value: V): boolean {
    const held = this.entries.get(key);
    if (held === undefined) return false;
    return held instanceof Several ? held.has(value) : held === value;
  }

  /** How many values `key` has. */
  count(key: K): number {
    const held = this.entries.get(key);
    if (held === undefined) return 0;
    return held instanceof Several ? held.size : 1;
  }

  /** A copy, in insertion order, so the caller may remove values while it walks them. */
  values(key: K): V[] {
    const held = this.entries.get(key);
    if (held === undefined) return [];
    return held instanceof Several ? [...held] : [held];
  }

  /** False when `key` already had `value`. */
  add(key: K, value: V): boolean {
    const held = this.entries.get(key);
    if (held === undefined) {
      this.entries.set(key, value);
      return true;
    }
    if (held instanceof Several) {
      if (held.has(value)) return false;
      held.add(value);
      return true;
    }
    if (held === value) return false;
    this.entries.set(key, new Several([held, value]));
    return true;
  }

  /** False when `key` did not have `value`. */
  delete(key: K, value: V): boolean {
    const held = this.entries.get(key);
    if (held === undefined) return false;
    if (!(held instanceof Several)) {
      if (held !== value) return false;
      this.entries.delete(key);
      return true;
    }
    if (!held.delete(value)) return false;
    if (held.size === 1) this.entries.set(key, held.values().next().value as V);
    return true;
  }
}
