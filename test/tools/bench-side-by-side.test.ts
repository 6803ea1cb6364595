// The side-by-side benchmarks as a user runs them (small sizes, one round: the figures are for the
// README, not asserted here; what is asserted is that each runs what it says and prints its line).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { writeStaticChart } from '../../tools/bench-helm.js';

const BENCH = fileURLToPath(new URL('../../tools/bench.js', import.meta.url));
const bench = (...args: string[]) => spawnSync(process.execPath, [BENCH, ...args], { encoding: 'utf8' });

describe('npm run bench -- --helm', () => {
  it('writes the objects as a static chart of 100 documents per template, "{{" kept literal', () => {
    const dir = mkdtempSync(join(tmpdir(), 'static-chart-'));
    const objects = Array.from({ length: 250 }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `cm-${i}` },
      data: { template: 'Hello {{ .Name }}' },
    }));
    assert.equal(writeStaticChart(dir, objects), 3);
    assert.deepEqual(readdirSync(join(dir, 'templates')), ['000.yaml', '001.yaml', '002.yaml']);
    const last = readFileSync(join(dir, 'templates', '002.yaml'), 'utf8');
    assert.equal(parseAllDocuments(last).length, 50);
    assert.match(last, /template: Hello \{\{ "\{\{" \}\} \.Name \}\}/);
  });

  it('times the whole bench process beside helm template of the same objects', () => {
    const r = bench('--helm', '--services', '20', '--rounds', '1');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /helm chart of \d+ template files of 100 documents/);
    assert.match(r.stdout, /^services=20 objects=\d+ bench_s=\d+\.\d\d helm_s=\d+\.\d\d ratio=\d+\.\d\d$/m);
  });

  it('refuses bad options with exit code 2', () => {
    const r = bench('--helm', '--rounds', '0');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--rounds must be a whole number of 1 or more\nusage: npm run bench -- --helm/);
  });
});

describe('npm run bench -- --loop', () => {
  it('refuses bad options with exit code 2', () => {
    const r = bench('--loop', '--rounds', 'x');
    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      /--rounds must be a whole number of 1 or more, not "x"\nusage: npm run bench -- --loop/,
    );
  });

  it('times synth, synth after an edit and graph side by side and prints the ratios', () => {
    // --no-diff: a diff would add a worktree to this checkout while other suites may list them.
    const r = bench('--loop', '--rounds', '1', '--no-warmup', '--no-diff');
    assert.equal(r.status, 0, r.stderr);
    for (const name of ['synth', 'synth-edit', 'graph']) {
      assert.match(r.stdout, new RegExp(`^  ${name} +\\d+\\.\\d\\d s`, 'm'));
    }
    assert.match(r.stdout, /^edit_ratio=\d+\.\d\d \(target ≤ 1\.5: synth-edit \/ synth\)$/m);
    assert.match(r.stdout, /^graph_ratio=\d+\.\d\d /m);
    assert.doesNotMatch(r.stdout, /diff/);
  });
});
