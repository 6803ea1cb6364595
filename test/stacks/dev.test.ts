/**
 * The dev stack (Pulumi.dev.yaml): a kind cluster, Istio's charts, the add-ons, images loaded into
 * kind, and the shop exactly as `npm run synth` renders it for dev.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as pulumi from '@pulumi/pulumi';
import { App } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { ShopChart } from '../../charts/shop.js';
import { renderFiles } from '../../tools/synth.js';
import {
  byType,
  installMocks,
  KIND_KUBECONFIG,
  one,
  type Registered,
  release,
  settle,
  stackConfigFile,
  valueOf,
} from './mocks.js';

import type * as ProgramModule from '../../stacks/index.js';
type Program = typeof ProgramModule;

/** The shop's services, as charts/shop.ts declares them. */
const SHOP_SERVICES = ['storefront', 'catalog', 'reviews', 'ratings'];

let registered: Registered[];
let program: Program;
let outputs: Record<string, unknown>;

before(async () => {
  registered = await installMocks('dev', stackConfigFile('dev'));
  program = await import('../../stacks/index.js');
  outputs = {
    ingressUrl: await valueOf(program.ingressUrl),
    ingressUrls: await valueOf(program.ingressUrls),
    images: await valueOf(program.images),
    addons: await valueOf(program.addons),
  };
  await settle();
});

const RELEASE = 'kubernetes:helm.sh/v3:Release';
const sortKey = (o: { apiVersion: string; kind: string; metadata: { namespace?: string; name: string } }) =>
  `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const sorted = <T extends Parameters<typeof sortKey>[0]>(objs: T[]) =>
  [...objs].sort((a, b) => sortKey(a).localeCompare(sortKey(b)));

describe('dev stack (kind)', () => {
  it('creates a kind cluster, Istio, the add-ons, four images and the shop — and nothing of the cloud', () => {
    const types = new Set(registered.map((r) => r.type));
    for (const t of [
      'meshkit:cluster:Kind',
      'command:local:Command',
      'pulumi:providers:kubernetes',
      'meshkit:mesh:Istio',
      'meshkit:observability:Addons',
      'meshkit:images:ServiceImages',
      'meshkit:app:MeshApp',
      'kubernetes:core/v1:Namespace',
      RELEASE,
      'kubernetes:yaml/v2:ConfigFile',
      'kubernetes:yaml/v2:ConfigGroup',
      'docker:index/image:Image',
    ])
      assert.ok(types.has(t), `missing ${t}`);
    for (const t of [
      'meshkit:cluster:Eks',
      'eks:index:Cluster',
      'aws:ecr/repository:Repository',
      'kubernetes:core/v1:Service',
      // dev serves plain HTTP: no certificate Secret.
      'kubernetes:core/v1:Secret',
    ])
      assert.ok(!types.has(t), `unexpected ${t}`);
    assert.deepEqual(
      byType(registered, RELEASE)
        .map((r) => r.inputs.name)
        .sort(),
      [
        'istio-base',
        'istio-ingressgateway',
        'istiod',
        'jaeger',
        'kiali',
        'metrics-server',
        'opentelemetry-collector',
        'prometheus',
      ],
    );
    assert.equal(byType(registered, 'docker:index/image:Image').length, SHOP_SERVICES.length);
  });

  it('creates the cluster with kind from a generated config: pinned node image, gateway NodePorts on host ports', () => {
    const create = one(registered, 'command:local:Command', 'meshkit-create').inputs;
    assert.match(
      create.create,
      /^kind create cluster --name 'meshkit' --config=- --wait 5m >&2 && kind get kubeconfig --name 'meshkit'$/,
    );
    assert.equal(create.delete, "kind delete cluster --name 'meshkit'");
    const config = parseAllDocuments(create.stdin)[0].toJS();
    assert.equal(config.apiVersion, 'kind.x-k8s.io/v1alpha4');
    assert.equal(config.nodes.length, 1);
    assert.equal(
      config.nodes[0].image,
      'kindest/node:v1.35.0@sha256:452d707d4862f52530247495d180205e029056831160e22870e37e3f6c1ac31f',
    );
    assert.match(config.nodes[0].image, /^kindest\/node:v1\.\d+\.\d+@sha256:[0-9a-f]{64}$/);
    assert.deepEqual(config.nodes[0].extraPortMappings, [
      { containerPort: 30080, hostPort: 8080, listenAddress: '127.0.0.1', protocol: 'TCP' },
      { containerPort: 30443, hostPort: 8443, listenAddress: '127.0.0.1', protocol: 'TCP' },
    ]);
    // The gateway Service exposes exactly the NodePorts kind maps.
    const gw = release(registered, 'istio-ingressgateway').inputs.values.service;
    assert.equal(gw.type, 'NodePort');
    const nodePorts = Object.fromEntries(
      gw.ports
        .filter((p: { nodePort?: number }) => p.nodePort)
        .map((p: { name: string; nodePort: number }) => [p.name, p.nodePort]),
    );
    assert.deepEqual(nodePorts, {
      http2: config.nodes[0].extraPortMappings[0].containerPort,
      https: config.nodes[0].extraPortMappings[1].containerPort,
    });
  });

  it("installs Istio's own charts, pinned, in istio-system, with the gateway named for the constructs", () => {
    for (const [releaseName, chart] of [
      ['istio-base', 'base'],
      ['istiod', 'istiod'],
      ['istio-ingressgateway', 'gateway'],
    ]) {
      const r = release(registered, releaseName).inputs;
      assert.equal(r.chart, chart);
      assert.equal(r.version, '1.30.3');
      assert.equal(r.repositoryOpts.repo, 'https://istio-release.storage.googleapis.com/charts');
      assert.equal(r.namespace, 'istio-system');
      assert.notEqual(r.skipAwait, true);
    }
    const base = release(registered, 'istio-base').inputs.values;
    assert.equal(base.defaultRevision, 'default');
    assert.equal(base.base.validationFailurePolicy, 'Fail');
    const istiod = release(registered, 'istiod').inputs.values;
    assert.equal(istiod.base.validationFailurePolicy, 'Fail');
    assert.equal(istiod.profile, undefined);
    assert.equal(istiod.meshConfig.accessLogFile, '/dev/stdout');
    assert.deepEqual(istiod.meshConfig.extensionProviders, [
      {
        name: 'otel-tracing',
        opentelemetry: {
          service: 'opentelemetry-collector.observability.svc.cluster.local',
          port: 4317,
          resource_detectors: { environment: {} },
        },
      },
    ]);
    // Every proxy without a Telemetry of its own (the gateway) traces through otel-tracing, at dev's 100 %.
    assert.equal(istiod.meshConfig.enableTracing, true);
    assert.deepEqual(istiod.meshConfig.defaultProviders, { tracing: ['otel-tracing'] });
    assert.deepEqual(istiod.meshConfig.defaultConfig, { tracing: { sampling: 100 } });
    assert.equal(
      one(registered, 'kubernetes:yaml/v2:ConfigFile', 'istio-gateway-api-crds').inputs.file,
      'https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.5.1/standard-install.yaml',
    );
  });

  it('installs the add-ons from their pinned upstream charts, the collector where "otel-tracing" points', () => {
    const expect = [
      [
        'prometheus',
        'prometheus',
        '27.20.0',
        'https://prometheus-community.github.io/helm-charts',
        'observability',
      ],
      ['jaeger', 'jaeger', '4.0.1', 'https://jaegertracing.github.io/helm-charts', 'observability'],
      [
        'opentelemetry-collector',
        'opentelemetry-collector',
        '0.170.0',
        'https://open-telemetry.github.io/opentelemetry-helm-charts',
        'observability',
      ],
      ['kiali', 'kiali-server', '2.27.0', 'https://kiali.org/helm-charts', 'istio-system'],
    ] as const;
    for (const [name, ...want] of expect) {
      const r = release(registered, name).inputs;
      assert.deepEqual([r.chart, r.version, r.repositoryOpts.repo, r.namespace], want);
    }
    const collector = release(registered, 'opentelemetry-collector').inputs.values;
    assert.equal(collector.fullnameOverride, 'opentelemetry-collector');
    assert.equal(collector.mode, 'deployment');
    assert.deepEqual(collector.service ?? {}, {});
    assert.deepEqual(collector.config.service.pipelines.traces.exporters, ['otlp_grpc/jaeger']);
    // Jaeger chart 4.0.x: OTLP/gRPC on jaeger-collector:4317, query gRPC on jaeger-query:16685, UI on 16686.
    assert.equal(
      collector.config.exporters['otlp_grpc/jaeger'].endpoint,
      'jaeger-collector.observability.svc.cluster.local:4317',
    );
    const kiali = release(registered, 'kiali').inputs.values;
    assert.equal(
      kiali.external_services.prometheus.url,
      'http://prometheus.observability.svc.cluster.local:9090',
    );
    assert.equal(kiali.external_services.tracing.enabled, true);
    assert.equal(
      kiali.external_services.tracing.internal_url,
      'http://jaeger-query.observability.svc.cluster.local:16685',
    );
    const jaeger = (outputs.addons as Record<string, { service: string; url: string; portForward: string }>)
      .jaeger;
    assert.deepEqual(jaeger, {
      service: 'http://jaeger-query.observability.svc.cluster.local:16686',
      url: 'http://localhost:16686',
      portForward: 'kubectl -n observability port-forward svc/jaeger-query 16686:16686',
    });
    assert.deepEqual(Object.keys(outputs.addons as object).sort(), ['jaeger', 'kiali', 'prometheus']);
  });

  it('orders everything: kind → base → CRDs → istiod → gateway → add-ons → namespaces → the shop', () => {
    const urnOf = (r: Registered) => r.urn;
    const deps = (r: Registered) => new Set(r.dependencies);
    const create = one(registered, 'command:local:Command', 'meshkit-create');
    const ns = one(registered, 'kubernetes:core/v1:Namespace', 'istio-namespace');
    const base = release(registered, 'istio-base');
    const istiod = release(registered, 'istiod');
    const gateway = release(registered, 'istio-ingressgateway');
    const crds = one(registered, 'kubernetes:yaml/v2:ConfigFile', 'istio-gateway-api-crds');
    assert.ok(deps(ns).has(urnOf(create)), 'istio-system namespace after kind create');
    assert.ok(deps(crds).has(urnOf(create)), 'Gateway API CRDs after kind create');
    assert.ok(deps(base).has(urnOf(ns)), 'base after the namespace');
    assert.ok(deps(istiod).has(urnOf(base)), 'istiod after base');
    assert.ok(deps(istiod).has(urnOf(crds)), 'istiod after the Gateway API CRDs');
    assert.ok(deps(gateway).has(urnOf(istiod)), 'gateway after istiod');
    const metricsServer = release(registered, 'metrics-server');
    assert.ok(deps(metricsServer).has(urnOf(create)), 'metrics-server after kind create');
    assert.ok(deps(ns).has(urnOf(metricsServer)), "Istio after metrics-server (the gateway's HPA)");
    assert.deepEqual(
      [metricsServer.inputs.chart, metricsServer.inputs.version, metricsServer.inputs.namespace],
      ['metrics-server', '3.13.1', 'kube-system'],
    );
    // kind's kubelets serve certificates metrics-server cannot verify.
    assert.deepEqual(metricsServer.inputs.values, { args: ['--kubelet-insecure-tls'] });
    const obsNs = one(registered, 'kubernetes:core/v1:Namespace', 'observability-namespace');
    for (const r of [base, istiod, gateway])
      assert.ok(deps(obsNs).has(urnOf(r)), `add-ons after ${r.inputs.name}`);
    assert.ok(deps(release(registered, 'opentelemetry-collector')).has(urnOf(release(registered, 'jaeger'))));
    assert.ok(deps(release(registered, 'kiali')).has(urnOf(release(registered, 'prometheus'))));
    const shopNs = one(registered, 'kubernetes:yaml/v2:ConfigGroup', 'shop-namespaces');
    const shop = one(registered, 'kubernetes:yaml/v2:ConfigGroup', 'shop-resources');
    const loads = byType(registered, 'command:local:Command').filter((r) => r.name.endsWith('-load'));
    assert.equal(loads.length, SHOP_SERVICES.length);
    for (const r of [...byType(registered, RELEASE), ...loads])
      assert.ok(deps(shopNs).has(urnOf(r)), `shop namespace after ${r.type} ${r.name}`);
    assert.ok(deps(shop).has(urnOf(shopNs)), 'shop objects after their namespace');
    // Images are loaded into kind after the cluster exists and whenever the image changes.
    for (const service of SHOP_SERVICES) {
      const load = one(registered, 'command:local:Command', `images-shop-${service}-load`);
      assert.ok(deps(load).has(urnOf(create)));
      assert.ok(deps(load).has(urnOf(one(registered, 'docker:index/image:Image', `images-shop-${service}`))));
    }
  });

  it('builds each service from services/<name>/Dockerfile, tags it by content and loads it into kind', () => {
    const all = outputs.images as Record<string, Record<string, string>>;
    assert.deepEqual(Object.keys(all), ['shop']);
    const images = all.shop;
    assert.deepEqual(Object.keys(images).sort(), [...SHOP_SERVICES].sort());
    for (const service of SHOP_SERVICES) {
      const image = one(registered, 'docker:index/image:Image', `images-shop-${service}`).inputs;
      assert.equal(image.build.context, 'services');
      assert.equal(image.build.dockerfile, `services/${service}/Dockerfile`);
      assert.equal(image.skipPush, true);
      assert.match(image.imageName, new RegExp(`^localhost:5001/shop-${service}:[0-9a-f]{12}$`));
      assert.equal(images[service], image.imageName);
      const load = one(registered, 'command:local:Command', `images-shop-${service}-load`).inputs;
      assert.equal(load.create, `kind load docker-image ${image.imageName} --name 'meshkit'`);
      assert.match(load.triggers[0], /^sha256:[0-9a-f]{64}$/);
      // A replaced kind cluster (any kind config change) gets a new create command ID, and with it
      // every image is loaded into the new node again.
      assert.equal(load.triggers.length, 2);
      assert.equal(load.triggers[1], one(registered, 'command:local:Command', 'meshkit-create').id);
    }
  });

  it('gives ConfigGroup exactly the objects `npm run synth` renders for dev with these images', async () => {
    const images = (outputs.images as Record<string, Record<string, string>>).shop;
    const app = new App();
    new ShopChart(app, 'shop', { environment: 'dev', images });
    const expected = [...renderFiles(app).values()].flatMap((yaml) =>
      parseAllDocuments(yaml).map((d) => d.toJS()),
    );
    const namespaces = one(registered, 'kubernetes:yaml/v2:ConfigGroup', 'shop-namespaces').inputs.objs;
    const rest = one(registered, 'kubernetes:yaml/v2:ConfigGroup', 'shop-resources').inputs.objs;
    assert.deepEqual(
      namespaces.map((o: { kind: string }) => o.kind),
      ['Namespace'],
    );
    assert.ok(!rest.some((o: { kind: string }) => o.kind === 'Namespace'));
    assert.deepEqual(sorted([...namespaces, ...rest]), sorted(expected));
    const deployment = rest.find(
      (o: { kind: string; metadata: { name: string } }) =>
        o.kind === 'Deployment' && o.metadata.name === 'reviews-v2',
    );
    assert.equal(deployment.spec.template.spec.containers[0].image, images.reviews);
  });

  it('keeps the kubeconfig secret and reports where the shop answers', async () => {
    assert.equal(await pulumi.isSecret(program.kubeconfig), true);
    assert.equal(await valueOf(program.kubeconfig), KIND_KUBECONFIG);
    const create = one(registered, 'command:local:Command', 'meshkit-create');
    assert.ok(create.inputs.create.includes('kind get kubeconfig'));
    assert.equal(outputs.ingressUrl, 'http://shop.localhost:8080/');
    assert.deepEqual(outputs.ingressUrls, { shop: 'http://shop.localhost:8080/' });
    assert.deepEqual(program.apps, {
      shop: { variant: 'dev', namespaces: ['shop'], hosts: ['shop.localhost'] },
    });
    assert.equal(program.ingressAddress, undefined);
  });
});
