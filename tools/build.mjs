// The fast build: transpiles the TypeScript sources to lib/ (ES modules and source maps, the
// layout `tsc` writes) without type-checking them, and only the files that changed since the last
// run. synth, dev, diff, graph, bench and `cdk8s synth` run through it, so an edit reaches YAML in
// well under a second; types are checked by `npm test`, `npm run typecheck`, CI and the editor.
//
//   node tools/build.mjs [--root <dir>] [--reuse <dir>] [--quiet]
//
// Plain JavaScript, since it runs before anything is compiled. Which files changed is decided by
// each source's size and modification time, then its content hash (a `git checkout` that restores
// the same text costs nothing); outputs whose source was deleted are removed. Declarations
// (.d.ts) are tsc's job: `npm run build` still runs `tsc --build`. --reuse <dir> copies the output
// of another fast-built checkout for every source whose text is the same there (diff builds a base
// ref in a temporary worktree this way: only what differs from the checkout is transpiled).
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** Source folders when tsconfig.json has no readable `include`: the ones it lists today. */
const DEFAULT_INCLUDE = [
  'constructs',
  'charts',
  'examples',
  'imports',
  'test',
  'tools',
  'services',
  'stacks',
];
const OUT_DIR = 'lib';
const CACHE_FILE = '.fast-build.json';
/** What the outputs depend on besides the sources: a change here rebuilds everything. */
const SETTINGS = {
  loader: 'ts',
  format: 'esm',
  target: 'es2023',
  sourcemap: 'external',
  sourcesContent: false,
  // tsc's own defaults for target ES2023, so the output behaves as tsc's does.
  tsconfigRaw: { compilerOptions: { useDefineForClassFields: true, verbatimModuleSyntax: false } },
};

export class BuildError extends Error {}

/** The folders tsconfig.json includes (folder names only; globs are not used in this project). */
function includedFolders(root) {
  try {
    const config = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8'));
    if (Array.isArray(config.include) && config.include.every((i) => typeof i === 'string')) {
      return config.include.map((i) => i.replace(/\/\*\*.*$|\/$/, ''));
    }
  } catch {
    // No tsconfig.json, or one with comments: the project's usual folders.
  }
  return DEFAULT_INCLUDE;
}

function sources(root) {
  const found = [];
  const walk = (dir) => {
    let entries;
    try {
      entries = readdirSync(join(root, dir), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const rel = dir === '' ? e.name : `${dir}/${e.name}`;
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && !e.name.startsWith('.')) walk(rel);
      } else if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
        found.push(rel);
      }
    }
  };
  for (const folder of includedFolders(root)) {
    if (folder === OUT_DIR || folder.startsWith(`${OUT_DIR}/`)) continue;
    walk(folder);
  }
  return found.sort();
}

function readCache(file, key) {
  try {
    const cache = JSON.parse(readFileSync(file, 'utf8'));
    if (cache.key === key && cache.files && typeof cache.files === 'object') return cache.files;
  } catch {
    // First build, or a cache from another esbuild or build tool version: rebuild everything.
  }
  return {};
}

/** An output's size and modification time: another writer (tsc) changes it, so a copy is not trusted. */
function stamp(path) {
  const st = statSync(path);
  return `${st.size}:${st.mtimeMs}`;
}

function exists(path) {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes through a temporary file and a rename, so a concurrent reader never sees half a module. */
function writeAtomically(path, text) {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/**
 * Transpiles the sources under `root` that changed since the last build into `root`/lib.
 * With `reuse`, the root of another fast-built checkout, a source whose text is the same there gets
 * a copy of that checkout's output instead. Returns the files transpiled and reused and the outputs
 * removed (relative to `root`), and the time taken. Throws a BuildError naming the file, line and
 * column of a syntax error.
 */
export async function build({ root = process.cwd(), reuse = undefined } = {}) {
  const started = performance.now();
  const { transform, version } = await import('esbuild');
  root = resolve(root);
  const outRoot = join(root, OUT_DIR);
  const cacheFile = join(outRoot, CACHE_FILE);
  const self = readFileSync(fileURLToPath(import.meta.url));
  const key = createHash('sha256')
    .update(`${version}\n${JSON.stringify(SETTINGS)}\n`)
    .update(self)
    .digest('hex');
  const previous = readCache(cacheFile, key);
  const other = reuse === undefined ? {} : readCache(join(resolve(reuse), OUT_DIR, CACHE_FILE), key);
  const reused = [];
  const next = {};
  const todo = [];
  for (const rel of sources(root)) {
    const path = join(root, rel);
    const st = statSync(path);
    const out = join(outRoot, rel.replace(/\.ts$/, '.js'));
    const known = previous[rel];
    if (known && known.mtimeMs === st.mtimeMs && known.size === st.size && exists(out)) {
      next[rel] = known;
      continue;
    }
    const text = readFileSync(path, 'utf8');
    const hash = createHash('sha256').update(text).digest('hex');
    const entry = { mtimeMs: st.mtimeMs, size: st.size, hash, out: known?.out };
    next[rel] = entry;
    if (known && known.hash === hash && exists(out)) continue;
    // The other checkout's output, if it was transpiled from the same text and nothing rewrote it since.
    const theirs = join(resolve(reuse ?? '.'), OUT_DIR, rel.replace(/\.ts$/, '.js'));
    const mine = other[rel];
    if (mine?.hash === hash && exists(theirs) && mine.out === stamp(theirs) && exists(`${theirs}.map`)) {
      mkdirSync(dirname(out), { recursive: true });
      copyFileSync(theirs, out);
      copyFileSync(`${theirs}.map`, `${out}.map`);
      entry.out = stamp(out);
      reused.push(rel);
      continue;
    }
    todo.push({ rel, text, out, entry });
  }
  const failures = [];
  await Promise.all(
    todo.map(async ({ rel, text, out, entry }) => {
      const sourcefile = relative(dirname(out), join(root, rel)).split(sep).join('/');
      try {
        const result = await transform(text, { ...SETTINGS, sourcefile });
        mkdirSync(dirname(out), { recursive: true });
        const map = basename(out) + '.map';
        writeAtomically(out, `${result.code}//# sourceMappingURL=${map}\n`);
        writeAtomically(`${out}.map`, result.map);
        entry.out = stamp(out);
      } catch (e) {
        delete next[rel];
        const errors = e.errors ?? [{ text: e.message }];
        for (const err of errors) {
          const at = err.location ? `:${err.location.line}:${err.location.column + 1}` : '';
          failures.push(`${rel}${at}: ${err.text}`);
        }
      }
    }),
  );
  // Outputs of sources that are gone, so a deleted test or tool does not linger in lib/.
  const removed = [];
  for (const rel of Object.keys(previous)) {
    if (rel in next || exists(join(root, rel))) continue;
    const out = join(outRoot, rel.replace(/\.ts$/, '.js'));
    for (const f of [out, `${out}.map`, out.replace(/\.js$/, '.d.ts'), out.replace(/\.js$/, '.d.ts.map')]) {
      if (exists(f)) {
        rmSync(f, { force: true });
        removed.push(relative(root, f));
      }
    }
  }
  mkdirSync(outRoot, { recursive: true });
  writeAtomically(cacheFile, JSON.stringify({ key, files: next }));
  if (failures.length > 0) {
    throw new BuildError(`build failed: ${failures.length} syntax error(s)\n${failures.join('\n')}`);
  }
  return {
    transpiled: todo.map((t) => t.rel).filter((rel) => rel in next),
    reused,
    removed,
    ms: performance.now() - started,
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      root: { type: 'string' },
      reuse: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      'usage: node tools/build.mjs [--root <dir>] [--reuse <dir>] [--quiet]\n' +
        'Transpiles the changed TypeScript sources to lib/ without type-checking (npm run typecheck does that).\n',
    );
    return;
  }
  const result = await build({ root: values.root ?? process.cwd(), reuse: values.reuse });
  if (!values.quiet && result.transpiled.length > 0) {
    const n = result.transpiled.length;
    const what = n === 1 ? result.transpiled[0] : `${n} files`;
    process.stderr.write(
      `build: transpiled ${what} in ${Math.round(result.ms)} ms (types: npm run typecheck)\n`,
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e) => {
    process.stderr.write(`${e instanceof BuildError ? e.message : (e.stack ?? String(e))}\n`);
    process.exitCode = e instanceof BuildError ? 1 : 2;
  });
}
