/**
 * Tests of intent over the sample apps, written as a team would write them with explainRequest:
 * each Bookinfo scenario as Istio's traffic-management tasks describe it, and the shop's
 * documented call graph, routing, JWT and limits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App, Chart, Duration } from 'cdk8s';
import { BookinfoChart, type BookinfoScenario } from '../charts/bookinfo.js';
import { PaymentsChart } from '../charts/payments.js';
import { ShopChart } from '../charts/shop.js';
import {
  DataPlane,
  type Explanation,
  GatewayApiIngress,
  GlobalRateLimitService,
  MeshJob,
  MeshNamespace,
  Microservice,
  RateLimitAction,
  RateLimitUnit,
  ServicePort,
  explainAllCallers,
  explainRequest,
  formatExplanation,
  meshIndex,
  type MeshIndex,
} from '../constructs/index.js';

const JASON = { 'end-user': 'jason' };

function bookinfo(scenario: BookinfoScenario, dataPlane?: DataPlane): MeshIndex {
  const app = new App();
  new BookinfoChart(app, 'bookinfo', { scenario, dataPlane });
  return meshIndex(app);
}

function shop(environment: 'dev' | 'staging' | 'prod' = 'dev'): MeshIndex {
  const app = new App();
  new ShopChart(app, 'shop', { environment });
  return meshIndex(app);
}

/** "v1 80, v2 20": the versions a request reaches and their weights. */
function split(e: Explanation): string {
  return e.destinations.map((d) => `${d.service} ${d.version} ${d.weight}`).join(', ');
}

describe('Bookinfo: the traffic-management tasks', () => {
  // https://istio.io/latest/docs/tasks/traffic-management/request-routing/
  it('all-v1: every service on v1', () => {
    const mesh = bookinfo('all-v1');
    for (const to of ['reviews', 'details']) {
      const e = explainRequest(mesh, { from: 'productpage', to, path: '/' });
      assert.equal(split(e), `${to} v1 100`);
      assert.equal(e.allowed, true);
    }
    assert.equal(
      split(explainRequest(mesh, { from: 'reviews:v2', to: 'ratings', path: '/ratings/0' })),
      'ratings v1 100',
    );
  });

  it('reviews-jason-v2-v3: jason reaches reviews v2, everyone else v3', () => {
    const mesh = bookinfo('reviews-jason-v2-v3');
    const jason = explainRequest(mesh, {
      from: 'productpage',
      to: 'reviews',
      path: '/reviews/0',
      headers: JASON,
    });
    assert.equal(split(jason), 'reviews v2 100');
    assert.equal(jason.route, 0);
    assert.equal(jason.virtualService, 'VirtualService bookinfo/reviews');
    const other = explainRequest(mesh, { from: 'productpage', to: 'reviews', path: '/reviews/0' });
    assert.equal(split(other), 'reviews v3 100');
    assert.equal(other.route, 1);
    // The match is exact and case-sensitive: "Jason" is not jason.
    const capital = explainRequest(mesh, {
      from: 'productpage',
      to: 'reviews',
      headers: { 'end-user': 'Jason' },
    });
    assert.equal(split(capital), 'reviews v3 100');
    // Header names are case-insensitive in HTTP: End-User is end-user.
    const upper = explainRequest(mesh, {
      from: 'productpage',
      to: 'reviews',
      headers: { 'End-User': 'jason' },
    });
    assert.equal(split(upper), 'reviews v2 100');
  });

  it('reviews-test-v2: jason on v2, everyone else on v1', () => {
    const mesh = bookinfo('reviews-test-v2');
    assert.equal(
      split(explainRequest(mesh, { from: 'productpage', to: 'reviews', headers: JASON })),
      'reviews v2 100',
    );
    assert.equal(split(explainRequest(mesh, { from: 'productpage', to: 'reviews' })), 'reviews v1 100');
  });

  // https://istio.io/latest/docs/tasks/traffic-management/traffic-shifting/
  const shifts: [BookinfoScenario, string][] = [
    ['reviews-50-v3', 'reviews v1 50, reviews v3 50'],
    ['reviews-80-20', 'reviews v1 80, reviews v2 20'],
    ['reviews-90-10', 'reviews v1 90, reviews v2 10'],
    ['reviews-v2-v3', 'reviews v2 50, reviews v3 50'],
    ['reviews-v3', 'reviews v3 100'],
  ];
  for (const [scenario, expected] of shifts) {
    it(`${scenario}: ${expected}, for jason too`, () => {
      const mesh = bookinfo(scenario);
      assert.equal(split(explainRequest(mesh, { from: 'productpage', to: 'reviews' })), expected);
      assert.equal(
        split(explainRequest(mesh, { from: 'productpage', to: 'reviews', headers: JASON })),
        expected,
      );
    });
  }

  // https://istio.io/latest/docs/tasks/traffic-management/fault-injection/
  it('ratings-test-delay: jason gets a 7 s delay on every ratings call, others none', () => {
    const mesh = bookinfo('ratings-test-delay');
    assert.equal(
      split(explainRequest(mesh, { from: 'productpage', to: 'reviews', headers: JASON })),
      'reviews v2 100',
    );
    const jason = explainRequest(mesh, {
      from: 'reviews:v2',
      to: 'ratings',
      path: '/ratings/0',
      headers: JASON,
    });
    assert.deepEqual(jason.fault, { delay: { fixedDelay: '7s', percentage: 100 } });
    assert.equal(split(jason), 'ratings v1 100');
    assert.equal(jason.allowed, true);
    const other = explainRequest(mesh, { from: 'reviews:v2', to: 'ratings', path: '/ratings/0' });
    assert.equal(other.fault, null);
    assert.equal(split(other), 'ratings v1 100');
  });

  it('ratings-test-abort: jason gets HTTP 500 on every ratings call, others none', () => {
    const mesh = bookinfo('ratings-test-abort');
    const jason = explainRequest(mesh, { from: 'reviews:v2', to: 'ratings', headers: JASON });
    assert.deepEqual(jason.fault, { abort: { httpStatus: 500, percentage: 100 } });
    assert.equal(explainRequest(mesh, { from: 'reviews:v2', to: 'ratings' }).fault, null);
  });
});

describe('Bookinfo: who may call whom', () => {
  const mesh = bookinfo('all-v1');

  it('productpage reads details and reviews; reviews reads ratings', () => {
    for (const [from, to, policy] of [
      ['productpage', 'details', 'bookinfo/details-allow-callers'],
      ['productpage', 'reviews', 'bookinfo/reviews-allow-callers'],
      ['reviews:v3', 'ratings', 'bookinfo/ratings-allow-callers'],
    ]) {
      const e = explainRequest(mesh, { from, to, method: 'GET', path: '/' });
      assert.equal(e.allowed, true, `${from} → ${to}: ${e.reason}`);
      assert.equal(e.decidedBy, policy);
      assert.equal(e.mtls?.mode, 'STRICT');
      assert.equal(e.egressAllowed, true);
    }
  });

  it('productpage may only GET: a POST to reviews is denied, as no ALLOW rule matches', () => {
    const e = explainRequest(mesh, { from: 'productpage', to: 'reviews', method: 'POST' });
    assert.equal(e.allowed, false);
    assert.equal(e.deniedAt, 'authorization');
    assert.equal(e.decidedBy, 'bookinfo/allow-nothing');
  });

  it('details cannot reach ratings: its Sidecar does not import the host, and STRICT mTLS refuses the plaintext', () => {
    const e = explainRequest(mesh, { from: 'details', to: 'ratings' });
    assert.equal(e.allowed, false);
    assert.equal(e.egressAllowed, false);
    assert.equal(e.egress?.sidecar, 'bookinfo/details');
    assert.equal(e.deniedAt, 'mtls');
  });

  it('from outside the mesh, /productpage reaches productpage v1 through the gateway; /admin has no route', () => {
    const page = explainRequest(mesh, { from: 'outside', to: 'bookinfo.example.com', path: '/productpage' });
    assert.equal(page.allowed, true, page.reason);
    assert.equal(page.virtualService, 'VirtualService bookinfo/bookinfo-gateway');
    assert.equal(split(page), 'productpage v1 100');
    assert.equal(page.decidedBy, 'bookinfo/productpage-allow-callers');
    const api = explainRequest(mesh, {
      from: 'outside',
      to: 'bookinfo.example.com',
      path: '/api/v1/products/1',
    });
    assert.equal(api.allowed, true);
    const admin = explainRequest(mesh, { from: 'outside', to: 'bookinfo.example.com', path: '/admin' });
    assert.equal(admin.allowed, false);
    assert.equal(admin.deniedAt, 'routing');
    // Exact matches: /productpage/x is not /productpage.
    assert.equal(
      explainRequest(mesh, { from: 'outside', to: 'x.example.com', path: '/productpage/x' }).allowed,
      false,
    );
  });

  it('a client outside the mesh calling reviews directly is refused by STRICT mTLS', () => {
    const e = explainRequest(mesh, { from: 'outside', to: 'reviews' });
    assert.equal(e.allowed, false);
    assert.equal(e.deniedAt, 'mtls');
    assert.equal(e.mtls?.callerSendsMtls, false);
  });

  it('every caller of reviews: only productpage gets in', () => {
    const answers = explainAllCallers(mesh, { to: 'reviews', path: '/reviews/0' });
    const allowed = answers.filter((e) => e.allowed).map((e) => e.caller.name);
    assert.deepEqual(allowed, ['productpage']);
    assert.ok(
      answers.some((e) => e.caller.name === 'ratings') && answers.some((e) => e.caller.name === 'outside'),
    );
  });
});

describe('Bookinfo in ambient mode: L7 at the waypoint, L4 at ztunnel', () => {
  const mesh = bookinfo('reviews-jason-v2-v3', DataPlane.ambient({ waypoint: true }));

  it('routes at the waypoint and authorizes the caller there; ztunnel admits the waypoint', () => {
    const e = explainRequest(mesh, { from: 'productpage', to: 'reviews', headers: JASON });
    assert.equal(e.waypoint, 'bookinfo/waypoint');
    assert.equal(split(e), 'reviews v2 100');
    assert.equal(e.allowed, true, e.reason);
    assert.deepEqual(
      e.authorization.map((l) => [l.at, l.peer, l.allowed, l.decidedBy]),
      [
        [
          'waypoint',
          'cluster.local/ns/bookinfo/sa/bookinfo-productpage',
          true,
          'bookinfo/reviews-allow-callers',
        ],
        ['ztunnel', 'cluster.local/ns/bookinfo/sa/waypoint', true, 'bookinfo/reviews-allow-waypoint'],
      ],
    );
    assert.equal(e.decidedBy, 'bookinfo/reviews-allow-callers');
  });

  it('denies details → ratings at the waypoint', () => {
    const e = explainRequest(mesh, { from: 'details', to: 'ratings' });
    assert.equal(e.allowed, false);
    assert.equal(e.authorization[0].at, 'waypoint');
    assert.equal(e.authorization[0].allowed, false);
    assert.equal(e.egressAllowed, true, 'ambient workloads have no Sidecar resource');
  });
});

describe('the shop', () => {
  const dev = shop('dev');

  it('testers (end-user: jason) reach reviews v2 with a 3 s timeout; everyone else the 80/20 canary', () => {
    const jason = explainRequest(dev, {
      from: 'storefront',
      to: 'reviews',
      path: '/reviews/1',
      headers: JASON,
    });
    assert.equal(jason.route, 'testers');
    assert.equal(split(jason), 'reviews v2 100');
    assert.equal(jason.timeout, '3s');
    assert.equal(jason.mirror, null);
    const other = explainRequest(dev, { from: 'storefront', to: 'reviews', path: '/reviews/1' });
    assert.equal(other.route, 'canary');
    assert.equal(split(other), 'reviews v1 80, reviews v3 20');
    assert.deepEqual(other.retries, {
      attempts: 2,
      perTryTimeout: '1s',
      retryOn: '5xx,connect-failure,reset',
    });
    assert.deepEqual(other.mirror, { service: 'reviews', version: 'v2', percentage: 5 });
    assert.equal(other.allowed, true);
    assert.equal(other.decidedBy, 'shop/reviews-allow-callers');
  });

  it('the call graph: storefront → catalog, storefront → reviews, reviews → ratings, with their methods and paths', () => {
    const ok = (from: string, to: string, path: string, method = 'GET') =>
      explainRequest(dev, { from, to, path, method }).allowed;
    assert.equal(ok('storefront', 'catalog', '/books'), true);
    assert.equal(ok('storefront', 'catalog', '/books/42'), true);
    assert.equal(ok('storefront', 'catalog', '/books', 'POST'), false);
    assert.equal(ok('storefront', 'catalog', '/admin'), false);
    assert.equal(ok('storefront', 'reviews', '/reviews/1'), true);
    assert.equal(ok('reviews:v3', 'ratings', '/ratings/7'), true);
    assert.equal(ok('reviews:v1', 'ratings', '/ratings/7', 'DELETE'), false);
    assert.equal(ok('catalog', 'ratings', '/ratings/7'), false);
    assert.equal(ok('storefront', 'ratings', '/ratings/7'), false);
    assert.equal(ok('catalog', 'reviews', '/reviews/1'), false);
  });

  it('catalog cannot call ratings: no egress, so no mTLS, and ratings runs STRICT', () => {
    const e = explainRequest(dev, { from: 'catalog', to: 'ratings', path: '/ratings/0' });
    assert.equal(e.allowed, false);
    assert.equal(e.egressAllowed, false);
    assert.equal(e.mtls?.mode, 'STRICT');
    assert.equal(e.mtls?.source, 'shop/default');
  });

  it('ratings has its circuit breaker and a 1 s timeout with one retry', () => {
    const e = explainRequest(dev, { from: 'reviews:v2', to: 'ratings', path: '/ratings/0' });
    assert.equal(e.timeout, '1s');
    assert.deepEqual(e.retries, { attempts: 1, perTryTimeout: '500ms', retryOn: 'connect-failure,reset' });
    assert.deepEqual(e.trafficPolicy?.outlierDetection, {
      baseEjectionTime: '30s',
      consecutive5xxErrors: 3,
      interval: '5s',
      maxEjectionPercent: 50,
    });
    assert.equal(get(e.trafficPolicy?.connectionPool, 'http', 'http1MaxPendingRequests'), 10);
  });

  it('admin without a JWT is denied; with a token of the issuer it is allowed; another issuer gets 401', () => {
    const bare = explainRequest(dev, { from: 'outside', to: 'shop.localhost', path: '/admin' });
    assert.equal(bare.allowed, false);
    assert.equal(bare.deniedAt, 'authorization');
    assert.equal(bare.decidedBy, 'shop/storefront-require-jwt');
    assert.equal(bare.jwt?.outcome, 'no-token');
    const claims = { iss: 'testing@secure.istio.io', sub: 'testing@secure.istio.io' };
    const signed = explainRequest(dev, {
      from: 'outside',
      to: 'shop.localhost',
      path: '/admin/users',
      jwtClaims: claims,
    });
    assert.equal(signed.allowed, true, signed.reason);
    assert.equal(signed.jwt?.requestPrincipal, 'testing@secure.istio.io/testing@secure.istio.io');
    const forged = explainRequest(dev, {
      from: 'outside',
      to: 'shop.localhost',
      path: '/',
      jwtClaims: { iss: 'someone-else' },
    });
    assert.equal(forged.allowed, false);
    assert.equal(forged.deniedAt, 'jwt');
    // Dot segments are removed before authorization: /public/../admin is /admin.
    const sneaky = explainRequest(dev, { from: 'outside', to: 'shop.localhost', path: '/public/../admin' });
    assert.equal(sneaky.allowed, false);
    assert.equal(sneaky.request.path, '/admin');
    assert.equal(
      explainRequest(dev, { from: 'outside', to: 'shop.localhost', path: '/%61dmin' }).allowed,
      false,
    );
    // The home page needs no token.
    assert.equal(explainRequest(dev, { from: 'outside', to: 'shop.localhost', path: '/' }).allowed, true);
    // "/administrator" is neither "/admin" nor under "/admin/".
    assert.equal(
      explainRequest(dev, { from: 'outside', to: 'shop.localhost', path: '/administrator' }).allowed,
      true,
    );
  });

  it('the storefront counts each request against its local bucket and the per-client global limit', () => {
    const e = explainRequest(dev, { from: 'ingress', to: 'storefront', path: '/' });
    assert.deepEqual(
      e.rateLimits.map((l) => [l.kind, l.counts, l.bucket?.maxTokens ?? null, l.limit ?? null]),
      [
        ['local', 'default bucket', 50, null],
        ['global', 'remote_address', null, { requestsPerUnit: 600, unit: 'minute' }],
      ],
    );
    const prod = shop('prod');
    const p = explainRequest(prod, { from: 'ingress', to: 'storefront', path: '/' });
    assert.deepEqual(
      p.rateLimits.map(
        (l) => l.bucket?.maxTokens ?? (l.limit as { requestsPerUnit: number }).requestsPerUnit,
      ),
      [200, 300],
    );
  });

  it('the chaos of dev and staging: reviews delayed 2 s for 5 % of requests, ratings aborted with 503 for 10 %; none in prod', () => {
    for (const env of ['dev', 'staging'] as const) {
      const mesh = shop(env);
      for (const headers of [{}, JASON]) {
        const reviews = explainRequest(mesh, {
          from: 'storefront',
          to: 'reviews',
          path: '/reviews/1',
          headers,
        });
        assert.deepEqual(reviews.fault, { delay: { fixedDelay: '2s', percentage: 5 } });
        // The request still goes where it went, with its timeout; Istio's caveat is noted.
        assert.equal(reviews.timeout, '3s');
        assert.ok(
          reviews.notes.some((n) => n.includes('timeouts or retries are not enabled when faults are')),
          reviews.notes.join('\n'),
        );
      }
      const ratings = explainRequest(mesh, { from: 'reviews:v1', to: 'ratings', path: '/ratings/0' });
      assert.deepEqual(ratings.fault, { abort: { httpStatus: 503, percentage: 10 } });
      assert.equal(ratings.allowed, true);
      assert.match(
        formatExplanation(ratings),
        /\n {2}requests {2}timeout 1s; retries 1 × 500ms on connect-failure,reset; fault abort 503 for 10%\n/,
      );
    }
    const prod = shop('prod');
    assert.equal(explainRequest(prod, { from: 'storefront', to: 'reviews', path: '/reviews/1' }).fault, null);
    assert.equal(explainRequest(prod, { from: 'reviews', to: 'ratings', path: '/ratings/0' }).fault, null);
  });

  it('prod redirects plain HTTP and serves HTTPS on 443', () => {
    const prod = shop('prod');
    const http = explainRequest(prod, { from: 'outside', to: 'shop.example.com', port: 80 });
    assert.equal(http.allowed, false);
    assert.equal(http.deniedAt, 'routing');
    const https = explainRequest(prod, { from: 'outside', to: 'shop.example.com' });
    assert.equal(https.request.port, 443);
    assert.equal(https.allowed, true, https.reason);
    assert.equal(https.timeout, '10s');
  });

  it('names an unknown caller, version or host with the ones there are', () => {
    assert.throws(
      () => explainRequest(dev, { from: 'payments', to: 'reviews' }),
      /from "payments": no such service; use one of .*storefront/,
    );
    assert.throws(
      () => explainRequest(dev, { from: 'reviews:v9', to: 'ratings' }),
      /no version "v9"; use one of v1, v2, v3/,
    );
    assert.throws(
      () => explainRequest(dev, { from: 'storefront', to: 'nowhere.example.org' }),
      /to "nowhere.example.org": no such service or ingress host/,
    );
    assert.throws(
      () => explainRequest(dev, { from: 'outside', to: 'shop.localhost', port: 443 }),
      /port 443: Gateway shop\/shop serves shop.localhost on port 80; use one of them/,
    );
    assert.throws(
      () => explainRequest(dev, { from: 'storefront', to: 'reviews', port: 9999 }),
      /port 9999: service reviews has ports 8080/,
    );
  });
});

describe('jobs as callers: the payments migration and a nightly report', () => {
  const app = new App();
  new PaymentsChart(app, 'payments', { environment: 'dev' });
  const payments = meshIndex(app);

  it('the migration Job may GET /schema and POST /schema/migrate on the ledger, as the ledger admits it', () => {
    const migrate = explainRequest(payments, {
      from: 'ledger-migrate',
      to: 'ledger',
      method: 'POST',
      path: '/schema/migrate',
    });
    assert.equal(migrate.allowed, true, migrate.reason);
    assert.deepEqual(migrate.caller, {
      kind: 'workload',
      name: 'ledger-migrate',
      namespace: 'payments',
      principal: 'cluster.local/ns/payments/sa/ledger-migrate',
      labels: { app: 'ledger-migrate' },
      proxy: 'sidecar',
    });
    const other = explainRequest(payments, {
      from: 'ledger-migrate',
      to: 'ledger',
      method: 'POST',
      path: '/entries',
    });
    assert.equal(other.allowed, false);
    assert.match(other.reason, /no ALLOW rule matches/);
  });

  it('lists the Job among every caller, by the name its identity carries, not its per-image object name', () => {
    const answers = explainAllCallers(payments, { to: 'ledger', method: 'GET', path: '/schema' });
    const verdicts = Object.fromEntries(answers.map((e) => [e.request.from, e.allowed]));
    assert.deepEqual(verdicts, {
      ledger: false,
      notifier: false,
      api: true,
      'ledger-migrate': true,
      ingress: false,
      outside: false,
    });
  });

  it('takes a CronJob from its job template, and refuses a version or an unknown name with the callers there are', () => {
    const chart = new Chart(new App(), 'reports');
    const ns = new MeshNamespace(chart, 'reports');
    const api = new Microservice(chart, 'api', {
      namespace: ns,
      image: 'api:1',
      ports: [ServicePort.http(8080)],
      versions: { v1: {} },
    });
    const report = new MeshJob(chart, 'report', { namespace: ns, image: 'report:1', schedule: '0 3 * * *' });
    report.calls(api, { methods: ['GET'], paths: ['/totals'] });
    const mesh = meshIndex(chart);
    const e = explainRequest(mesh, { from: 'report', to: 'api', method: 'GET', path: '/totals' });
    assert.equal(e.allowed, true, e.reason);
    assert.equal(e.caller.principal, 'cluster.local/ns/reports/sa/report');
    assert.equal(
      explainRequest(mesh, { from: 'report', to: 'api', method: 'DELETE', path: '/totals' }).allowed,
      false,
    );
    assert.throws(
      () => explainRequest(mesh, { from: 'report:v1', to: 'api' }),
      new Error('from "report:v1": report is a CronJob, which has no versions; write "report"'),
    );
    assert.throws(
      () => explainRequest(mesh, { from: 'reprot', to: 'api' }),
      new Error('from "reprot": no such service; use one of api, report, ingress, outside'),
    );
  });
});

describe('sources and ingresses', () => {
  it('takes a Chart as it is, rendering its app', () => {
    const chart = new ShopChart(new App(), 'shop', { environment: 'dev' });
    const e = explainRequest(chart, { from: 'storefront', to: 'reviews', headers: JASON });
    assert.equal(e.destinations[0].version, 'v2');
  });

  it('a workload calling the ingress host goes through the gateway, as the gateway identity', () => {
    const e = explainRequest(shop('dev'), { from: 'catalog', to: 'shop.localhost', path: '/' });
    assert.equal(e.virtualService, 'VirtualService shop/shop');
    assert.equal(e.authorization[0].peer, 'cluster.local/ns/istio-system/sa/istio-ingressgateway');
    assert.equal(e.allowed, true);
  });

  it('a Gateway API ingress calls as the service account Istio gives its pods, <name>-istio', () => {
    const app = new App();
    const chart = new Chart(app, 'web');
    const namespace = new MeshNamespace(chart, 'ns', { name: 'web' });
    const api = new Microservice(chart, 'api', {
      namespace,
      image: 'registry.example.com/api:1.0.0',
      ports: [ServicePort.http(8080)],
      versions: { v1: {}, v2: {} },
    });
    new GatewayApiIngress(chart, 'edge', { namespace, name: 'edge', hosts: ['web.example.com'] }).addRoute({
      pathPrefix: '/api',
      to: [
        { version: api.version('v1'), weight: 90 },
        { version: api.version('v2'), weight: 10 },
      ],
    });
    const e = explainRequest(app, { from: 'outside', to: 'web.example.com', path: '/api/items' });
    assert.equal(e.virtualService, 'HTTPRoute web/edge');
    assert.deepEqual(
      e.destinations.map((d) => [d.version, d.weight]),
      [
        ['v1', 90],
        ['v2', 10],
      ],
    );
    assert.equal(e.authorization[0].peer, 'cluster.local/ns/web/sa/edge-istio');
    assert.equal(e.allowed, true, e.reason);
    // Gateway API prefixes match whole segments: /apiary is not under /api.
    assert.equal(
      explainRequest(app, { from: 'outside', to: 'web.example.com', path: '/apiary' }).deniedAt,
      'routing',
    );
  });
});

describe('rate limits: the bucket or descriptor that counts the request', () => {
  const app = new App();
  const chart = new Chart(app, 'limits');
  const namespace = new MeshNamespace(chart, 'ns', { name: 'limits', defaultDeny: false });
  const api = new Microservice(chart, 'api', {
    namespace,
    image: 'registry.example.com/api:1.0.0',
    ports: [ServicePort.http(8080)],
    versions: { v1: {} },
    localRateLimit: {
      bucket: { maxTokens: 100, fillInterval: Duration.seconds(1) },
      paths: [{ prefix: '/api/search', bucket: { maxTokens: 10, fillInterval: Duration.seconds(1) } }],
    },
  });
  const client = new Microservice(chart, 'client', {
    namespace,
    image: 'registry.example.com/client:1.0.0',
    ports: [ServicePort.http(8080)],
    versions: { v1: {} },
  });
  const orders = new Microservice(chart, 'orders', {
    namespace,
    image: 'registry.example.com/orders:1.0.0',
    ports: [ServicePort.http(8080)],
    versions: { v1: {} },
  });
  client.calls(api).calls(orders);
  const service = new GlobalRateLimitService(chart, 'ratelimit', {
    namespace,
    domain: 'api',
    descriptors: [
      {
        key: 'user',
        limit: { requestsPerUnit: 60, unit: RateLimitUnit.MINUTE },
        descriptors: [
          { key: 'plan', value: 'free', limit: { requestsPerUnit: 5, unit: RateLimitUnit.MINUTE } },
        ],
      },
    ],
  });
  service.apply(orders, {
    actions: [
      RateLimitAction.requestHeader('x-user', 'user'),
      RateLimitAction.requestHeader('x-plan', 'plan', { skipIfAbsent: true }),
    ],
  });
  const mesh = meshIndex(app);
  const limits = (to: string, path: string, headers: Record<string, string> = {}) =>
    explainRequest(mesh, { from: 'client', to, path, headers }).rateLimits.map((l) =>
      l.kind === 'local'
        ? `local ${l.counts} ${l.bucket?.maxTokens}`
        : `global ${l.counts} ${l.limit === null || l.limit === undefined ? 'none' : typeof l.limit === 'string' ? l.limit : `${l.limit.requestsPerUnit}/${l.limit.unit}`}`,
    );

  it("a path with its own bucket counts against it and, by Envoy's default, the default bucket too", () => {
    assert.deepEqual(limits('api', '/api/search?q=x'), [
      'local path-prefix=/api/search 10',
      'local default bucket 100',
    ]);
    assert.deepEqual(limits('api', '/api/items'), ['local default bucket 100']);
  });

  it('the nested descriptor counts when every entry is there; without the user header nothing is sent', () => {
    assert.deepEqual(limits('orders', '/', { 'x-user': 'ann' }), ['global user=ann 60/minute']);
    assert.deepEqual(limits('orders', '/', { 'x-user': 'ann', 'x-plan': 'free' }), [
      'global user=ann › plan=free 5/minute',
    ]);
    assert.deepEqual(limits('orders', '/', { 'x-user': 'ann', 'x-plan': 'pro' }), [
      'global user=ann › plan=pro none',
    ]);
    assert.deepEqual(limits('orders', '/'), ['global user none']);
  });
});

function get(v: unknown, ...path: string[]): unknown {
  return path.reduce<unknown>(
    (cur, k) => (cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined),
    v,
  );
}
