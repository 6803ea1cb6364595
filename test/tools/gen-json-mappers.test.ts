/**
 * constructs/json-mappers/ is generated from cdk8s's own toJson_* mappers (tools/gen-json-mappers.ts):
 * it must be what the generator writes from the pinned inputs today, cover every kind the sample
 * apps and the bench app create, give exactly manifest()'s JSON for any props (the same keys in
 * the same order, the same values, unknown fields dropped), and render every kind through
 * constructs/render.ts exactly as cdk8s's toJson() does, through every generated mapper.
 * A suite of its own (test/tools/): parsing cdk8s's sources takes the TypeScript compiler and a
 * second of CPU, which the one-process suites (and the mutation run) need not pay.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ApiObject, App, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { APPS } from '../../charts/index.js';
import { MANIFESTS } from '../../constructs/json-mappers/index.js';
import { buildBenchApp } from '../../tools/bench-app.js';
import { generate, OUT_DIR, readSource, SOURCES } from '../../tools/gen-json-mappers.js';
import { SampleBuilder } from '../support/json-samples.js';
import { assertSameAsCdk8s } from '../support/same-as-cdk8s.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

type GeneratedClass = { manifest(props?: unknown): unknown; GVK: { apiVersion: string; kind: string } };

/** The class of each kind, from the module the generated file imports it from. */
async function classesOf(specifier: string): Promise<Record<string, GeneratedClass>> {
  const resolved = specifier.startsWith('.')
    ? new URL(specifier, new URL('../../constructs/json-mappers/', import.meta.url)).href
    : specifier;
  return (await import(resolved)) as Record<string, GeneratedClass>;
}

/** Equal as JSON text (so key order counts) and as values (so undefined-valued keys count too). */
function assertSame(actual: unknown, expected: unknown, what: string): void {
  assert.equal(JSON.stringify(actual), JSON.stringify(expected), what);
  assert.deepStrictEqual(actual, expected, what);
}

describe('generated JSON mappers', () => {
  it('are what the generator writes from the pinned cdk8s-plus-27 and imports/ (run npm run gen-json-mappers)', () => {
    const files = generate(ROOT);
    const dir = join(ROOT, OUT_DIR);
    assert.deepEqual(readdirSync(dir).sort(), [...files.keys()].sort());
    for (const [name, text] of files) {
      assert.ok(
        readFileSync(join(dir, name), 'utf8') === text,
        `${OUT_DIR}/${name} is stale: run npm run gen-json-mappers`,
      );
    }
  });

  it('cover every kind the sample apps and the bench app create from a generated class', () => {
    const kinds = new Set<string>();
    const record = (app: App) => {
      for (const c of app.node.findAll()) {
        if (!ApiObject.isApiObject(c)) continue;
        const proto = Object.getPrototypeOf(c) as object;
        const ctor = proto.constructor as Partial<GeneratedClass>;
        // A generated class is ApiObject's direct subclass with a static manifest().
        if (Object.getPrototypeOf(proto) !== ApiObject.prototype || typeof ctor.manifest !== 'function')
          continue;
        kinds.add(`${c.apiVersion}/${c.kind}`);
        assert.ok(
          MANIFESTS.has(ctor),
          `${c.apiVersion} ${c.kind} (${c.node.path}) has a generated mapper: add its class to SOURCES in tools/gen-json-mappers.ts`,
        );
      }
    };
    for (const sample of APPS.apps) {
      for (const variant of sample.variants) {
        const app = new App();
        sample.build(app, variant);
        record(app);
      }
    }
    const app = new App();
    buildBenchApp(app, 48, 8);
    record(app);
    assert.ok(kinds.size >= 18, `${kinds.size} kinds`);
  });

  for (const source of SOURCES) {
    it(`give exactly manifest()'s JSON for every kind of ${source.name}, through every mapper`, async () => {
      const model = readSource(ROOT, source);
      const classes = await classesOf(source.specifier);
      const reached = new Set<string>();
      let cases = 0;
      // One seed sets every field (every mapper is reached), others leave some out.
      for (const [seed, fill] of [
        [1, 1],
        [2, 0.7],
        [3, 0.5],
        [4, 0.3],
        [5, 0.9],
      ] as const) {
        for (const exotic of [false, true]) {
          const samples = new SampleBuilder(model, { seed, fill, exotic });
          for (const { kind } of model.kinds) {
            const cls = classes[kind];
            const fast = MANIFESTS.get(cls);
            assert.ok(fast, `${kind} has a generated mapper`);
            const props = samples.props(kind);
            assertSame(fast(props), cls.manifest(props), `${source.name} ${kind}, seed ${seed}`);
            cases++;
          }
          for (const t of samples.reached) reached.add(t);
        }
        // No props at all: manifest() gives the GVK alone.
        for (const { kind } of model.kinds) {
          const cls = classes[kind];
          assertSame(MANIFESTS.get(cls)!({}), cls.manifest({}), `${kind} of {}`);
        }
      }
      assert.deepEqual(
        model.mappers.map((m) => m.type).filter((t) => !reached.has(t)),
        [],
        'every generated mapper is reached',
      );
      assert.ok(cases >= model.kinds.length * 10);
    });
  }

  it('keep what makes cdk8s JSON: renames, IntOrString values, maps in order, unknown fields dropped', () => {
    const props = {
      metadata: { name: 'web', labels: { z: '1', a: '2' }, annotation: { typo: 'dropped' } },
      spec: {
        selector: { app: 'web', skipped: undefined },
        ports: [{ name: 'http', port: 80, targetPort: k8s.IntOrString.fromString('http'), extra: 1 }],
        ipFamilyPolicy: 'SingleStack',
        sessionAffinityConfig: { clientIp: { timeoutSeconds: 10 } },
      },
    };
    const fast = MANIFESTS.get(k8s.KubeService)!(props);
    assertSame(fast, k8s.KubeService.manifest(props as never), 'KubeService');
    assert.deepEqual(fast, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { labels: { z: '1', a: '2' }, name: 'web' },
      spec: {
        ipFamilyPolicy: 'SingleStack',
        ports: [{ name: 'http', port: 80, targetPort: 'http' }],
        selector: { app: 'web' },
        // clientIp (TypeScript) is clientIP in JSON.
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 10 } },
      },
    });
  });

  // The kinds the constructs create render through generated linear mappers
  // (constructs/json-mappers/): objects of each, with every field of every nested type set or
  // some left out, unknown fields added through raw props, and usual or unusual metadata.
  for (const source of SOURCES) {
    it(`renders every kind of ${source.name} through its generated mapper exactly as cdk8s does`, async () => {
      const model = readSource(ROOT, source);
      const module = (await import(
        source.specifier.startsWith('.')
          ? new URL(source.specifier, new URL('../../constructs/json-mappers/', import.meta.url)).href
          : source.specifier
      )) as Record<string, new (scope: Chart, id: string, props: unknown) => ApiObject>;
      const reached = new Set<string>();
      for (const [seed, fill] of [
        [11, 1],
        [12, 0.6],
        [13, 0.3],
      ] as const) {
        const app = new App();
        const chart = new Chart(app, 'kinds');
        const samples = new SampleBuilder(model, { seed, fill, exotic: false });
        for (const { kind } of model.kinds) {
          assert.ok(MANIFESTS.has(module[kind]), `${kind} renders through a generated mapper`);
          const { metadata, ...props } = samples.props(kind);
          // The usual metadata (name, namespace, labels, annotations), and an unusual one (owner
          // references and every other ObjectMeta field) that goes through the mapper too.
          new module[kind](chart, `${kind}-usual`, {
            ...props,
            metadata: { name: 'usual', namespace: 'ns', labels: { b: '1', a: '2' }, annotations: { x: 'y' } },
          });
          new module[kind](chart, `${kind}-unusual`, {
            ...props,
            metadata: {
              ...(typeof metadata === 'object' && !Array.isArray(metadata) ? metadata : {}),
              name: 'unusual',
              ownerReferences: [{ apiVersion: 'v1', kind: 'Secret', name: 's', uid: '1', extra: 1 }],
            },
          });
        }
        assert.equal(assertSameAsCdk8s(app), model.kinds.length * 2);
        for (const t of samples.reached) reached.add(t);
      }
      assert.deepEqual(
        model.mappers.map((m) => m.type).filter((t) => !reached.has(t)),
        [],
      );
    });
  }
});
