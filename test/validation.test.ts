import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Testing, type Chart } from 'cdk8s';
import {
  Cpu,
  DataPlane,
  Duration,
  MeshNamespace,
  Microservice,
  MtlsMode,
  Probe,
  ServicePort,
  Size,
  StringMatch,
} from '../constructs/index.js';
import { reviews } from './support/fixtures.js';
import { synthErrors } from './support/synth.js';

const cases: [string, () => Chart, string[]][] = [
  [
    'a service name that is not an RFC 1123 label',
    () => reviews({ name: 'Reviews_Service' }).chart,
    [
      '[test/reviews] name: "Reviews_Service" is not a valid RFC 1123 label; use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit',
    ],
  ],
  [
    'a namespace name that is not an RFC 1123 label',
    () => reviews({}, { name: 'shop.prod' }).chart,
    [
      '[test/shop] name: "shop.prod" is not a valid RFC 1123 label; use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit',
    ],
  ],
  [
    'a port out of range',
    () => reviews({ ports: [ServicePort.http(70000)] }).chart,
    [
      '[test/reviews] ports[0].port: 70000 is not a valid port; use a whole number from 1 to 65535',
      '[test/reviews] ports[0].targetPort: 70000 is not a valid port; use a whole number from 1 to 65535',
    ],
  ],
  [
    'two ports with the same number',
    () => reviews({ ports: [ServicePort.http(9080), ServicePort.http2(9080)] }).chart,
    ['[test/reviews] ports[1].port: 9080 is already used by ports[0]; give each port a unique port'],
  ],
  [
    'two ports with the same name',
    () => reviews({ ports: [ServicePort.http(9080), ServicePort.http(9081)] }).chart,
    ['[test/reviews] ports[1].name: http is already used by ports[0]; give each port a unique name'],
  ],
  [
    'a port name that contradicts its protocol',
    () => reviews({ ports: [ServicePort.grpc(9090, { name: 'http-api' })] }).chart,
    [
      '[test/reviews] ports[0].name: "http-api" does not start with its protocol "grpc"; name it "grpc" or "grpc-<suffix>" so Istio\'s protocol selection agrees with appProtocol',
    ],
  ],
  [
    'a route to a version that is not declared',
    () => {
      const { chart, svc } = reviews();
      svc.addRoute({ to: svc.version('v3' as 'v1') });
      return chart;
    },
    [
      '[test/reviews] routes[0].to: version "v3" is not declared; declare it in the versions of reviews, or route to a declared version',
    ],
  ],
  [
    'a route to a version of another service',
    () => {
      const { chart, ns, svc } = reviews();
      const ratings = new Microservice(chart, 'ratings', {
        namespace: ns,
        image: 'r:1',
        versions: { v1: {} },
      });
      svc.addRoute({ to: ratings.version('v1') });
      return chart;
    },
    [
      '[test/reviews] routes[0].to: version "v1" belongs to service "ratings", not "reviews"; route to a version of reviews',
    ],
  ],
  [
    'a negative weight',
    () => {
      const { chart, svc } = reviews();
      svc.addRoute({
        to: [
          { version: svc.version('v1'), weight: 110 },
          { version: svc.version('v2'), weight: -10 },
        ],
      });
      return chart;
    },
    [
      '[test/reviews] routes[0].to[1].weight: -10 is not a whole number of 0 or more; use weights from 0 to 100',
    ],
  ],
  [
    'all weights zero',
    () => {
      const { chart, svc } = reviews();
      svc.addRoute({
        to: [
          { version: svc.version('v1'), weight: 0 },
          { version: svc.version('v2'), weight: 0 },
        ],
      });
      return chart;
    },
    [
      '[test/reviews] routes[0].to: all weights are 0, so the route sends traffic nowhere; give at least one version a weight',
    ],
  ],
  [
    'weights that do not add up to 100',
    () => {
      const { chart, svc } = reviews();
      svc.addRoute({
        to: [
          { version: svc.version('v1'), weight: 90 },
          { version: svc.version('v2'), weight: 20 },
        ],
      });
      return chart;
    },
    [
      '[test/reviews] routes[0].to: weights add up to 110, not 100; make the weights of the route add up to 100',
    ],
  ],
  [
    'a timeout below 1ms and a fraction of a millisecond',
    () => {
      const { chart, svc } = reviews();
      svc.addRoute({
        to: svc.version('v1'),
        timeout: Duration.millis(0.5),
        retries: { attempts: 2, perTryTimeout: Duration.millis(1.5) },
      });
      return chart;
    },
    [
      "[test/reviews] routes[0].timeout: 0.5ms is below Istio's minimum of 1ms; use Duration.millis(1) or more",
      '[test/reviews] routes[0].retries.perTryTimeout: 1.5ms is not a whole number of milliseconds; round it, e.g. Duration.millis(2)',
    ],
  ],
  [
    'retries with attempts 0 and a perTryTimeout',
    () => {
      const { chart, svc } = reviews();
      svc.addRoute({ to: svc.version('v1'), retries: { attempts: 0, perTryTimeout: Duration.seconds(1) } });
      return chart;
    },
    [
      '[test/reviews] routes[0].retries.perTryTimeout: is set while attempts is 0, so it never applies; remove perTryTimeout, or set attempts to 1 or more',
    ],
  ],
  [
    'a misspelled retry condition',
    () => {
      const { chart, svc } = reviews();
      svc.addRoute({ to: svc.version('v1'), retries: { attempts: 2, retryOn: ['5xx', 'connect-failures'] } });
      return chart;
    },
    [
      '[test/reviews] routes[0].retries.retryOn: "connect-failures" is not a retry condition; use HTTP status codes or 5xx, gateway-error, reset, reset-before-request, connect-failure, envoy-ratelimited, retriable-4xx, refused-stream, retriable-status-codes, retriable-headers, http3-post-connect-failure, cancelled, deadline-exceeded, internal, resource-exhausted, unavailable',
    ],
  ],
  [
    'a fault with neither delay nor abort',
    () => {
      const { chart, svc } = reviews();
      svc.addRoute({ to: svc.version('v1'), fault: {} });
      return chart;
    },
    [
      '[test/reviews] routes[0].fault: has neither delay nor abort; give fault a delay, an abort, or both; or remove it',
    ],
  ],
  [
    'an abort with an HTTP status outside 200-599 and a percentage over 100',
    () => {
      const { chart, svc } = reviews();
      svc.addRoute({ to: svc.version('v1'), fault: { abort: { httpStatus: 600, percentage: 150 } } });
      return chart;
    },
    [
      '[test/reviews] routes[0].fault.abort.httpStatus: 600 is not an HTTP status Envoy can return; use a status from 200 to 599',
      '[test/reviews] routes[0].fault.abort.percentage: 150 is not a percentage; use a number from 0 to 100',
    ],
  ],
  [
    'a mirror percentage below 0',
    () => {
      const { chart, svc } = reviews();
      svc.addRoute({ to: svc.version('v1'), mirror: { to: svc.version('v2'), percentage: -5 } });
      return chart;
    },
    ['[test/reviews] routes[0].mirror.percentage: -5 is not a percentage; use a number from 0 to 100'],
  ],
  [
    'routes without a catch-all',
    () => {
      const { chart, svc } = reviews();
      svc.addRoute({
        match: [{ headers: { 'end-user': StringMatch.exact('jason') } }],
        to: svc.version('v2'),
      });
      return chart;
    },
    [
      '[test/reviews] routes: every route has a match, so requests that match none get a 404; add a last route without match',
    ],
  ],
  [
    'a catch-all that shadows later routes',
    () => {
      const { chart, svc } = reviews();
      svc.addRoute({ to: svc.version('v1') });
      svc.addRoute({ match: [{ uri: StringMatch.prefix('/beta') }], to: svc.version('v2') });
      return chart;
    },
    [
      '[test/reviews] routes[1]: can never match: routes[0] has no match and catches every request; move routes[0] to the end',
    ],
  ],
  [
    'an upper-case header name and a relative uri',
    () => {
      const { chart, svc } = reviews();
      svc.addRoute({
        match: [{ headers: { 'End-User': StringMatch.exact('jason') }, uri: StringMatch.prefix('api') }],
        to: svc.version('v2'),
      });
      svc.addRoute({ to: svc.version('v1') });
      return chart;
    },
    [
      '[test/reviews] routes[0].match[0].headers: "End-User" is not a lower-case header name; write it as "end-user"',
      '[test/reviews] routes[0].match[0].uri: prefix "api" does not start with "/"; write request paths from the root, e.g. "/api"',
    ],
  ],
  [
    'an empty match',
    () => {
      const { chart, svc } = reviews();
      svc.addRoute({ match: [{}], to: svc.version('v2') });
      svc.addRoute({ to: svc.version('v1') });
      return chart;
    },
    [
      '[test/reviews] routes[0].match[0]: has no conditions; give it headers, uri, queryParams, method or sourceLabels, or leave the match out',
    ],
  ],
  [
    'two services with the same name in one namespace',
    () => {
      const { chart, ns } = reviews();
      new Microservice(chart, 'reviews-copy', {
        namespace: ns,
        name: 'reviews',
        image: 'r:2',
        versions: { v1: {} },
      });
      return chart;
    },
    [
      '[test/reviews] name: service reviews.shop.svc.cluster.local is also declared by test/reviews-copy; give each service a unique name in its namespace',
      '[test/reviews-copy] name: service reviews.shop.svc.cluster.local is also declared by test/reviews; give each service a unique name in its namespace',
    ],
  ],
  [
    'two VirtualServices for the same host',
    () => {
      const { chart, ns, svc } = reviews();
      const copy = new Microservice(chart, 'reviews-copy', {
        namespace: ns,
        name: 'reviews',
        image: 'r:2',
        versions: { v1: {} },
      });
      svc.addRoute({ to: svc.version('v1') });
      copy.addRoute({ to: copy.version('v1') });
      return chart;
    },
    [
      '[test/reviews] routes: host reviews.shop.svc.cluster.local is also routed by test/reviews-copy, and Istio merges two VirtualServices for one host unpredictably; route the host from one place only',
      '[test/reviews] name: service reviews.shop.svc.cluster.local is also declared by test/reviews-copy; give each service a unique name in its namespace',
      '[test/reviews-copy] routes: host reviews.shop.svc.cluster.local is also routed by test/reviews, and Istio merges two VirtualServices for one host unpredictably; route the host from one place only',
      '[test/reviews-copy] name: service reviews.shop.svc.cluster.local is also declared by test/reviews; give each service a unique name in its namespace',
    ],
  ],
  [
    'a call to a service of another app',
    () => {
      const { chart, svc } = reviews();
      const other = Testing.chart();
      const otherNs = new MeshNamespace(other, 'data');
      svc.calls(
        new Microservice(other, 'ratings', { namespace: otherNs, image: 'r:1', versions: { v1: {} } }),
      );
      return chart;
    },
    [
      '[test/reviews] calls[0] (ratings): service ratings.data.svc.cluster.local is not in this app; declare the called Microservice in the same cdk8s App',
    ],
  ],
  [
    'a service that calls itself',
    () => {
      const { chart, svc } = reviews();
      svc.calls(svc);
      return chart;
    },
    [
      '[test/reviews] calls[0] (reviews): the service calls itself; remove the call; a service needs no policy to reach itself',
    ],
  ],
  [
    'a caller restricted by a lower-case method and a malformed path',
    () => {
      const { chart, ns, svc } = reviews();
      const front = new Microservice(chart, 'front', { namespace: ns, image: 'f:1', versions: { v1: {} } });
      front.calls(svc, { methods: ['get'], paths: ['/api/*/items'] });
      return chart;
    },
    [
      '[test/reviews] callers[0] (front).methods: "get" is not an HTTP method; use upper-case methods: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, CONNECT, TRACE',
      '[test/reviews] callers[0] (front).paths: "/api/*/items" is not a path Istio\'s authorization can match; use an exact path "/a/b", a prefix "/a/*", a suffix "*.js", or whole-segment templates "/a/{*}/b", "/a/{**}"',
    ],
  ],
  [
    'callers in a namespace with mTLS disabled',
    () => {
      const { chart, ns, svc } = reviews({}, { mtls: MtlsMode.DISABLE });
      new Microservice(chart, 'front', { namespace: ns, image: 'f:1', versions: { v1: {} } }).calls(svc);
      return chart;
    },
    [
      '[test/reviews] callers: namespace "shop" has mTLS disabled, so callers have no verified identity and principal rules deny everything; use MtlsMode.STRICT or PERMISSIVE',
    ],
  ],
  [
    'the proxy UID 1337',
    () => reviews({ runAsUser: 1337 }).chart,
    [
      '[test/reviews] runAsUser: 1337 is the UID of the Istio proxy, whose traffic bypasses the mesh; use another non-root UID, e.g. 10001',
    ],
  ],
  [
    'root as the UID',
    () => reviews({ runAsUser: 0 }).chart,
    ['[test/reviews] runAsUser: 0 is not a non-root UID; use a whole number of 1 or more, e.g. 10001'],
  ],
  [
    'an HPA together with fixed replicas',
    () => reviews({ replicas: 3, autoscaling: { minReplicas: 2, maxReplicas: 4 } }).chart,
    [
      '[test/reviews] replicas: is set together with autoscaling; remove replicas; the HorizontalPodAutoscaler sets them',
    ],
  ],
  [
    'an HPA with max below min and a version with replicas',
    () =>
      reviews({ versions: { v1: { replicas: 2 }, v2: {} }, autoscaling: { minReplicas: 5, maxReplicas: 2 } })
        .chart,
    [
      '[test/reviews] versions.v1.replicas: is set together with autoscaling; remove replicas; the HorizontalPodAutoscaler sets them',
      '[test/reviews] autoscaling.maxReplicas: 2 is below minReplicas 5; make maxReplicas at least minReplicas',
    ],
  ],
  [
    'a disruption budget with both fields',
    () => reviews({ disruptionBudget: { minAvailable: 1, maxUnavailable: 1 } }).chart,
    [
      '[test/reviews] disruptionBudget: needs exactly one of minAvailable and maxUnavailable; set one of them, e.g. { maxUnavailable: 1 }',
    ],
  ],
  [
    'a disruption budget that blocks every drain',
    () => reviews({ replicas: 2, disruptionBudget: { maxUnavailable: 0 } }).chart,
    [
      '[test/reviews] disruptionBudget.maxUnavailable: 0 never allows a pod to be evicted, so node drains block; allow at least 1',
    ],
  ],
  [
    'a disruption budget that keeps every pod',
    () => reviews({ replicas: 2, disruptionBudget: { minAvailable: 4 } }).chart,
    [
      '[test/reviews] disruptionBudget.minAvailable: 4 never allows a pod to be evicted, so node drains block; keep fewer than all 4 pods available, or add replicas',
    ],
  ],
  [
    'a disruption budget of 100 % or a bare number in a string',
    () => {
      const { chart, ns } = reviews({ disruptionBudget: { minAvailable: '100%' } });
      new Microservice(chart, 'b', {
        namespace: ns,
        image: 'b:1',
        versions: { v1: {} },
        disruptionBudget: { maxUnavailable: '25' },
      });
      return chart;
    },
    [
      '[test/reviews] disruptionBudget.minAvailable: "100%" never allows a pod to be evicted, so node drains block; use less than "100%"',
      '[test/b] disruptionBudget.maxUnavailable: "25" is neither a whole number nor a percentage like "25%"; use e.g. 1 or "25%"',
    ],
  ],
  [
    'a fractional probe delay and grace period, which the API server refuses',
    () =>
      reviews({
        probes: { liveness: Probe.httpGet('/healthz', 9080, { initialDelay: Duration.millis(1500) }) },
        terminationGracePeriod: Duration.millis(2500),
      }).chart,
    [
      '[test/reviews] terminationGracePeriod: 2500ms is not a whole number of seconds; use Duration.seconds(n)',
      '[test/reviews] probes.liveness.initialDelay: 1500ms is not a whole number of seconds; use Duration.seconds(n)',
    ],
  ],
  [
    'a tracing collector that is not a Sidecar egress host',
    () => reviews({}, { tracing: { samplingPercentage: 1, collector: 'http://otel:4317' } }).chart,
    [
      '[test/shop] tracing.collector: "http://otel:4317" is not a Sidecar egress host; write it as "<namespace>/<host>", e.g. "payments/api.payments.svc.cluster.local" or "istio-system/*"',
    ],
  ],
  [
    'a version without an image',
    () => reviews({ image: undefined, versions: { v1: { image: 'reviews:1' }, v2: {} } }).chart,
    [
      '[test/reviews] versions.v2.image: no image is set for this version; set image on the version or on the service',
    ],
  ],
  [
    'no versions at all',
    () => reviews({ versions: {} as never }).chart,
    ['[test/reviews] versions: declares no version; declare at least one, e.g. { v1: {} }'],
  ],
  [
    'circuit breaking limits that are not positive',
    () =>
      reviews({
        trafficPolicy: {
          connectionPool: { maxConnections: 0, connectTimeout: Duration.millis(0) },
          outlierDetection: { consecutive5xxErrors: 0, maxEjectionPercent: 101 },
        },
      }).chart,
    [
      '[test/reviews] trafficPolicy.connectionPool.maxConnections: 0 must be a whole number of 1 or more; use a whole number of 1 or more',
      "[test/reviews] trafficPolicy.connectionPool.connectTimeout: 0ms is below Istio's minimum of 1ms; use Duration.millis(1) or more",
      '[test/reviews] trafficPolicy.outlierDetection.maxEjectionPercent: 101 is not a whole percentage; use a whole number from 0 to 100',
      '[test/reviews] trafficPolicy.outlierDetection: ejects on no error at all (consecutive5xxErrors is 0); set consecutive5xxErrors or consecutiveGatewayErrors to 1 or more, or remove outlierDetection',
    ],
  ],
  [
    'a tracing sampling percentage over 100',
    () => reviews({}, { tracing: { samplingPercentage: 120 } }).chart,
    ['[test/shop] tracing.samplingPercentage: 120 is not a percentage; use a number from 0 to 100'],
  ],
  [
    'a local rate limit with a bad bucket',
    () =>
      reviews({
        localRateLimit: { bucket: { maxTokens: 0, tokensPerFill: 5, fillInterval: Duration.millis(10) } },
      }).chart,
    [
      '[test/reviews/local-rate-limit] bucket.maxTokens: 0 must be a whole number of 1 or more; use a whole number of 1 or more',
      '[test/reviews/local-rate-limit] bucket.tokensPerFill: 5 is more than maxTokens 0, so the excess is lost; make tokensPerFill at most maxTokens',
      "[test/reviews/local-rate-limit] bucket.fillInterval: 10ms is below Envoy's minimum of 50ms; use Duration.millis(50) or more",
    ],
  ],
  [
    'sidecar options in an ambient namespace',
    () =>
      reviews({ sidecar: { memoryLimit: Size.mebibytes(256) } }, { dataPlane: DataPlane.ambient() }).chart,
    [
      '[test/reviews] sidecar: namespace "shop" is ambient, so pods get no sidecar to configure; remove sidecar, or use DataPlane.sidecar() for the namespace',
    ],
  ],
  [
    'local rate limiting in an ambient namespace, even with a waypoint',
    () =>
      reviews(
        { localRateLimit: { bucket: { maxTokens: 10, fillInterval: Duration.seconds(1) } } },
        { dataPlane: DataPlane.ambient({ waypoint: true }) },
      ).chart,
    [
      '[test/reviews] localRateLimit: namespace "shop" is ambient, and Istio does not support the EnvoyFilter that local rate limiting needs on waypoint proxies; rate-limit at the ingress gateway, or use DataPlane.sidecar() for the namespace',
    ],
  ],
  [
    'a probe on a bad port with a sub-second period',
    () =>
      reviews({ probes: { readiness: Probe.httpGet('/readyz', 0, { period: Duration.millis(500) }) } }).chart,
    [
      '[test/reviews] probes.readiness.port: 0 is not a valid port; use a whole number from 1 to 65535',
      '[test/reviews] probes.readiness.period: 500ms is not a whole number of seconds of at least 1; use Duration.seconds(n) with n ≥ 1',
    ],
  ],
  [
    'a JWT rule with a bad JWKS URI and no paths',
    () => {
      const { chart, svc } = reviews();
      svc.requireJwt({ issuer: 'https://issuer', jwksUri: 'issuer/jwks', paths: [] });
      return chart;
    },
    [
      '[test/reviews] jwt[0].jwksUri: "issuer/jwks" is not an http(s) URL; give the URL of the issuer\'s JWKS document',
      '[test/reviews] jwt[0].paths: is empty, so no path requires a token; list the paths that require one',
    ],
  ],
  [
    'a memory request above its limit, on the app and on the sidecar',
    () =>
      reviews({
        resources: { memory: { request: Size.gibibytes(1), limit: Size.mebibytes(512) } },
        sidecar: { memoryRequest: Size.kibibytes(1500), memoryLimit: Size.mebibytes(1) },
      }).chart,
    [
      '[test/reviews] resources.memory.request: 1024Mi is above the limit 512Mi; make resources.memory.limit at least the request',
      '[test/reviews] sidecar.memoryRequest: 1500Ki is above the limit 1Mi; make sidecar.memoryLimit at least the request',
    ],
  ],
  [
    'CPU finer than a millicore and a request above the default limit (a request of 0 is fine)',
    () =>
      reviews({
        resources: { cpu: { request: Cpu.units(1) }, memory: { request: Size.mebibytes(512) } },
        versions: { v1: { resources: { cpu: { limit: Cpu.units(0.0015) } } }, v2: {} },
        sidecar: { cpuRequest: Cpu.millis(0), cpuLimit: Cpu.units(1.1) },
      }).chart,
    [
      '[test/reviews] versions.v1.resources.cpu.limit: 0.0015 is finer than the 1m (a thousandth of a CPU) Kubernetes accepts; use a whole number of millicores, e.g. Cpu.millis(2)',
      '[test/reviews] resources.cpu.request: 1 is above the default limit 500m; set resources.cpu.limit too, at least as high',
      '[test/reviews] resources.memory.request: 512Mi is above the default limit 256Mi; set resources.memory.limit too, at least as high',
    ],
  ],
  [
    'regular expressions Envoy refuses: invalid, lookaround, backreferences',
    () => {
      const { chart, svc } = reviews();
      svc.addRoute({ match: [{ uri: StringMatch.regex('/api/([a-z') }], to: svc.version('v2') });
      svc.addRoute({
        match: [{ headers: { 'x-id': StringMatch.regex('^(?!admin).*') } }],
        to: svc.version('v2'),
      });
      svc.addRoute({ match: [{ queryParams: { q: StringMatch.regex('(a)\\1') } }], to: svc.version('v2') });
      // RE2 syntax JavaScript lacks is fine: named groups (also with names JavaScript refuses), flag
      // groups, \A and \z, \Q...\E quoting, octal escapes, and "(?=" as text or in a class.
      svc.addRoute({
        match: [
          {
            uri: StringMatch.regex('\\A(?i)/books/(?P<id>[0-9]+)(?s:.*)\\(\\?=x\\)\\z'),
            headers: {
              'x-a': StringMatch.regex('(?P<1st>x)\\Q(\\E\\101\\12'),
              'x-b': StringMatch.regex('[(?=][^)(?!]'),
            },
          },
        ],
        to: svc.version('v2'),
      });
      svc.addRoute({ to: svc.version('v1') });
      return chart;
    },
    [
      '[test/reviews] routes[0].match[0].uri: "/api/([a-z" is not a valid regular expression (unterminated character class); fix the pattern',
      '[test/reviews] routes[1].match[0].headers["x-id"]: "^(?!admin).*" uses lookaround, which RE2 (Envoy\'s regex engine) does not support; rewrite the pattern without it, or match with several routes',
      '[test/reviews] routes[2].match[0].queryParams["q"]: "(a)\\1" uses a backreference, which RE2 (Envoy\'s regex engine) does not support; rewrite the pattern without it, or match with several routes',
    ],
  ],
  [
    'image references the container runtime refuses, and Sidecar egress hosts Istio refuses',
    () => {
      const { chart, svc } = reviews({
        image: 'Reviews Image:1',
        extraEgressHosts: ['istio-system/*', 'not-a-host'],
        versions: {
          // Valid, 393 characters: a registry port, a 180-character path, a 128-character tag, a digest.
          v1: { image: `registry.local:5000/${'a'.repeat(180)}:${'t'.repeat(128)}@sha256:${'a'.repeat(64)}` },
          v2: { image: 'shop/reviews:' },
        },
      });
      svc
        .addEgressHost('payments', 'api.payments.svc.cluster.local')
        .addEgressHost('payments', 'http://api')
        .addEgressHost('payments', 'API.Payments.example.com.');
      return chart;
    },
    [
      '[test/reviews] image: "Reviews Image:1" is not a container image reference; write it as [registry/]path[:tag][@sha256:digest] with a lower-case path, e.g. "ghcr.io/acme/shop:1.2.0"',
      '[test/reviews] egressHosts[1]: "payments/http://api" is not a Sidecar egress host; write it as "<namespace>/<host>", e.g. "payments/api.payments.svc.cluster.local" or "istio-system/*"',
      '[test/reviews] extraEgressHosts[1]: "not-a-host" is not a Sidecar egress host; write it as "<namespace>/<host>", e.g. "payments/api.payments.svc.cluster.local" or "istio-system/*"',
      '[test/reviews] versions.v2.image: "shop/reviews:" is not a container image reference; write it as [registry/]path[:tag][@sha256:digest] with a lower-case path, e.g. "ghcr.io/acme/shop:1.2.0"',
    ],
  ],
  [
    'a header match with an empty name, and one namespace declared twice',
    () => {
      const { chart, svc } = reviews();
      new MeshNamespace(chart, 'shop-again', { name: 'shop' });
      svc.addRoute({ match: [{ headers: { '': StringMatch.exact('x') } }], to: svc.version('v2') });
      svc.addRoute({ to: svc.version('v1') });
      return chart;
    },
    [
      '[test/shop] name: namespace "shop" is also declared by test/shop-again; declare each namespace once and pass that MeshNamespace to all its services',
      '[test/reviews] routes[0].match[0].headers: has a header with an empty name; name the header, e.g. "end-user"',
      '[test/shop-again] name: namespace "shop" is also declared by test/shop; declare each namespace once and pass that MeshNamespace to all its services',
    ],
  ],
  [
    'environment variable names the API server refuses',
    () =>
      reviews({
        env: { LOG_LEVEL: 'info', 'A=B': 'x', '': 'y' },
        versions: { v1: { env: { 'TAB\tNAME': 'z' } }, v2: {} },
      }).chart,
    [
      '[test/reviews] versions.v1.env["TAB\\tNAME"]: is not a valid environment variable name; use printable ASCII characters other than "=", e.g. LOG_LEVEL',
      '[test/reviews] env["A=B"]: is not a valid environment variable name; use printable ASCII characters other than "=", e.g. LOG_LEVEL',
      '[test/reviews] env[""]: is not a valid environment variable name; use printable ASCII characters other than "=", e.g. LOG_LEVEL',
    ],
  ],
  [
    'a memory size that is not a whole number of bytes, and a limit of 0',
    () =>
      reviews({
        versions: { v1: { resources: { memory: { limit: Size.kibibytes(0.0001) } } }, v2: {} },
        sidecar: { memoryRequest: Size.mebibytes(0), memoryLimit: Size.mebibytes(0) },
      }).chart,
    [
      '[test/reviews] versions.v1.resources.memory.limit: 0.1024 bytes is not a whole number of bytes; use a whole number of kibibytes or mebibytes, e.g. Size.kibibytes(1) (the next whole kibibyte)',
      '[test/reviews] sidecar.memoryLimit: 0Mi as a limit leaves the container nothing; raise sidecar.memoryLimit, or leave it out',
    ],
  ],
];

describe('synth-time validation', () => {
  for (const [name, build, expected] of cases) {
    it(`rejects ${name}`, () => {
      assert.deepEqual(synthErrors(build()), expected);
    });
  }

  it('lists every problem of the whole app at once', () => {
    const chart = Testing.chart();
    const ns = new MeshNamespace(chart, 'Shop');
    const a = new Microservice(chart, 'a', {
      namespace: ns,
      image: 'a:1',
      runAsUser: 1337,
      versions: { v1: {} },
    });
    a.addRoute({ to: a.version('v2' as 'v1') });
    assert.equal(synthErrors(chart).length, 3);
  });

  it('has at least 25 bad-input cases', () => {
    assert.ok(cases.length >= 25, `only ${cases.length} cases`);
  });
});
