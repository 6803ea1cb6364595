// The diff command end to end between two commits: a throwaway commit in a temporary clone that
// moves the reviews canary's weights, compared with the commit before it.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const DIFF = fileURLToPath(new URL('../../tools/diff.js', import.meta.url));
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

describe('npm run diff between two refs', () => {
  const root = git(process.cwd(), 'rev-parse', '--show-toplevel');
  let tmp = '';
  let clone = '';
  let base = '';

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'diff-cli-'));
    clone = join(tmp, 'repo');
    git(tmp, 'clone', '--quiet', root, clone);
    symlinkSync(join(root, 'node_modules'), join(clone, 'node_modules'), 'dir');
    base = git(clone, 'rev-parse', 'HEAD');
    const chart = join(clone, 'charts', 'shop.ts');
    const source = readFileSync(chart, 'utf8');
    assert.match(source, /weight: 80 \}[\s\S]*weight: 20 \}/, 'the shop chart has its 80/20 canary');
    writeFileSync(
      chart,
      source.replace('weight: 80 }', 'weight: 90 }').replace('weight: 20 }', 'weight: 10 }'),
    );
    git(
      clone,
      '-c',
      'user.name=test',
      '-c',
      'user.email=test@example.com',
      'commit',
      '--quiet',
      '-am',
      'canary 90/10',
    );
  });

  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('reports the moved weights as Markdown, risks first, and exits 1 with --exit-code', () => {
    const r = spawnSync(
      process.execPath,
      [DIFF, '--base', base, '--head', 'HEAD', '--app', 'shop', '--format', 'markdown', '--exit-code'],
      { cwd: clone, encoding: 'utf8' },
    );
    assert.equal(r.status, 1, r.stderr);
    const md = r.stdout;
    assert.match(md, new RegExp(`^## Mesh diff: ${base} → HEAD \\([0-9a-f]{7}\\)`));
    assert.match(md, /3 of 3 variants changed: 0 added, 0 removed, 3 changed objects; 3 risky changes\./);
    for (const env of ['dev', 'staging', 'prod']) {
      assert.match(
        md,
        new RegExp(
          `- \\*\\*shop env=${env}\\*\\* · \`VirtualService shop/reviews\` — host reviews: route "canary": v1 80% · v3 20% → v1 90% · v3 10%`,
        ),
      );
      assert.match(md, new RegExp(`### shop env=${env}\\n`));
      // The behaviour section: the canary's requests (everyone but the testers) move, said in words.
      const moved = 'storefront → reviews \\(GET /reviews/x\\): v1 80 % · v3 20 % → v1 90 % · v3 10 %';
      assert.match(
        md,
        new RegExp(`- \\*\\*shop env=${env}\\*\\* · behaviour — ${moved} _\\(traffic-moved\\)_`),
      );
      assert.match(
        md,
        new RegExp(
          `### shop env=${env}\\n\\n0 added, 0 removed, 1 changed\\n\\n\\*\\*Behaviour\\*\\* \\(\\d+ requests explained on both refs: 1 change\\)\\n\\n- ⚠️ ${moved}\\n`,
        ),
      );
    }
    assert.match(
      md,
      /spec\.http\[canary\]\.route\[v1\]\.weight: 80 → 90\nspec\.http\[canary\]\.route\[v3\]\.weight: 20 → 10/,
    );
    assert.ok(md.indexOf('Risky changes') < md.indexOf('### shop env=dev'));
  });

  it('leaves the checkout as it was: no worktree left, nothing changed', () => {
    assert.equal(git(clone, 'worktree', 'list', '--porcelain').match(/^worktree /gm)?.length, 1);
    assert.equal(git(clone, 'status', '--porcelain', '--', '.', ':!node_modules'), '');
  });

  it('fails clearly for an unknown ref and for a ref without a synth command', () => {
    const unknown = spawnSync(process.execPath, [DIFF, '--base', 'no-such-ref'], {
      cwd: clone,
      encoding: 'utf8',
    });
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /diff: unknown git ref "no-such-ref"/);
    const empty = git(
      clone,
      'commit-tree',
      git(clone, 'hash-object', '-t', 'tree', '/dev/null'),
      '-m',
      'empty',
    );
    const r = spawnSync(process.execPath, [DIFF, '--base', empty, '--app', 'shop', '--env', 'dev'], {
      cwd: clone,
      encoding: 'utf8',
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /has no synth command/);
    assert.equal(git(clone, 'worktree', 'list', '--porcelain').match(/^worktree /gm)?.length, 1);
  });

  it('exits 2, not 1, when a ref synthesizes something it cannot compare (two objects with one identity)', () => {
    // A commit of two files, made with plumbing so the clone's checkout stays as it is: a synth
    // command that writes the same ConfigMap twice.
    const blob = (text: string) =>
      execFileSync('git', ['hash-object', '-w', '--stdin'], {
        cwd: clone,
        input: text,
        encoding: 'utf8',
      }).trim();
    const pkg = blob(JSON.stringify({ name: 'dup', private: true, scripts: { synth: 'node synth.js' } }));
    const script = blob(
      [
        "const fs = require('node:fs');",
        "const out = process.argv[process.argv.indexOf('--out') + 1];",
        'fs.mkdirSync(out, { recursive: true });',
        "const cm = 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: x\\n  namespace: shop\\n';",
        "fs.writeFileSync(out + '/00.k8s.yaml', cm + '---\\n' + cm);",
      ].join('\n'),
    );
    const tree = execFileSync('git', ['mktree'], {
      cwd: clone,
      input: `100644 blob ${pkg}\tpackage.json\n100644 blob ${script}\tsynth.js\n`,
      encoding: 'utf8',
    }).trim();
    const dup = git(clone, 'commit-tree', tree, '-m', 'duplicate objects');
    const r = spawnSync(
      process.execPath,
      [DIFF, '--base', dup, '--app', 'shop', '--env', 'dev', '--exit-code'],
      { cwd: clone, encoding: 'utf8' },
    );
    assert.equal(r.status, 2, r.stdout);
    assert.match(r.stderr, /two objects in one variant are \/ConfigMap\/shop\/x/);
  });
});
