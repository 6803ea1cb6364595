import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { validateObjects } from './support/schema.js';

const root = new URL('../../', import.meta.url);

describe('README', () => {
  it('shows exactly the example that examples/quickstart.ts runs', () => {
    const readme = readFileSync(new URL('README.md', root), 'utf8');
    const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(block, 'README has a TypeScript example');
    const example = readFileSync(new URL('examples/quickstart.ts', root), 'utf8')
      .split('\n')
      .slice(1) // the header comment
      .join('\n')
      .replace("from '../constructs/index.js'", "from './constructs/index.js'");
    assert.equal(example, block);
  });

  it('its example synthesizes valid YAML with the promised objects', async () => {
    const outdir = mkdtempSync(join(tmpdir(), 'quickstart-'));
    process.env.CDK8S_OUTDIR = outdir;
    await import('../examples/quickstart.js');
    const docs = parseAllDocuments(readFileSync(join(outdir, 'shop.k8s.yaml'), 'utf8')).map((d) => d.toJS());
    validateObjects(docs);
    const kinds = new Set(docs.map((d) => d.kind));
    for (const kind of [
      'Namespace',
      'PeerAuthentication',
      'Telemetry',
      'Deployment',
      'Service',
      'ServiceAccount',
      'HorizontalPodAutoscaler',
      'PodDisruptionBudget',
      'DestinationRule',
      'VirtualService',
      'Sidecar',
      'AuthorizationPolicy',
      'RequestAuthentication',
      'EnvoyFilter',
      'Gateway',
      'ConfigMap',
    ]) {
      assert.ok(kinds.has(kind), `the example creates a ${kind}`);
    }
    const vs = docs.find((d) => d.kind === 'VirtualService' && d.metadata.name === 'reviews');
    assert.equal(vs.spec.http.length, 2);
    assert.deepEqual(
      vs.spec.http[1].route.map((r: { weight: number }) => r.weight),
      [90, 10],
    );
  });
});

describe('suites in one process (npm test and npm run mutation)', () => {
  const testDir = join(import.meta.dirname);
  const suites = readdirSync(testDir)
    .filter((f) => f.endsWith('.test.js'))
    .map((f) => f.slice(0, -'.test.js'.length));

  it('runs every construct suite: the ones it names first exist, and only the listed ones are left out', async () => {
    const { FIRST, OWN_PROCESS, oneProcessSuites } = await import('./support/one-process.js');
    // A renamed suite must not drop out of the run unnoticed.
    assert.deepEqual(
      [...FIRST, ...OWN_PROCESS].filter((n) => !suites.includes(n)),
      [],
    );
    const run = oneProcessSuites(testDir);
    assert.deepEqual(run.slice(0, FIRST.length), FIRST);
    assert.deepEqual(suites.filter((n) => !run.includes(n)).sort(), [...OWN_PROCESS].sort());
  });

  it('lets npm test run each suite once: the one-process ones together, every other on its own, longest first', async () => {
    const { LONGEST_FIRST, ONE_PROCESS, suiteFiles } = await import('./support/run-suites.js');
    const { OWN_PROCESS } = await import('./support/one-process.js');
    const files = suiteFiles(testDir, join(testDir, '..', '..', 'test'));
    assert.deepEqual(files.slice(0, LONGEST_FIRST.length), LONGEST_FIRST);
    assert.equal(files.filter((f) => f === ONE_PROCESS).length, 1);
    assert.equal(new Set(files).size, files.length);
    // Of the top-level suites, exactly the own-process ones run as files of their own.
    assert.deepEqual(
      files
        .filter((f) => !f.includes('/'))
        .map((f) => f.slice(0, -'.test.js'.length))
        .sort(),
      [...OWN_PROCESS].sort(),
    );
    // Every suite in a folder (services, stacks, tools) runs as a file of its own.
    assert.ok(files.includes('stacks/dev.test.js') && files.includes('tools/graph.test.js'));
  });

  it('skips a compiled suite whose source is gone, and refuses a longest-first name that is no suite', async () => {
    const { suiteFiles } = await import('./support/run-suites.js');
    const lib = mkdtempSync(join(tmpdir(), 'run-suites-lib-'));
    const src = mkdtempSync(join(tmpdir(), 'run-suites-src-'));
    const names = ['package', 'new-app', 'cli-safety', 'stale', 'shop'];
    for (const dir of ['stacks', 'tools', 'services', 'support']) mkdirSync(join(lib, dir));
    for (const n of names) writeFileSync(join(lib, `${n}.test.js`), '');
    for (const f of [
      'stacks/helm-render',
      'tools/bench-side-by-side',
      'tools/diff-cli-refs',
      'tools/synth-watch',
      'tools/diff-base-build',
      'services/payments',
    ]) {
      writeFileSync(join(lib, `${f}.test.js`), '');
    }
    for (const dir of ['stacks', 'tools', 'services']) mkdirSync(join(src, dir));
    for (const f of readdirSync(lib, { recursive: true, encoding: 'utf8' }).filter(
      (f) => f.endsWith('.test.js') && !f.startsWith('stale'),
    )) {
      writeFileSync(join(src, f.replace(/\.js$/, '.ts')), '');
    }
    const files = suiteFiles(lib, src);
    assert.ok(!files.includes('stale.test.js'), 'no source, not run');
    assert.ok(!files.includes('shop.test.js'), 'in the one-process suite');
    const { oneProcessSuites } = await import('./support/one-process.js');
    assert.deepEqual(oneProcessSuites(lib, src), ['shop'], 'stale has no source');
    rmSync(join(lib, 'package.test.js'));
    assert.throws(
      () => suiteFiles(lib, src),
      new Error(
        'run-suites: LONGEST_FIRST names package.test.js, which is not a suite; update the list in test/support/run-suites.ts',
      ),
    );
  });

  it("leaves nothing in the temporary folder: every suite, in one process or alone, writes below the run's own", async () => {
    // A copy of the runner over a tree of suites that each make a folder in os.tmpdir(), as
    // cdk8s's Testing.chart() does, and record where it was made.
    const outer = mkdtempSync(join(tmpdir(), 'run-suites-tmp-'));
    try {
      const tree = join(outer, 'tree');
      const lib = join(tree, 'lib', 'test');
      const here = dirname(new URL(import.meta.url).pathname);
      mkdirSync(join(lib, 'support'), { recursive: true });
      for (const f of ['run-suites.js', 'one-process.js', 'scratch-tmpdir.js'])
        copyFileSync(join(here, 'support', f), join(lib, 'support', f));
      writeFileSync(join(tree, 'package.json'), '{ "type": "module" }');
      const records = join(outer, 'records');
      mkdirSync(records);
      const suite = (name: string) =>
        [
          "import { mkdtempSync, writeFileSync } from 'node:fs';",
          "import { tmpdir } from 'node:os';",
          "import { join } from 'node:path';",
          "import { test } from 'node:test';",
          `test('${name}', () => writeFileSync(join(${JSON.stringify(records)}, '${name.replace('/', '-')}'), mkdtempSync(join(tmpdir(), 'cdk8s.outdir.'))));`,
        ].join('\n');
      const { LONGEST_FIRST } = await import('./support/run-suites.js');
      const names = [
        ...LONGEST_FIRST.filter((f) => !f.startsWith('support/')),
        'shop.test.js',
        'routing.test.js',
      ];
      for (const f of names) {
        mkdirSync(dirname(join(lib, f)), { recursive: true });
        writeFileSync(join(lib, f), suite(f.replace(/\.test\.js$/, '')));
        mkdirSync(dirname(join(tree, 'test', f)), { recursive: true });
        writeFileSync(join(tree, 'test', f.replace(/\.js$/, '.ts')), '');
      }
      const run = spawnSync(process.execPath, [join(lib, 'support', 'run-suites.js')], {
        // NODE_TEST_CONTEXT would make the inner `node --test` report to this one instead of running.
        env: {
          ...process.env,
          NODE_TEST_CONTEXT: undefined,
          TMPDIR: outer,
          NODE_COMPILE_CACHE: join(outer, 'cache'),
        },
        encoding: 'utf8',
      });
      assert.equal(run.status, 0, run.stdout + run.stderr);
      const made = readdirSync(records).map((f) => readFileSync(join(records, f), 'utf8'));
      assert.equal(made.length, names.length, 'every suite ran');
      for (const dir of made) {
        assert.match(dir, new RegExp(`^${outer}/mesh-kit-test-\\w+/`), "below the run's folder");
        assert.ok(!existsSync(dir), `${dir} is removed`);
      }
      assert.deepEqual(readdirSync(outer).sort(), ['cache', 'records', 'tree'], 'nothing else left');
      // The mutation run starts the one-process suites by themselves, once per mutant.
      rmSync(records, { recursive: true });
      mkdirSync(records);
      const alone = spawnSync(process.execPath, [join(lib, 'support', 'one-process.js')], {
        env: { ...process.env, NODE_TEST_CONTEXT: undefined, TMPDIR: outer },
        encoding: 'utf8',
      });
      assert.equal(alone.status, 0, alone.stdout + alone.stderr);
      const inOne = readdirSync(records).map((f) => readFileSync(join(records, f), 'utf8'));
      assert.deepEqual(readdirSync(records).sort(), ['routing', 'shop']);
      for (const dir of inOne) {
        assert.match(dir, new RegExp(`^${outer}/mesh-kit-suites-\\w+/`));
        assert.ok(!existsSync(dir), `${dir} is removed`);
      }
      assert.deepEqual(readdirSync(outer).sort(), ['cache', 'records', 'tree'], 'nothing else left');
    } finally {
      rmSync(outer, { recursive: true, force: true });
    }
  });
});
