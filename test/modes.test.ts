import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Testing } from 'cdk8s';
import {
  DataPlane,
  GatewayApiIngress,
  GlobalRateLimitService,
  MeshNamespace,
  Microservice,
  MtlsMode,
  RateLimitAction,
  RateLimitUnit,
  ServicePort,
  StringMatch,
} from '../constructs/index.js';
import { all, find, type Manifest, synth, synthErrors } from './support/synth.js';

// Every output that depends on the namespace's data plane or mTLS mode, once per mode, with the
// values written out: a mode that renders another mode's output fails here.

/** front → back in namespace "shop"; back gets routes and a JWT rule when the mode has an L7 proxy. */
function app(dataPlane: DataPlane, mtls: MtlsMode = MtlsMode.STRICT, l7 = true) {
  const chart = Testing.chart();
  const ns = new MeshNamespace(chart, 'shop', { dataPlane, mtls });
  const mk = (name: string) =>
    new Microservice(chart, name, {
      namespace: ns,
      image: `${name}:1`,
      ports: [ServicePort.http(8080)],
      versions: { v1: {}, v2: {} },
    });
  const front = mk('front');
  const back = mk('back');
  if (mtls !== MtlsMode.DISABLE) front.calls(back);
  if (l7) {
    back.addRoute({ match: [{ headers: { 'x-canary': StringMatch.exact('1') } }], to: back.version('v2') });
    back.addRoute({ to: back.version('v1') });
    back.requireJwt({ issuer: 'https://issuer', jwksUri: 'https://issuer/jwks', paths: ['/admin'] });
  }
  return chart;
}

const names = (objs: readonly Manifest[], kind: string) => all(objs, kind).map((o) => o.metadata.name);
const HOLD = { 'proxy.istio.io/config': '{"holdApplicationUntilProxyStarts":true}' };
const SELECTOR = { selector: { matchLabels: { app: 'back' } } };
const TARGET_REFS = { targetRefs: [{ kind: 'Service', group: '', name: 'back' }] };
const FRONT_ALLOWED = [{ from: [{ source: { principals: ['cluster.local/ns/shop/sa/front'] } }] }];

interface ModeExpectation {
  readonly dataPlane: () => DataPlane;
  /** Whether routes and JWT are allowed (a sidecar or a waypoint). */
  readonly l7: boolean;
  readonly namespaceLabels: Record<string, string>;
  readonly waypoints: string[];
  readonly sidecars: string[];
  readonly podAnnotations: Record<string, string> | undefined;
  readonly serviceLabels: Record<string, string>;
  /** Where the caller policy, the RequestAuthentication and the JWT DENY policy attach. */
  readonly policyTarget: Record<string, unknown>;
  readonly allowWaypoint: boolean;
}

const SIDECAR_MODE = {
  l7: true,
  waypoints: [],
  sidecars: ['front', 'back'],
  podAnnotations: HOLD,
  serviceLabels: { app: 'back', service: 'back' },
  policyTarget: SELECTOR,
  allowWaypoint: false,
};

const MODES: Record<string, ModeExpectation> = {
  'sidecar injection': {
    ...SIDECAR_MODE,
    dataPlane: () => DataPlane.sidecar(),
    namespaceLabels: { 'istio-injection': 'enabled' },
  },
  'a control plane revision': {
    ...SIDECAR_MODE,
    dataPlane: () => DataPlane.revision('1-30-3'),
    namespaceLabels: { 'istio.io/rev': '1-30-3' },
  },
  'ambient without a waypoint': {
    dataPlane: () => DataPlane.ambient(),
    l7: false,
    namespaceLabels: { 'istio.io/dataplane-mode': 'ambient' },
    waypoints: [],
    sidecars: [],
    podAnnotations: undefined,
    serviceLabels: { app: 'back', service: 'back' },
    // ztunnel enforces selector policies only.
    policyTarget: SELECTOR,
    allowWaypoint: false,
  },
  'ambient with a waypoint': {
    dataPlane: () => DataPlane.ambient({ waypoint: true }),
    l7: true,
    namespaceLabels: { 'istio.io/dataplane-mode': 'ambient' },
    waypoints: ['waypoint'],
    sidecars: [],
    podAnnotations: undefined,
    serviceLabels: {
      app: 'back',
      service: 'back',
      'istio.io/use-waypoint': 'waypoint',
      'istio.io/ingress-use-waypoint': 'true',
    },
    policyTarget: TARGET_REFS,
    allowWaypoint: true,
  },
};

describe('outputs per data plane', () => {
  for (const [mode, want] of Object.entries(MODES)) {
    it(`renders ${mode}`, () => {
      const objs = synth(app(want.dataPlane(), MtlsMode.STRICT, want.l7));
      assert.deepEqual(find(objs, 'Namespace', 'shop').metadata.labels, want.namespaceLabels);
      assert.deepEqual(names(objs, 'Gateway'), want.waypoints);
      assert.deepEqual(names(objs, 'Sidecar'), want.sidecars);
      for (const d of ['front-v1', 'front-v2', 'back-v1', 'back-v2']) {
        assert.deepEqual(
          find(objs, 'Deployment', d).spec.template.metadata.annotations,
          want.podAnnotations,
          d,
        );
      }
      assert.deepEqual(find(objs, 'Service', 'back').metadata.labels, want.serviceLabels);
      assert.deepEqual(find(objs, 'AuthorizationPolicy', 'back-allow-callers').spec, {
        ...want.policyTarget,
        action: 'ALLOW',
        rules: FRONT_ALLOWED,
      });
      assert.deepEqual(
        names(objs, 'AuthorizationPolicy'),
        [
          'allow-nothing',
          'back-allow-callers',
          ...(want.allowWaypoint ? ['back-allow-waypoint'] : []),
          ...(want.l7 ? ['back-require-jwt'] : []),
        ].sort(),
      );
      if (want.allowWaypoint) {
        assert.deepEqual(find(objs, 'AuthorizationPolicy', 'back-allow-waypoint').spec, {
          ...SELECTOR,
          action: 'ALLOW',
          rules: [{ from: [{ source: { principals: ['cluster.local/ns/shop/sa/waypoint'] } }] }],
        });
      }
      if (want.l7) {
        assert.deepEqual(find(objs, 'RequestAuthentication', 'back-jwt').spec, {
          ...want.policyTarget,
          jwtRules: [{ issuer: 'https://issuer', jwksUri: 'https://issuer/jwks' }],
        });
        assert.deepEqual(find(objs, 'AuthorizationPolicy', 'back-require-jwt').spec, {
          ...want.policyTarget,
          action: 'DENY',
          rules: [
            {
              from: [{ source: { notRequestPrincipals: ['*'] } }],
              to: [{ operation: { paths: ['/admin'] } }],
            },
          ],
        });
        assert.deepEqual(
          find(objs, 'VirtualService', 'back').spec.http.map((r: { route: unknown }) => r.route),
          [
            [{ destination: { host: 'back.shop.svc.cluster.local', subset: 'v2' } }],
            [{ destination: { host: 'back.shop.svc.cluster.local', subset: 'v1' } }],
          ],
        );
      }
    });
  }

  it('refuses routing and JWT in ambient without a waypoint, and accepts them in every other mode', () => {
    assert.deepEqual(synthErrors(app(DataPlane.ambient())), [
      '[test/back] routes: routing needs a waypoint proxy in ambient namespace "shop"; use DataPlane.ambient({ waypoint: true }) for the namespace',
      '[test/back] jwt[0]: JWT authentication needs a waypoint proxy in ambient namespace "shop"; use DataPlane.ambient({ waypoint: true }) for the namespace',
    ]);
    for (const dp of [
      DataPlane.sidecar(),
      DataPlane.revision('canary'),
      DataPlane.ambient({ waypoint: true }),
    ]) {
      assert.doesNotThrow(() => synth(app(dp)));
    }
  });

  it('refuses sourceLabels matches in both ambient modes only', () => {
    const build = (dataPlane: DataPlane) => {
      const chart = Testing.chart();
      const ns = new MeshNamespace(chart, 'shop', { dataPlane });
      const back = new Microservice(chart, 'back', {
        namespace: ns,
        image: 'b:1',
        versions: { v1: {}, v2: {} },
      });
      back.addRoute({ match: [{ sourceLabels: { app: 'front' } }], to: back.version('v2') });
      back.addRoute({ to: back.version('v1') });
      return chart;
    };
    assert.deepEqual(synthErrors(build(DataPlane.ambient({ waypoint: true }))), [
      '[test/back] routes[0].match[0].sourceLabels: is not supported by waypoint proxies in ambient mode; match on a header instead, or use sidecar mode',
    ]);
    assert.deepEqual(synthErrors(build(DataPlane.ambient())), [
      '[test/back] routes[0].match[0].sourceLabels: is not supported by waypoint proxies in ambient mode; match on a header instead, or use sidecar mode',
      '[test/back] routes: routing needs a waypoint proxy in ambient namespace "shop"; use DataPlane.ambient({ waypoint: true }) for the namespace',
    ]);
    assert.doesNotThrow(() => synth(build(DataPlane.sidecar())));
    assert.doesNotThrow(() => synth(build(DataPlane.revision('1-30-3'))));
  });

  it('refuses method and path caller rules in ambient without a waypoint only', () => {
    const build = (dataPlane: DataPlane) => {
      const chart = Testing.chart();
      const ns = new MeshNamespace(chart, 'shop', { dataPlane });
      const mk = (name: string) =>
        new Microservice(chart, name, { namespace: ns, image: `${name}:1`, versions: { v1: {} } });
      mk('front').calls(mk('back'), { paths: ['/api/*'] });
      return chart;
    };
    assert.deepEqual(synthErrors(build(DataPlane.ambient())), [
      '[test/back] callers[0] (front): authorization by method or path needs a waypoint proxy in ambient namespace "shop"; use DataPlane.ambient({ waypoint: true }) for the namespace',
    ]);
    for (const dp of [
      DataPlane.sidecar(),
      DataPlane.revision('1-30-3'),
      DataPlane.ambient({ waypoint: true }),
    ]) {
      assert.deepEqual(find(synth(build(dp)), 'AuthorizationPolicy', 'back-allow-callers').spec.rules, [
        {
          from: [{ source: { principals: ['cluster.local/ns/shop/sa/front'] } }],
          to: [{ operation: { paths: ['/api/*'] } }],
        },
      ]);
    }
  });

  it('routes a Gateway API ingress to a service with its own routes only through a waypoint', () => {
    const build = (dataPlane: DataPlane) => {
      const chart = Testing.chart();
      const ns = new MeshNamespace(chart, 'shop', { dataPlane });
      const back = new Microservice(chart, 'back', { namespace: ns, image: 'b:1', versions: { v1: {} } });
      back.addRoute({ to: back.version('v1'), retries: { attempts: 3 } });
      new GatewayApiIngress(chart, 'edge', { namespace: ns, hosts: ['shop.example.com'] }).addRoute({
        to: back,
      });
      return chart;
    };
    const skipped =
      '[test/edge] routes[0].to (back): back routes its traffic with a VirtualService, which this gateway does not apply, so its weights, matches and retries would be skipped; route to its versions here with weights, use IstioIngress, or an ambient namespace with a waypoint';
    assert.deepEqual(synthErrors(build(DataPlane.sidecar())), [skipped]);
    assert.deepEqual(synthErrors(build(DataPlane.revision('1-30-3'))), [skipped]);
    assert.doesNotThrow(() => synth(build(DataPlane.ambient({ waypoint: true }))));
  });

  it('gives the rate limit service a sidecar annotation and Sidecar in sidecar modes only', () => {
    for (const [dp, annotations, sidecars] of [
      [DataPlane.sidecar(), HOLD, ['ratelimit', 'redis']],
      [DataPlane.revision('1-30-3'), HOLD, ['ratelimit', 'redis']],
      [DataPlane.ambient(), undefined, []],
      [DataPlane.ambient({ waypoint: true }), undefined, []],
    ] as const) {
      const chart = Testing.chart();
      const ns = new MeshNamespace(chart, 'shop', { dataPlane: dp });
      new GlobalRateLimitService(chart, 'ratelimit', {
        namespace: ns,
        domain: 'shop',
        descriptors: [{ key: 'remote_address', limit: { requestsPerUnit: 10, unit: RateLimitUnit.SECOND } }],
      });
      const objs = synth(chart);
      assert.deepEqual(find(objs, 'Deployment', 'ratelimit').spec.template.metadata.annotations, annotations);
      assert.deepEqual(find(objs, 'Deployment', 'redis-v1').spec.template.metadata.annotations, annotations);
      assert.deepEqual(names(objs, 'Sidecar').sort(), sidecars);
    }
  });

  it('refuses global rate limits on an ambient target, with or without a waypoint', () => {
    for (const dp of [DataPlane.ambient(), DataPlane.ambient({ waypoint: true })]) {
      const chart = Testing.chart();
      const ns = new MeshNamespace(chart, 'shop', { dataPlane: dp });
      const limits = new GlobalRateLimitService(chart, 'ratelimit', {
        namespace: ns,
        domain: 'shop',
        descriptors: [{ key: 'remote_address', limit: { requestsPerUnit: 10, unit: RateLimitUnit.SECOND } }],
      });
      const web = new Microservice(chart, 'web', { namespace: ns, image: 'w:1', versions: { v1: {} } });
      limits.apply(web, { actions: [RateLimitAction.remoteAddress()] });
      assert.deepEqual(synthErrors(chart), [
        '[test/web/global-rate-limit] target: namespace "shop" is ambient, so web has no sidecar for the EnvoyFilters to patch; use DataPlane.sidecar() for the namespace',
      ]);
    }
  });
});

describe('outputs per mTLS mode', () => {
  // Istio's "Mutual TLS Migration" task: under PERMISSIVE the server accepts both, and clients
  // with sidecars keep sending mTLS (ISTIO_MUTUAL); only DISABLE makes them send plain text.
  // https://istio.io/latest/docs/tasks/security/authentication/mtls-migration/
  const SIDECAR_TLS = {
    [MtlsMode.STRICT]: { tls: { mode: 'ISTIO_MUTUAL' } },
    [MtlsMode.PERMISSIVE]: { tls: { mode: 'ISTIO_MUTUAL' } },
    [MtlsMode.DISABLE]: { tls: { mode: 'DISABLE' } },
  };
  for (const mtls of [MtlsMode.STRICT, MtlsMode.PERMISSIVE, MtlsMode.DISABLE]) {
    for (const [dataPlane, dp] of [
      ['sidecar injection', DataPlane.sidecar()],
      ['a revision', DataPlane.revision('1-30-3')],
    ] as const) {
      it(`${mtls} with ${dataPlane}: PeerAuthentication ${mtls}, DestinationRule tls ${SIDECAR_TLS[mtls].tls.mode}`, () => {
        const objs = synth(app(dp, mtls));
        assert.deepEqual(find(objs, 'PeerAuthentication', 'default').spec, { mtls: { mode: mtls } });
        for (const name of ['front', 'back']) {
          assert.deepEqual(find(objs, 'DestinationRule', name).spec.trafficPolicy, SIDECAR_TLS[mtls], name);
        }
      });
    }
    for (const [dataPlane, dp] of [
      ['ambient', DataPlane.ambient()],
      ['ambient with a waypoint', DataPlane.ambient({ waypoint: true })],
    ] as const) {
      it(`${mtls} with ${dataPlane}: PeerAuthentication ${mtls}, no DestinationRule tls (HBONE carries mTLS)`, () => {
        const objs = synth(app(dp, mtls, false));
        assert.deepEqual(find(objs, 'PeerAuthentication', 'default').spec, { mtls: { mode: mtls } });
        for (const name of ['front', 'back']) {
          assert.equal(find(objs, 'DestinationRule', name).spec.trafficPolicy, undefined, name);
        }
      });
    }
  }

  it('keeps ISTIO_MUTUAL beside a circuit breaker under PERMISSIVE', () => {
    const chart = Testing.chart();
    const ns = new MeshNamespace(chart, 'shop', { mtls: MtlsMode.PERMISSIVE });
    new Microservice(chart, 'back', {
      namespace: ns,
      image: 'b:1',
      versions: { v1: {} },
      trafficPolicy: { connectionPool: { maxConnections: 10 } },
    });
    assert.deepEqual(find(synth(chart), 'DestinationRule', 'back').spec.trafficPolicy, {
      connectionPool: { tcp: { maxConnections: 10 } },
      tls: { mode: 'ISTIO_MUTUAL' },
    });
  });

  it('refuses callers and the global rate limit service under DISABLE only', () => {
    const build = (mtls: MtlsMode) => {
      const chart = Testing.chart();
      const ns = new MeshNamespace(chart, 'shop', { mtls });
      new GlobalRateLimitService(chart, 'ratelimit', {
        namespace: ns,
        domain: 'shop',
        descriptors: [{ key: 'remote_address', limit: { requestsPerUnit: 10, unit: RateLimitUnit.SECOND } }],
      });
      const mk = (name: string) =>
        new Microservice(chart, name, { namespace: ns, image: `${name}:1`, versions: { v1: {} } });
      mk('front').calls(mk('back'));
      return chart;
    };
    assert.deepEqual(synthErrors(build(MtlsMode.DISABLE)), [
      '[test/ratelimit] namespace: "shop" has mTLS disabled, so the rate limit service and Redis cannot verify their callers and their ALLOW policies deny them; use MtlsMode.STRICT or PERMISSIVE',
      '[test/ratelimit/redis] callers: namespace "shop" has mTLS disabled, so callers have no verified identity and principal rules deny everything; use MtlsMode.STRICT or PERMISSIVE',
      '[test/back] callers: namespace "shop" has mTLS disabled, so callers have no verified identity and principal rules deny everything; use MtlsMode.STRICT or PERMISSIVE',
    ]);
    assert.doesNotThrow(() => synth(build(MtlsMode.STRICT)));
    assert.doesNotThrow(() => synth(build(MtlsMode.PERMISSIVE)));
  });
});
