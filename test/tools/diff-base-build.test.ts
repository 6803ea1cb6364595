// The base ref of a diff is built by the fast build, without a type check, also when the ref
// predates the fast build (its synth script still ran `npm run --silent build`, which is tsc).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const DIFF = fileURLToPath(new URL('../../tools/diff.js', import.meta.url));
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
const commit = (cwd: string, message: string) =>
  git(cwd, '-c', 'user.name=test', '-c', 'user.email=test@example.com', 'commit', '--quiet', '-am', message);

describe('npm run diff: the base ref is transpiled, not type-checked', () => {
  const root = git(process.cwd(), 'rev-parse', '--show-toplevel');
  let tmp = '';
  let clone = '';
  let original = '';
  let oldStyle = '';

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'diff-base-build-'));
    clone = join(tmp, 'repo');
    git(tmp, 'clone', '--quiet', root, clone);
    symlinkSync(join(root, 'node_modules'), join(clone, 'node_modules'), 'dir');
    original = git(clone, 'rev-parse', 'HEAD');
    // A ref as they were before the fast build: synth type-checked the whole repository first. With
    // a type error in a chart, that synth fails; the diff must not run it.
    const manifest = join(clone, 'package.json');
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { scripts: Record<string, string> };
    pkg.scripts.synth = 'node tools/require-node.cjs && npm run --silent build && node lib/tools/synth.js';
    writeFileSync(manifest, JSON.stringify(pkg, null, 2) + '\n');
    const chart = join(clone, 'charts', 'shop.ts');
    writeFileSync(
      chart,
      readFileSync(chart, 'utf8') + "\nexport const notANumber: number = 'a type error';\n",
    );
    commit(clone, 'old-style synth script, and a type error');
    oldStyle = git(clone, 'rev-parse', 'HEAD');
  });

  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('synthesizes an old-style ref with a type error, and finds its objects unchanged', () => {
    const r = spawnSync(process.execPath, [DIFF, '--base', oldStyle, '--head', original, '--app', 'shop'], {
      cwd: clone,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /No changes in 3 variants\./);
    // tsc would have refused the ref; the temporary worktree is gone either way.
    assert.equal(git(clone, 'worktree', 'list', '--porcelain').match(/^worktree /gm)?.length, 1);
  });

  it('reports a syntax error at the base ref as a failed synth of that ref, exit code 2', () => {
    const chart = join(clone, 'charts', 'shop.ts');
    writeFileSync(chart, readFileSync(chart, 'utf8') + '\nexport const broken = ;\n');
    commit(clone, 'a syntax error');
    const broken = git(clone, 'rev-parse', 'HEAD');
    const r = spawnSync(process.execPath, [DIFF, '--base', broken, '--head', original, '--app', 'shop'], {
      cwd: clone,
      encoding: 'utf8',
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /npm run synth failed at [0-9a-f]{40} \(exit code 1\)/);
    assert.match(r.stderr, /charts\/shop\.ts:\d+:\d+: Unexpected ";"/);
  });
});
