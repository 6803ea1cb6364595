import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Testing } from 'cdk8s';
import {
  DataPlane,
  GatewayApiIngress,
  MeshNamespace,
  Microservice,
  ServicePort,
  StringMatch,
} from '../constructs/index.js';
import { all, find, synth, synthErrors } from './support/synth.js';

/** The same small app in a namespace of the given data plane. */
function app(dataPlane: DataPlane) {
  const chart = Testing.chart();
  const ns = new MeshNamespace(chart, 'shop', { dataPlane });
  const mk = (name: string) =>
    new Microservice(chart, name, {
      namespace: ns,
      image: `${name}:1`,
      ports: [ServicePort.http(8080)],
      versions: { v1: {}, v2: {} },
    });
  const front = mk('front');
  const back = mk('back');
  front.calls(back, { methods: ['GET'] });
  back.addRoute({ match: [{ headers: { 'x-canary': StringMatch.exact('1') } }], to: back.version('v2') });
  back.addRoute({ to: back.version('v1') });
  return chart;
}

describe('Ambient data plane', () => {
  it('deploys a waypoint, enrolls services and attaches L7 policy by targetRefs', () => {
    const objs = synth(app(DataPlane.ambient({ waypoint: true })));
    assert.deepEqual(find(objs, 'Namespace', 'shop').metadata.labels, {
      'istio.io/dataplane-mode': 'ambient',
    });
    const waypoint = find(objs, 'Gateway', 'waypoint');
    assert.equal(waypoint.apiVersion, 'gateway.networking.k8s.io/v1');
    assert.deepEqual(waypoint.metadata.labels, { 'istio.io/waypoint-for': 'service' });
    assert.deepEqual(waypoint.spec, {
      gatewayClassName: 'istio-waypoint',
      listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }],
    });
    assert.equal(find(objs, 'Service', 'back').metadata.labels?.['istio.io/use-waypoint'], 'waypoint');
    assert.equal(find(objs, 'Service', 'back').metadata.labels?.['istio.io/ingress-use-waypoint'], 'true');
    const l7 = find(objs, 'AuthorizationPolicy', 'back-allow-callers');
    assert.deepEqual(l7.spec.targetRefs, [{ kind: 'Service', group: '', name: 'back' }]);
    assert.equal(l7.spec.selector, undefined);
    assert.deepEqual(l7.spec.rules[0].to, [{ operation: { methods: ['GET'] } }]);
    // ztunnel on the callee sees the waypoint's identity.
    const l4 = find(objs, 'AuthorizationPolicy', 'back-allow-waypoint');
    assert.deepEqual(l4.spec, {
      selector: { matchLabels: { app: 'back' } },
      action: 'ALLOW',
      rules: [{ from: [{ source: { principals: ['cluster.local/ns/shop/sa/waypoint'] } }] }],
    });
    // No sidecars: no Sidecar resources, no proxy annotations, no DestinationRule TLS.
    assert.equal(all(objs, 'Sidecar').length, 0);
    assert.equal(find(objs, 'Deployment', 'back-v1').spec.template.metadata.annotations, undefined);
    assert.equal(find(objs, 'DestinationRule', 'back').spec.trafficPolicy, undefined);
    assert.equal(find(objs, 'VirtualService', 'back').spec.http.length, 2);
  });

  it('synthesizes the same app in sidecar mode with selectors and Sidecars', () => {
    const objs = synth(app(DataPlane.sidecar()));
    assert.equal(all(objs, 'Gateway').length, 0);
    assert.deepEqual(find(objs, 'AuthorizationPolicy', 'back-allow-callers').spec.selector, {
      matchLabels: { app: 'back' },
    });
    assert.equal(all(objs, 'Sidecar').length, 2);
    assert.equal(find(objs, 'VirtualService', 'back').spec.http.length, 2);
  });

  it('refuses L7 features in ambient mode without a waypoint, naming each', () => {
    assert.deepEqual(synthErrors(app(DataPlane.ambient())), [
      '[test/back] routes: routing needs a waypoint proxy in ambient namespace "shop"; use DataPlane.ambient({ waypoint: true }) for the namespace',
      '[test/back] callers[0] (front): authorization by method or path needs a waypoint proxy in ambient namespace "shop"; use DataPlane.ambient({ waypoint: true }) for the namespace',
    ]);
  });

  it('enforces plain caller rules in ztunnel by selector when there is no waypoint', () => {
    const chart = Testing.chart();
    const ns = new MeshNamespace(chart, 'shop', { dataPlane: DataPlane.ambient() });
    const mk = (name: string) =>
      new Microservice(chart, name, {
        namespace: ns,
        image: `${name}:1`,
        ports: [ServicePort.http(8080)],
        versions: { v1: {} },
      });
    mk('front').calls(mk('back'));
    const policy = find(synth(chart), 'AuthorizationPolicy', 'back-allow-callers');
    // ztunnel honours selectors only; a Service targetRef would bind to a waypoint that does not exist.
    assert.deepEqual(policy.spec.selector, { matchLabels: { app: 'back' } });
    assert.equal(policy.spec.targetRefs, undefined);
  });

  it('sends per-version Services through the waypoint and covers them with the L7 policy', () => {
    const chart = Testing.chart();
    const ns = new MeshNamespace(chart, 'shop', { dataPlane: DataPlane.ambient({ waypoint: true }) });
    const back = new Microservice(chart, 'back', {
      namespace: ns,
      image: 'back:1',
      ports: [ServicePort.http(8080)],
      versions: { v1: {}, v2: {} },
    });
    new GatewayApiIngress(chart, 'edge', { namespace: ns, hosts: ['shop.example.com'] }).addRoute({
      to: [
        { version: back.version('v1'), weight: 90 },
        { version: back.version('v2'), weight: 10 },
      ],
    });
    const objs = synth(chart);
    for (const v of ['v1', 'v2']) {
      const labels = find(objs, 'Service', `back-${v}`).metadata.labels ?? {};
      assert.equal(labels['istio.io/use-waypoint'], 'waypoint');
      assert.equal(labels['istio.io/ingress-use-waypoint'], 'true');
    }
    assert.deepEqual(find(objs, 'AuthorizationPolicy', 'back-allow-callers').spec.targetRefs, [
      { kind: 'Service', group: '', name: 'back' },
      { kind: 'Service', group: '', name: 'back-v1' },
      { kind: 'Service', group: '', name: 'back-v2' },
    ]);
  });
  it('lets a sidecar caller reach an ambient callee through its waypoint', () => {
    const chart = Testing.chart();
    const front = new MeshNamespace(chart, 'front', { dataPlane: DataPlane.sidecar() });
    const back = new MeshNamespace(chart, 'back', { dataPlane: DataPlane.ambient({ waypoint: true }) });
    const plain = new MeshNamespace(chart, 'plain', { dataPlane: DataPlane.ambient() });
    const mk = (namespace: MeshNamespace, name: string) =>
      new Microservice(chart, name, { namespace, image: `${name}:1`, versions: { v1: {} } });
    const web = mk(front, 'web');
    web.calls(mk(back, 'api'), { methods: ['GET'] }).calls(mk(plain, 'store'));
    const objs = synth(chart);
    // The waypoint's Service is where the sidecar sends traffic for api; store has no waypoint.
    assert.deepEqual(find(objs, 'Sidecar', 'web').spec.egress, [
      {
        hosts: [
          'back/api.back.svc.cluster.local',
          'back/waypoint.back.svc.cluster.local',
          'plain/store.plain.svc.cluster.local',
          'istio-system/*',
        ],
      },
    ]);
  });
});

describe('labels (found untested by the mutation run over microservice.ts)', () => {
  it("carries the service's app label on every object it emits, in both data planes", () => {
    for (const plane of [DataPlane.sidecar(), DataPlane.ambient({ waypoint: true })]) {
      const objs = synth(app(plane));
      const mine = objs.filter((o) => /^back(-|$)/.test(o.metadata.name));
      assert.ok(mine.length >= 6, `only ${mine.length} objects`);
      for (const o of mine)
        assert.equal(
          o.metadata.labels?.app,
          'back',
          `${o.kind} ${o.metadata.name}: ${JSON.stringify(o.metadata.labels)}`,
        );
    }
  });
});
