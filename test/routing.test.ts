import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Testing } from 'cdk8s';
import {
  Duration,
  MAX_DURATION_MILLIS,
  MeshNamespace,
  Microservice,
  ServicePort,
  StringMatch,
} from '../constructs/index.js';
import { reviews } from './support/fixtures.js';

const HEADER_FIX =
  'use letters, digits and "-" (e.g. "end-user"), a pseudo-header such as ":path", or a JWT claim as "@request.auth.claims.<claim>"';
import { all, find, synth, synthErrors } from './support/synth.js';

function reviewsApp() {
  const chart = Testing.chart();
  const ns = new MeshNamespace(chart, 'shop');
  const reviews = new Microservice(chart, 'reviews', {
    namespace: ns,
    image: 'reviews:1',
    ports: [ServicePort.http(9080)],
    versions: { v1: {}, v2: {}, v3: {} },
  });
  return { chart, ns, reviews };
}

describe('Microservice routing (VirtualService)', () => {
  it('has no VirtualService until a route is added', () => {
    const { chart } = reviewsApp();
    assert.equal(all(synth(chart), 'VirtualService').length, 0);
  });

  it('splits traffic by weight between versions (canary)', () => {
    const { chart, reviews } = reviewsApp();
    reviews.addRoute({
      to: [
        { version: reviews.version('v1'), weight: 90 },
        { version: reviews.version('v3'), weight: 10 },
      ],
    });
    const vs = find(synth(chart), 'VirtualService', 'reviews');
    assert.deepEqual(vs.spec.hosts, ['reviews.shop.svc.cluster.local']);
    assert.deepEqual(vs.spec.http, [
      {
        route: [
          { destination: { host: 'reviews.shop.svc.cluster.local', subset: 'v1' }, weight: 90 },
          { destination: { host: 'reviews.shop.svc.cluster.local', subset: 'v3' }, weight: 10 },
        ],
      },
    ]);
  });

  it('routes matches in order: headers, uri, query params, method, source labels', () => {
    const { chart, reviews } = reviewsApp();
    reviews
      .addRoute({
        name: 'jason',
        match: [
          { headers: { 'end-user': StringMatch.exact('jason') } },
          { queryParams: { beta: StringMatch.regex('^(1|true)$') } },
        ],
        to: reviews.version('v2'),
      })
      .addRoute({
        match: [
          {
            uri: StringMatch.prefix('/v3/'),
            method: StringMatch.exact('GET'),
            sourceLabels: { app: 'storefront' },
          },
        ],
        to: reviews.version('v3'),
      })
      .addRoute({ to: reviews.version('v1') });
    const http = find(synth(chart), 'VirtualService', 'reviews').spec.http;
    assert.equal(http.length, 3);
    assert.deepEqual(http[0], {
      name: 'jason',
      match: [
        { headers: { 'end-user': { exact: 'jason' } } },
        { queryParams: { beta: { regex: '^(1|true)$' } } },
      ],
      route: [{ destination: { host: 'reviews.shop.svc.cluster.local', subset: 'v2' } }],
    });
    assert.deepEqual(http[1].match, [
      { uri: { prefix: '/v3/' }, method: { exact: 'GET' }, sourceLabels: { app: 'storefront' } },
    ]);
    assert.deepEqual(http[2], {
      route: [{ destination: { host: 'reviews.shop.svc.cluster.local', subset: 'v1' } }],
    });
  });

  it('renders timeouts, retries, fault injection and mirroring', () => {
    const { chart, reviews } = reviewsApp();
    reviews.addRoute({
      to: reviews.version('v1'),
      timeout: Duration.seconds(10),
      retries: {
        attempts: 3,
        perTryTimeout: Duration.millis(2500),
        retryOn: ['5xx', 'connect-failure', '503'],
      },
      fault: {
        delay: { fixedDelay: Duration.seconds(7), percentage: 100 },
        abort: { httpStatus: 500, percentage: 12.5 },
      },
      mirror: { to: reviews.version('v3'), percentage: 10 },
    });
    const route = find(synth(chart), 'VirtualService', 'reviews').spec.http[0];
    assert.equal(route.timeout, '10s');
    assert.deepEqual(route.retries, {
      attempts: 3,
      perTryTimeout: '2500ms',
      retryOn: '5xx,connect-failure,503',
    });
    assert.deepEqual(route.fault, {
      delay: { fixedDelay: '7s', percentage: { value: 100 } },
      abort: { httpStatus: 500, percentage: { value: 12.5 } },
    });
    assert.deepEqual(route.mirror, { host: 'reviews.shop.svc.cluster.local', subset: 'v3' });
    assert.deepEqual(route.mirrorPercentage, { value: 10 });
  });

  it('turns retries off with attempts 0', () => {
    const { chart, reviews } = reviewsApp();
    reviews.addRoute({ to: reviews.version('v1'), retries: { attempts: 0 } });
    assert.deepEqual(find(synth(chart), 'VirtualService', 'reviews').spec.http[0].retries, { attempts: 0 });
  });

  it('routes each HTTP port on its own when the service has several', () => {
    const chart = Testing.chart();
    const ns = new MeshNamespace(chart, 'shop');
    const api = new Microservice(chart, 'api', {
      namespace: ns,
      image: 'api:1',
      ports: [ServicePort.grpc(9090), ServicePort.http(8080), ServicePort.tcp(5432)],
      versions: { v1: {}, v2: {} },
    });
    api.addRoute({
      name: 'beta',
      match: [{ headers: { beta: StringMatch.exact('1') } }],
      to: api.version('v2'),
    });
    api.addRoute({ to: api.version('v1') });
    const http = find(synth(chart), 'VirtualService', 'api').spec.http;
    const host = 'api.shop.svc.cluster.local';
    assert.deepEqual(http, [
      {
        name: 'beta-9090',
        match: [{ headers: { beta: { exact: '1' } }, port: 9090 }],
        route: [{ destination: { host, subset: 'v2', port: { number: 9090 } } }],
      },
      { match: [{ port: 9090 }], route: [{ destination: { host, subset: 'v1', port: { number: 9090 } } }] },
      {
        name: 'beta-8080',
        match: [{ headers: { beta: { exact: '1' } }, port: 8080 }],
        route: [{ destination: { host, subset: 'v2', port: { number: 8080 } } }],
      },
      { match: [{ port: 8080 }], route: [{ destination: { host, subset: 'v1', port: { number: 8080 } } }] },
    ]);
  });
});

describe('route checks at their edges (survivors of the mutation run over routing.ts)', () => {
  const R = '[test/reviews]';

  it('compares attempts × perTryTimeout with the timeout down to 1ms and up to the longest duration', () => {
    const outlast = (perTry: Duration, timeout: Duration) => {
      const { chart, svc } = reviews();
      svc.addRoute({ to: svc.version('v1'), timeout, retries: { attempts: 1, perTryTimeout: perTry } });
      return synthErrors(chart);
    };
    const fix = 'make the timeout longer, or lower attempts or perTryTimeout';
    assert.deepEqual(outlast(Duration.millis(1), Duration.millis(1)), [
      `${R} routes[0].retries: 1 × perTryTimeout 1ms = 1ms is not less than the route's timeout 1ms, so when tries time out the request ends before its last retry starts; ${fix}`,
    ]);
    const max = Duration.millis(MAX_DURATION_MILLIS);
    const maxText = `${MAX_DURATION_MILLIS}ms`;
    assert.deepEqual(outlast(max, max), [
      `${R} routes[0].retries: 1 × perTryTimeout ${maxText} = ${maxText} is not less than the route's timeout ${maxText}, so when tries time out the request ends before its last retry starts; ${fix}`,
    ]);
    // A perTryTimeout or timeout that is wrong by itself is reported as such, never compared.
    assert.deepEqual(outlast(Duration.millis(1.5), Duration.millis(1)), [
      `${R} routes[0].retries.perTryTimeout: 1.5ms is not a whole number of milliseconds; round it, e.g. Duration.millis(2)`,
    ]);
    assert.deepEqual(outlast(Duration.millis(2), Duration.millis(1.5)), [
      `${R} routes[0].timeout: 1.5ms is not a whole number of milliseconds; round it, e.g. Duration.millis(2)`,
    ]);
  });

  it('takes three-digit status codes as retry conditions, nothing longer or shorter', () => {
    const { chart, svc } = reviews();
    svc.addRoute({ to: svc.version('v1'), retries: { attempts: 2, retryOn: ['503', '5030', 'x503', '50'] } });
    const conditions =
      'use HTTP status codes or 5xx, gateway-error, reset, reset-before-request, connect-failure, envoy-ratelimited, retriable-4xx, refused-stream, retriable-status-codes, retriable-headers, http3-post-connect-failure, cancelled, deadline-exceeded, internal, resource-exhausted, unavailable';
    assert.deepEqual(synthErrors(chart), [
      `${R} routes[0].retries.retryOn: "5030" is not a retry condition; ${conditions}`,
      `${R} routes[0].retries.retryOn: "x503" is not a retry condition; ${conditions}`,
      `${R} routes[0].retries.retryOn: "50" is not a retry condition; ${conditions}`,
    ]);
  });

  it('refuses a header name with a character outside an HTTP token at either end', () => {
    const { chart, svc } = reviews();
    svc.addRoute({
      match: [
        {
          headers: {
            'x-ok': StringMatch.exact('a'),
            'x-ok@': StringMatch.exact('a'),
            '@x-ok': StringMatch.exact('a'),
          },
        },
      ],
      to: svc.version('v2'),
    });
    svc.addRoute({ to: svc.version('v1') });
    assert.deepEqual(synthErrors(chart), [
      // Not "write it as ..." with the same name: the fix never repeats the bad value.
      `${R} routes[0].match[0].headers: "x-ok@" is not an HTTP header name, and istiod refuses the VirtualService; ${HEADER_FIX}`,
      `${R} routes[0].match[0].headers: "@x-ok" is not an HTTP header name, and istiod refuses the VirtualService; ${HEADER_FIX}`,
    ]);
  });

  // istiod's ValidateHTTPHeaderNameOrJwtClaimRoute (istio/istio pkg/config/validation/validation.go)
  // takes its five pseudo-headers and the JWT claim form of pkg/jwt ToRoutingClaim before tokens.
  it('accepts the pseudo-headers and the JWT claim forms istiod accepts, emitted as written', () => {
    const names = [
      ':method',
      ':scheme',
      ':authority',
      ':path',
      ':status',
      '@request.auth.claims.groups',
      '@request.auth.claims.key1.KEY2',
      '@request.auth.claims[key1][key.2]',
      '@Request.Auth.Claims.sub',
    ];
    const { chart, svc } = reviews();
    for (const name of names)
      svc.addRoute({ match: [{ headers: { [name]: StringMatch.exact('a') } }], to: svc.version('v2') });
    svc.addRoute({ to: svc.version('v1') });
    const vs = find(synth(chart), 'VirtualService', 'reviews');
    const emitted = (vs.spec.http as { match?: { headers: object }[] }[])
      .filter((r) => r.match)
      .map((r) => Object.keys(r.match![0].headers)[0]);
    assert.deepEqual(emitted, names);
  });

  it('refuses what istiod refuses around them: a claim form with no claim, other colon names, upper case', () => {
    const names = [
      '@request.auth.claims',
      '@request.auth.claims.',
      '@request.auth.claims[]',
      '@request.auth.claims[ab',
      '@request.auth.claims-abc',
      ':PATH',
      ':protocol',
      '::path',
    ];
    const { chart, svc } = reviews();
    for (const name of names)
      svc.addRoute({ match: [{ headers: { [name]: StringMatch.exact('a') } }], to: svc.version('v2') });
    svc.addRoute({ match: [{ headers: { 'X-User': StringMatch.exact('a') } }], to: svc.version('v2') });
    svc.addRoute({ to: svc.version('v1') });
    assert.deepEqual(synthErrors(chart), [
      ...names.map(
        (n, i) =>
          `${R} routes[${i}].match[0].headers: ${JSON.stringify(n)} is not an HTTP header name, and istiod refuses the VirtualService; ${HEADER_FIX}`,
      ),
      // "The header keys must be lowercase" (HTTPMatchRequest.headers).
      `${R} routes[8].match[0].headers: "X-User" is not a lower-case header name; write it as "x-user"`,
    ]);
  });

  it('refuses a version of a service of the same name in another namespace, naming both hosts', () => {
    const chart = Testing.chart();
    const make = (ns: string) =>
      new Microservice(chart, `reviews-${ns}`, {
        name: 'reviews',
        namespace: new MeshNamespace(chart, ns),
        image: 'reviews:1',
        ports: [ServicePort.http(9080)],
        versions: { v1: {}, v2: {} },
      });
    const a = make('a');
    const b = make('b');
    a.addRoute({ to: b.version('v1') });
    assert.deepEqual(synthErrors(chart), [
      '[test/reviews-a] routes[0].to: version "v1" belongs to service "reviews" (reviews.b.svc.cluster.local), not "reviews" (reviews.a.svc.cluster.local); route to a version of reviews',
    ]);
  });
});
