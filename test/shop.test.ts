import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Duration, Testing } from 'cdk8s';
import { ENVIRONMENTS } from '../charts/environments.js';
import { ShopChart } from '../charts/index.js';
import { toDot, toMermaid } from '../tools/mesh/graph-render.js';
import { buildMeshGraph } from '../tools/mesh/mesh-model.js';
import { all, find, synth, synthErrors, type Manifest } from './support/synth.js';

function shop(environment: 'dev' | 'staging' | 'prod', images?: Record<string, string>): Manifest[] {
  return synth(new ShopChart(Testing.app(), 'shop', { environment, images }));
}

const env = (d: Manifest, name: string) =>
  d.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === name)?.value;

describe('shop chart', () => {
  it('samples every trace in dev and 1 % in prod', () => {
    const tracing = (e: 'dev' | 'staging' | 'prod') =>
      find(shop(e), 'Telemetry', 'namespace-default').spec.tracing[0];
    assert.equal(tracing('dev').randomSamplingPercentage, 100);
    assert.equal(tracing('staging').randomSamplingPercentage, 10);
    assert.equal(tracing('prod').randomSamplingPercentage, 1);
  });

  it('runs fixed replicas in dev and staging, autoscaled with a disruption budget in prod', () => {
    const dev = shop('dev');
    assert.equal(find(dev, 'Deployment', 'reviews-v3').spec.replicas, 1);
    assert.equal(all(dev, 'HorizontalPodAutoscaler').length, 0);
    assert.equal(all(dev, 'PodDisruptionBudget').filter((p) => p.metadata.name !== 'redis').length, 0);
    assert.equal(find(shop('staging'), 'Deployment', 'storefront-v1').spec.replicas, 2);
    const prod = shop('prod');
    assert.equal(find(prod, 'Deployment', 'storefront-v1').spec.replicas, undefined);
    const hpa = find(prod, 'HorizontalPodAutoscaler', 'reviews-v2');
    assert.deepEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas], [3, 12]);
    assert.equal(find(prod, 'PodDisruptionBudget', 'storefront').spec.minAvailable, 2);
    // Scales on the app container's CPU: a pod-level Resource metric would average in istio-proxy.
    assert.deepEqual(hpa.spec.metrics[0], {
      type: 'ContainerResource',
      containerResource: {
        name: 'cpu',
        container: 'reviews',
        target: { type: 'Utilization', averageUtilization: 70 },
      },
    });
  });

  it('spreads replicated versions across zones and nodes (staging, prod), not single pods (dev)', () => {
    const spread = (e: 'dev' | 'staging' | 'prod') =>
      find(shop(e), 'Deployment', 'reviews-v2').spec.template.spec.topologySpreadConstraints;
    assert.equal(spread('dev'), undefined);
    const expected = ['topology.kubernetes.io/zone', 'kubernetes.io/hostname'].map((topologyKey) => ({
      labelSelector: { matchLabels: { app: 'reviews', version: 'v2' } },
      maxSkew: 1,
      topologyKey,
      whenUnsatisfiable: 'ScheduleAnyway',
      // Counted within the rollout's own ReplicaSet, so old pods do not skew where new ones go.
      matchLabelKeys: ['pod-template-hash'],
    }));
    assert.deepEqual(spread('staging'), expected);
    assert.deepEqual(spread('prod'), expected);
  });

  it('takes images from the environment, or the ones it is given', () => {
    assert.equal(
      find(shop('dev'), 'Deployment', 'catalog-v1').spec.template.spec.containers[0].image,
      'localhost:5001/shop-catalog:dev',
    );
    assert.equal(
      find(shop('prod'), 'Deployment', 'reviews-v1').spec.template.spec.containers[0].image,
      'registry.example.com/shop/shop-reviews:0.1.0',
    );
    const built = 'registry.example.com/shop/shop-ratings@sha256:' + 'a'.repeat(64);
    assert.equal(
      find(shop('prod', { ratings: built }), 'Deployment', 'ratings-v1').spec.template.spec.containers[0]
        .image,
      built,
    );
  });

  it('wires the services to each other by Service name and tells reviews its version', () => {
    const objs = shop('dev');
    const storefront = find(objs, 'Deployment', 'storefront-v1');
    assert.equal(env(storefront, 'CATALOG_URL'), 'http://catalog.shop.svc.cluster.local:8080');
    assert.equal(env(storefront, 'REVIEWS_URL'), 'http://reviews.shop.svc.cluster.local:8080');
    for (const v of ['v1', 'v2', 'v3'])
      assert.equal(env(find(objs, 'Deployment', `reviews-${v}`), 'REVIEWS_VERSION'), v);
    assert.equal(
      env(find(objs, 'Deployment', 'reviews-v2'), 'RATINGS_URL'),
      'http://ratings.shop.svc.cluster.local:8080',
    );
    const probe = storefront.spec.template.spec.containers[0].readinessProbe;
    assert.deepEqual(probe.httpGet, { path: '/readyz', port: 8080 });
  });

  it('routes testers to reviews v2, canaries 20 % of everyone else to v3 and mirrors 5 % to v2', () => {
    const http = find(shop('prod'), 'VirtualService', 'reviews').spec.http;
    assert.deepEqual(http[0].match, [{ headers: { 'end-user': { exact: 'jason' } } }]);
    assert.equal(http[0].route[0].destination.subset, 'v2');
    assert.deepEqual(
      http[1].route.map((r: { destination: { subset: string }; weight: number }) => [
        r.destination.subset,
        r.weight,
      ]),
      [
        ['v1', 80],
        ['v3', 20],
      ],
    );
    assert.equal(http[1].timeout, '3s');
    assert.deepEqual(http[1].retries, {
      attempts: 2,
      perTryTimeout: '1s',
      retryOn: '5xx,connect-failure,reset',
    });
    assert.deepEqual(http[1].mirror, { host: 'reviews.shop.svc.cluster.local', subset: 'v2' });
    assert.deepEqual(http[1].mirrorPercentage, { value: 5 });
  });

  it('breaks the circuit to ratings and rate-limits the storefront locally and globally', () => {
    const objs = shop('prod');
    const tp = find(objs, 'DestinationRule', 'ratings').spec.trafficPolicy;
    assert.equal(tp.outlierDetection.consecutive5xxErrors, 3);
    assert.equal(tp.connectionPool.http.http1MaxPendingRequests, 10);
    const local = find(objs, 'EnvoyFilter', 'storefront-local-ratelimit');
    assert.equal(local.spec.configPatches[0].patch.value.typed_config.value.token_bucket.max_tokens, 200);
    find(objs, 'EnvoyFilter', 'storefront-global-ratelimit');
    find(objs, 'Deployment', 'ratelimit');
    find(objs, 'Deployment', 'redis-v1');
  });

  it('allows only the call graph and the gateway, and requires a JWT on /admin', () => {
    const objs = shop('prod');
    const principals = (svc: string) =>
      find(objs, 'AuthorizationPolicy', `${svc}-allow-callers`).spec.rules.flatMap(
        (r: { from: { source: { principals: string[] } }[] }) => r.from[0].source.principals,
      );
    assert.deepEqual(principals('catalog'), ['cluster.local/ns/shop/sa/storefront']);
    assert.deepEqual(principals('reviews'), ['cluster.local/ns/shop/sa/storefront']);
    assert.deepEqual(principals('ratings'), ['cluster.local/ns/shop/sa/reviews']);
    assert.deepEqual(principals('storefront'), ['cluster.local/ns/istio-system/sa/istio-ingressgateway']);
    assert.deepEqual(find(objs, 'Sidecar', 'storefront').spec.egress[0].hosts, [
      './catalog.shop.svc.cluster.local',
      './ratelimit.shop.svc.cluster.local',
      './reviews.shop.svc.cluster.local',
      'observability/opentelemetry-collector.observability.svc.cluster.local',
      'istio-system/*',
    ]);
    const jwt = find(objs, 'RequestAuthentication', 'storefront-jwt');
    assert.deepEqual(jwt.spec.jwtRules, [
      {
        issuer: 'testing@secure.istio.io',
        jwksUri:
          'https://raw.githubusercontent.com/istio/istio/release-1.30/security/tools/jwt/samples/jwks.json',
      },
    ]);
    assert.deepEqual(find(objs, 'AuthorizationPolicy', 'storefront-require-jwt').spec.rules[0].to, [
      { operation: { paths: ['/admin', '/admin/*'] } },
    ]);
  });

  it('serves the environment hosts, with TLS outside dev', () => {
    const dev = find(shop('dev'), 'Gateway', 'shop');
    assert.deepEqual(
      dev.spec.servers.map((s: { port: { number: number } }) => s.port.number),
      [80],
    );
    assert.deepEqual(dev.spec.servers[0].hosts, ['shop.localhost']);
    const prod = find(shop('prod'), 'Gateway', 'shop');
    assert.deepEqual(prod.spec.servers[1].tls, { mode: 'SIMPLE', credentialName: 'shop-tls' });
    assert.deepEqual(prod.spec.servers[1].hosts, ['shop.example.com']);
  });

  describe('the chaos switch', () => {
    const faultsOf = (objs: Manifest[]) =>
      all(objs, 'VirtualService').flatMap((vs) =>
        (vs.spec.http as { name?: string; fault?: unknown }[])
          .filter((r) => r.fault !== undefined)
          .map((r) => [vs.metadata.name, r.name ?? '-', r.fault]),
      );

    it('injects 10 % aborts (503) into ratings and 5 % delays of 2 s into every reviews route in dev and staging', () => {
      const expected = [
        ['ratings', '-', { abort: { httpStatus: 503, percentage: { value: 10 } } }],
        ['reviews', 'testers', { delay: { fixedDelay: '2s', percentage: { value: 5 } } }],
        ['reviews', 'canary', { delay: { fixedDelay: '2s', percentage: { value: 5 } } }],
      ];
      assert.deepEqual(faultsOf(shop('dev')), expected);
      assert.deepEqual(faultsOf(shop('staging')), expected);
      // The routes keep their timeouts and retries.
      const ratings = find(shop('dev'), 'VirtualService', 'ratings').spec.http[0];
      assert.equal(ratings.timeout, '1s');
      assert.equal(ratings.retries.attempts, 1);
    });

    it('is off in prod, and off in dev with chaos: false', () => {
      assert.deepEqual(faultsOf(shop('prod')), []);
      const quiet = synth(new ShopChart(Testing.app(), 'shop', { environment: 'dev', chaos: false }));
      assert.deepEqual(faultsOf(quiet), []);
    });

    it('injects a fault on one named route only', () => {
      const objs = synth(
        new ShopChart(Testing.app(), 'shop', {
          environment: {
            ...ENVIRONMENTS.staging,
            chaos: {
              faults: [
                {
                  service: 'reviews',
                  route: 'testers',
                  fault: { delay: { fixedDelay: Duration.seconds(7), percentage: 100 } },
                },
              ],
            },
          },
        }),
      );
      assert.deepEqual(faultsOf(objs), [
        ['reviews', 'testers', { delay: { fixedDelay: '7s', percentage: { value: 100 } } }],
      ]);
    });

    it('is in the picture: the faults on the route lines of the calls, in red in the SVG and DOT', () => {
      const graph = buildMeshGraph(
        shop('staging') as Parameters<typeof buildMeshGraph>[0],
        'shop env=staging',
      );
      const dot = toDot(graph);
      assert.match(
        dot,
        /"svc:shop\/reviews" -> "svc:shop\/ratings" \[label=<.*→ v1 · timeout 1s · retry 1×500ms · <FONT COLOR="#c53030">fault abort 503 @10%<\/FONT><BR\/>/,
      );
      assert.match(
        dot,
        /"svc:shop\/storefront" -> "svc:shop\/reviews" \[label=<.*end-user=jason → v2 · timeout 3s · <FONT COLOR="#c53030">fault delay 2s @5%<\/FONT><BR\/>→ v1 80% · v3 20% · timeout 3s · retry 2×1s · <FONT COLOR="#c53030">fault delay 2s @5%<\/FONT> · mirror v2 5%/,
      );
      const prod = toMermaid(
        buildMeshGraph(shop('prod') as Parameters<typeof buildMeshGraph>[0], 'shop env=prod'),
      );
      assert.doesNotMatch(prod, /fault (delay|abort)/);
    });

    it('is refused in prod, switched on or written into the environment', () => {
      const message =
        '[shop] chaos: injects faults in prod (2 on ratings, reviews); turn chaos off for prod (chaos: false, and no chaos in the prod environment); inject faults in dev or staging';
      const prodWithChaos = { ...ENVIRONMENTS.prod, chaos: ENVIRONMENTS.dev.chaos };
      assert.deepEqual(synthErrors(new ShopChart(Testing.app(), 'shop', { environment: prodWithChaos })), [
        message,
      ]);
      assert.deepEqual(
        synthErrors(new ShopChart(Testing.app(), 'shop', { environment: 'prod', chaos: true })),
        [
          '[shop] chaos: injects faults in prod (0 on no route); turn chaos off for prod (chaos: false, and no chaos in the prod environment); inject faults in dev or staging',
        ],
      );
      // Off by the switch, the environment's faults are not injected and nothing is refused.
      assert.deepEqual(
        faultsOf(synth(new ShopChart(Testing.app(), 'shop', { environment: prodWithChaos, chaos: false }))),
        [],
      );
    });

    it('names a route the service does not have, and a second fault on one route', () => {
      const env = {
        ...ENVIRONMENTS.dev,
        chaos: {
          faults: [
            {
              service: 'reviews' as const,
              route: 'beta',
              fault: { abort: { httpStatus: 500, percentage: 1 } },
            },
            {
              service: 'ratings' as const,
              route: 'main',
              fault: { abort: { httpStatus: 500, percentage: 1 } },
            },
            { service: 'reviews' as const, fault: { abort: { httpStatus: 503, percentage: 1 } } },
            {
              service: 'reviews' as const,
              route: 'canary',
              fault: { abort: { httpStatus: 502, percentage: 1 } },
            },
          ],
        },
      };
      assert.deepEqual(synthErrors(new ShopChart(Testing.app(), 'shop', { environment: env })), [
        '[shop] environment.chaos.faults[0].route: "beta" is not a route of reviews (its named routes: testers, canary); name one of its routes, or leave route out to inject the fault on every route of the service',
        '[shop] environment.chaos.faults[1].route: "main" is not a route of ratings, whose routes have no names; name one of its routes, or leave route out to inject the fault on every route of the service',
        '[shop] environment.chaos.faults[3]: injects a second fault on a route of reviews that faults[2] already covers, and only the first applies; merge them into one fault (a delay and an abort together), or give each its own route',
      ]);
    });
  });
});
