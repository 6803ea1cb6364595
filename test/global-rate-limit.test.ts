import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Chart, Testing } from 'cdk8s';
import { parse } from 'yaml';
import {
  Cpu,
  DataPlane,
  Duration,
  GlobalRateLimit,
  GlobalRateLimitService,
  type GlobalRateLimitServiceProps,
  MeshNamespace,
  Microservice,
  MtlsMode,
  RateLimitAction,
  type RateLimitDescriptor,
  RateLimitUnit,
  ServicePort,
  Size,
} from '../constructs/index.js';
import { restrictedViolations } from './support/pod-security.js';
import { all, find, type Manifest, synth, synthErrors } from './support/synth.js';

const DESCRIPTORS: readonly RateLimitDescriptor[] = [
  { key: 'PATH', value: '/productpage', limit: { requestsPerUnit: 1, unit: RateLimitUnit.MINUTE } },
  {
    key: 'PATH',
    limit: { requestsPerUnit: 100, unit: RateLimitUnit.MINUTE },
    descriptors: [{ key: 'remote_address', limit: { requestsPerUnit: 10, unit: RateLimitUnit.SECOND } }],
  },
  { key: 'generic_key', value: 'all', limit: { requestsPerUnit: 5000, unit: RateLimitUnit.HOUR } },
  { key: 'plan', value: 'free', limit: { requestsPerUnit: 1000, unit: RateLimitUnit.DAY } },
];

/** A namespace "shop" with the rate limit service and "reviews" (Service port 80, container 9080). */
function shop(extra: Partial<GlobalRateLimitServiceProps> = {}, nsProps = {}) {
  const chart = Testing.chart();
  const ns = new MeshNamespace(chart, 'shop', nsProps);
  const ratelimit = new GlobalRateLimitService(chart, 'ratelimit', {
    namespace: ns,
    domain: 'shop-ratelimit',
    descriptors: DESCRIPTORS,
    ...extra,
  });
  const reviews = new Microservice(chart, 'reviews', {
    namespace: ns,
    image: 'reviews:1',
    ports: [ServicePort.http(80, { targetPort: 9080 })],
    versions: { v1: {} },
  });
  return { chart, ns, ratelimit, reviews };
}

const PATH = RateLimitAction.requestHeader(':path', 'PATH');

function patchOf(objs: readonly Manifest[], name: string) {
  const filter = find(objs, 'EnvoyFilter', name);
  assert.equal(filter.apiVersion, 'networking.istio.io/v1alpha3');
  assert.equal(filter.spec.configPatches.length, 1);
  return filter.spec.configPatches[0];
}

describe('GlobalRateLimitService', () => {
  it('deploys the rate limit service as the upstream sample does, with stable labels', () => {
    const { chart } = shop();
    const objs = synth(chart);
    const dep = find(objs, 'Deployment', 'ratelimit');
    assert.equal(dep.metadata.namespace, 'shop');
    assert.deepEqual(dep.metadata.labels, { app: 'ratelimit', version: 'v1' });
    assert.deepEqual(dep.spec.selector, { matchLabels: { app: 'ratelimit', version: 'v1' } });
    assert.deepEqual(dep.spec.template.metadata.labels, { app: 'ratelimit', version: 'v1' });
    assert.equal(dep.spec.replicas, 1);
    const pod = dep.spec.template.spec;
    assert.equal(pod.serviceAccountName, 'ratelimit');
    assert.equal(pod.automountServiceAccountToken, false);
    const c = pod.containers[0];
    assert.equal(c.image, 'docker.io/envoyproxy/ratelimit:30a4ce1a');
    assert.deepEqual(c.command, ['/bin/ratelimit']);
    assert.deepEqual(c.env, [
      { name: 'USE_STATSD', value: 'false' },
      { name: 'LOG_LEVEL', value: 'info' },
      { name: 'REDIS_SOCKET_TYPE', value: 'tcp' },
      { name: 'REDIS_URL', value: 'redis:6379' },
      { name: 'RUNTIME_ROOT', value: '/data' },
      { name: 'RUNTIME_SUBDIRECTORY', value: 'ratelimit' },
      { name: 'RUNTIME_WATCH_ROOT', value: 'false' },
      { name: 'RUNTIME_IGNOREDOTFILES', value: 'true' },
      { name: 'HOST', value: '::' },
      { name: 'GRPC_HOST', value: '::' },
    ]);
    assert.deepEqual(c.ports, [
      { name: 'http', containerPort: 8080 },
      { name: 'grpc', containerPort: 8081 },
      { name: 'http-debug', containerPort: 6070 },
    ]);
    assert.deepEqual(c.volumeMounts, [
      { name: 'config', mountPath: '/data/ratelimit/config', readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ]);
    assert.deepEqual(pod.volumes, [
      { name: 'config', configMap: { name: 'ratelimit-config' } },
      { name: 'tmp', emptyDir: {} },
    ]);
    assert.deepEqual(c.readinessProbe, { httpGet: { path: '/healthcheck', port: 8080 } });
    assert.deepEqual(c.resources, {
      requests: { cpu: '50m', memory: '64Mi' },
      limits: { cpu: '500m', memory: '128Mi' },
    });
    assert.deepEqual(dep.spec.template.metadata.annotations, {
      'proxy.istio.io/config': '{"holdApplicationUntilProxyStarts":true}',
    });

    const svc = find(objs, 'Service', 'ratelimit');
    assert.deepEqual(svc.spec.selector, { app: 'ratelimit' });
    assert.deepEqual(svc.spec.ports, [
      { name: 'http', port: 8080, targetPort: 8080, appProtocol: 'http' },
      { name: 'grpc', port: 8081, targetPort: 8081, appProtocol: 'grpc' },
      { name: 'http-debug', port: 6070, targetPort: 6070, appProtocol: 'http' },
    ]);
    assert.equal(find(objs, 'ServiceAccount', 'ratelimit').automountServiceAccountToken, false);
  });

  it('deploys Redis as a TCP service with its own identity', () => {
    const objs = synth(shop().chart);
    const dep = find(objs, 'Deployment', 'redis-v1');
    assert.deepEqual(dep.spec.selector, { matchLabels: { app: 'redis', version: 'v1' } });
    const c = dep.spec.template.spec.containers[0];
    assert.equal(c.image, 'docker.io/library/redis:7.4.11-alpine');
    assert.deepEqual(c.ports, [{ name: 'tcp-redis', containerPort: 6379 }]);
    assert.deepEqual(c.readinessProbe, { tcpSocket: { port: 6379 } });
    assert.deepEqual(c.resources, {
      requests: { cpu: '50m', memory: '64Mi' },
      limits: { cpu: '250m', memory: '128Mi' },
    });
    assert.deepEqual(find(objs, 'Service', 'redis').spec.ports, [
      { name: 'tcp-redis', port: 6379, targetPort: 6379, appProtocol: 'tcp' },
    ]);
    assert.equal(find(objs, 'ServiceAccount', 'redis').automountServiceAccountToken, false);
  });

  it('renders config.yaml from the typed descriptors', () => {
    const objs = synth(shop().chart);
    const cm = find(objs, 'ConfigMap', 'ratelimit-config');
    assert.deepEqual(Object.keys(cm.data), ['config.yaml']);
    assert.deepEqual(parse(cm.data['config.yaml']), {
      domain: 'shop-ratelimit',
      descriptors: [
        { key: 'PATH', value: '/productpage', rate_limit: { unit: 'minute', requests_per_unit: 1 } },
        {
          key: 'PATH',
          rate_limit: { unit: 'minute', requests_per_unit: 100 },
          descriptors: [{ key: 'remote_address', rate_limit: { unit: 'second', requests_per_unit: 10 } }],
        },
        { key: 'generic_key', value: 'all', rate_limit: { unit: 'hour', requests_per_unit: 5000 } },
        { key: 'plan', value: 'free', rate_limit: { unit: 'day', requests_per_unit: 1000 } },
      ],
    });
  });

  it('quotes keys and values so that YAML reads them as strings', () => {
    const { chart } = shop({
      domain: 'a: b',
      descriptors: [
        { key: 'x-user', value: '"quoted" #not-a-comment' },
        { key: 'code', value: '007', limit: { requestsPerUnit: 3, unit: RateLimitUnit.SECOND } },
      ],
    });
    const config = parse(find(synth(chart), 'ConfigMap', 'ratelimit-config').data['config.yaml']);
    assert.deepEqual(config, {
      domain: 'a: b',
      descriptors: [
        { key: 'x-user', value: '"quoted" #not-a-comment' },
        { key: 'code', value: '007', rate_limit: { unit: 'second', requests_per_unit: 3 } },
      ],
    });
  });

  it('runs every pod under the restricted Pod Security Standard, writing only to emptyDirs', () => {
    const objs = synth(shop().chart);
    const deployments = all(objs, 'Deployment').filter((d) => d.metadata.name !== 'reviews-v1');
    assert.deepEqual(
      deployments.map((d) => d.metadata.name),
      ['redis-v1', 'ratelimit'],
    );
    for (const dep of deployments) {
      const pod = dep.spec.template.spec;
      assert.deepEqual(restrictedViolations(pod), [], dep.metadata.name);
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.deepEqual(pod.securityContext.seccompProfile, { type: 'RuntimeDefault' });
      for (const c of pod.containers) {
        const sc = c.securityContext;
        assert.ok(sc.runAsUser > 0 && sc.runAsUser !== 1337, `${c.name} runs as ${sc.runAsUser}`);
        assert.equal(sc.runAsNonRoot, true);
        assert.equal(sc.allowPrivilegeEscalation, false);
        assert.equal(sc.readOnlyRootFilesystem, true);
        assert.deepEqual(sc.capabilities, { drop: ['ALL'] });
        assert.deepEqual(sc.seccompProfile, { type: 'RuntimeDefault' });
        assert.ok(c.resources.requests && c.resources.limits, `${c.name} has resources`);
      }
    }
    const redis = find(objs, 'Deployment', 'redis-v1').spec.template.spec;
    const data = redis.containers[0].volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/data');
    assert.ok(data, 'Redis has a writable /data');
    assert.deepEqual(
      redis.volumes.find((v: { name: string }) => v.name === data.name),
      { name: data.name, emptyDir: {} },
    );
    assert.equal(redis.containers[0].securityContext.runAsUser, 999);
  });

  it('takes names, replicas, log level, images and resources', () => {
    const { chart } = shop({
      name: 'rls',
      redisName: 'rls-redis',
      replicas: 2,
      logLevel: 'debug',
      image: 'mirror/ratelimit:1',
      redisImage: 'mirror/redis:7',
      resources: { cpu: { limit: Cpu.units(1) }, memory: { limit: Size.mebibytes(256) } },
    });
    const objs = synth(chart);
    const dep = find(objs, 'Deployment', 'rls');
    assert.equal(dep.spec.replicas, 2);
    const c = dep.spec.template.spec.containers[0];
    assert.equal(c.image, 'mirror/ratelimit:1');
    assert.deepEqual(
      c.env.filter((e: { name: string }) => ['LOG_LEVEL', 'REDIS_URL'].includes(e.name)),
      [
        { name: 'LOG_LEVEL', value: 'debug' },
        { name: 'REDIS_URL', value: 'rls-redis:6379' },
      ],
    );
    assert.deepEqual(c.resources.limits, { cpu: '1', memory: '256Mi' });
    assert.deepEqual(dep.spec.template.spec.volumes[0], {
      name: 'config',
      configMap: { name: 'rls-config' },
    });
    assert.equal(
      find(objs, 'Deployment', 'rls-redis-v1').spec.template.spec.containers[0].image,
      'mirror/redis:7',
    );
    assert.deepEqual(find(objs, 'Sidecar', 'rls').spec.egress, [
      { hosts: ['./rls-redis.shop.svc.cluster.local', 'istio-system/*'] },
    ]);
  });

  it('lets only the limited services call it (on gRPC), and only itself call Redis', () => {
    const { chart, ratelimit, reviews } = shop();
    const other = new MeshNamespace(chart, 'books');
    const details = new Microservice(chart, 'details', {
      namespace: other,
      image: 'details:1',
      versions: { v1: {} },
      serviceAccountName: 'details-sa',
    });
    ratelimit.apply(reviews, { actions: [PATH] });
    ratelimit.apply(details, { actions: [RateLimitAction.genericKey('all')] });
    const objs = synth(chart);
    const allow = find(objs, 'AuthorizationPolicy', 'ratelimit-allow-callers');
    assert.equal(allow.metadata.namespace, 'shop');
    assert.deepEqual(allow.spec, {
      selector: { matchLabels: { app: 'ratelimit' } },
      action: 'ALLOW',
      rules: [
        {
          from: [
            {
              source: {
                principals: ['cluster.local/ns/books/sa/details-sa', 'cluster.local/ns/shop/sa/reviews'],
              },
            },
          ],
          to: [{ operation: { ports: ['8081'] } }],
        },
      ],
    });
    const redis = find(objs, 'AuthorizationPolicy', 'redis-allow-callers');
    assert.deepEqual(redis.spec.selector, { matchLabels: { app: 'redis' } });
    assert.deepEqual(redis.spec.rules, [
      { from: [{ source: { principals: ['cluster.local/ns/shop/sa/ratelimit'] } }] },
    ]);
    assert.equal(redis.spec.action, 'ALLOW');
  });

  it('allows no one until a service is rate limited', () => {
    const allow = find(synth(shop().chart), 'AuthorizationPolicy', 'ratelimit-allow-callers');
    assert.deepEqual(allow.spec, { selector: { matchLabels: { app: 'ratelimit' } }, action: 'ALLOW' });
  });

  it("scopes its own and Redis's proxies to what they call", () => {
    const objs = synth(shop().chart);
    assert.deepEqual(find(objs, 'Sidecar', 'ratelimit').spec, {
      workloadSelector: { labels: { app: 'ratelimit' } },
      egress: [{ hosts: ['./redis.shop.svc.cluster.local', 'istio-system/*'] }],
    });
    assert.deepEqual(find(objs, 'Sidecar', 'redis').spec.egress, [{ hosts: ['istio-system/*'] }]);
  });

  it('runs in an ambient namespace without sidecar resources', () => {
    const chart = Testing.chart();
    const ns = new MeshNamespace(chart, 'edge', { dataPlane: DataPlane.ambient() });
    new GlobalRateLimitService(chart, 'ratelimit', {
      namespace: ns,
      domain: 'edge',
      descriptors: DESCRIPTORS,
    });
    const objs = synth(chart);
    assert.deepEqual(all(objs, 'Sidecar'), []);
    assert.equal(find(objs, 'Deployment', 'ratelimit').spec.template.metadata.annotations, undefined);
    assert.deepEqual(restrictedViolations(find(objs, 'Deployment', 'ratelimit').spec.template.spec), []);
  });
});

describe('GlobalRateLimitService.apply', () => {
  it("inserts Envoy's ratelimit filter before the router, calling the service over Istio's mTLS cluster", () => {
    const { chart, ratelimit, reviews } = shop();
    const limit = ratelimit.apply(reviews, { actions: [PATH] });
    assert.ok(limit instanceof GlobalRateLimit);
    assert.equal(limit.node.path, 'test/reviews/global-rate-limit');
    const objs = synth(chart);
    const filter = find(objs, 'EnvoyFilter', 'reviews-global-ratelimit');
    assert.equal(filter.metadata.namespace, 'shop');
    assert.deepEqual(filter.spec.workloadSelector, { labels: { app: 'reviews' } });
    assert.deepEqual(patchOf(objs, 'reviews-global-ratelimit'), {
      applyTo: 'HTTP_FILTER',
      match: {
        context: 'SIDECAR_INBOUND',
        listener: {
          filterChain: {
            filter: {
              name: 'envoy.filters.network.http_connection_manager',
              subFilter: { name: 'envoy.filters.http.router' },
            },
          },
        },
      },
      patch: {
        operation: 'INSERT_BEFORE',
        value: {
          name: 'envoy.filters.http.ratelimit',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit',
            domain: 'shop-ratelimit',
            failure_mode_deny: false,
            rate_limit_service: {
              grpc_service: {
                envoy_grpc: {
                  cluster_name: 'outbound|8081||ratelimit.shop.svc.cluster.local',
                  authority: 'ratelimit.shop.svc.cluster.local',
                },
              },
              transport_api_version: 'V3',
            },
          },
        },
      },
    });
  });

  it("merges the actions into the target's inbound virtual host, named after its Service port", () => {
    const objs = synth(
      chartWith((rl, target) => rl.apply(target, { actions: [RateLimitAction.genericKey('all')] })),
    );
    const filter = find(objs, 'EnvoyFilter', 'reviews-global-ratelimit-actions');
    assert.equal(filter.metadata.namespace, 'shop');
    assert.deepEqual(filter.spec.workloadSelector, { labels: { app: 'reviews' } });
    // reviews listens on 9080 behind Service port 80; Istio names the vhost after the Service port.
    assert.deepEqual(patchOf(objs, 'reviews-global-ratelimit-actions'), {
      applyTo: 'VIRTUAL_HOST',
      match: {
        context: 'SIDECAR_INBOUND',
        routeConfiguration: { vhost: { name: 'inbound|http|80', route: { action: 'ANY' } } },
      },
      patch: {
        operation: 'MERGE',
        value: { rate_limits: [{ actions: [{ generic_key: { descriptor_value: 'all' } }] }] },
      },
    });
  });

  it('renders request header, generic key and remote address actions in their order', () => {
    const { chart, ratelimit, reviews } = shop({
      descriptors: [
        {
          key: 'plan',
          descriptors: [
            { key: 'tier', value: 'gold', limit: { requestsPerUnit: 9, unit: RateLimitUnit.SECOND } },
          ],
        },
        ...DESCRIPTORS,
      ],
    });
    ratelimit.apply(reviews, {
      actions: [
        RateLimitAction.requestHeader('x-plan', 'plan', { skipIfAbsent: true }),
        RateLimitAction.genericKey('gold', 'tier'),
      ],
    });
    const ratings = new Microservice(chart, 'ratings', {
      namespace: reviews.namespace,
      image: 'ratings:1',
      versions: { v1: {} },
    });
    ratelimit.apply(ratings, { actions: [PATH, RateLimitAction.remoteAddress()] });
    const objs = synth(chart);
    assert.deepEqual(patchOf(objs, 'reviews-global-ratelimit-actions').patch.value.rate_limits, [
      {
        actions: [
          { request_headers: { header_name: 'x-plan', descriptor_key: 'plan', skip_if_absent: true } },
          { generic_key: { descriptor_value: 'gold', descriptor_key: 'tier' } },
        ],
      },
    ]);
    const ratingsPatch = patchOf(objs, 'ratings-global-ratelimit-actions');
    assert.equal(ratingsPatch.match.routeConfiguration.vhost.name, 'inbound|http|8080');
    assert.deepEqual(ratingsPatch.patch.value.rate_limits, [
      {
        actions: [
          { request_headers: { header_name: ':path', descriptor_key: 'PATH' } },
          { remote_address: {} },
        ],
      },
    ]);
  });

  it("adds the rate limit service to the target's Sidecar egress, also across namespaces", () => {
    const chart = Testing.chart();
    const limits = new MeshNamespace(chart, 'limits');
    const shopNs = new MeshNamespace(chart, 'shop');
    const ratelimit = new GlobalRateLimitService(chart, 'ratelimit', {
      namespace: limits,
      domain: 'shop',
      descriptors: DESCRIPTORS,
    });
    const reviews = new Microservice(chart, 'reviews', {
      namespace: shopNs,
      image: 'r:1',
      versions: { v1: {} },
    });
    const details = new Microservice(chart, 'details', {
      namespace: limits,
      image: 'd:1',
      versions: { v1: {} },
    });
    reviews.calls(details);
    ratelimit.apply(reviews, { actions: [PATH] });
    ratelimit.apply(details, { actions: [PATH] });
    const objs = synth(chart);
    assert.deepEqual(find(objs, 'Sidecar', 'reviews').spec.egress, [
      {
        hosts: [
          'limits/details.limits.svc.cluster.local',
          'limits/ratelimit.limits.svc.cluster.local',
          'istio-system/*',
        ],
      },
    ]);
    assert.deepEqual(find(objs, 'Sidecar', 'details').spec.egress, [
      { hosts: ['./ratelimit.limits.svc.cluster.local', 'istio-system/*'] },
    ]);
    const filter = find(objs, 'EnvoyFilter', 'reviews-global-ratelimit');
    assert.equal(filter.metadata.namespace, 'shop');
    assert.equal(
      filter.spec.configPatches[0].patch.value.typed_config.rate_limit_service.grpc_service.envoy_grpc
        .cluster_name,
      'outbound|8081||ratelimit.limits.svc.cluster.local',
    );
  });

  it('takes failureModeDeny and a timeout', () => {
    const objs = synth(
      chartWith((rl, target) =>
        rl.apply(target, { actions: [PATH], failureModeDeny: true, timeout: Duration.millis(250) }),
      ),
    );
    const config = patchOf(objs, 'reviews-global-ratelimit').patch.value.typed_config;
    assert.equal(config.failure_mode_deny, true);
    assert.equal(config.timeout, '0.25s');
  });
});

/** `shop()` with `limit` applied to reviews. */
function chartWith(limit: (rl: GlobalRateLimitService, target: Microservice) => void): Chart {
  const { chart, ratelimit, reviews } = shop();
  limit(ratelimit, reviews);
  return chart;
}

describe('GlobalRateLimit validation', () => {
  const cases: [string, () => Chart, string[]][] = [
    [
      'an empty domain and bad descriptors, all at once',
      () =>
        shop({
          domain: '',
          descriptors: [
            { key: 'PATH', limit: { requestsPerUnit: 0, unit: RateLimitUnit.MINUTE } },
            { key: '', limit: { requestsPerUnit: 1.5, unit: 'minutes' as RateLimitUnit } },
            {
              key: 'PATH',
              descriptors: [
                { key: 'user', value: 'a' },
                { key: 'user', value: 'a', limit: { requestsPerUnit: 2, unit: RateLimitUnit.HOUR } },
              ],
            },
          ],
        }).chart,
      [
        '[test/ratelimit] domain: is empty; name the rate limit domain, e.g. "shop-ratelimit"',
        '[test/ratelimit] descriptors[0].limit.requestsPerUnit: 0 must be a whole number of 1 or more; use a whole number of requests, e.g. 100',
        '[test/ratelimit] descriptors[1].key: is empty; give the descriptor key the actions send, e.g. "PATH"',
        '[test/ratelimit] descriptors[1].limit.requestsPerUnit: 1.5 must be a whole number of 1 or more; use a whole number of requests, e.g. 100',
        '[test/ratelimit] descriptors[1].limit.unit: "minutes" is not a rate limit unit; use RateLimitUnit.SECOND, MINUTE, HOUR or DAY',
        '[test/ratelimit] descriptors[2]: key "PATH" without value repeats descriptors[0]; merge the two: the rate limit service refuses duplicate descriptors at one level',
        '[test/ratelimit] descriptors[2].descriptors[1]: key "user" with value "a" repeats descriptors[2].descriptors[0]; merge the two: the rate limit service refuses duplicate descriptors at one level',
      ],
    ],
    [
      'resources the API server refuses, on the service (with its own 128Mi default limit) and on Redis, each reported once',
      () =>
        shop({
          resources: { cpu: { request: Cpu.millis(0.5) }, memory: { request: Size.mebibytes(200) } },
          redisResources: { memory: { request: Size.mebibytes(512), limit: Size.mebibytes(256) } },
        }).chart,
      [
        '[test/ratelimit] resources.cpu.request: 0.5m is finer than the 1m (a thousandth of a CPU) Kubernetes accepts; use a whole number of millicores, e.g. Cpu.millis(1)',
        '[test/ratelimit] resources.memory.request: 200Mi is above the default limit 128Mi; set resources.memory.limit too, at least as high',
        '[test/ratelimit/redis] resources.memory.request: 512Mi is above the limit 256Mi; make resources.memory.limit at least the request',
      ],
    ],
    [
      'an action whose key is not a top-level descriptor (a typo)',
      () => chartWith((rl, t) => rl.apply(t, { actions: [RateLimitAction.requestHeader(':path', 'PTH')] })),
      [
        '[test/reviews/global-rate-limit] actions[0]: descriptor key "PTH" matches no top-level descriptor of domain "shop-ratelimit" (test/ratelimit), so requests are never limited; use one of "PATH", "generic_key", "plan", or add the descriptor to the service',
      ],
    ],
    [
      'an action whose key is not nested under the previous one',
      () =>
        chartWith((rl, t) =>
          rl.apply(t, { actions: [PATH, RateLimitAction.requestHeader('x-user', 'user')] }),
        ),
      [
        '[test/reviews/global-rate-limit] actions[1]: descriptor key "user" matches no descriptor nested under "PATH" of domain "shop-ratelimit" (test/ratelimit), so requests are never limited; use one of "remote_address", or add the descriptor to the service',
      ],
    ],
    [
      'a nested action under a descriptor without nested descriptors',
      () =>
        chartWith((rl, t) =>
          rl.apply(t, { actions: [RateLimitAction.genericKey('all'), RateLimitAction.remoteAddress()] }),
        ),
      [
        '[test/reviews/global-rate-limit] actions[1]: descriptor key "remote_address" matches no descriptor nested under "generic_key" of domain "shop-ratelimit" (test/ratelimit), so requests are never limited; add a descriptor with key "remote_address" there',
      ],
    ],
    [
      'a generic key whose value is not configured',
      () => chartWith((rl, t) => rl.apply(t, { actions: [RateLimitAction.genericKey('everything')] })),
      [
        '[test/reviews/global-rate-limit] actions[0]: descriptor entry "generic_key" = "everything" matches no top-level descriptor of domain "shop-ratelimit" (test/ratelimit), so requests are never limited; use one of "PATH", "generic_key", "plan", or add the descriptor to the service',
      ],
    ],
    [
      'empty actions, an empty header name and a timeout below 1ms',
      () => {
        const { chart, ratelimit, reviews } = shop();
        const ratings = new Microservice(chart, 'ratings', {
          namespace: reviews.namespace,
          image: 'r:1',
          versions: { v1: {} },
        });
        ratelimit.apply(reviews, { actions: [], timeout: Duration.millis(0.5) });
        ratelimit.apply(ratings, { actions: [RateLimitAction.requestHeader('', 'PATH')] });
        return chart;
      },
      [
        "[test/reviews/global-rate-limit] timeout: 0.5ms is below Istio's minimum of 1ms; use Duration.millis(1) or more",
        '[test/reviews/global-rate-limit] actions: is empty, so requests get no descriptor and nothing is limited; add at least one action, e.g. RateLimitAction.requestHeader(":path", "PATH")',
        '[test/ratings/global-rate-limit] actions[0].headerName: is empty; name the request header, e.g. ":path"',
      ],
    ],
    [
      'a target without an HTTP port',
      () => {
        const { chart, ratelimit, ns } = shop();
        const db = new Microservice(chart, 'db', {
          namespace: ns,
          image: 'postgres:16',
          ports: [ServicePort.tcp(5432)],
          versions: { v1: {} },
        });
        ratelimit.apply(db, { actions: [PATH] });
        return chart;
      },
      ['[test/db/global-rate-limit] target: db has no HTTP port; rate limit an HTTP service'],
    ],
    [
      'a target in an ambient namespace, which has no sidecar to patch',
      () => {
        const { chart, ratelimit } = shop();
        const edge = new MeshNamespace(chart, 'edge', { dataPlane: DataPlane.ambient({ waypoint: true }) });
        const api = new Microservice(chart, 'api', { namespace: edge, image: 'api:1', versions: { v1: {} } });
        ratelimit.apply(api, { actions: [PATH] });
        return chart;
      },
      [
        '[test/api/global-rate-limit] target: namespace "edge" is ambient, so api has no sidecar for the EnvoyFilters to patch; use DataPlane.sidecar() for the namespace',
      ],
    ],
    [
      'a service rate limited twice',
      () =>
        chartWith((rl, t) => {
          rl.apply(t, { actions: [PATH] });
          rl.apply(t, { actions: [RateLimitAction.genericKey('all')] });
        }),
      [
        '[test/reviews/global-rate-limit-2] target: reviews is already rate limited by test/reviews/global-rate-limit; give one GlobalRateLimit all the actions of the service',
      ],
    ],
    [
      'callers in a namespace with mTLS disabled, whose identities cannot be verified',
      () => {
        const { chart, ratelimit, reviews } = shop({}, { mtls: MtlsMode.DISABLE });
        ratelimit.apply(reviews, { actions: [PATH] });
        return chart;
      },
      [
        '[test/ratelimit] namespace: "shop" has mTLS disabled, so the rate limit service and Redis cannot verify their callers and their ALLOW policies deny them; use MtlsMode.STRICT or PERMISSIVE',
        '[test/ratelimit/redis] callers: namespace "shop" has mTLS disabled, so callers have no verified identity and principal rules deny everything; use MtlsMode.STRICT or PERMISSIVE',
      ],
    ],
    [
      'actions with an empty descriptor key or value (survivors of the mutation run)',
      () =>
        chartWith((rl, t) =>
          rl.apply(t, {
            actions: [
              RateLimitAction.requestHeader(':path', ''),
              RateLimitAction.genericKey(''),
              RateLimitAction.genericKey('all', ''),
            ],
          }),
        ),
      [
        '[test/reviews/global-rate-limit] actions[0].descriptorKey: is empty; give the descriptor key it fills, e.g. "PATH"',
        '[test/reviews/global-rate-limit] actions[1].value: is empty; give the fixed value of the entry, e.g. "all"',
        '[test/reviews/global-rate-limit] actions[2].descriptorKey: is empty; leave it out to use "generic_key"',
      ],
    ],
    [
      'a service with no descriptors, which limits nothing',
      () => shop({ descriptors: [] }).chart,
      [
        '[test/ratelimit] descriptors: is empty, so nothing is limited; add at least one descriptor with a limit',
      ],
    ],
    [
      'a target with per-path local rate limits, whose route actions make Envoy skip the global ones',
      () => {
        const { chart, ns, ratelimit } = shop();
        const bucket = { maxTokens: 10, fillInterval: Duration.seconds(1) };
        const api = new Microservice(chart, 'api', {
          namespace: ns,
          image: 'api:1',
          ports: [ServicePort.http(8080)],
          versions: { v1: {} },
          localRateLimit: { bucket, paths: [{ prefix: '/search', bucket }] },
        });
        ratelimit.apply(api, { actions: [PATH] });
        return chart;
      },
      [
        '[test/api/global-rate-limit] target: api has per-path local rate limits, whose route-level actions make Envoy skip these virtual-host actions; drop localRateLimit.paths, or express the path limits as descriptors of the global rate limit',
      ],
    ],
    [
      'a Redis name that is no label, reported for the prop and for the Redis service',
      () => shop({ redisName: 'Redis_1' }).chart,
      [
        '[test/ratelimit] redisName: "Redis_1" is not a valid RFC 1123 label; use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit',
        '[test/ratelimit/redis] name: "Redis_1" is not a valid RFC 1123 label; use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit',
      ],
    ],
    [
      'a rate limit service named like another service of its namespace',
      () => shop({ name: 'reviews' }).chart,
      [
        '[test/ratelimit] name: service reviews.shop.svc.cluster.local is also declared by test/reviews; give each service a unique name in its namespace',
        '[test/reviews] name: service reviews.shop.svc.cluster.local is also declared by test/ratelimit; give each service a unique name in its namespace',
      ],
    ],
    [
      'a name that is not an RFC 1123 label and fractional replicas',
      () => shop({ name: 'Rate_Limit', replicas: 1.5 }).chart,
      [
        '[test/ratelimit] name: "Rate_Limit" is not a valid RFC 1123 label; use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit',
        '[test/ratelimit] replicas: 1.5 must be a whole number of 1 or more; use a whole number of 1 or more',
      ],
    ],
    [
      'a Redis whose name another service in the namespace already has',
      () => {
        const { chart, ns } = shop();
        new Microservice(chart, 'cache', {
          namespace: ns,
          name: 'redis',
          image: 'redis:7',
          versions: { v1: {} },
        });
        return chart;
      },
      [
        '[test/ratelimit/redis] name: service redis.shop.svc.cluster.local is also declared by test/cache; give each service a unique name in its namespace',
        '[test/cache] name: service redis.shop.svc.cluster.local is also declared by test/ratelimit/redis; give each service a unique name in its namespace',
      ],
    ],
  ];
  for (const [name, chart, expected] of cases) {
    it(`refuses ${name}`, () => {
      assert.deepEqual(synthErrors(chart()), expected);
    });
  }
});
