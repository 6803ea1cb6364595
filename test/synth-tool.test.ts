import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type App, Chart } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { MeshAppDefinition, MeshNamespace, Microservice } from '../constructs/index.js';
import { synthTarget } from '../tools/synth.js';
import { validateObjects } from './support/schema.js';

const SYNTH = fileURLToPath(new URL('../tools/synth.js', import.meta.url));

describe('npm run synth', () => {
  it('writes validated YAML for one app and scenario and says what it wrote', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'synth-')), 'bookinfo');
    const stdout = execFileSync(
      process.execPath,
      [SYNTH, '--app', 'bookinfo', '--scenario', 'reviews-90-10', '--out', out],
      { encoding: 'utf8' },
    );
    const files = readdirSync(out).filter((f) => f !== '.mesh-kit-synth');
    assert.ok(readdirSync(out).includes('.mesh-kit-synth'), 'synth marks the folders it writes');
    assert.deepEqual(files, [
      '00-namespace.k8s.yaml',
      '01-details.k8s.yaml',
      '02-ratings.k8s.yaml',
      '03-reviews.k8s.yaml',
      '04-productpage.k8s.yaml',
      '05-ingress.k8s.yaml',
    ]);
    for (const f of files) assert.match(stdout, new RegExp(`wrote .*${f.replace(/\./g, '\\.')}`));
    const docs = files.flatMap((f) =>
      parseAllDocuments(readFileSync(join(out, f), 'utf8')).map((d) => d.toJS()),
    );
    validateObjects(docs);
    assert.equal(docs[0].kind, 'Namespace', 'the namespace comes first');
    const vs = docs.find((d) => d.kind === 'VirtualService' && d.metadata.name === 'reviews');
    assert.deepEqual(
      vs.spec.http[0].route.map((r: { weight: number }) => r.weight),
      [90, 10],
    );
  });

  it('refuses unknown apps and scenarios with a clear message', () => {
    const r = spawnSync(process.execPath, [SYNTH, '--app', 'bookinfo', '--scenario', 'reviews-99-1'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      /synth: unknown scenario "reviews-99-1" for app "bookinfo"; use one of all-v1, reviews-v2-v3/,
    );
  });

  it('leaves the last good output untouched when a synth fails', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'synth-')), 'broken');
    const good = MeshAppDefinition.define({
      name: 'demo',
      variants: ['dev'],
      build: (app: App) => {
        const chart = new Chart(app, 'demo');
        new Microservice(chart, 'api', {
          namespace: new MeshNamespace(chart, 'namespace', { name: 'demo' }),
          image: 'api:1',
          versions: { v1: {} },
        });
      },
    });
    synthTarget({ app: good, variant: 'dev', out });
    const written = ['.mesh-kit-synth', '00-namespace.k8s.yaml', '01-api.k8s.yaml'];
    assert.deepEqual(readdirSync(out).sort(), written);
    const before = readFileSync(join(out, '01-api.k8s.yaml'), 'utf8');
    const broken = MeshAppDefinition.define({
      name: 'demo',
      variants: ['dev'],
      build: (app: App) => {
        const chart = new Chart(app, 'demo');
        new Microservice(chart, 'api', {
          namespace: new MeshNamespace(chart, 'namespace', { name: 'demo' }),
          image: 'api:1',
          runAsUser: 1337,
          versions: { v1: {} },
        });
      },
    });
    assert.throws(
      () => synthTarget({ app: broken, variant: 'dev', out }),
      /runAsUser: 1337 is the UID of the Istio proxy/,
    );
    assert.equal(readFileSync(join(out, '01-api.k8s.yaml'), 'utf8'), before);
    assert.deepEqual(readdirSync(out).sort(), written);
    assert.deepEqual(readdirSync(join(out, '..')), ['broken'], 'no staging folder left behind');
  });
});
