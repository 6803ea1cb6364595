// The diff command end to end against this repository: HEAD against the working tree.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const DIFF = fileURLToPath(new URL('../../tools/diff.js', import.meta.url));
const git = (cwd: string, ...args: string[]) => spawnSync('git', args, { cwd, encoding: 'utf8' });

describe('npm run diff against the working tree', () => {
  const root = execFileSync('git', ['rev-parse', '--show-toplevel'], { encoding: 'utf8' }).trim();

  it('--base HEAD: no changes when the charts are committed, exit code 0; text output', (t) => {
    // The diff's temporary worktree goes under a temporary folder of this test's own (TMPDIR): other
    // suites and other checkouts of this repository add and remove worktrees of their own meanwhile,
    // so the whole `git worktree list` is not this test's to compare.
    const scratch = realpathSync(mkdtempSync(join(tmpdir(), 'diff-cli-head-')));
    t.after(() => rmSync(scratch, { recursive: true, force: true }));
    // What the working tree synthesizes from; uncommitted changes there are real differences.
    const clean =
      git(root, 'diff', '--quiet', 'HEAD', '--', 'charts', 'constructs', 'imports', 'tools/synth.ts')
        .status === 0;
    const r = spawnSync(
      process.execPath,
      [DIFF, '--base', 'HEAD', '--app', 'shop', '--env', 'dev', '--format', 'text', '--exit-code'],
      { cwd: root, encoding: 'utf8', env: { ...process.env, TMPDIR: scratch } },
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
    const worktrees = git(root, 'worktree', 'list', '--porcelain')
      .stdout.split('\n')
      .filter((l) => l.startsWith('worktree '))
      .map((l) => l.slice('worktree '.length));
    assert.deepEqual(
      worktrees.filter((w) => w.startsWith(scratch + sep)),
      [],
      'the temporary worktree is removed',
    );
    assert.deepEqual(readdirSync(scratch), [], 'and its temporary folder');
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
