import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Testing } from 'cdk8s';
import { MeshNamespace, Microservice, ServicePort } from '../constructs/index.js';
import { all, find, synth } from './support/synth.js';

function bookshop() {
  const chart = Testing.chart();
  const shop = new MeshNamespace(chart, 'shop');
  const data = new MeshNamespace(chart, 'data');
  const svc = (name: string, ns = shop) =>
    new Microservice(chart, name, {
      namespace: ns,
      image: `${name}:1`,
      ports: [ServicePort.http(8080)],
      versions: { v1: {} },
    });
  return {
    chart,
    shop,
    data,
    storefront: svc('storefront'),
    catalog: svc('catalog'),
    reviews: svc('reviews'),
    ratings: svc('ratings', data),
  };
}

describe('Authorization from the call graph', () => {
  it('allows exactly the declared callers, narrowed by methods and paths', () => {
    const { chart, storefront, catalog, reviews, ratings } = bookshop();
    storefront.calls(catalog, { methods: ['GET'], paths: ['/books', '/books/*'] });
    storefront.calls(reviews);
    reviews.calls(ratings, { methods: ['GET'] });
    catalog.calls(ratings, { methods: ['GET'] });
    const objs = synth(chart);
    assert.deepEqual(find(objs, 'AuthorizationPolicy', 'catalog-allow-callers').spec, {
      selector: { matchLabels: { app: 'catalog' } },
      action: 'ALLOW',
      rules: [
        {
          from: [{ source: { principals: ['cluster.local/ns/shop/sa/storefront'] } }],
          to: [{ operation: { methods: ['GET'], paths: ['/books', '/books/*'] } }],
        },
      ],
    });
    assert.deepEqual(find(objs, 'AuthorizationPolicy', 'reviews-allow-callers').spec.rules, [
      { from: [{ source: { principals: ['cluster.local/ns/shop/sa/storefront'] } }] },
    ]);
    // Callers with the same operations share one rule.
    const ratingsPolicy = find(objs, 'AuthorizationPolicy', 'ratings-allow-callers');
    assert.equal(ratingsPolicy.metadata.namespace, 'data');
    assert.deepEqual(ratingsPolicy.spec.rules, [
      {
        from: [
          {
            source: { principals: ['cluster.local/ns/shop/sa/catalog', 'cluster.local/ns/shop/sa/reviews'] },
          },
        ],
        to: [{ operation: { methods: ['GET'] } }],
      },
    ]);
    // A service nobody calls has no ALLOW policy: the namespace's allow-nothing denies it all.
    assert.throws(() => find(objs, 'AuthorizationPolicy', 'storefront-allow-callers'));
  });

  it('scopes each Sidecar egress to the services it calls plus istio-system', () => {
    const { chart, storefront, catalog, reviews, ratings } = bookshop();
    storefront.calls(catalog).calls(reviews);
    reviews.calls(ratings);
    const objs = synth(chart);
    assert.deepEqual(find(objs, 'Sidecar', 'storefront').spec, {
      workloadSelector: { labels: { app: 'storefront' } },
      egress: [
        { hosts: ['./catalog.shop.svc.cluster.local', './reviews.shop.svc.cluster.local', 'istio-system/*'] },
      ],
    });
    assert.deepEqual(find(objs, 'Sidecar', 'reviews').spec.egress, [
      { hosts: ['data/ratings.data.svc.cluster.local', 'istio-system/*'] },
    ]);
    assert.deepEqual(find(objs, 'Sidecar', 'ratings').spec.egress, [{ hosts: ['istio-system/*'] }]);
  });

  it('requires a JWT on chosen paths with RequestAuthentication and a DENY policy', () => {
    const { chart, storefront } = bookshop();
    storefront.requireJwt({
      issuer: 'https://auth.example.com/',
      jwksUri: 'https://auth.example.com/.well-known/jwks.json',
      audiences: ['shop'],
      paths: ['/admin', '/admin/*'],
    });
    const objs = synth(chart);
    assert.deepEqual(find(objs, 'RequestAuthentication', 'storefront-jwt').spec, {
      selector: { matchLabels: { app: 'storefront' } },
      jwtRules: [
        {
          issuer: 'https://auth.example.com/',
          jwksUri: 'https://auth.example.com/.well-known/jwks.json',
          audiences: ['shop'],
        },
      ],
    });
    assert.deepEqual(find(objs, 'AuthorizationPolicy', 'storefront-require-jwt').spec, {
      selector: { matchLabels: { app: 'storefront' } },
      action: 'DENY',
      rules: [
        {
          from: [{ source: { notRequestPrincipals: ['*'] } }],
          to: [{ operation: { paths: ['/admin', '/admin/*'] } }],
        },
      ],
    });
    assert.equal(all(objs, 'RequestAuthentication').length, 1);
  });

  it('lets every Sidecar reach the namespace tracing collector, so spans are not dropped', () => {
    const chart = Testing.chart();
    const ns = new MeshNamespace(chart, 'shop', {
      tracing: { samplingPercentage: 5, collector: 'tracing/jaeger-collector.tracing.svc.cluster.local' },
    });
    new Microservice(chart, 'lonely', { namespace: ns, image: 'l:1', versions: { v1: {} } });
    assert.deepEqual(find(synth(chart), 'Sidecar', 'lonely').spec.egress, [
      { hosts: ['tracing/jaeger-collector.tracing.svc.cluster.local', 'istio-system/*'] },
    ]);
  });

  it('accepts Istio path templates in caller restrictions', () => {
    const { chart, storefront, catalog } = bookshop();
    storefront.calls(catalog, { paths: ['/books/{*}/cover', '/static/{**}'] });
    assert.deepEqual(find(synth(chart), 'AuthorizationPolicy', 'catalog-allow-callers').spec.rules[0].to, [
      { operation: { paths: ['/books/{*}/cover', '/static/{**}'] } },
    ]);
  });
});
