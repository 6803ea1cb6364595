import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App, Chart, JsonPatch, Lazy, ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { APPS } from '../charts/index.js';
import { orderedApiObjects, renderObjects, toManifest } from '../constructs/index.js';
import { MANIFESTS } from '../constructs/json-mappers/index.js';
import { buildBenchApp } from '../tools/bench-app.js';
import { ReferenceGrant } from '../imports/gateway.networking.k8s.io.js';
import { validateObjects } from './support/schema.js';
import { assertSameAsCdk8s } from './support/same-as-cdk8s.js';

describe('fast rendering', () => {
  for (const sample of APPS.apps) {
    for (const variant of sample.variants) {
      it(`renders ${sample.name} ${variant} exactly as cdk8s does`, () => {
        const app = new App();
        sample.build(app, variant);
        assert.ok(assertSameAsCdk8s(app) > 20);
      });
    }
  }

  it('renders the benchmark app exactly as cdk8s does', () => {
    const app = new App();
    // Namespaces of 8: the fifth is in ambient mode, with the Gateway API ingress.
    buildBenchApp(app, 48, 8);
    const objects = renderObjects(app);
    const kinds = new Set(objects.map((o) => o.kind));
    for (const kind of ['HTTPRoute', 'Gateway', 'EnvoyFilter', 'Sidecar', 'RequestAuthentication']) {
      assert.ok(kinds.has(kind), `the bench app has a ${kind}`);
    }
    const labels = (o: { metadata: Record<string, unknown> }) =>
      (o.metadata.labels ?? {}) as Record<string, string>;
    assert.ok(objects.some((o) => labels(o)['istio.io/dataplane-mode'] === 'ambient'));
    // Every object passes the Kubernetes, Istio and Gateway API schemas too.
    validateObjects(objects);
    assert.ok(assertSameAsCdk8s(app) > 300);
  });

  it('orders objects like cdk8s: the same set, and every dependency first', () => {
    const app = new App();
    const chart = buildBenchApp(app, 20);
    const ours = orderedApiObjects(chart).map((o) => o.node.path);
    const theirs = (chart.toJson() as { kind: string; metadata: { name: string; namespace?: string } }[])
      .length;
    assert.equal(ours.length, theirs);
    const position = new Map(ours.map((p, i) => [p, i]));
    for (const o of orderedApiObjects(chart)) {
      for (const dep of o.node.dependencies) {
        for (const d of dep.node.findAll().filter((x) => ApiObject.isApiObject(x))) {
          assert.ok(
            position.get(d.node.path)! < position.get(o.node.path)!,
            `${d.node.path} before ${o.node.path}`,
          );
        }
      }
    }
  });

  it('falls back to cdk8s for JSON patches, Lazy values, custom objects and unusual metadata', () => {
    const app = new App();
    const chart = new Chart(app, 'c');
    const patched = new ApiObject(chart, 'patched', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'a' },
    });
    patched.addJsonPatch(JsonPatch.add('/data', { k: 'v' }));
    new ApiObject(chart, 'lazy', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'b', annotations: {} },
      data: Lazy.any({ produce: () => ({ z: '1', a: undefined, m: null }) }),
    } as never);
    new ApiObject(chart, 'owned', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'c',
        labels: { z: 'last', a: 'first' },
        annotations: {},
        finalizers: [],
        ownerReferences: [{ apiVersion: 'v1', kind: 'Secret', name: 's', uid: '1' }],
      },
    });
    new ApiObject(chart, 'generated', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'd', generateName: 'd-', resourceVersion: '7', labels: {} },
    });
    // Generated classes keep only ObjectMeta's fields (a typo such as "annotation" is dropped), and
    // an object built on another prototype renders its own keys only.
    new k8s.KubeConfigMap(chart, 'typo', {
      metadata: { name: 'e', annotation: { a: 'b' } } as never,
      data: Object.assign(Object.create({ inherited: '1' }) as object, { own: '2' }) as never,
    });
    new k8s.KubeConfigMap(chart, 'owned-generated', {
      metadata: {
        name: 'f',
        ownerReferences: [{ apiVersion: 'v1', kind: 'Secret', name: 's', uid: '1', extra: 1 } as never],
      },
    });
    assertSameAsCdk8s(app);
    assert.deepEqual(renderObjects(app)[3].metadata, { generateName: 'd-', name: 'd', resourceVersion: '7' });
    assert.deepEqual(renderObjects(app)[4], {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'e' },
      data: { own: '2' },
    });
    assert.deepEqual(renderObjects(app)[0], {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'a' },
      data: { k: 'v' },
    });
    assert.deepEqual(renderObjects(app)[1], {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'b' },
      data: { z: '1' },
    });
  });

  it('renders the kinds of the generated mappers exactly as cdk8s does: IntOrString, maps, renames, unknown fields', () => {
    // test/tools/gen-json-mappers.test.ts renders every kind with every field of every nested type;
    // these are the forms a mapper handles, through kinds no sample app creates among others.
    const app = new App();
    const chart = new Chart(app, 'c');
    const service = new k8s.KubeService(chart, 'service', {
      metadata: { name: 'web', labels: { z: '1', a: '2' } },
      spec: {
        selector: { app: 'web', version: 'v1' },
        ports: [{ name: 'http', port: 80, targetPort: k8s.IntOrString.fromString('http') }],
        sessionAffinity: 'ClientIP',
        sessionAffinityConfig: { clientIp: { timeoutSeconds: 60 } },
        // Raw props: a field under its JSON name (clusterIp in TypeScript) and a field the schema
        // does not have, both dropped by the mapper as by cdk8s.
        ...({ clusterIP: '10.0.0.1', unknownField: { a: 1 } } as object),
      },
    });
    const pod = {
      containers: [
        {
          name: 'app',
          image: 'registry.example.com/app:1',
          resources: {
            limits: { memory: k8s.Quantity.fromString('256Mi'), cpu: k8s.Quantity.fromNumber(1) },
          },
          ports: [{ containerPort: 8080, name: 'http' }],
          livenessProbe: { httpGet: { path: '/healthz', port: k8s.IntOrString.fromNumber(8080) } },
        },
      ],
      hostIpc: false,
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      restartPolicy: 'OnFailure',
    };
    new k8s.KubeCronJob(chart, 'cron', {
      metadata: { name: 'nightly' },
      spec: {
        schedule: '0 3 * * *',
        jobTemplate: { spec: { template: { metadata: { labels: { app: 'nightly' } }, spec: pod } } },
      },
    });
    new k8s.KubeStatefulSet(chart, 'db', {
      metadata: { name: 'db' },
      spec: {
        serviceName: 'db-headless',
        selector: { matchLabels: { app: 'db' } },
        template: { metadata: { labels: { app: 'db' } }, spec: { ...pod, restartPolicy: 'Always' } },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: {
              accessModes: ['ReadWriteOnce'],
              resources: { requests: { storage: k8s.Quantity.fromString('1Gi') } },
            },
          },
        ],
      },
    });
    new ReferenceGrant(chart, 'grant', {
      metadata: { name: 'from-gateway', namespace: 'shop' },
      spec: {
        from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'ingress' }],
        to: [{ group: '', kind: 'Service' }],
      },
    });
    for (const o of [service, ...chart.node.children]) {
      assert.ok(MANIFESTS.has(Object.getPrototypeOf(o).constructor), `${o.node.path} has a generated mapper`);
    }
    assert.equal(assertSameAsCdk8s(app), 4);
    const [json] = renderObjects(app);
    assert.deepEqual(json.spec, {
      ports: [{ name: 'http', port: 80, targetPort: 'http' }],
      selector: { app: 'web', version: 'v1' },
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
    });
  });

  it('drops an own "__proto__" key of props parsed from JSON, as cdk8s does, instead of reading its fields', () => {
    const app = new App();
    const chart = new Chart(app, 'c');
    new ApiObject(
      chart,
      'plain',
      JSON.parse(
        '{"apiVersion":"v1","kind":"X","metadata":{"name":"a"},"__proto__":{"evil":1},"spec":{"b":1,"__proto__":{"c":2}}}',
      ),
    );
    new k8s.KubeConfigMap(
      chart,
      'map',
      JSON.parse('{"metadata":{"name":"b"},"__proto__":{"data":{"x":"1"}}}'),
    );
    assertSameAsCdk8s(app);
    assert.deepEqual(
      orderedApiObjects(chart).map((o) => JSON.stringify(toManifest(o))),
      [
        '{"apiVersion":"v1","kind":"X","metadata":{"name":"a"},"spec":{"b":1}}',
        '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}',
      ],
    );
  });

  it('validates the whole app first, with every problem listed', () => {
    const app = new App();
    buildBenchApp(app, 3);
    const chart = new Chart(app, 'broken');
    chart.node.addValidation({ validate: () => ['one', 'two'] });
    assert.throws(
      () => renderObjects(app),
      /Validation failed with the following errors:\n {2}\[broken\] one\n {2}\[broken\] two/,
    );
  });
});
