// The diff command end to end against this repository: HEAD against the working tree.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const DIFF = fileURLToPath(new URL('../../tools/diff.js', import.meta.url));
const git = (cwd: string, ...args: string[]) => spawnSync('git', args, { cwd, encoding: 'utf8' });

describe('npm run diff against the working tree', () => {
  const root = execFileSync('git', ['rev-parse', '--show-toplevel'], { encoding: 'utf8' }).trim();

  it('--base HEAD: no changes when the charts are committed, exit code 0; text output', () => {
    const worktrees = git(root, 'worktree', 'list', '--porcelain').stdout;
    // What the working tree synthesizes from; uncommitted changes there are real differences.
    const clean =
      git(root, 'diff', '--quiet', 'HEAD', '--', 'charts', 'constructs', 'imports', 'tools/synth.ts')
        .status === 0;
    const r = spawnSync(
      process.execPath,
      [DIFF, '--base', 'HEAD', '--app', 'shop', '--env', 'dev', '--format', 'text', '--exit-code'],
      { cwd: root, encoding: 'utf8' },
    );
    assert.ok(r.status === 0 || r.status === 1, r.stderr);
    assert.match(r.stdout, /^mesh diff HEAD \([0-9a-f]{7}\) → the working tree\n/);
    assert.ok(!r.stdout.includes(String.fromCharCode(27)), 'no colors when stdout is not a terminal');
    if (clean) {
      assert.equal(r.status, 0, r.stdout);
      assert.match(r.stdout, /No changes in 1 variants\./);
    } else {
      assert.equal(r.status === 0, /No changes/.test(r.stdout), 'the exit code agrees with the report');
    }
    assert.equal(
      git(root, 'worktree', 'list', '--porcelain').stdout,
      worktrees,
      'the temporary worktree is removed',
    );
  });

  it('refuses bad options with exit code 2', () => {
    const r = spawnSync(process.execPath, [DIFF, '--app', 'shop'], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--base <git-ref> is required/);
    const s = spawnSync(process.execPath, [DIFF, '--base', 'HEAD', '--app', 'shop', '--scenario', 'x'], {
      cwd: root,
      encoding: 'utf8',
    });
    assert.equal(s.status, 2);
    assert.match(s.stderr, /app "shop" takes --env, not --scenario/);
  });
});
