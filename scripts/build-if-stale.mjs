// Builds dist/ (tsc -p tsconfig.build.json) only when it is stale, so `npm run token`,
// `dev:publish`, `dev:listen` and `audit:verify` start at once on an unchanged tree.
//
// dist/ is current when every src/**/*.ts has its dist/**/*.js and the oldest of those is
// newer than the newest source file or tsconfig: tsc (not incremental) rewrites every output
// on each build, so one changed source makes all of dist/ older than it. A deleted source
// leaves nothing to compare, and a stale leftover .js file is never required by one that
// exists. tsc's output goes to stderr: stdout belongs to the command that follows
// (`TOKEN=$(npm run -s token -- ...)`). Without src/ (an image that ships dist/ alone) there
// is nothing to build.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCES = join(ROOT, 'src');
const OUTPUT = join(ROOT, 'dist');
const CONFIGS = ['tsconfig.json', 'tsconfig.build.json'].map((f) => join(ROOT, f));

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) yield path;
  }
}

function mtimeOrNull(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

function stale() {
  if (!existsSync(SOURCES)) return false;
  let newestSource = Math.max(...CONFIGS.map((f) => mtimeOrNull(f) ?? 0));
  let oldestOutput = Infinity;
  for (const source of sourceFiles(SOURCES)) {
    const output = join(OUTPUT, relative(SOURCES, source)).replace(/\.ts$/, '.js');
    const built = mtimeOrNull(output);
    if (built === null) return true;
    newestSource = Math.max(newestSource, statSync(source).mtimeMs);
    oldestOutput = Math.min(oldestOutput, built);
  }
  return oldestOutput < newestSource;
}

if (stale()) {
  process.stderr.write('dist/ is older than src/: building (tsc -p tsconfig.build.json)\n');
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], {
    stdio: ['ignore', 2, 2],
  });
  process.exitCode = result.status ?? 1;
}
