import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Chart, Testing } from 'cdk8s';
import {
  AppRegistry,
  DataPlane,
  Duration,
  GatewayApiIngress,
  GlobalRateLimit,
  GlobalRateLimitService,
  IstioIngress,
  LoadBalancer,
  LocalRateLimit,
  MeshNamespace,
  Microservice,
  Probe,
  RateLimitAction,
  RateLimitUnit,
  ServicePort,
  Size,
  StringMatch,
  charts,
  callersOf,
  explainAllCallers,
  ExplainError,
  explainRequest,
  formatAllCallers,
  formatExplanation,
  ImageSource,
  MeshAppDefinition,
  MeshIndex,
  meshIndex,
  orderedApiObjects,
  ReferenceImage,
  renderObjects,
  validateApp,
  validateWith,
} from '../constructs/index.js';
import { closestKey, describe as describeValue } from '../constructs/input.js';
import { synth, synthErrors } from './support/synth.js';

/** The API as a JavaScript caller (or JSON-loaded config) sees it: without its types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Untyped = any;
const js = (value: unknown): Untyped => value;

/**
 * Asserts that `f` throws one plain Error (not a TypeError from deep inside) whose lines are
 * exactly `lines`, and that no fix suggests the very string that was refused as its example.
 */
function refuses(f: () => unknown, lines: string[]): void {
  let error: unknown;
  try {
    f();
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof Error, 'expected an Error to be thrown');
  assert.equal(
    error.constructor,
    Error,
    `expected a plain Error, got ${error.constructor.name}: ${error.message}`,
  );
  const actual = error.message.split('\n');
  assert.deepEqual(actual, lines);
  for (const line of actual) {
    const refused = /got the string ("(?:[^"\\]|\\.)*")/.exec(line)?.[1];
    const fix = line.slice(line.lastIndexOf('; ') + 2);
    if (refused) assert.ok(!fix.includes(`e.g. ${refused}`), `the fix suggests ${refused} again: ${line}`);
  }
}

/** A chart "payments" with namespace "payments" and services "api" (v1, v2) and "ledger". */
function payments() {
  const chart = new Chart(Testing.app(), 'payments');
  const ns = new MeshNamespace(chart, 'payments');
  const api = new Microservice(chart, 'api', { namespace: ns, image: 'api:1', versions: { v1: {}, v2: {} } });
  const ledger = new Microservice(chart, 'ledger', {
    namespace: ns,
    image: 'ledger:1',
    versions: { v1: {} },
  });
  return { chart, ns, api, ledger };
}

/** Props of a valid service "orders" in `ns`, for the cases to add to. */
function orders(ns: MeshNamespace, extra: Record<string, unknown> = {}) {
  return { namespace: ns, image: 'orders:1', versions: { v1: {} }, ...extra };
}

describe('input checks: JavaScript callers get messages, not TypeErrors', () => {
  describe('Microservice', () => {
    it('names a string given for a number, in the list and in the factory that makes it', () => {
      const { chart, ns } = payments();
      refuses(
        () => new Microservice(chart, 'orders', js(orders(ns, { ports: ['8080'] }))),
        [
          '[payments/orders] ports[0]: expected a ServicePort (e.g. ServicePort.http(8080)), got the string "8080"; create it with ServicePort.http(port), http2(port), grpc(port) or tcp(port)',
        ],
      );
      refuses(
        () => js(ServicePort).http('8080'),
        ['ServicePort.http: port: expected a number, got the string "8080"; pass a number, e.g. 8080'],
      );
    });

    it('says a missing required prop is missing, all of them at once', () => {
      const { chart } = payments();
      refuses(
        () => new Microservice(chart, 'orders', js({ image: 'orders:1' })),
        [
          '[payments/orders] namespace: is required but missing; pass the MeshNamespace construct itself',
          '[payments/orders] versions: is required but missing; pass an object, e.g. { v1: {} }',
        ],
      );
    });

    it('says missing props are missing', () => {
      const { chart } = payments();
      refuses(
        () => new Microservice(chart, 'orders', js(undefined)),
        [
          '[payments/orders] props: is required but missing; pass an object, e.g. { namespace, image: "reviews:1.0.0", versions: { v1: {} } }',
        ],
      );
    });

    it('refuses null for optional props, naming the way to leave them out', () => {
      const { chart, ns } = payments();
      refuses(
        () =>
          new Microservice(chart, 'orders', js(orders(ns, { replicas: null, env: null, namespace: null }))),
        [
          '[payments/orders] namespace: expected a MeshNamespace (e.g. new MeshNamespace(chart, "shop")), got null; pass the MeshNamespace construct itself',
          '[payments/orders] env: expected an object, got null; pass an object, e.g. { LOG_LEVEL: "info" }, or leave it out',
          '[payments/orders] replicas: expected a number, got null; pass a number, e.g. 2, or leave it out',
        ],
      );
    });

    it('refuses numeric strings in autoscaling instead of comparing them as strings', () => {
      const { chart, ns } = payments();
      refuses(
        () =>
          new Microservice(
            chart,
            'orders',
            js(orders(ns, { autoscaling: { minReplicas: '2', maxReplicas: '10' } })),
          ),
        [
          '[payments/orders] autoscaling.minReplicas: expected a number, got the string "2"; pass a number, e.g. 2',
          '[payments/orders] autoscaling.maxReplicas: expected a number, got the string "10"; pass a number, e.g. 6',
        ],
      );
    });

    it('reports unknown props with the closest known name, or the known names', () => {
      const { chart, ns } = payments();
      refuses(
        () =>
          new Microservice(
            chart,
            'orders',
            js({ ...orders(ns), replica: 2, verions: {}, autoscaling: { minReplicas: 1, maxReplica: 3 } }),
          ),
        [
          '[payments/orders] replica: is not a known option; did you mean replicas?',
          '[payments/orders] verions: is not a known option; did you mean versions?',
          '[payments/orders] autoscaling.maxReplica: is not a known option; did you mean maxReplicas?',
          '[payments/orders] autoscaling.maxReplicas: is required but missing; pass a number, e.g. 6',
        ],
      );
      refuses(
        () => new Microservice(chart, 'orders-2', js(orders(ns, { probes: { healthz: Probe.tcp(8080) } }))),
        [
          '[payments/orders-2] probes.healthz: is not a known option; remove it; the options are readiness, liveness, startup',
        ],
      );
    });

    it('walks nested props: versions, resources, traffic policy, sidecar, local rate limit', () => {
      const { chart, ns } = payments();
      refuses(
        () =>
          new Microservice(
            chart,
            'orders',
            js(
              orders(ns, {
                versions: { v1: { replicas: '2', env: { PORT: 8080 } } },
                resources: { memory: { limit: '256Mi' } },
                trafficPolicy: {
                  connectionPool: { maxConnection: 10 },
                  outlierDetection: { interval: { seconds: 5 } },
                  loadBalancer: 'LEAST_REQUEST',
                },
                sidecar: { cpuRequest: Size.mebibytes(1), logLevel: 'warn' },
                localRateLimit: { bucket: { maxTokens: 10, fillInterval: 1000 }, paths: { prefix: '/api' } },
                imagePullPolicy: 'always',
                writablePaths: '/data',
                terminationGracePeriod: 30,
                mountServiceAccountToken: 'false',
              }),
            ),
          ),
        [
          '[payments/orders] versions.v1.replicas: expected a number, got the string "2"; pass a number, e.g. 2, or leave it out',
          '[payments/orders] versions.v1.env["PORT"]: expected a string or an EnvValue, got the number 8080; pass a string, e.g. "info", or EnvValue.fromSecret("db", "password")',
          '[payments/orders] resources.memory.limit: expected a Size (e.g. Size.mebibytes(128)), got the string "256Mi"; create it with Size.mebibytes(n) or Size.gibibytes(n), or leave it out',
          '[payments/orders] mountServiceAccountToken: expected true or false, got the string "false"; pass true or false, or leave it out',
          '[payments/orders] writablePaths: expected an array, got the string "/data"; pass an array, e.g. ["/data"], or leave it out',
          '[payments/orders] terminationGracePeriod: expected a Duration (e.g. Duration.seconds(5)), got the number 30; create it with Duration.millis(n), Duration.seconds(n) or Duration.minutes(n), or leave it out',
          '[payments/orders] imagePullPolicy: expected one of "Always", "IfNotPresent", "Never", got the string "always"; use "Always", "IfNotPresent" or "Never", or leave it out',
          '[payments/orders] sidecar.cpuRequest: expected a Cpu (e.g. Cpu.millis(250)), got a Size; create it with Cpu.millis(n) or Cpu.units(n), or leave it out',
          '[payments/orders] sidecar.logLevel: expected one of "trace", "debug", "info", "warning", "error", "critical", "off", got the string "warn"; use "trace", "debug", "info", "warning", "error", "critical" or "off", or leave it out',
          '[payments/orders] trafficPolicy.connectionPool.maxConnection: is not a known option; did you mean maxConnections?',
          '[payments/orders] trafficPolicy.outlierDetection.interval: expected a Duration (e.g. Duration.seconds(5)), got a plain object; create it with Duration.millis(n), Duration.seconds(n) or Duration.minutes(n), or leave it out',
          '[payments/orders] trafficPolicy.loadBalancer: expected a LoadBalancer (e.g. LoadBalancer.leastRequest()), got the string "LEAST_REQUEST"; create it with LoadBalancer.leastRequest(), roundRobin(), random() or a consistentHash...() factory, or leave it out',
          '[payments/orders] localRateLimit.bucket.fillInterval: expected a Duration (e.g. Duration.seconds(5)), got the number 1000; create it with Duration.millis(n), Duration.seconds(n) or Duration.minutes(n)',
          '[payments/orders] localRateLimit.paths: expected an array, got a plain object; pass an array, e.g. [{ prefix: "/api", bucket: {...} }], or leave it out',
        ],
      );
    });

    it('refuses a list where a map is expected, and a value class where props are', () => {
      const { chart, ns } = payments();
      refuses(
        () =>
          new Microservice(
            chart,
            'orders',
            js(orders(ns, { versions: ['v1'], disruptionBudget: Duration.seconds(1) })),
          ),
        [
          '[payments/orders] versions: expected an object, got an array; pass an object, e.g. { v1: {} }',
          '[payments/orders] disruptionBudget: expected an object, got a Duration; pass an object, e.g. { maxUnavailable: 1 }, or leave it out',
        ],
      );
    });

    it('checks the scope and id before the construct exists', () => {
      const { chart, ns } = payments();
      refuses(
        () => new Microservice(js(undefined), js(7), orders(ns)),
        [
          'Microservice: scope: expected a construct (a Chart, or a construct in one), got undefined; pass the chart, e.g. new Chart(app, "shop")',
          'Microservice: id: expected a string, got the number 7; pass a string, e.g. "reviews"',
        ],
      );
      assert.equal(chart.node.tryFindChild('7'), undefined);
    });

    it('checks the arguments of version, addEgressHost and versionService', () => {
      const { api } = payments();
      refuses(
        () => js(api).version(2),
        ['[payments/api] version(name): expected a string, got the number 2; pass a string, e.g. "v1"'],
      );
      refuses(
        () => js(api).addEgressHost('payments'),
        [
          '[payments/api] addEgressHost(host): is required but missing; pass a string, e.g. "api.payments.svc.cluster.local"',
        ],
      );
      refuses(
        () => js(api).versionService(null),
        ['[payments/api] versionService(version): expected a string, got null; pass a string, e.g. "v1"'],
      );
    });

    it('checks routes: a bare version name, typos, nested retries, faults and matches', () => {
      const { api } = payments();
      api.addRoute({ to: api.version('v1') });
      refuses(
        () =>
          js(api).addRoute({
            match: [{ headers: { 'end-user': 'jason' }, uri: StringMatch.prefix('/api') }],
            to: 'v2',
            timout: Duration.seconds(1),
            retries: { attempts: '2', retryOn: '5xx' },
            fault: { abort: { httpStatus: 503 } },
            mirror: { to: { name: 'v2' } },
          }),
        [
          '[payments/api] routes[1].timout: is not a known option; did you mean timeout?',
          '[payments/api] routes[1].match[0].headers["end-user"]: expected a StringMatch (e.g. StringMatch.exact("jason")), got the string "jason"; create it with StringMatch.exact(...), StringMatch.prefix(...) or StringMatch.regex(...)',
          '[payments/api] routes[1].to: expected a version handle (e.g. reviews.version("v1")) or an array of { version, weight }, got the string "v2"; pass the handle the service gives, e.g. reviews.version("v1"), or [{ version: reviews.version("v1"), weight: 90 }, ...]',
          '[payments/api] routes[1].retries.attempts: expected a number, got the string "2"; pass a number, e.g. 2',
          '[payments/api] routes[1].retries.retryOn: expected an array, got the string "5xx"; pass an array, e.g. ["5xx", "connect-failure"], or leave it out',
          '[payments/api] routes[1].fault.abort.percentage: is required but missing; pass a number, e.g. 10',
          '[payments/api] routes[1].mirror.to: expected a version handle (e.g. reviews.version("v1")), got a plain object; pass the handle the service gives, e.g. reviews.version("v1")',
        ],
      );
    });

    it('checks the weights of a split', () => {
      const { api } = payments();
      refuses(
        () =>
          js(api).addRoute({
            to: [
              { version: api.version('v1'), weight: '90' },
              { version: 'v2', weight: 10 },
            ],
          }),
        [
          '[payments/api] routes[0].to[0].weight: expected a number, got the string "90"; pass a number, e.g. 50',
          '[payments/api] routes[0].to[1].version: expected a version handle (e.g. reviews.version("v1")), got the string "v2"; pass the handle the service gives, e.g. reviews.version("v1")',
        ],
      );
    });

    it('names the target of calls, and the call by its index', () => {
      const { api, ledger } = payments();
      api.calls(ledger);
      refuses(
        () => js(api).calls('ledger', { methods: 'GET' }),
        [
          '[payments/api] calls[1]: expected a Microservice or ExternalService (e.g. new Microservice(chart, "reviews", {...})), got the string "ledger"; pass the Microservice (or ExternalService) construct itself, not its name',
          '[payments/api] calls[1].methods: expected an array, got the string "GET"; pass an array, e.g. ["GET", "POST"], or leave it out',
        ],
      );
      refuses(
        () => js(api).calls(ledger, { method: ['GET'] }),
        ['[payments/api] calls[1] (ledger).method: is not a known option; did you mean methods?'],
      );
      // A look-alike of a call target (one of its two hooks, or null) is none.
      const target = (v: unknown, i: number) =>
        `[payments/api] calls[${i}]: expected a Microservice or ExternalService (e.g. new Microservice(chart, "reviews", {...})), got ${v}; pass the Microservice (or ExternalService) construct itself, not its name`;
      refuses(() => js(api).calls({ name: 'x', _addCaller: () => undefined }), [target('a plain object', 1)]);
      refuses(() => js(api).calls({ name: 'x', _egressFor: () => [] }), [target('a plain object', 1)]);
      refuses(() => js(api).calls(null), [target('null', 1)]);
    });

    it('names the caller of allowFrom by its service account, with its namespace when another', () => {
      const { api } = payments();
      refuses(
        () => js(api).allowFrom({ principal: 'cluster.local/ns/payments/sa/web', paths: '/api/*' }),
        [
          '[payments/api] callers[0] (web).paths: expected an array, got the string "/api/*"; pass an array, e.g. ["/api", "/api/*"], or leave it out',
        ],
      );
      refuses(
        () => js(api).allowFrom({ principal: 'cluster.local/ns/shop/sa/web', methods: [7] }),
        [
          '[payments/api] callers[0] (shop/web).methods[0]: expected a string, got the number 7; pass a string, e.g. "GET"',
        ],
      );
      refuses(
        () => js(api).allowFrom({ methods: ['GET'] }),
        [
          '[payments/api] callers[0].principal: is required but missing; pass a string, e.g. "cluster.local/ns/shop/sa/storefront"',
        ],
      );
    });

    it('checks JWT rules', () => {
      const { api } = payments();
      refuses(
        () => js(api).requireJwt({ issuer: 'https://auth.example.com/', jwksUri: 42, path: ['/admin'] }),
        [
          '[payments/api] jwt[0].path: is not a known option; did you mean paths?',
          '[payments/api] jwt[0].jwksUri: expected a string, got the number 42; pass a string, e.g. "https://auth.example.com/jwks.json"',
          '[payments/api] jwt[0].paths: is required but missing; pass an array, e.g. ["/api", "/api/*"]',
        ],
      );
    });
  });

  describe('call-graph problems name the caller or target', () => {
    it('callers[0] (api), calls[0] (ledger)', () => {
      const chart = new Chart(Testing.app(), 'payments');
      const ns = new MeshNamespace(chart, 'payments');
      const other = new MeshNamespace(new Chart(Testing.app(), 'elsewhere'), 'ledger');
      const api = new Microservice(chart, 'api', { namespace: ns, image: 'api:1', versions: { v1: {} } });
      const ledger = new Microservice(chart, 'ledger', { namespace: ns, image: 'l:1', versions: { v1: {} } });
      const outside = new Microservice(other, 'audit', {
        namespace: other,
        image: 'a:1',
        versions: { v1: {} },
      });
      api.calls(ledger, { methods: ['get'] }).calls(outside);
      assert.deepEqual(synthErrors(chart), [
        '[payments/api] calls[1] (audit): service audit.ledger.svc.cluster.local is not in this app; declare the called Microservice in the same cdk8s App',
        '[payments/ledger] callers[0] (api).methods: "get" is not an HTTP method; use upper-case methods: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, CONNECT, TRACE',
      ]);
    });
  });

  describe('MeshNamespace and DataPlane', () => {
    it('checks props, an unknown mTLS mode, and unknown props without a close name', () => {
      const chart = new Chart(Testing.app(), 'payments');
      refuses(
        () =>
          new MeshNamespace(
            chart,
            'payments',
            js({ mtls: 'strict', tracing: { samplingPercentage: '10' }, labels: ['a'], zzzzzzzz: 1 }),
          ),
        [
          '[payments/payments] zzzzzzzz: is not a known option; remove it; the options are name, dataPlane, mtls, defaultDeny, tracing, accessLogging, trustDomain, labels, outboundTrafficPolicy',
          '[payments/payments] mtls: expected one of "STRICT", "PERMISSIVE", "DISABLE", got the string "strict"; use MtlsMode.STRICT, MtlsMode.PERMISSIVE or MtlsMode.DISABLE, or leave it out',
          '[payments/payments] tracing.samplingPercentage: expected a number, got the string "10"; pass a number, e.g. 10',
          '[payments/payments] labels: expected an object, got an array; pass an object, e.g. { team: "payments" }, or leave it out',
        ],
      );
      refuses(
        () => new MeshNamespace(chart, 'other', js({ dataPlane: 'ambient' })),
        [
          '[payments/other] dataPlane: expected a DataPlane (e.g. DataPlane.sidecar()), got the string "ambient"; create it with DataPlane.sidecar(), DataPlane.revision(name) or DataPlane.ambient(), or leave it out',
        ],
      );
      refuses(
        () => new MeshNamespace(chart, 'third', js(null)),
        [
          '[payments/third] props: expected an object, got null; pass an object, e.g. { name: "shop" }, or leave it out',
        ],
      );
    });

    it('checks principal and fqdn', () => {
      const { ns } = payments();
      refuses(
        () => js(ns).principal(undefined),
        [
          '[payments/payments] principal(serviceAccount): is required but missing; pass a string, e.g. "storefront"',
        ],
      );
      refuses(
        () => js(ns).fqdn(['api']),
        ['[payments/payments] fqdn(service): expected a string, got an array; pass a string, e.g. "reviews"'],
      );
    });

    it('checks the DataPlane factories', () => {
      refuses(
        () => js(DataPlane).revision(1),
        ['DataPlane.revision: revision: expected a string, got the number 1; pass a string, e.g. "1-30-3"'],
      );
      refuses(
        () => js(DataPlane).ambient({ waypont: true }),
        ['DataPlane.ambient: options.waypont: is not a known option; did you mean waypoint?'],
      );
    });
  });

  describe('value factories', () => {
    it('ServicePort', () => {
      for (const factory of ['http', 'http2', 'grpc', 'tcp']) {
        refuses(
          () => js(ServicePort)[factory](8080, { name: 7, target: 9090 }),
          [
            `ServicePort.${factory}: options.target: is not a known option; did you mean targetPort?`,
            `ServicePort.${factory}: options.name: expected a string, got the number 7; pass a string, e.g. "http-api", or leave it out`,
          ],
        );
      }
      refuses(
        () => js(ServicePort).tcp(),
        ['ServicePort.tcp: port: is required but missing; pass a number, e.g. 8080'],
      );
    });

    it('Probe', () => {
      refuses(
        () => js(Probe).httpGet(8080, '/healthz'),
        [
          'Probe.httpGet: path: expected a string, got the number 8080; pass a string, e.g. "/healthz"',
          'Probe.httpGet: port: expected a number, got the string "/healthz"; pass a number, e.g. 8080',
        ],
      );
      refuses(
        () => js(Probe).tcp(5432, { period: 10 }),
        [
          'Probe.tcp: options.period: expected a Duration (e.g. Duration.seconds(5)), got the number 10; create it with Duration.millis(n), Duration.seconds(n) or Duration.minutes(n), or leave it out',
        ],
      );
      refuses(
        () => js(Probe).grpc(9090, { failureTreshold: 3 }),
        ['Probe.grpc: options.failureTreshold: is not a known option; did you mean failureThreshold?'],
      );
    });

    it('StringMatch', () => {
      for (const factory of ['exact', 'prefix', 'regex']) {
        refuses(
          () => js(StringMatch)[factory](/api/),
          [`StringMatch.${factory}: value: expected a string, got a RegExp; pass a string, e.g. "/api"`],
        );
      }
    });

    it('LoadBalancer', () => {
      refuses(
        () => js(LoadBalancer).consistentHashByHeader(),
        [
          'LoadBalancer.consistentHashByHeader: header: is required but missing; pass a string, e.g. "x-user-id"',
        ],
      );
      refuses(
        () => js(LoadBalancer).consistentHashByCookie('session', '1h'),
        [
          'LoadBalancer.consistentHashByCookie: ttl: expected a Duration (e.g. Duration.seconds(5)), got the string "1h"; create it with Duration.millis(n), Duration.seconds(n) or Duration.minutes(n)',
        ],
      );
    });

    it('RateLimitAction', () => {
      refuses(
        () => js(RateLimitAction).requestHeader(':path', undefined, { skipIfAbsent: 'yes' }),
        [
          'RateLimitAction.requestHeader: descriptorKey: is required but missing; pass a string, e.g. "PATH"',
          'RateLimitAction.requestHeader: options.skipIfAbsent: expected true or false, got the string "yes"; pass true or false, or leave it out',
        ],
      );
      refuses(
        () => js(RateLimitAction).genericKey(undefined, 5),
        [
          'RateLimitAction.genericKey: value: is required but missing; pass a string, e.g. "all"',
          'RateLimitAction.genericKey: descriptorKey: expected a string, got the number 5; pass a string, e.g. "generic_key", or leave it out',
        ],
      );
    });
  });

  describe('ingresses', () => {
    it('IstioIngress: props, and routes naming their target', () => {
      const { chart, ns, api } = payments();
      refuses(
        () =>
          new IstioIngress(
            chart,
            'edge',
            js({ namespace: ns, hosts: 'pay.example.com', tls: { credentialName: 5 } }),
          ),
        [
          '[payments/edge] hosts: expected an array, got the string "pay.example.com"; pass an array, e.g. ["shop.example.com"]',
          '[payments/edge] tls.credentialName: expected a string, got the number 5; pass a string, e.g. "shop-tls"',
        ],
      );
      const edge = new IstioIngress(chart, 'edge-2', { namespace: ns, hosts: ['pay.example.com'] });
      refuses(
        () => js(edge).addRoute({ pathprefix: '/api', to: 'api' }),
        [
          '[payments/edge-2] routes[0].pathprefix: is not a known option; did you mean pathPrefix?',
          '[payments/edge-2] routes[0].to: expected a Microservice (e.g. new Microservice(chart, "reviews", {...})), got the string "api"; pass the Microservice construct itself, not its name',
        ],
      );
      refuses(
        () => js(edge).addRoute({ to: api, timeout: '5s' }),
        [
          '[payments/edge-2] routes[0] (api).timeout: expected a Duration (e.g. Duration.seconds(5)), got the string "5s"; create it with Duration.millis(n), Duration.seconds(n) or Duration.minutes(n), or leave it out',
        ],
      );
    });

    it('GatewayApiIngress: props, and routes to a service or a split', () => {
      const { chart, ns, api } = payments();
      refuses(
        () => new GatewayApiIngress(chart, 'edge', js({ hosts: ['pay.example.com'], tls: 'pay-tls' })),
        [
          '[payments/edge] namespace: is required but missing; pass the MeshNamespace construct itself',
          '[payments/edge] tls: expected an object, got the string "pay-tls"; pass an object, e.g. { credentialName: "shop-tls" }, or leave it out',
        ],
      );
      const edge = new GatewayApiIngress(chart, 'edge-2', { namespace: ns, hosts: ['pay.example.com'] });
      refuses(
        () => js(edge).addRoute({ to: { version: api.version('v1'), weight: 100 } }),
        [
          '[payments/edge-2] routes[0].to: expected a Microservice or an array of { version, weight }, got a plain object; pass the Microservice construct itself, or [{ version: reviews.version("v1"), weight: 90 }, ...]',
        ],
      );
      refuses(
        () => js(edge).addRoute({ to: [{ version: api.version('v1'), weight: '100' }] }),
        [
          '[payments/edge-2] routes[0].to[0].weight: expected a number, got the string "100"; pass a number, e.g. 50',
        ],
      );
    });
  });

  describe('rate limits', () => {
    it('GlobalRateLimitService: props and nested descriptors', () => {
      const { chart, ns } = payments();
      refuses(
        () =>
          new GlobalRateLimitService(
            chart,
            'ratelimit',
            js({
              namespace: ns,
              domain: 'payments',
              descriptors: [
                {
                  key: 'PATH',
                  descriptors: [
                    { key: 'remote_address', limit: { requestPerUnit: 10, unit: RateLimitUnit.SECOND } },
                  ],
                },
              ],
              replicas: '2',
            }),
          ),
        [
          '[payments/ratelimit] descriptors[0].descriptors[0].limit.requestPerUnit: is not a known option; did you mean requestsPerUnit?',
          '[payments/ratelimit] descriptors[0].descriptors[0].limit.requestsPerUnit: is required but missing; pass a number, e.g. 100',
          '[payments/ratelimit] replicas: expected a number, got the string "2"; pass a number, e.g. 2, or leave it out',
        ],
      );
    });

    it('apply names the target by its index and name', () => {
      const { chart, ns, api } = payments();
      const limits = new GlobalRateLimitService(chart, 'ratelimit', {
        namespace: ns,
        domain: 'payments',
        descriptors: [{ key: 'remote_address', limit: { requestsPerUnit: 10, unit: RateLimitUnit.SECOND } }],
      });
      refuses(
        () => js(limits).apply('api', { actions: [RateLimitAction.remoteAddress()] }),
        [
          '[payments/ratelimit] targets[0]: expected a Microservice (e.g. new Microservice(chart, "reviews", {...})), got the string "api"; pass the Microservice construct itself, not its name',
        ],
      );
      refuses(
        () => js(limits).apply(api, { actions: [{ remoteAddress: {} }], failureModeDeny: 'true' }),
        [
          '[payments/ratelimit] targets[1] (api).actions[0]: expected a RateLimitAction (e.g. RateLimitAction.remoteAddress()), got a plain object; create it with RateLimitAction.requestHeader(...), genericKey(...) or remoteAddress()',
          '[payments/ratelimit] targets[1] (api).failureModeDeny: expected true or false, got the string "true"; pass true or false, or leave it out',
        ],
      );
    });

    it('GlobalRateLimit and LocalRateLimit, created directly', () => {
      const { api } = payments();
      refuses(
        () => new GlobalRateLimit(api, 'limit', js({ target: api, actions: [] })),
        [
          '[payments/api/limit] service: is required but missing; pass the GlobalRateLimitService construct itself',
        ],
      );
      refuses(
        () =>
          new LocalRateLimit(
            api,
            'local',
            js({ service: 'api', bucket: { maxTokens: '10', fillInterval: Duration.seconds(1) } }),
          ),
        [
          '[payments/api/local] bucket.maxTokens: expected a number, got the string "10"; pass a number, e.g. 100',
          '[payments/api/local] service: expected a Microservice (e.g. new Microservice(chart, "reviews", {...})), got the string "api"; pass the Microservice construct itself, not its name',
        ],
      );
    });
  });

  describe('valid input', () => {
    it('props set to undefined are props left out', () => {
      const { chart, ns } = payments();
      const svc = new Microservice(chart, 'orders', {
        namespace: ns,
        image: 'orders:1',
        versions: { v1: {} },
        replicas: undefined,
        autoscaling: undefined,
        trafficPolicy: { loadBalancer: undefined },
      });
      svc.addRoute({ to: svc.version('v1'), timeout: undefined });
      assert.ok(synth(chart).length > 0);
    });
  });

  describe('rendering', () => {
    it('names the App that renderObjects, validateApp and charts expect, and the Chart for orderedApiObjects', () => {
      const app = Testing.app();
      const chart = new Chart(app, 'payments');
      refuses(
        () => renderObjects(js(undefined)),
        [
          'renderObjects: expected the cdk8s App the charts were built in, got undefined; pass the `new App()` the charts were added to',
        ],
      );
      refuses(
        () => renderObjects(js(chart)),
        [
          'renderObjects: expected the cdk8s App the charts were built in, got the Chart "payments"; pass the App it belongs to (its `.node.root`)',
        ],
      );
      refuses(
        () => validateApp(js({ node: {} })),
        [
          'validateApp: expected the cdk8s App the charts were built in, got a plain object; pass the `new App()` the charts were added to',
        ],
      );
      refuses(
        () => charts(js('app')),
        [
          'charts: expected the cdk8s App the charts were built in, got the string "app"; pass the `new App()` the charts were added to',
        ],
      );
      refuses(
        () => orderedApiObjects(js(app)),
        ["orderedApiObjects: expected a cdk8s Chart, got the root App; pass one of the App's charts"],
      );
      assert.deepEqual(renderObjects(app), []);
      assert.deepEqual(charts(app), [chart]);
    });
  });

  describe('the helpers', () => {
    it('describe a value so that "8080" and 8080 read differently', () => {
      const cases: [unknown, string][] = [
        ['8080', 'the string "8080"'],
        [8080, 'the number 8080'],
        [NaN, 'NaN'],
        [true, 'the boolean true'],
        [null, 'null'],
        [undefined, 'undefined'],
        [[], 'an empty array'],
        [[1], 'an array'],
        [{}, 'a plain object'],
        [Object.create(null), 'a plain object'],
        [Size.mebibytes(1), 'a Size'],
        [() => 1, 'a function'],
        [Microservice, 'the class Microservice'],
        ['x'.repeat(100), `the string "${'x'.repeat(55)}..."`],
      ];
      for (const [value, text] of cases) assert.equal(describeValue(value), text);
    });

    it('suggest the closest known key, and none when nothing is close', () => {
      const keys = ['replicas', 'versions', 'timeout', 'retries'];
      assert.equal(closestKey('replica', keys), 'replicas');
      assert.equal(closestKey('TimeOut', keys), 'timeout');
      assert.equal(closestKey('vresions', keys), 'versions');
      assert.equal(closestKey('retr', keys), 'retries');
      assert.equal(closestKey('colour', keys), undefined);
    });
  });
});

describe('input checks: public functions and methods answer JavaScript callers with a message', () => {
  /** An app "shop" where web calls api (v1, v2): something for explainRequest to answer. */
  function shop() {
    const app = Testing.app();
    const chart = new Chart(app, 'shop');
    const ns = new MeshNamespace(chart, 'shop');
    const api = new Microservice(chart, 'api', orders(ns, { image: 'api:1', versions: { v1: {}, v2: {} } }));
    new Microservice(chart, 'web', orders(ns, { image: 'web:1' })).calls(api);
    return { app, chart, api };
  }

  describe('validateWith', () => {
    it('names a scope that is no construct and a check that is no function', () => {
      const { chart } = payments();
      refuses(
        () => validateWith(js({}), () => undefined),
        [
          'validateWith: scope: expected a construct, got a plain object; pass the construct the rule belongs to, e.g. validateWith(this, ...)',
        ],
      );
      refuses(
        () => validateWith(chart, js(undefined)),
        [
          'validateWith: check: is required but missing; pass (problems) => { ... } that adds what it finds with problems.add(field, message, fix)',
        ],
      );
      validateWith(chart, (p) => p.add('replicas', 'is odd', 'make it even'));
      assert.deepEqual(synthErrors(chart), ['[payments] replicas: is odd; make it even']);
    });
  });

  describe("Microservice's version accessors", () => {
    it('say a version is missing or of another type, never deployment("undefined")', () => {
      const { api } = payments();
      refuses(
        () => api.deployment(js(undefined)),
        ['[payments/api] deployment(version): is required but missing; pass a string, e.g. "v1"'],
      );
      refuses(
        () => api.statefulSet(js(2)),
        [
          '[payments/api] statefulSet(version): expected a string, got the number 2; pass a string, e.g. "v1"',
        ],
      );
      refuses(
        () => api.autoscaler(js(null)),
        ['[payments/api] autoscaler(version): expected a string, got null; pass a string, e.g. "v1"'],
      );
      refuses(
        () => api.versionServiceObject(js({})),
        [
          '[payments/api] versionServiceObject(version): expected a string, got a plain object; pass a string, e.g. "v1"',
        ],
      );
      // A string still gets the list of declared versions.
      refuses(
        () => api.deployment(js('v3')),
        ['payments/api: deployment("v3"): no such version; use one of v1, v2'],
      );
    });
  });

  describe('explain', () => {
    it('names the function, the argument and what it takes, before rendering anything', () => {
      const { app } = shop();
      refuses(
        () => explainRequest(app, js(undefined)),
        ['explainRequest: request: is required but missing; pass e.g. { from: "reviews", to: "ratings" }'],
      );
      refuses(
        () => explainAllCallers(app, js([])),
        ['explainAllCallers: request: expected an object, got an empty array; pass e.g. { to: "ratings" }'],
      );
      refuses(
        () => explainRequest(app, { from: 'web', to: 'api' }, js(null)),
        [
          'explainRequest: options: expected an object, got null; pass e.g. { trustDomain: "cluster.local" }, or leave it out',
        ],
      );
      refuses(
        () => meshIndex(js(5)),
        [
          'meshIndex: source: expected a cdk8s App or Chart, a list of rendered objects, or a MeshIndex, got the number 5; pass the App (or a Chart) the services were built in',
        ],
      );
      refuses(
        () => callersOf(js(app)),
        ['callersOf: index: expected a MeshIndex, got an App; build one with meshIndex(app)'],
      );
      assert.deepEqual(callersOf(meshIndex(app)), ['api:v1', 'api:v2', 'web', 'ingress', 'outside']);
    });

    it("says a request's missing destination is missing, and other types in words", () => {
      const { app } = shop();
      assert.throws(() => explainRequest(app, js({ from: 'web' })), {
        message:
          'explainRequest: to: is required but missing; give a service name or an ingress host, e.g. "ratings"',
      });
      assert.throws(() => explainRequest(app, js({ from: 'web', to: 'api', port: {} })), {
        message: 'explainRequest: port: expected a port number from 1 to 65535, got a plain object',
      });
      // A misspelt field or option is refused, not dropped (the answer would be for another request).
      assert.throws(() => explainRequest(app, js({ from: 'web', to: 'api', header: { 'x-id': '1' } })), {
        message: 'explainRequest: header: is not a known field; did you mean headers?',
      });
      refuses(
        () => explainAllCallers(app, { to: 'api' }, js({ trustdomain: 'example.org' })),
        ['explainAllCallers: options.trustdomain: is not a known option; did you mean trustDomain?'],
      );
      refuses(
        () => meshIndex(app, js({ now: '2026-01-01' })),
        [
          'meshIndex: options.now: expected a number of milliseconds since the epoch, got the string "2026-01-01"; pass e.g. Date.parse("2026-01-01T00:00:00Z"), or leave it out for the current time',
        ],
      );
    });

    it('refuses to format what explainRequest did not return', () => {
      const { app } = shop();
      refuses(
        () => formatExplanation(js(5)),
        [
          'formatExplanation: e: expected an Explanation, got the number 5; pass what explainRequest (or, for formatAllCallers, explainAllCallers) returns',
        ],
      );
      refuses(
        () => formatAllCallers(js('x')),
        [
          'formatAllCallers: answers: expected an array, got the string "x"; pass what explainAllCallers returns',
        ],
      );
      const answer = explainRequest(app, { from: 'web', to: 'api' });
      refuses(
        () => formatAllCallers(js([answer, { caller: {} }])),
        [
          'formatAllCallers: answers[1]: expected an Explanation, got a plain object; pass what explainRequest (or, for formatAllCallers, explainAllCallers) returns',
        ],
      );
      assert.match(formatAllCallers([answer]), /^GET \/ to api, from every caller:\n {2}web {2}ALLOWED/);
    });

    it("checks MeshIndex's arguments: the objects, the trust domain, Services and lookups", () => {
      const fix = 'pass rendered objects, e.g. renderObjects(app), or objects read from YAML';
      refuses(
        () => new MeshIndex(js(5)),
        [
          'MeshIndex: objects: expected an array, got the number 5; pass the rendered objects, e.g. renderObjects(app), or use meshIndex(app)',
        ],
      );
      refuses(
        () => new MeshIndex(js([{ kind: 'Service', metadata: { name: 'a' } }, null])),
        [`MeshIndex: objects[1]: expected a Kubernetes object with metadata, got null; ${fix}`],
      );
      refuses(
        () => new MeshIndex([], js(5)),
        [
          'MeshIndex: trustDomain: expected a string, got the number 5; pass a string, e.g. "cluster.local", or leave it out',
        ],
      );
      const index = meshIndex(shop().app);
      const svcFix = 'pass one of index.services, or index.serviceOfHost("reviews.shop.svc.cluster.local")';
      refuses(
        () => index.workloadsOf(js(undefined)),
        [`MeshIndex.workloadsOf: svc: is required but missing; ${svcFix}`],
      );
      refuses(
        () => index.waypointOf(js({ name: 'api' })),
        [`MeshIndex.waypointOf: svc: expected a Service of the index, got a plain object; ${svcFix}`],
      );
      refuses(
        () => index.ingressUsesWaypoint(js('api')),
        [
          `MeshIndex.ingressUsesWaypoint: svc: expected a Service of the index, got the string "api"; ${svcFix}`,
        ],
      );
      const api = index.serviceOfHost('api.shop.svc.cluster.local')!;
      refuses(
        () => index.workloadsOf(api, js(null)),
        [
          'MeshIndex.workloadsOf: extra: expected an object of labels, got null; pass e.g. { version: "v2" }, or leave it out',
        ],
      );
      assert.deepEqual(
        index.workloadsOf(api, { version: 'v2' }).map((w) => w.name),
        ['api-v2'],
      );
      refuses(
        () => index.of(js(undefined), 'VirtualService'),
        [
          'MeshIndex.of: group: is required but missing; pass a string, e.g. "networking.istio.io" ("" for the core group)',
        ],
      );
      refuses(
        () => index.principal('shop', js(5)),
        [
          'MeshIndex.principal: serviceAccount: expected a string, got the number 5; pass a string, e.g. "reviews"',
        ],
      );
      refuses(
        () => index.serviceOfHost(js(null)),
        [
          'MeshIndex.serviceOfHost: host: expected a string, got null; pass a string, e.g. "reviews.shop.svc.cluster.local"',
        ],
      );
      refuses(
        () => index.dataPlane(js([])),
        ['MeshIndex.dataPlane: namespace: expected a string, got an empty array; pass a string, e.g. "shop"'],
      );
    });
  });

  describe('app definitions and images', () => {
    const define = (props: unknown) => () => MeshAppDefinition.define(js(props));
    const app = (extra: Record<string, unknown>) => ({
      name: 'orders',
      variants: ['dev'],
      build: () => {},
      ...extra,
    });

    it('MeshAppDefinition.define says what is missing, never app "undefined"', () => {
      refuses(define(5), [
        'MeshAppDefinition.define: props: expected an object, got the number 5; pass e.g. { name: "orders", variants: ["dev"], build: (app, variant) => new OrdersChart(app, "orders") }',
      ]);
      refuses(define(app({ name: 5 })), [
        'MeshAppDefinition.define: name: expected a string, got the number 5; give a DNS label, e.g. "orders"',
      ]);
      refuses(define(app({ variants: undefined })), [
        'app "orders": variants: is required but missing; list the variants it synthesizes in, e.g. ["dev", "prod"]',
      ]);
      refuses(define(app({ variants: ['dev', 5] })), [
        'app "orders": variant the number 5 is not a DNS label; use lower-case letters, digits and "-"',
      ]);
      refuses(define(app({ variantFlag: true })), [
        'app "orders": variantFlag the boolean true is neither "env" nor "scenario"; use one of them, or leave it out for "env"',
      ]);
      refuses(define(app({ defaultVariant: 1 })), [
        'app "orders": defaultVariant the number 1 is not one of its variants; use one of dev',
      ]);
    });

    it('build and the registry refuse a variant or name that is not a string', () => {
      const orders = MeshAppDefinition.define(app({ variants: ['dev', 'prod'] }));
      refuses(
        () => orders.build(Testing.app(), js(null)),
        [
          'app "orders": build: variant: expected a string, got null; pass one of dev, prod, or leave it out for dev',
        ],
      );
      const registry = new AppRegistry([orders]);
      refuses(
        () => registry.get(js(undefined)),
        ['AppRegistry.get: name: is required but missing; pass an app\'s name, e.g. "shop"'],
      );
      refuses(
        () => registry.find(js({ name: 'orders' })),
        ['AppRegistry.find: name: expected a string, got a plain object; pass an app\'s name, e.g. "shop"'],
      );
      assert.equal(registry.find('orders'), orders);
    });

    it('the image factories name the argument, and never suggest the refused value', () => {
      const reference = 'pass an image reference, e.g. "docker.io/istio/examples-bookinfo-ratings-v1:1.20.3"';
      refuses(
        () => ImageSource.fromReference(js(undefined)),
        [`ImageSource.fromReference: reference: is required but missing; ${reference}`],
      );
      refuses(
        () => new ReferenceImage(js(5)),
        [`ImageSource.fromReference: reference: expected a string, got the number 5; ${reference}`],
      );
      const where = 'ImageSource.fromDockerfile';
      refuses(
        () => ImageSource.fromDockerfile(js('apps/web')),
        [`${where}: props: expected an object, got the string "apps/web"; pass e.g. { context: "services" }`],
      );
      refuses(
        () => ImageSource.fromDockerfile(js({ context: 5 })),
        [`${where}: context: expected a string, got the number 5; give the build context, e.g. "services"`],
      );
      refuses(
        () => ImageSource.fromDockerfile(js({ context: 'apps/web', dockerfile: 5 })),
        [
          `${where}: dockerfile: expected a string, got the number 5; give the Dockerfile's path relative to the context, or leave it out for "Dockerfile"`,
        ],
      );
      refuses(
        () => ImageSource.fromDockerfile(js({ context: 'apps/web', inputs: [() => 1] })),
        [
          `${where}: inputs[0] a function is not a path inside the context; write it relative to the context, without ".."`,
        ],
      );
      refuses(
        () => ImageSource.fromDockerfile(js({ context: 'apps/web', args: { NODE_MAJOR: {} } })),
        [`${where}: args.NODE_MAJOR is not a string; build arguments are strings, e.g. "22"`],
      );
      // `true` reads as a stage name once made a string: it was kept as the boolean.
      refuses(
        () => ImageSource.fromDockerfile(js({ context: 'apps/web', target: true })),
        [
          `${where}: target the boolean true is not a build stage name; give the name after AS in the Dockerfile's FROM line, e.g. "runtime"`,
        ],
      );
    });
  });

  it('every one of these, given each wrong type, throws a plain Error that names no value the caller never wrote', () => {
    const { app } = shop();
    const index = meshIndex(app);
    const answer = explainRequest(index, { from: 'web', to: 'api' });
    const orders = MeshAppDefinition.define({ name: 'orders', variants: ['dev'], build: () => {} });
    const calls: Record<string, (bad: unknown) => unknown> = {
      'Microservice.deployment': (b) => payments().api.deployment(js(b)),
      'Microservice.statefulSet': (b) => payments().api.statefulSet(js(b)),
      'Microservice.autoscaler': (b) => payments().api.autoscaler(js(b)),
      'Microservice.versionServiceObject': (b) => payments().api.versionServiceObject(js(b)),
      'explainRequest(source)': (b) => explainRequest(js(b), { from: 'web', to: 'api' }),
      'explainRequest(request)': (b) => explainRequest(index, js(b)),
      'explainRequest(options)': (b) => explainRequest(app, { from: 'web', to: 'api' }, js(b ?? null)),
      'explainAllCallers(request)': (b) => explainAllCallers(index, js(b)),
      meshIndex: (b) => meshIndex(js(b)),
      callersOf: (b) => callersOf(js(b)),
      formatExplanation: (b) => formatExplanation(js(b)),
      formatAllCallers: (b) => formatAllCallers(js(b)),
      'formatAllCallers([answer, bad])': (b) => formatAllCallers(js([answer, b])),
      MeshIndex: (b) => new MeshIndex(js(b)),
      'MeshIndex(trustDomain)': (b) => new MeshIndex([], js(b ?? null)),
      'MeshIndex.of': (b) => index.of('networking.istio.io', js(b)),
      'MeshIndex.dataPlane': (b) => index.dataPlane(js(b)),
      'MeshIndex.waypointOf': (b) => index.waypointOf(js(b)),
      'MeshIndex.ingressUsesWaypoint': (b) => index.ingressUsesWaypoint(js(b)),
      'MeshIndex.workloadsOf': (b) => index.workloadsOf(js(b)),
      'MeshIndex.serviceOfHost': (b) => index.serviceOfHost(js(b)),
      'MeshIndex.principal': (b) => index.principal('shop', js(b)),
      'ImageSource.fromReference': (b) => ImageSource.fromReference(js(b)),
      'ImageSource.fromDockerfile': (b) => ImageSource.fromDockerfile(js(b)),
      'MeshAppDefinition.define': (b) => MeshAppDefinition.define(js(b)),
      'MeshAppDefinition.build(variant)': (b) => orders.build(Testing.app(), js(b ?? null)),
      'AppRegistry.get': (b) => new AppRegistry([orders]).get(js(b)),
      'AppRegistry.find': (b) => new AppRegistry([orders]).find(js(b)),
    };
    // The wrong types that are right here: an empty list is a mesh of no objects (it answers "no such
    // service"), an empty list of answers formats to nothing, and explain's options are all optional.
    const accepted = new Set([
      'explainRequest(source) an empty array',
      'meshIndex an empty array',
      'MeshIndex an empty array',
      'formatAllCallers an empty array',
      'explainRequest(options) a plain object',
    ]);
    for (const [name, call] of Object.entries(calls)) {
      for (const bad of [undefined, null, 5, NaN, true, {}, [], { x: 1 }, () => 1]) {
        const what = `${name} ${describeValue(bad)}`;
        let error: unknown;
        try {
          call(bad);
        } catch (e) {
          error = e;
        }
        if (accepted.has(what)) {
          if (error !== undefined)
            assert.ok([Error, ExplainError].includes((error as Error).constructor as typeof Error), what);
          continue;
        }
        // A plain Error, or explain's own ExplainError for a request it cannot answer: never a TypeError.
        assert.ok(
          error instanceof Error && [Error, ExplainError].includes(error.constructor as typeof Error),
          `${what}: expected an Error with a message, got ${String(error)}`,
        );
        // Neither a value in quotes it never was ("undefined", "5", "[object Object]") nor a bare undefined.
        const printed = error.message.replace(/got undefined/g, '');
        assert.doesNotMatch(
          printed,
          /"undefined"|"null"|"NaN"|"5"|"true"|\[object Object\]|=> 1|\bundefined\b/,
          what,
        );
      }
    }
  });
});
