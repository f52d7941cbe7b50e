// What a server process retains per idle connection, by object kind: the difference between
// two heap snapshots (bench/fanout.mjs --memory <n> --heap-snapshot <dir> writes
// <system>-before.heapsnapshot and <system>-after.heapsnapshot), divided by n.
//
//   node bench/fanout/heap-diff.mjs <before.heapsnapshot> <after.heapsnapshot> <n> [rows]
//
// Rows: node type and constructor / string kind, count added per connection, self bytes added
// per connection. Self sizes only (no retained sizes): the rows add up to the heap growth.
// Closures are named by their function name; strings and arrays are grouped by type.
import console from 'node:console';
import { readFile } from 'node:fs/promises';
import process from 'node:process';

const [beforeFile, afterFile, n, rowsArg] = process.argv.slice(2);
if (!beforeFile || !afterFile || !(Number(n) > 0)) {
  console.error('usage: heap-diff.mjs <before.heapsnapshot> <after.heapsnapshot> <n> [rows]');
  process.exit(2);
}
const connections = Number(n);
const rows = Number(rowsArg ?? 40);

const [before, after] = await Promise.all([summarise(beforeFile), summarise(afterFile)]);
const diff = [];
for (const [key, a] of after) {
  const b = before.get(key) ?? { count: 0, bytes: 0 };
  diff.push({ key, count: a.count - b.count, bytes: a.bytes - b.bytes });
}
for (const [key, b] of before) {
  if (!after.has(key)) diff.push({ key, count: -b.count, bytes: -b.bytes });
}
diff.sort((x, y) => y.bytes - x.bytes);
const total = diff.reduce((sum, d) => sum + d.bytes, 0);
console.log(`heap growth ${(total / connections).toFixed(0)} B per connection (self sizes)`);
console.log('bytes/conn  objs/conn  kind');
for (const d of diff.slice(0, rows)) {
  console.log(
    `${(d.bytes / connections).toFixed(0).padStart(10)}  ${(d.count / connections).toFixed(2).padStart(9)}  ${d.key}`,
  );
}

async function summarise(file) {
  const snapshot = JSON.parse(await readFile(file, 'utf8'));
  const meta = snapshot.snapshot.meta;
  const fields = meta.node_fields;
  const types = meta.node_types[fields.indexOf('type')];
  const stride = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const { nodes, strings } = snapshot;
  const byKind = new Map();
  for (let i = 0; i < nodes.length; i += stride) {
    const type = types[nodes[i + typeAt]];
    const name = strings[nodes[i + nameAt]];
    const key = ['string', 'concatenated string', 'sliced string', 'number'].includes(type)
      ? type
      : `${type} ${name.length > 60 ? `${name.slice(0, 57)}...` : name}`;
    const entry = byKind.get(key) ?? { count: 0, bytes: 0 };
    entry.count += 1;
    entry.bytes += nodes[i + sizeAt];
    byKind.set(key, entry);
  }
  return byKind;
}
