// Removes compiled files whose TypeScript source is gone from the folders the package ships.
//
// `tsc --build` writes lib/ but never deletes from it: a construct module renamed or removed in
// the source leaves its old .js and .d.ts behind, and `npm pack` (whose "files" take whole
// folders) would publish them, importable and out of date. prepack runs this after the build.
//
//   node tools/prune-stale.mjs [root]   (default: the repository)
import { readdirSync, rmSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import process from 'node:process';
import console from 'node:console';

/** The folders of lib/ that the package ships, each compiled from the folder of the same name. */
export const SHIPPED = ['constructs', 'imports', 'stacks'];

const OUTPUT = /\.(?:js|d\.ts)(?:\.map)?$/;

/** The stale compiled files below root/lib, relative to root; removed unless dryRun. */
export function pruneStale(root, { dryRun = false } = {}) {
  const stale = [];
  for (const folder of SHIPPED) {
    const lib = join(root, 'lib', folder);
    if (!existsSync(lib)) continue;
    for (const f of readdirSync(lib, { recursive: true, encoding: 'utf8' })) {
      if (!OUTPUT.test(f)) continue;
      const source = join(root, folder, f.replace(OUTPUT, '.ts'));
      if (!existsSync(source)) stale.push(relative(root, join(lib, f)));
    }
  }
  if (!dryRun) for (const f of stale) rmSync(join(root, f));
  return stale.sort();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = process.argv[2];
  if (arg?.startsWith('-') || process.argv.length > 3) {
    console.error('usage: node tools/prune-stale.mjs [root]   (default: the repository)');
    process.exit(2);
  }
  const root = resolve(arg ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
  const removed = pruneStale(root);
  if (removed.length > 0)
    console.log(`prune-stale: removed ${removed.length} stale compiled file(s): ${removed.join(', ')}`);
}
