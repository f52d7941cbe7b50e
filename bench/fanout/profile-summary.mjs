// Summarises a CPU profile written by `bench/fanout.mjs --profile <dir>`:
//   node bench/fanout/profile-summary.mjs <file.cpuprofile> [--top 25]
// Prints the share of samples that were idle, GC and program; self time by package (an npm
// package under node_modules, a carecast file under dist/, a node: built-in); the functions
// with the most self time; and the carecast/dependency functions with the most inclusive
// time (self + callees). Percentages are of all samples, idle included.
import console from 'node:console';
import { readFile } from 'node:fs/promises';
import process from 'node:process';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' } },
});
if (positionals.length !== 1) {
  console.error('usage: node bench/fanout/profile-summary.mjs <file.cpuprofile> [--top 25]');
  process.exit(2);
}
const top = Number(values.top);
const profile = JSON.parse(await readFile(positionals[0], 'utf8'));

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map();
for (let i = 0; i < profile.samples.length; i += 1) {
  const id = profile.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const pct = (us) => `${((100 * us) / total).toFixed(1)}%`;

function packageOf(url) {
  if (!url) return null;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 14).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return `carecast ${url.slice(dist + 6)}`;
  if (url.includes('/bench/')) return `bench ${url.slice(url.indexOf('/bench/') + 7)}`;
  if (url.startsWith('node:')) return url;
  return url;
}

function labelOf(node) {
  const f = node.callFrame;
  const name = f.functionName || '(anonymous)';
  if (!f.url) return name;
  return `${name} ${packageOf(f.url)}:${f.lineNumber + 1}`;
}

const bySelf = new Map();
const byPackage = new Map();
for (const [id, us] of selfUs) {
  const node = byId.get(id);
  const label = labelOf(node);
  bySelf.set(label, (bySelf.get(label) ?? 0) + us);
  const pkg = packageOf(node.callFrame.url) ?? node.callFrame.functionName ?? '(native)';
  byPackage.set(pkg || '(native)', (byPackage.get(pkg || '(native)') ?? 0) + us);
}

// Inclusive time per function label, counting a label once per stack.
const inclusive = new Map();
const parentOf = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
for (const [id, us] of selfUs) {
  const seen = new Set();
  for (let at = id; at !== undefined; at = parentOf.get(at)) {
    const label = labelOf(byId.get(at));
    if (seen.has(label)) continue;
    seen.add(label);
    inclusive.set(label, (inclusive.get(label) ?? 0) + us);
  }
}

const print = (title, map, filter = () => true) => {
  console.log(`\n${title}`);
  const rows = [...map].filter(([k]) => filter(k)).sort(([, a], [, b]) => b - a);
  for (const [k, us] of rows.slice(0, top)) console.log(`${pct(us).padStart(6)}  ${k}`);
};
console.log(
  `${positionals[0]}: ${(total / 1e6).toFixed(2)} s sampled; idle ${pct(byPackage.get('(idle)') ?? 0)}, ` +
    `GC ${pct(byPackage.get('(garbage collector)') ?? 0)}, program ${pct(byPackage.get('(program)') ?? 0)}`,
);
print('self time by package', byPackage);
print('self time by function', bySelf);
print('inclusive time (carecast and dependencies)', inclusive, (k) =>
  /carecast |node_modules|ioredis|express|@nestjs|ws |router|body-parser/.test(k),
);
