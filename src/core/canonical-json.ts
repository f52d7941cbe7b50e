/**
 * Canonical JSON: the byte-exact text that audit hashes are computed over.
 *
 * Invariants (two equal values always yield the same string, on every node):
 * - object keys are sorted by UTF-16 code unit order (the default `Array.prototype.sort`),
 *   recursively; properties whose value is `undefined` are omitted;
 * - arrays keep their order; no whitespace anywhere;
 * - strings and numbers are written as `JSON.stringify` writes them.
 *
 * Anything JSON cannot represent faithfully throws a TypeError instead of being silently
 * coerced: non-finite numbers, bigint, functions, symbols, `undefined` array elements,
 * non-plain objects (Date, Map, class instances, ...) and cycles.
 */
export function canonicalJson(value: unknown): string {
  return write(value, new Set<object>(), '$');
}

function write(value: unknown, ancestors: Set<object>, path: string): string {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value))
        throw new TypeError(`canonicalJson: non-finite number at ${path}`);
      return JSON.stringify(value);
    case 'object':
      if (value === null) return 'null';
      return writeContainer(value, ancestors, path);
    case 'undefined':
    case 'bigint':
    case 'function':
    case 'symbol':
      throw new TypeError(`canonicalJson: cannot represent ${typeof value} at ${path}`);
  }
}

function writeContainer(value: object, ancestors: Set<object>, path: string): string {
  if (ancestors.has(value)) throw new TypeError(`canonicalJson: cycle at ${path}`);
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      return `[${value.map((item: unknown, i) => write(item, ancestors, `${path}[${i}]`)).join(',')}]`;
    }
    if (!isPlainObject(value)) {
      throw new TypeError(`canonicalJson: not a plain object at ${path}`);
    }
    const record = value as Record<string, unknown>;
    const members: string[] = [];
    for (const key of Object.keys(record).sort()) {
      const member = record[key];
      if (member === undefined) continue;
      members.push(`${JSON.stringify(key)}:${write(member, ancestors, `${path}.${key}`)}`);
    }
    return `{${members.join(',')}}`;
  } finally {
    ancestors.delete(value);
  }
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
