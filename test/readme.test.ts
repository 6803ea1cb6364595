import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

describe('npm run mutation', () => {
  it('runs every construct suite: the ones it names first exist, and only the listed ones are left out', async () => {
    const { FIRST, NOT_IN_MUTATION_SUITE, mutationSuites } = await import('./support/mutation-suite.js');
    const testDir = join(import.meta.dirname);
    const suites = readdirSync(testDir)
      .filter((f) => f.endsWith('.test.js'))
      .map((f) => f.slice(0, -'.test.js'.length));
    // A renamed suite must not drop out of the run unnoticed.
    assert.deepEqual(
      [...FIRST, ...NOT_IN_MUTATION_SUITE].filter((n) => !suites.includes(n)),
      [],
    );
    const run = mutationSuites(testDir);
    assert.deepEqual(run.slice(0, FIRST.length), FIRST);
    assert.deepEqual(suites.filter((n) => !run.includes(n)).sort(), [...NOT_IN_MUTATION_SUITE].sort());
  });
});
