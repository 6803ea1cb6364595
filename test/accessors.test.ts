import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ApiObject, type App, Chart, JsonPatch, Testing } from 'cdk8s';
import {
  DataPlane,
  Duration,
  MeshNamespace,
  Microservice,
  renderObjects,
  StringMatch,
} from '../constructs/index.js';
import { admissionProblems, type Manifest } from './support/synth.js';

/**
 * web → api (v1, v2) in namespace "shop": api autoscaled, with a disruption budget, a JWT rule and
 * routes; web with fixed replicas; "worker" shares api's ServiceAccount.
 */
function shop(dataPlane: DataPlane = DataPlane.sidecar()) {
  const app = Testing.app();
  const chart = new Chart(app, 'shop');
  const namespace = new MeshNamespace(chart, 'namespace', { name: 'shop', dataPlane });
  const api = new Microservice(chart, 'api', {
    namespace,
    image: 'registry.example.com/api:1.0.0',
    versions: { v1: {}, v2: {} },
    autoscaling: { minReplicas: 2, maxReplicas: 4 },
    disruptionBudget: { minAvailable: 1 },
  });
  const web = new Microservice(chart, 'web', {
    namespace,
    image: 'registry.example.com/web:1.0.0',
    versions: { v1: {} },
    replicas: 2,
  });
  const worker = new Microservice(chart, 'worker', {
    namespace,
    image: 'registry.example.com/worker:1.0.0',
    versions: { v1: {} },
    serviceAccountName: 'api',
  });
  web.calls(api, { methods: ['GET'] });
  api.requireJwt({
    issuer: 'https://issuer.example.com',
    jwksUri: 'https://issuer.example.com/jwks.json',
    paths: ['/admin'],
  });
  return { app, chart, namespace, api, web, worker };
}

/** The rendered object of the same kind, namespace and name as `o`; fails unless there is exactly one. */
function rendered(objects: readonly Manifest[], o: ApiObject): Manifest {
  const found = objects.filter(
    (m) =>
      m.apiVersion === o.apiVersion &&
      m.kind === o.kind &&
      m.metadata.namespace === o.metadata.namespace &&
      m.metadata.name === o.name,
  );
  assert.equal(found.length, 1, `one ${o.kind} ${o.metadata.namespace}/${o.name} is synthesized`);
  return found[0]!;
}

/** The objects synth would write (validated and admitted). */
const render = (app: App) => renderObjects(app) as Manifest[];

describe('Microservice accessors', () => {
  it('return the objects that are synthesized, by kind and name', () => {
    const { app, api, web } = shop();
    api.addRoute({ to: api.version('v1'), timeout: Duration.seconds(2) });
    const objects = render(app);
    const expected: [ApiObject | undefined, string, string][] = [
      [api.service, 'Service', 'api'],
      [api.serviceAccount, 'ServiceAccount', 'api'],
      [api.destinationRule, 'DestinationRule', 'api'],
      [api.sidecar, 'Sidecar', 'api'],
      [api.disruptionBudget, 'PodDisruptionBudget', 'api'],
      [api.deployment('v1'), 'Deployment', 'api-v1'],
      [api.deployment('v2'), 'Deployment', 'api-v2'],
      [api.autoscaler('v1'), 'HorizontalPodAutoscaler', 'api-v1'],
      [api.autoscaler('v2'), 'HorizontalPodAutoscaler', 'api-v2'],
      [api.virtualService, 'VirtualService', 'api'],
      [api.allowCallersPolicy, 'AuthorizationPolicy', 'api-allow-callers'],
      [api.jwtPolicies[0]?.requestAuthentication, 'RequestAuthentication', 'api-jwt'],
      [api.jwtPolicies[0]?.requireJwt, 'AuthorizationPolicy', 'api-require-jwt'],
      [web.deployment('v1'), 'Deployment', 'web-v1'],
    ];
    for (const [object, kind, name] of expected) {
      assert.ok(object, `${kind} ${name} has an accessor`);
      assert.equal(object.kind, kind);
      assert.equal(object.name, name);
      // The very object: what it renders is what synth writes.
      assert.deepEqual(object.toJson(), rendered(objects, object));
    }
    assert.equal(api.jwtPolicies.length, 1);
  });

  it('are undefined for what the service does not have, and say so for unknown versions', () => {
    const { api, web, worker } = shop();
    assert.equal(web.autoscaler('v1'), undefined, 'fixed replicas: no autoscaler');
    assert.equal(web.disruptionBudget, undefined);
    assert.equal(web.virtualService, undefined, 'no route yet');
    assert.equal(web.allowCallersPolicy, undefined, 'nothing calls web');
    assert.equal(web.allowWaypointPolicy, undefined);
    assert.deepEqual(web.jwtPolicies, []);
    assert.equal(api.versionServiceObject('v2'), undefined, 'no per-version Service until asked for');
    // worker shares api's ServiceAccount, which api (declared first) owns.
    assert.equal(worker.serviceAccount, undefined);
    assert.equal(api.serviceAccount?.name, 'api');
    // For callers without the version union (plain JavaScript, a string from config).
    assert.throws(
      () => api.deployment('v3' as 'v1'),
      new Error('shop/api: deployment("v3"): no such version; use one of v1, v2'),
    );
    assert.throws(
      () => web.autoscaler('v2' as 'v1'),
      new Error('shop/web: autoscaler("v2"): no such version; use one of v1'),
    );
  });

  it('give the VirtualService from the first route on, with later routes still rendered', () => {
    const { app, api } = shop();
    api.addRoute({ name: 'canary', match: [{ uri: StringMatch.prefix('/beta') }], to: api.version('v2') });
    const vs = api.virtualService;
    assert.ok(vs);
    vs.addJsonPatch(JsonPatch.add('/spec/exportTo', ['.']));
    api.addRoute({ to: api.version('v1') });
    assert.equal(api.virtualService, vs, 'one VirtualService per service');
    const out = rendered(render(app), vs);
    assert.deepEqual(out.spec.exportTo, ['.']);
    assert.deepEqual(
      (out.spec.http as { name?: string }[]).map((r) => r.name),
      ['canary', undefined],
    );
  });

  it('give the per-version Service once versionService has created it', () => {
    const { app, api } = shop();
    assert.equal(api.versionService('v2'), 'api-v2');
    const svc = api.versionServiceObject('v2');
    assert.ok(svc);
    assert.equal(svc.name, 'api-v2');
    assert.deepEqual(rendered(render(app), svc).spec.selector, { app: 'api', version: 'v2' });
  });

  it('give the waypoint policy in ambient mode with a waypoint, and no Sidecar', () => {
    // web.calls(api) made api's allow policies.
    const { app, api } = shop(DataPlane.ambient({ waypoint: true }));
    assert.equal(api.sidecar, undefined);
    const policy = api.allowWaypointPolicy;
    assert.ok(policy);
    assert.equal(policy.name, 'api-allow-waypoint');
    const objects = render(app);
    assert.deepEqual(policy.toJson(), rendered(objects, policy));
    assert.ok(!objects.some((o) => o.kind === 'Sidecar'));
  });

  it('carry a JSON patch into the rendered objects, through the admission pass', () => {
    const { app, api, web } = shop();
    web
      .deployment('v1')
      .addJsonPatch(JsonPatch.add('/spec/template/metadata/annotations/prometheus.io~1scrape', 'true'));
    api.destinationRule.addJsonPatch(
      JsonPatch.add('/spec/trafficPolicy/connectionPool', { tcp: { maxConnections: 50 } }),
    );
    api.service.metadata.addAnnotation('example.com/owner', 'team-api');
    const objects = render(app);
    assert.equal(
      rendered(objects, web.deployment('v1')).spec.template.metadata.annotations['prometheus.io/scrape'],
      'true',
    );
    assert.deepEqual(rendered(objects, api.destinationRule).spec.trafficPolicy.connectionPool, {
      tcp: { maxConnections: 50 },
    });
    assert.equal(rendered(objects, api.service).metadata.annotations?.['example.com/owner'], 'team-api');
  });

  it('refuse a patch that breaks a rule, with the admission message', () => {
    const { app, api, web } = shop();
    api.addRoute({ to: api.version('v1') });
    web.deployment('v1').addJsonPatch(JsonPatch.replace('/spec/replicas', 'two'));
    api.service.metadata.addLabel('team', 'api team');
    api.virtualService!.addJsonPatch(JsonPatch.add('/spec/http/0/timeout', '2 seconds'));
    assert.deepEqual(admissionProblems(app), [
      '[Service shop/api] metadata.labels["team"]: the value "api team" is not a valid label value; use at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit (or nothing)',
      "[VirtualService shop/api] spec.http[0].timeout: rule could not be evaluated (Failed to parse duration: invalid syntax) (CEL rule: duration(self) >= duration('1ms')); change the value so that the rule holds",
      '[Deployment shop/web-v1] spec.replicas: a string where the schema wants an integer; write an integer',
    ]);
  });

  it('refuse a misspelled field patched into an Istio object, which cdk8s alone would drop', () => {
    // cdk8s's generated Istio classes map the patched JSON through their typed props, which keep
    // only the fields they know: "maxConnection" (for maxConnections) would vanish from the output.
    const { app, api } = shop();
    api.destinationRule.addJsonPatch(
      JsonPatch.add('/spec/trafficPolicy/connectionPool', { tcp: { maxConnection: 50 } }),
    );
    assert.deepEqual(admissionProblems(app), [
      '[DestinationRule shop/api] spec.trafficPolicy.connectionPool.tcp.maxConnection: is not a field of this schema; remove it, or check its spelling and nesting',
    ]);
  });

  it('keep a correctly spelled patch on an Istio object exactly as cdk8s renders it', () => {
    const { app, api } = shop();
    api.destinationRule.addJsonPatch(
      JsonPatch.add('/spec/trafficPolicy/connectionPool', { tcp: { maxConnections: 50 } }),
    );
    const json = rendered(render(app), api.destinationRule);
    assert.deepEqual(json.spec.trafficPolicy.connectionPool, { tcp: { maxConnections: 50 } });
    assert.equal(JSON.stringify(json), JSON.stringify(api.destinationRule.toJson()));
  });
});
