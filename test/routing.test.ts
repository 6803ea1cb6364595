import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Testing } from 'cdk8s';
import { Duration, MeshNamespace, Microservice, ServicePort, StringMatch } from '../constructs/index.js';
import { all, find, synth } from './support/synth.js';

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
