import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = new URL('../../../', import.meta.url);
const { pruneStale } = (await import(new URL('tools/prune-stale.mjs', ROOT).href)) as {
  pruneStale: (root: string, options?: { dryRun?: boolean }) => string[];
};

describe('prepack drops compiled files whose source is gone (tools/prune-stale.mjs)', () => {
  it('removes the outputs of a deleted module from the shipped folders, and nothing else', () => {
    const root = mkdtempSync(join(tmpdir(), 'prune-stale-'));
    try {
      const put = (f: string) => {
        mkdirSync(dirname(join(root, f)), { recursive: true });
        writeFileSync(join(root, f), '');
      };
      for (const f of ['constructs/kept.ts', 'constructs/egress/kept.ts', 'stacks/app.ts']) put(f);
      const kept = [
        'lib/constructs/kept.js',
        'lib/constructs/kept.d.ts',
        'lib/constructs/kept.js.map',
        'lib/constructs/egress/kept.js',
        'lib/stacks/app.js',
        // Not shipped, not ours to judge: run-suites skips stale suites itself.
        'lib/test/gone.test.js',
      ];
      const stale = [
        'lib/constructs/egress/gone.d.ts',
        'lib/constructs/egress/gone.js',
        'lib/constructs/renamed.d.ts.map',
        'lib/constructs/renamed.js',
        'lib/imports/old.istio.io.js',
      ];
      for (const f of [...kept, ...stale]) put(f);
      assert.deepEqual(pruneStale(root, { dryRun: true }), stale);
      assert.ok(
        stale.every((f) => existsSync(join(root, f))),
        'a dry run removes nothing',
      );
      assert.deepEqual(pruneStale(root), stale);
      assert.deepEqual(
        [...kept, ...stale].filter((f) => existsSync(join(root, f))),
        kept,
      );
      assert.deepEqual(pruneStale(root), [], 'nothing left to remove');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('runs after the build in prepack, so npm pack and npm publish never ship a stale module', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as {
      scripts: Record<string, string>;
    };
    assert.match(pkg.scripts.prepack, /npm run --silent build && node tools\/prune-stale\.mjs$/);
  });

  it('maps the real build to its sources: no module an entry point loads counts as stale', () => {
    const stale = pruneStale(new URL(ROOT).pathname, { dryRun: true });
    for (const f of [
      'lib/constructs/index.js',
      'lib/constructs/admission/generated/schemas.d.ts',
      'lib/imports/networking.istio.io.js',
      'lib/stacks/components.js',
    ]) {
      assert.ok(existsSync(new URL(f, ROOT)), `${f} is built`);
      assert.ok(!stale.includes(f), `${f} is not stale`);
    }
  });
});
