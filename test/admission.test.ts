import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from '@bufbuild/cel';
import { ParsedExprSchema } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import { toBinary } from '@bufbuild/protobuf';
import { ApiObject, App, Chart, JsonPatch, Size, Testing } from 'cdk8s';
import type { IConstruct } from 'constructs';
import { APPS } from '../charts/index.js';
import { builtInProblems, hasBuiltInSchema, passesFast } from '../constructs/admission/builtin.js';
import { celCrossCheck, evaluate } from '../constructs/admission/cel.js';
import type { CelRule, Schema } from '../constructs/admission/schema.js';
import { formatPath } from '../constructs/admission/path.js';
import { CEL_PARSED, CRD_KINDS, parseSchema } from '../constructs/admission/generated/schemas.js';
import { AdmissionError, admissionProblems, QUANTITY } from '../constructs/admission/index.js';
import { SUPPORTED_FUNCTIONS } from '../constructs/admission/cel-library.js';
import {
  MeshAppDefinition,
  MeshNamespace,
  Microservice,
  type MicroserviceProps,
  Workload,
} from '../constructs/index.js';
import { renderObjects } from '../constructs/render.js';
import { buildBenchApp } from '../tools/bench-app.js';
import { renderFiles, synthTarget } from '../tools/synth.js';
import { synthErrors } from './support/synth.js';

/** A namespace "shop" with one service "ratings" (v1), the chart, and its Deployment. */
function shop(extra: Partial<MicroserviceProps<'v1'>> = {}) {
  const app = Testing.app();
  const chart = new Chart(app, 'shop');
  const namespace = new MeshNamespace(chart, 'shop', {});
  const svc = new Microservice(chart, 'ratings', {
    namespace,
    image: 'registry.example.com/ratings:1.0.0',
    versions: { v1: {} },
    ...extra,
  });
  const deployment = ApiObject.of(svc.node.findChild('deployment-v1') as IConstruct);
  return { app, chart, namespace, svc, deployment };
}

/** The admission problems of rendering the app; fails when it renders. */
function problems(app: App): readonly string[] {
  try {
    renderObjects(app);
  } catch (e) {
    if (e instanceof AdmissionError) return e.problems;
    throw e;
  }
  assert.fail('expected the admission pass to refuse the app');
}

const raw = (chart: Chart, id: string, obj: Record<string, unknown>) =>
  new ApiObject(chart, id, obj as never);

describe('admission pass', () => {
  it('refuses an unknown field of a raw ApiObject or a JSON patch, in a built-in kind and in a CRD', () => {
    const { app, chart } = shop();
    raw(chart, 'worker', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'worker', namespace: 'shop' },
      spec: {
        selector: { matchLabels: { app: 'worker' } },
        strategy: { type: 'Recreate', surge: 1 },
        template: {
          metadata: { labels: { app: 'worker' } },
          spec: { containers: [{ name: 'worker', image: 'worker:1' }] },
        },
      },
    }).addJsonPatch(JsonPatch.add('/spec/template/spec/containers/0/restartPolicyy', 'Always'));
    raw(chart, 'rule', {
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: { name: 'worker', namespace: 'shop' },
      spec: { host: 'worker', trafficPolicy: { connectionPool: { tcp: { maxConnection: 10 } } } },
    });
    assert.deepEqual(problems(app), [
      '[Deployment shop/worker] spec.strategy.surge: is not a field of this kind; remove it, or check its spelling and nesting',
      '[Deployment shop/worker] spec.template.spec.containers[0].restartPolicyy: is not a field of this kind; remove it, or check its spelling and nesting',
      '[DestinationRule shop/worker] spec.trafficPolicy.connectionPool.tcp.maxConnection: is not a field of this schema; remove it, or check its spelling and nesting',
    ]);
  });

  it('refuses an unknown field named like an Object method ("constructor", "toString") in a CRD', () => {
    // cdk8s cannot render such a key; an object handed to the pass directly can have one.
    const rule = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: { name: 'worker', namespace: 'shop' },
      spec: { host: 'worker', constructor: 'x', trafficPolicy: { toString: 1 } },
    };
    assert.deepEqual(admissionProblems([rule]), [
      '[DestinationRule shop/worker] spec.constructor: is not a field of this schema; remove it, or check its spelling and nesting',
      '[DestinationRule shop/worker] spec.trafficPolicy.toString: is not a field of this schema; remove it, or check its spelling and nesting',
    ]);
  });

  it('accepts fields newer than cdk8s-plus-27 knows, such as native sidecars', () => {
    const { app, chart } = shop();
    raw(chart, 'pod', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'shipper', namespace: 'shop' },
      spec: {
        initContainers: [{ name: 'log-shipper', image: 'shipper:1', restartPolicy: 'Always' }],
        containers: [{ name: 'app', image: 'app:1' }],
      },
    });
    assert.ok(renderObjects(app).some((o) => o.kind === 'Pod'));
  });

  it('refuses a wrong type and a missing required field', () => {
    const { app, deployment } = shop();
    deployment.addJsonPatch(
      JsonPatch.replace('/spec/replicas', 'two'),
      JsonPatch.remove('/spec/template/spec/containers/0/name'),
    );
    assert.deepEqual(problems(app), [
      '[Deployment shop/ratings-v1] spec.replicas: a string where the schema wants an integer; write an integer',
      '[Deployment shop/ratings-v1] spec.template.spec.containers[0].name: is required; set it',
    ]);
  });

  it('refuses replicas above int32, and accepts the largest int32', () => {
    const { app, deployment } = shop();
    deployment.addJsonPatch(JsonPatch.replace('/spec/replicas', 2 ** 31));
    assert.deepEqual(problems(app), [
      '[Deployment shop/ratings-v1] spec.replicas: 2147483648 is outside the int32 range; use a whole number from -2147483648 to 2147483647',
    ]);
    const ok = shop();
    ok.deployment.addJsonPatch(JsonPatch.replace('/spec/replicas', 2 ** 31 - 1));
    renderObjects(ok.app);
  });

  it('refuses UIDs above 2147483647, and accepts 2147483647', () => {
    const { app, deployment } = shop();
    deployment.addJsonPatch(JsonPatch.replace('/spec/template/spec/securityContext/runAsUser', 2 ** 31));
    assert.deepEqual(problems(app), [
      '[Deployment shop/ratings-v1] spec.template.spec.securityContext.runAsUser: 2147483648 is not a valid user ID; use a whole number from 0 to 2147483647',
    ]);
    renderObjects(shop({ runAsUser: 2 ** 31 - 1 }).app);
  });

  it('refuses a quantity with both an exponent and a suffix', () => {
    // Microservice refuses Cpu.millis(1e21) ("1e+21m") itself; an object written by hand reaches
    // the admission pass with it.
    const { app, chart } = shop();
    raw(chart, 'worker', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'worker', namespace: 'shop' },
      spec: {
        selector: { matchLabels: { app: 'worker' } },
        template: {
          metadata: { labels: { app: 'worker' } },
          spec: {
            containers: [
              {
                name: 'worker',
                image: 'worker:1',
                resources: { requests: { cpu: '1e+21m' }, limits: { cpu: '1e+21m' } },
              },
            ],
          },
        },
      },
    });
    assert.deepEqual(problems(app), [
      '[Deployment shop/worker] spec.template.spec.containers[0].resources.limits["cpu"]: "1e+21m" is not a Kubernetes quantity; write a number with at most one suffix, e.g. "500m", "2", "128Mi" or "1G"',
      '[Deployment shop/worker] spec.template.spec.containers[0].resources.requests["cpu"]: "1e+21m" is not a Kubernetes quantity; write a number with at most one suffix, e.g. "500m", "2", "128Mi" or "1G"',
    ]);
    for (const ok of ['1', '500m', '1.5', '.5', '128Mi', '1e3', '1E-2', '+1k', '2Ei'])
      assert.match(ok, QUANTITY);
    for (const bad of ['1e+21m', '1Ki5', 'm', '1 Gi', '1.2.3', '1mi', '']) assert.doesNotMatch(bad, QUANTITY);
  });

  it('refuses a path mounted twice in one container, and a mount of no volume', () => {
    const { app, deployment } = shop();
    deployment.addJsonPatch(
      JsonPatch.add('/spec/template/spec/containers/0/volumeMounts/-', { name: 'tmp', mountPath: '/tmp' }),
      JsonPatch.add('/spec/template/spec/containers/0/volumeMounts/-', {
        name: 'cache',
        mountPath: '/cache',
      }),
    );
    assert.deepEqual(problems(app), [
      '[Deployment shop/ratings-v1] spec.template.spec.containers[0].volumeMounts[1].mountPath: "/tmp" is already mounted by volumeMounts[0]; mount each path once',
      '[Deployment shop/ratings-v1] spec.template.spec.containers[0].volumeMounts[2].name: no volume is named "cache"; declare the volume in volumes, or fix the name',
    ]);
  });

  it("a StatefulSet's containers mount its volumeClaimTemplates; a mount of neither is still refused", () => {
    const app = Testing.app();
    const chart = new Chart(app, 'payments');
    const svc = new Microservice(chart, 'ledger', {
      namespace: new MeshNamespace(chart, 'payments', {}),
      image: 'registry.example.com/ledger:1.0.0',
      versions: { v1: {} },
      workload: Workload.statefulSet({
        volumeClaims: [{ name: 'data', mountPath: '/var/lib/ledger', storage: Size.gibibytes(1) }],
      }),
    });
    const statefulSet = svc.statefulSet('v1');
    assert.ok(
      renderObjects(app).some((o) => o.kind === 'StatefulSet'),
      'the claim "data" is a volume',
    );
    statefulSet.addJsonPatch(
      JsonPatch.add('/spec/template/spec/containers/0/volumeMounts/-', {
        name: 'cache',
        mountPath: '/cache',
      }),
    );
    assert.deepEqual(problems(app), [
      '[StatefulSet payments/ledger-v1] spec.template.spec.containers[0].volumeMounts[2].name: no volume is named "cache"; declare the volume in volumes, or fix the name',
    ]);
  });

  it('refuses label values over 63 characters and accepts 63', () => {
    const { app, deployment } = shop();
    deployment.metadata.addLabel('team', 'x'.repeat(64));
    deployment.metadata.addLabel('owner', 'y'.repeat(63));
    assert.deepEqual(problems(app), [
      '[Deployment shop/ratings-v1] metadata.labels["team"]: the value is 64 characters long, more than 63; use at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit (or nothing)',
    ]);
  });

  it('refuses malformed label and annotation keys and label values', () => {
    const { app, deployment } = shop();
    deployment.metadata.addAnnotation('example.com/team/name', 'a');
    deployment.metadata.addAnnotation('Example_.com/x', 'b');
    deployment.metadata.addLabel('tier', 'front end');
    deployment.metadata.addLabel(`${'a'.repeat(64)}`, 'v');
    assert.deepEqual(problems(app), [
      `[Deployment shop/ratings-v1] metadata.labels["${'a'.repeat(64)}"]: the key "${'a'.repeat(64)}" has a name part of 64 characters, more than 63; write it as [prefix/]name, e.g. "app.kubernetes.io/name": the prefix a lower-case DNS subdomain, the name at most 63 letters, digits, "-", "_" and "."`,
      `[Deployment shop/ratings-v1] metadata.labels["tier"]: the value "front end" is not a valid label value; use at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit (or nothing)`,
      '[Deployment shop/ratings-v1] metadata.annotations["Example_.com/x"]: the key "Example_.com/x" has a prefix that is not a DNS-1123 subdomain; write it as [prefix/]name, e.g. "app.kubernetes.io/name": the prefix a lower-case DNS subdomain, the name at most 63 letters, digits, "-", "_" and "."',
      '[Deployment shop/ratings-v1] metadata.annotations["example.com/team/name"]: the key "example.com/team/name" has more than one "/"; write it as [prefix/]name, e.g. "app.kubernetes.io/name": the prefix a lower-case DNS subdomain, the name at most 63 letters, digits, "-", "_" and "."',
    ]);
  });

  it('refuses a Service name with a leading digit (DNS-1035), which other kinds may have', () => {
    const { app, chart } = shop();
    raw(chart, 'svc', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: '1abc', namespace: 'shop' },
      spec: { ports: [{ port: 80 }] },
    });
    raw(chart, 'cm', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: '1abc', namespace: 'shop' } });
    assert.deepEqual(problems(app), [
      '[Service shop/1abc] metadata.name: "1abc" is not a valid DNS-1035 label, which Service names must be; use at most 63 lower-case letters, digits and "-", starting with a letter and ending with a letter or digit',
    ]);
  });

  it('refuses duplicate container and volume names, long CronJob names, bad namespaces and huge annotations', () => {
    const { app, chart } = shop();
    raw(chart, 'job', {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'c'.repeat(53), namespace: 'shop', annotations: { note: 'x'.repeat(256 * 1024) } },
      spec: {
        schedule: '0 * * * *',
        jobTemplate: {
          spec: {
            template: {
              spec: {
                restartPolicy: 'Never',
                containers: [
                  { name: 'a', image: 'a:1' },
                  { name: 'a', image: 'b:1' },
                ],
                volumes: [
                  { name: 'v', emptyDir: {} },
                  { name: 'v', emptyDir: {} },
                ],
              },
            },
          },
        },
      },
    });
    raw(chart, 'ok', {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'c'.repeat(52), namespace: 'shop' },
      spec: {
        schedule: '0 * * * *',
        jobTemplate: { spec: { template: { spec: { containers: [{ name: 'a', image: 'a:1' }] } } } },
      },
    });
    raw(chart, 'cm', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'Shop' } });
    assert.deepEqual(problems(app), [
      `[CronJob shop/${'c'.repeat(53)}] metadata.name: "${'c'.repeat(53)}" is 53 characters long, more than 52; shorten it to 52 or fewer`,
      `[CronJob shop/${'c'.repeat(53)}] metadata.annotations: total 262148 bytes, more than the 262144 the API server allows; move large values into a ConfigMap`,
      `[CronJob shop/${'c'.repeat(53)}] spec.jobTemplate.spec.template.spec.volumes[1].name: "v" is already the name of volumes[0]; give each volume a unique name`,
      `[CronJob shop/${'c'.repeat(53)}] spec.jobTemplate.spec.template.spec.containers[1].name: "a" is already the name of containers[0]; give each container a unique name`,
      '[ConfigMap Shop/cm] metadata.namespace: "Shop" is not a valid namespace name; use a DNS-1123 label',
    ]);
  });

  it("refuses what a CRD's schema forbids: patterns, lengths, fields that exclude each other, duplicate list-map keys", () => {
    const { app, chart } = shop();
    raw(chart, 'vs', {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'both', namespace: 'shop' },
      spec: {
        hosts: ['both'],
        http: [
          { match: [{ uri: { exact: '/a', prefix: '/b' } }], route: [{ destination: { host: 'both' } }] },
        ],
      },
    });
    raw(chart, 'gw', {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'edge', namespace: 'shop' },
      spec: {
        gatewayClassName: 'istio',
        listeners: [
          { name: 'http', port: 80, protocol: 'HTTP', hostname: 'Shop.Example.com' },
          { name: 'http', port: 8080, protocol: 'HTTP' },
        ],
      },
    });
    assert.deepEqual(problems(app), [
      '[VirtualService shop/both] spec.http[0].match[0].uri: sets exact and prefix, of which at most one may be set; keep one of them',
      '[Gateway shop/edge] spec.listeners[0].hostname: "Shop.Example.com" does not match ^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$; write a value the pattern accepts',
      '[Gateway shop/edge] spec.listeners[1]: duplicates item 0 (same name); remove one of them',
    ]);
  });

  it('refuses two objects with one identity', () => {
    const { app, chart } = shop();
    raw(chart, 'sa', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'ratings', namespace: 'shop' },
    });
    assert.deepEqual(problems(app), [
      '[ServiceAccount shop/ratings] metadata.name: another ServiceAccount with this namespace and name is emitted too, and one would overwrite the other; emit each object once, or give them different names',
    ]);
  });

  it("refuses a Gateway API path match that breaks the CRD's CEL rule, naming the rule", () => {
    const { app, chart } = shop();
    raw(chart, 'route', {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'api', namespace: 'shop' },
      spec: {
        parentRefs: [{ name: 'edge' }],
        rules: [{ matches: [{ path: { type: 'PathPrefix', value: 'api' } }, { path: { value: '/v1' } }] }],
      },
    });
    assert.deepEqual(problems(app), [
      "[HTTPRoute shop/api] spec.rules[0].matches[0].path: value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix'] (CEL rule: (self.type in ['Exact','PathPrefix']) ? self.value.startsWith('/') : true); change the value so that the rule holds",
    ]);
  });

  it('refuses what an Istio CRD forbids: enums, CEL rules on durations, a version it does not serve', () => {
    const { app, chart } = shop();
    raw(chart, 'pa', {
      apiVersion: 'security.istio.io/v1',
      kind: 'PeerAuthentication',
      metadata: { name: 'strictest', namespace: 'shop' },
      spec: { mtls: { mode: 'STRICTEST' } },
    });
    raw(chart, 'dr', {
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: { name: 'slow', namespace: 'shop' },
      spec: { host: 'slow', trafficPolicy: { connectionPool: { tcp: { connectTimeout: '0s' } } } },
    });
    raw(chart, 'vs', {
      apiVersion: 'networking.istio.io/v1beta2',
      kind: 'VirtualService',
      metadata: { name: 'next', namespace: 'shop' },
    });
    assert.deepEqual(problems(app), [
      '[PeerAuthentication shop/strictest] spec.mtls.mode: "STRICTEST" is not one of "UNSET", "DISABLE", "PERMISSIVE", "STRICT"; use one of them',
      "[DestinationRule shop/slow] spec.trafficPolicy.connectionPool.tcp.connectTimeout: must be a valid duration greater than 1ms (CEL rule: duration(self) >= duration('1ms')); change the value so that the rule holds",
      '[VirtualService shop/next] apiVersion: networking.istio.io/v1beta2 VirtualService is not served by the pinned CRDs; use networking.istio.io/v1 or networking.istio.io/v1alpha3 or networking.istio.io/v1beta1',
    ]);
  });

  it("skips transition rules (oldSelf), which cannot apply to a create, and applies the CRD's defaults", () => {
    const { app, chart } = shop();
    // GatewayClass.spec.controllerName has `self == oldSelf`; HTTPRoute's default path match is
    // "/" with type PathPrefix, which the path rules then see.
    raw(chart, 'class', {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'GatewayClass',
      metadata: { name: 'mesh' },
      spec: { controllerName: 'example.com/gateway' },
    });
    raw(chart, 'route', {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'all', namespace: 'shop' },
      spec: {
        parentRefs: [{ name: 'edge' }],
        rules: [{ matches: [{ headers: [{ name: 'x', value: 'y' }] }] }],
      },
    });
    assert.ok(renderObjects(app).some((o) => o.kind === 'GatewayClass'));
  });

  it('checks only names and labels of kinds whose schema it does not pin', () => {
    const { app, chart } = shop();
    raw(chart, 'cert', {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'shop-tls', namespace: 'shop' },
      spec: { anything: { goes: true } },
    });
    renderObjects(app);
    raw(chart, 'bad', {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'Shop_TLS' },
    });
    assert.deepEqual(problems(app), [
      '[Certificate Shop_TLS] metadata.name: "Shop_TLS" is not a valid DNS-1123 subdomain, which Certificate names must be; use at most 253 lower-case letters, digits, "-" and ".", each part starting and ending with a letter or digit',
    ]);
  });

  it('reports every problem of every object at once', () => {
    const { app, chart, deployment } = shop();
    deployment.addJsonPatch(JsonPatch.replace('/spec/replicas', -1.5));
    raw(chart, 'ns', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'Shop' } });
    assert.deepEqual(problems(app), [
      '[Deployment shop/ratings-v1] spec.replicas: a number where the schema wants an integer; write an integer',
      '[Namespace Shop] metadata.name: "Shop" is not a valid DNS-1123 label, which Namespace names must be; use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit',
    ]);
  });

  it('passes every sample app in every variant', () => {
    for (const sample of APPS.apps) {
      for (const variant of sample.variants) {
        const app = new App();
        sample.build(app, variant);
        assert.deepEqual(admissionProblems(renderObjects(app)), [], `${sample.name} ${variant}`);
      }
    }
  });

  it('fails `npm run synth` before anything is written', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'admission-')), 'broken');
    const broken = MeshAppDefinition.define({
      name: 'demo',
      variants: ['dev'],
      build: (app: App) => {
        const chart = new Chart(app, 'demo');
        const svc = new Microservice(chart, 'api', {
          namespace: new MeshNamespace(chart, 'namespace', { name: 'demo' }),
          image: 'api:1',
          versions: { v1: {} },
        });
        ApiObject.of(svc.node.findChild('service')).addJsonPatch(
          JsonPatch.replace('/spec/ports/0/port', '8080'),
        );
      },
    });
    assert.throws(
      () => synthTarget({ app: broken, variant: 'dev', out }),
      (e: Error) =>
        e.message ===
        'Admission failed with the following errors:\n  [Service demo/api] spec.ports[0].port: a string where the schema wants an integer; write an integer',
    );
    assert.equal(existsSync(out), false);
    assert.deepEqual(readdirSync(join(out, '..')), [], 'no staging folder left behind');
    const app = new App();
    broken.build(app);
    assert.throws(() => renderFiles(app), AdmissionError);
  });
});

describe('admission pass: CEL', () => {
  const rules = new Set<string>();
  const collect = (s: unknown): void => {
    if (s === null || typeof s !== 'object') return;
    if (Array.isArray(s)) return s.forEach(collect);
    const o = s as Record<string, unknown>;
    for (const r of (o['x-kubernetes-validations'] as { rule: string }[] | undefined) ?? [])
      rules.add(r.rule);
    Object.values(o).forEach(collect);
  };
  for (const i of new Set(Object.values(CRD_KINDS))) collect(parseSchema(i));

  it('supports every function the pinned CRDs call', () => {
    assert.ok(rules.size > 100, `only ${rules.size} distinct rules`);
    const called = new Set<string>();
    const walk = (e: unknown): void => {
      if (e === null || typeof e !== 'object') return;
      const o = e as { exprKind?: { case?: string; value?: { function?: string } } };
      if (o.exprKind?.case === 'callExpr' && o.exprKind.value?.function)
        called.add(o.exprKind.value.function);
      if (o.exprKind?.case === 'comprehensionExpr') called.add('(macro)');
      for (const v of Object.values(e)) walk(v);
    };
    for (const r of rules) walk(parse(r).expr);
    // Operators (_+_, !_, @in, @not_strictly_false) are the evaluator's own.
    const missing = [...called].filter((f) => !/^[_!@(]/.test(f) && !SUPPORTED_FUNCTIONS.has(f));
    assert.deepEqual(missing, []);
    for (const f of ['isURL', 'url', 'getScheme', 'substring', 'split', 'matches', 'duration']) {
      assert.ok(called.has(f), `the pinned rules no longer call ${f}`);
    }
  });

  it('comes with every pinned rule parsed, as the parser parses it', () => {
    const pinned = [...rules].filter((r) => !/\boldSelf\b/.test(r)).sort();
    assert.deepEqual(Object.keys(CEL_PARSED).sort(), pinned);
    for (const r of pinned) {
      assert.equal(CEL_PARSED[r], Buffer.from(toBinary(ParsedExprSchema, parse(r))).toString('base64'), r);
    }
  });

  it("evaluates Kubernetes' URL library as the API server does", () => {
    const rule = { rule: 'isURL(self) && url(self).getScheme() in ["http", "https"]', message: 'bad' };
    assert.equal(evaluate(rule, 'https://auth.example.com/jwks', { type: 'string' }), undefined);
    assert.equal(evaluate(rule, 'ftp://auth.example.com/jwks', { type: 'string' }), 'bad');
    assert.equal(evaluate(rule, 'auth.example.com', { type: 'string' }), 'bad');
  });

  it('reports a rule that cannot be evaluated instead of passing it', () => {
    assert.equal(
      evaluate({ rule: 'self.port > 0' }, {}, { type: 'object' }),
      'rule could not be evaluated (field not found: port)',
    );
    assert.match(
      evaluate({ rule: 'self.isCIDR()' }, 'x', { type: 'string' }) ?? '',
      /^rule could not be evaluated \(/,
    );
  });

  it('tests a string against a literal directly with the result the CEL program gives', () => {
    const values = ['', '*', 'a*b', 'ab', 'b', 'ba', 'a/b', '\u{1F600}*'];
    for (const method of ['contains', 'startsWith', 'endsWith']) {
      for (const literal of ['"*"', "'b'", '""', '"a/"']) {
        for (const not of ['', '!']) {
          const direct = { rule: `${not}self.${method}(${literal})`, message: 'no' };
          // The same rule written so that only the program evaluates it.
          const planned = { rule: `${not}(self.${method}(${literal}) == true)`, message: 'no' };
          for (const v of values) {
            const s = { type: 'string' as const };
            assert.equal(evaluate(direct, v, s), evaluate(planned, v, s), `${direct.rule} on ${v}`);
          }
        }
      }
    }
    assert.match(
      evaluate({ rule: '!self.contains("*")' }, 42, { type: 'integer' }) ?? '',
      /^rule could not be evaluated \(/,
    );
  });

  it('evaluates the rules it can by itself exactly as the library does, and leaves it the rest', () => {
    // Every rule on every schema node that carries it, on values made from the node's schema.
    const nodes: [rule: CelRule, schema: Schema][] = [];
    const find = (s: Schema | undefined): void => {
      if (!s || typeof s !== 'object') return;
      for (const r of s['x-kubernetes-validations'] ?? [])
        if (!/\boldSelf\b/.test(r.rule)) nodes.push([r, s]);
      Object.values(s.properties ?? {}).forEach(find);
      find(s.items);
      if (typeof s.additionalProperties === 'object') find(s.additionalProperties);
    };
    for (const i of new Set(Object.values(CRD_KINDS))) find(parseSchema(i));
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
    const STRINGS = [
      '',
      'a',
      '*',
      '/',
      '//',
      '/a/../b',
      '/x',
      'a/b',
      '%2F',
      'Exact',
      'PathPrefix',
      'HTTP',
      'HTTPS',
      'TLS',
      'TCP',
      'UDP',
      'Terminate',
      'Passthrough',
      'Hostname',
      'Service',
      'core',
      'RegularExpression',
      'WAYPOINT',
      'foo.example.com',
      '*.example.com',
      'Foo.example.com',
      '\u{1F600}x',
      'a\nb',
      // Durations, URLs and names for the rules that read them.
      '0',
      '1ms',
      '0s',
      '0.5ms',
      '10s',
      '1.5h',
      '1h30m',
      '100us',
      '1\u00b5s',
      '999ns',
      '1000us',
      '1000000ns',
      '0.001s',
      '999999ns',
      '-1s',
      '+1s',
      '1.5',
      '1d',
      'http://a.example.com/x',
      'https://auth.example.com/jwks',
      'oci://registry/image:1',
      'ftp://a/b',
      'file:///p',
      '/abs/path',
      'example.com/path',
      'GET',
      'my_method',
      'pkg.Service',
    ];
    const make = (sch: Schema | undefined, depth: number): unknown => {
      if (!sch) return pick(STRINGS);
      if (sch.enum && random() < 0.8) return pick(sch.enum);
      if (sch['x-kubernetes-int-or-string']) return random() < 0.5 ? pick([0, 1, 80, 65535]) : pick(STRINGS);
      switch (sch.type) {
        case 'string':
          return pick(STRINGS);
        case 'integer':
          return pick([0, 1, 2, 80, 443, 65535, -1]);
        case 'number':
          return pick([0, 1.5, 100]);
        case 'boolean':
          return random() < 0.5;
        case 'array':
          return depth > 4
            ? []
            : Array.from({ length: Math.floor(random() * 4) }, () => make(sch.items, depth + 1));
        default: {
          if (depth > 4) return {};
          const o: Record<string, unknown> = {};
          for (const [k, sub] of Object.entries(sch.properties ?? {}))
            if (random() < 0.5) o[k] = make(sub, depth + 1);
          if (typeof sch.additionalProperties === 'object')
            for (let i = Math.floor(random() * 3); i > 0; i--)
              o[pick(STRINGS)] = make(sch.additionalProperties, depth + 1);
          return o;
        }
      }
    };
    celCrossCheck.enabled = true;
    celCrossCheck.native = 0;
    celCrossCheck.mismatches.length = 0;
    try {
      for (const [rule, sch] of nodes) for (let i = 0; i < 40; i++) evaluate(rule, make(sch, 0), sch);
      for (const sample of APPS.apps) {
        for (const variant of sample.variants) {
          const app = new App();
          sample.build(app, variant);
          renderObjects(app);
        }
      }
    } finally {
      celCrossCheck.enabled = false;
    }
    assert.deepEqual(celCrossCheck.mismatches.slice(0, 10), []);
    assert.ok(celCrossCheck.native > 1500, `only ${celCrossCheck.native} values evaluated natively`);
  });

  it('caches a has()-only rule on the fields present, not on their values', () => {
    const rule = { rule: '(has(self.a) ? 1 : 0) + (has(self.b) ? 1 : 0) <= 1', message: 'one of a and b' };
    const s = {
      type: 'object' as const,
      properties: { a: { type: 'string' as const }, b: { type: 'string' as const } },
    };
    assert.equal(evaluate(rule, { a: 'x' }, s), undefined);
    assert.equal(evaluate(rule, { a: 'y', b: 'z' }, s), 'one of a and b');
    assert.equal(evaluate(rule, { a: 'x', b: 'w' }, s), 'one of a and b');
  });
});

describe('admission pass: the fast path of built-in kinds', () => {
  /** The built-in objects of every sample app and variant and of a small bench app, two per kind. */
  function builtInSamples(): Record<string, unknown>[] {
    const objects: Record<string, unknown>[] = [];
    for (const sample of APPS.apps) {
      for (const variant of sample.variants) {
        const app = new App();
        sample.build(app, variant);
        objects.push(...renderObjects(app));
      }
    }
    const bench = new App();
    buildBenchApp(bench, 12, 5);
    objects.push(...renderObjects(bench));
    const perKind = new Map<string, number>();
    return objects.filter((o) => {
      const gvk = `${o.apiVersion}/${o.kind}`;
      if (!hasBuiltInSchema(gvk)) return false;
      perKind.set(gvk, (perKind.get(gvk) ?? 0) + 1);
      return perKind.get(gvk)! <= 2;
    });
  }

  /** Every place in a JSON value: the path to each property and item, the root aside. */
  function places(v: unknown, at: (string | number)[] = []): (string | number)[][] {
    if (v === null || typeof v !== 'object') return [];
    const keys: (string | number)[] = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
    return keys.flatMap((k) => [[...at, k], ...places((v as Record<string, unknown>)[k], [...at, k])]);
  }

  function withValue(obj: unknown, at: (string | number)[], value: unknown): Record<string, unknown> {
    const copy = structuredClone(obj) as Record<string, unknown>;
    let parent: Record<string | number, unknown> = copy;
    for (const k of at.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
    const last = at[at.length - 1];
    if (value === undefined && !Array.isArray(parent)) delete parent[last];
    else parent[last] = value;
    return copy;
  }

  const REPLACEMENTS: unknown[] = [
    undefined,
    null,
    [],
    [null],
    {},
    { unknownField: 1 },
    '',
    'x',
    '1e+21m',
    '500m',
    1.5,
    -1,
    0,
    2 ** 31,
    true,
  ];

  it("passes an object exactly when the field tree and kubernetes-models' validator find nothing", () => {
    const samples = builtInSamples();
    assert.ok(samples.length >= 14, `only ${samples.length} built-in samples`);
    let cases = 0;
    for (const sample of samples) {
      const gvk = `${sample.apiVersion}/${sample.kind}`;
      const slow = (o: Record<string, unknown>) => {
        const found: string[] = [];
        builtInProblems(gvk, o, (path, message) => found.push(`${formatPath(path)}: ${message}`));
        return found;
      };
      assert.equal(passesFast(gvk, sample), true, gvk);
      assert.deepEqual(slow(sample), [], gvk);
      for (const at of places(sample)) {
        for (const value of REPLACEMENTS) {
          // An undefined list item is not JSON; the fast path leaves it to the slow one.
          if (value === undefined && typeof at[at.length - 1] === 'number') continue;
          const broken = withValue(sample, at, value);
          const found = slow(broken);
          assert.equal(
            passesFast(gvk, broken),
            found.length === 0,
            `${gvk} ${at.join('.')} = ${JSON.stringify(value)}: ${found.join('; ') || 'no problem'}`,
          );
          cases++;
        }
      }
    }
    assert.ok(cases > 5000, `only ${cases} cases`);
  });
});

describe('Microservice: names and identities the API server would refuse', () => {
  it('refuses a name with a leading digit', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'shop');
    new Microservice(chart, '1abc', {
      namespace: new MeshNamespace(chart, 'shop', {}),
      image: 'a:1',
      versions: { v1: {} },
    });
    assert.deepEqual(synthErrors(chart), [
      '[shop/1abc] name: "1abc" starts with a digit, and Kubernetes Service names (DNS-1035 labels) must start with a letter; start it with a letter, e.g. "svc-1abc"',
    ]);
  });

  it('refuses "<name>-<version>" over 63 characters, and accepts 63', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'shop');
    const namespace = new MeshNamespace(chart, 'shop', {});
    new Microservice(chart, 'long', {
      namespace,
      name: 'a'.repeat(60),
      image: 'a:1',
      versions: { v1: {}, v10: {} },
    });
    assert.deepEqual(synthErrors(chart), [
      `[shop/long] versions.v10: the Deployment name "${'a'.repeat(60)}-v10" is 64 characters long, more than 63; shorten the service name or the version name`,
    ]);
  });

  it('emits a ServiceAccount shared by two services once', () => {
    const { app, chart, namespace } = shop({ serviceAccountName: 'catalog' });
    new Microservice(chart, 'reviews', {
      namespace,
      image: 'registry.example.com/reviews:1.0.0',
      versions: { v1: {} },
      serviceAccountName: 'catalog',
    });
    const objects = renderObjects(app);
    assert.deepEqual(
      objects.filter((o) => o.kind === 'ServiceAccount').map((o) => o.metadata.name),
      ['catalog'],
    );
    assert.deepEqual(
      objects
        .filter((o) => o.kind === 'Deployment')
        .map(
          (o) =>
            (o.spec as { template: { spec: { serviceAccountName: string } } }).template.spec
              .serviceAccountName,
        ),
      ['catalog', 'catalog'],
    );
  });

  it('refuses services sharing a ServiceAccount with different token mounts', () => {
    const { chart, namespace } = shop({ serviceAccountName: 'catalog' });
    new Microservice(chart, 'reviews', {
      namespace,
      image: 'registry.example.com/reviews:1.0.0',
      versions: { v1: {} },
      serviceAccountName: 'catalog',
      mountServiceAccountToken: true,
    });
    // A third sharer is compared with the first, which declares the account, not with the second.
    new Microservice(chart, 'details', {
      namespace,
      image: 'registry.example.com/details:1.0.0',
      versions: { v1: {} },
      serviceAccountName: 'catalog',
      mountServiceAccountToken: true,
    });
    assert.deepEqual(synthErrors(chart), [
      '[shop/reviews] mountServiceAccountToken: ServiceAccount "catalog" is shared with shop/ratings, which sets it to false; set the same mountServiceAccountToken on every service that shares a ServiceAccount',
      '[shop/details] mountServiceAccountToken: ServiceAccount "catalog" is shared with shop/ratings, which sets it to false; set the same mountServiceAccountToken on every service that shares a ServiceAccount',
    ]);
  });
});
