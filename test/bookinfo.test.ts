import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Testing } from 'cdk8s';
import { BOOKINFO_SCENARIOS, BookinfoChart, type BookinfoScenario } from '../charts/index.js';
import { all, find, synth, type Manifest } from './support/synth.js';

function bookinfo(scenario: BookinfoScenario): Manifest[] {
  return synth(new BookinfoChart(Testing.app(), 'bookinfo', { scenario }));
}

/** [match header end-user=jason?, [subset, weight?][] , fault?] per http entry, as Istio's sample files route. */
type Entry = { jason?: true; to: [string, number?][]; fault?: unknown };
const v1: Entry[] = [{ to: [['v1']] }];
const EXPECTED: Record<BookinfoScenario, { reviews: Entry[]; ratings: Entry[] }> = {
  'all-v1': { reviews: v1, ratings: v1 },
  'reviews-v2-v3': {
    reviews: [
      {
        to: [
          ['v2', 50],
          ['v3', 50],
        ],
      },
    ],
    ratings: v1,
  },
  'reviews-50-v3': {
    reviews: [
      {
        to: [
          ['v1', 50],
          ['v3', 50],
        ],
      },
    ],
    ratings: v1,
  },
  'reviews-80-20': {
    reviews: [
      {
        to: [
          ['v1', 80],
          ['v2', 20],
        ],
      },
    ],
    ratings: v1,
  },
  'reviews-90-10': {
    reviews: [
      {
        to: [
          ['v1', 90],
          ['v2', 10],
        ],
      },
    ],
    ratings: v1,
  },
  'reviews-v3': { reviews: [{ to: [['v3']] }], ratings: v1 },
  'reviews-jason-v2-v3': { reviews: [{ jason: true, to: [['v2']] }, { to: [['v3']] }], ratings: v1 },
  'reviews-test-v2': { reviews: [{ jason: true, to: [['v2']] }, { to: [['v1']] }], ratings: v1 },
  // On top of reviews-test-v2, as Istio's fault-injection task applies them.
  'ratings-test-delay': {
    reviews: [{ jason: true, to: [['v2']] }, { to: [['v1']] }],
    ratings: [
      { jason: true, to: [['v1']], fault: { delay: { fixedDelay: '7s', percentage: { value: 100 } } } },
      { to: [['v1']] },
    ],
  },
  'ratings-test-abort': {
    reviews: [{ jason: true, to: [['v2']] }, { to: [['v1']] }],
    ratings: [
      { jason: true, to: [['v1']], fault: { abort: { httpStatus: 500, percentage: { value: 100 } } } },
      { to: [['v1']] },
    ],
  },
};

function render(service: string, entries: Entry[]) {
  const host = `${service}.bookinfo.svc.cluster.local`;
  return entries.map((e) => ({
    ...(e.jason && { match: [{ headers: { 'end-user': { exact: 'jason' } } }] }),
    route: e.to.map(([subset, weight]) => ({
      destination: { host, subset },
      ...(weight !== undefined && { weight }),
    })),
    ...(e.fault !== undefined && { fault: e.fault }),
  }));
}

describe('Bookinfo', () => {
  it("has the Services, ServiceAccounts, Deployments and images of Istio's bookinfo.yaml", () => {
    const objs = bookinfo('all-v1');
    for (const svc of ['productpage', 'details', 'reviews', 'ratings']) {
      assert.deepEqual(find(objs, 'Service', svc).spec.ports, [
        { name: 'http', port: 9080, targetPort: 9080, appProtocol: 'http' },
      ]);
      find(objs, 'ServiceAccount', `bookinfo-${svc}`);
      find(objs, 'DestinationRule', svc);
      find(objs, 'VirtualService', svc);
    }
    const deployments = all(objs, 'Deployment').map((d) => [
      d.metadata.name,
      d.spec.template.spec.containers[0].image,
    ]);
    assert.deepEqual(deployments.sort(), [
      ['details-v1', 'registry.istio.io/release/examples-bookinfo-details-v1:1.20.3'],
      ['productpage-v1', 'registry.istio.io/release/examples-bookinfo-productpage-v1:1.20.3'],
      ['ratings-v1', 'registry.istio.io/release/examples-bookinfo-ratings-v1:1.20.3'],
      ['reviews-v1', 'registry.istio.io/release/examples-bookinfo-reviews-v1:1.20.3'],
      ['reviews-v2', 'registry.istio.io/release/examples-bookinfo-reviews-v2:1.20.3'],
      ['reviews-v3', 'registry.istio.io/release/examples-bookinfo-reviews-v3:1.20.3'],
    ]);
    assert.deepEqual(
      find(objs, 'DestinationRule', 'reviews').spec.subsets.map((s: { name: string }) => s.name),
      ['v1', 'v2', 'v3'],
    );
  });

  it('exposes productpage through the ingress gateway as bookinfo-gateway.yaml does', () => {
    const objs = bookinfo('all-v1');
    const gw = find(objs, 'Gateway', 'bookinfo-gateway');
    assert.deepEqual(gw.spec.selector, { istio: 'ingressgateway' });
    assert.deepEqual(gw.spec.servers, [
      { port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'] },
    ]);
    const vs = find(objs, 'VirtualService', 'bookinfo-gateway');
    assert.deepEqual(vs.spec.gateways, ['bookinfo/bookinfo-gateway']);
    assert.deepEqual(
      vs.spec.http.map((h: { match: { uri: unknown }[] }) => h.match[0].uri),
      [
        { exact: '/productpage' },
        { exact: '/login' },
        { exact: '/logout' },
        { prefix: '/static' },
        { prefix: '/api/v1/products' },
      ],
    );
    for (const h of vs.spec.http) {
      assert.deepEqual(h.route, [
        {
          destination: {
            host: 'productpage.bookinfo.svc.cluster.local',
            subset: 'v1',
            port: { number: 9080 },
          },
        },
      ]);
    }
  });

  it('allows only its real call graph', () => {
    const objs = bookinfo('all-v1');
    const principals = (svc: string) =>
      find(objs, 'AuthorizationPolicy', `${svc}-allow-callers`).spec.rules.flatMap(
        (r: { from: { source: { principals: string[] } }[] }) => r.from[0].source.principals,
      );
    assert.deepEqual(principals('productpage'), ['cluster.local/ns/istio-system/sa/istio-ingressgateway']);
    assert.deepEqual(principals('details'), ['cluster.local/ns/bookinfo/sa/bookinfo-productpage']);
    assert.deepEqual(principals('reviews'), ['cluster.local/ns/bookinfo/sa/bookinfo-productpage']);
    assert.deepEqual(principals('ratings'), ['cluster.local/ns/bookinfo/sa/bookinfo-reviews']);
  });

  for (const scenario of BOOKINFO_SCENARIOS) {
    it(`routes scenario ${scenario} as Istio's virtual-service-${scenario}.yaml`, () => {
      const objs = bookinfo(scenario);
      assert.deepEqual(
        find(objs, 'VirtualService', 'reviews').spec.http,
        render('reviews', EXPECTED[scenario].reviews),
      );
      assert.deepEqual(
        find(objs, 'VirtualService', 'ratings').spec.http,
        render('ratings', EXPECTED[scenario].ratings),
      );
      assert.deepEqual(find(objs, 'VirtualService', 'productpage').spec.http, render('productpage', v1));
      assert.deepEqual(find(objs, 'VirtualService', 'details').spec.http, render('details', v1));
    });
  }
});
