// The behaviour section of npm run diff over hand-built objects: the requests come from the
// objects (routes, authorization, Sidecars), and each change is said in words.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App } from 'cdk8s';
import { ShopChart } from '../charts/shop.js';
import { renderObjects } from '../constructs/render.js';
import { MeshIndex } from '../constructs/explain/objects.js';
import { behaviourDiff, probesOf } from '../tools/mesh/behaviour.js';
import { compareSyntheses, renderMarkdown, renderText } from '../tools/mesh/diff-report.js';
import type { Manifest } from '../tools/mesh/manifest.js';

const NS = 'shop';
const NET = 'networking.istio.io/v1';
const SEC = 'security.istio.io/v1';
const principal = (sa: string) => `cluster.local/ns/${NS}/sa/${sa}`;
const host = (svc: string) => `${svc}.${NS}.svc.cluster.local`;

function o(apiVersion: string, kind: string, name: string, spec: unknown): Manifest {
  return { apiVersion, kind, metadata: { name, namespace: NS }, spec };
}

function service(name: string): Manifest {
  return o('v1', 'Service', name, {
    selector: { app: name },
    ports: [{ name: 'http', port: 8080, targetPort: 8080 }],
  });
}

function deployment(name: string, version: string): Manifest {
  return o('apps/v1', 'Deployment', `${name}-${version}`, {
    selector: { matchLabels: { app: name, version } },
    template: {
      metadata: { labels: { app: name, version } },
      spec: { serviceAccountName: name, containers: [{ name: 'app', image: `${name}:${version}` }] },
    },
  });
}

function allow(app: string, callers: string[], operation?: Record<string, unknown>): Manifest {
  return o(SEC, 'AuthorizationPolicy', `${app}-callers`, {
    selector: { matchLabels: { app } },
    action: 'ALLOW',
    rules: [
      {
        from: [{ source: { principals: callers.map(principal) } }],
        ...(operation && { to: [{ operation }] }),
      },
    ],
  });
}

function sidecar(app: string, hosts: string[]): Manifest {
  return o(NET, 'Sidecar', app, {
    workloadSelector: { labels: { app } },
    egress: [{ hosts: [...hosts.map((h) => `./${h.includes('.') ? h : host(h)}`), 'istio-system/*'] }],
    outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
  });
}

interface Options {
  testersTo?: string;
  timeout?: string;
  mirror?: boolean;
  ratingsCallers?: string[];
  catalogImportsRatings?: boolean;
  ratingsFault?: boolean;
  catalogPermissive?: boolean;
  wishlist?: boolean;
}

/** storefront → catalog, storefront → reviews (v1, v2, v3) → ratings; STRICT mTLS, REGISTRY_ONLY Sidecars. */
function mesh(opts: Options = {}): Manifest[] {
  const timeout = opts.timeout === undefined ? {} : { timeout: opts.timeout };
  return [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: NS, labels: { 'istio-injection': 'enabled' } },
    },
    o(SEC, 'PeerAuthentication', 'default', { mtls: { mode: 'STRICT' } }),
    ...(opts.catalogPermissive
      ? [
          o(SEC, 'PeerAuthentication', 'catalog', {
            selector: { matchLabels: { app: 'catalog' } },
            mtls: { mode: 'PERMISSIVE' },
          }),
        ]
      : []),
    ...['storefront', 'catalog', 'reviews', 'ratings', ...(opts.wishlist ? ['wishlist'] : [])].map(service),
    deployment('storefront', 'v1'),
    deployment('catalog', 'v1'),
    deployment('reviews', 'v1'),
    deployment('reviews', 'v2'),
    deployment('reviews', 'v3'),
    deployment('ratings', 'v1'),
    ...(opts.wishlist ? [deployment('wishlist', 'v1'), allow('wishlist', ['storefront'])] : []),
    allow('catalog', ['storefront']),
    allow('reviews', ['storefront'], { methods: ['GET'], paths: ['/reviews/*'] }),
    allow('ratings', opts.ratingsCallers ?? ['reviews'], { methods: ['GET'], paths: ['/ratings/*'] }),
    sidecar('storefront', ['catalog', 'reviews', ...(opts.wishlist ? ['wishlist'] : [])]),
    sidecar('reviews', ['ratings']),
    sidecar('catalog', opts.catalogImportsRatings ? ['ratings'] : []),
    o(NET, 'DestinationRule', 'reviews', {
      host: host('reviews'),
      subsets: ['v1', 'v2', 'v3'].map((v) => ({ name: v, labels: { version: v } })),
    }),
    o(NET, 'VirtualService', 'reviews', {
      hosts: [host('reviews')],
      http: [
        {
          name: 'testers',
          match: [{ headers: { 'end-user': { exact: 'jason' } } }],
          route: [{ destination: { host: host('reviews'), subset: opts.testersTo ?? 'v2' } }],
          ...timeout,
        },
        {
          name: 'canary',
          route: [
            { destination: { host: host('reviews'), subset: 'v1' }, weight: 80 },
            { destination: { host: host('reviews'), subset: 'v3' }, weight: 20 },
          ],
          ...timeout,
          ...(opts.mirror && {
            mirror: { host: host('reviews'), subset: 'v2' },
            mirrorPercentage: { value: 5 },
          }),
        },
      ],
    }),
    o(NET, 'VirtualService', 'ratings', {
      hosts: [host('ratings')],
      http: [
        {
          route: [{ destination: { host: host('ratings') } }],
          ...(opts.ratingsFault && { fault: { abort: { httpStatus: 503, percentage: { value: 10 } } } }),
        },
      ],
    }),
  ];
}

describe('behaviour diff', () => {
  it('asks every caller × Service the requests the routes and policies declare, and one they do not', () => {
    const probes = probesOf(new MeshIndex(mesh({ timeout: '3s' })));
    const toReviews = probes.filter((p) => p.from === 'storefront' && p.toLabel === 'reviews');
    assert.deepEqual(
      toReviews.map((p) => p.label),
      ['GET /reviews/x', 'GET /reviews/x, end-user: jason', 'a request no route or policy names'],
    );
    assert.deepEqual(
      [...new Set(probes.map((p) => p.from))],
      ['storefront', 'catalog', 'reviews:v1', 'reviews:v2', 'reviews:v3', 'ratings', 'ingress', 'outside'],
    );
    // 8 callers × 4 Services: reviews 3 requests, ratings 2 (its ALLOW operation, the undeclared
    // one); catalog and storefront 1 each, as no route or operation of theirs names a request.
    assert.equal(probes.length, 8 * (3 + 2 + 1 + 1));
  });

  it('makes a request of each kind of VirtualService match: headers, uri exact, prefix and regex, method, query', () => {
    const objs = mesh().map((m) =>
      m.kind === 'VirtualService' && m.metadata.name === 'ratings'
        ? o(NET, 'VirtualService', 'ratings', {
            hosts: ['ratings'],
            http: [
              {
                match: [
                  { uri: { regex: '/ratings/v[0-9]+/.*' }, method: { exact: 'PUT' } },
                  { uri: { prefix: '/ratings/beta' }, queryParams: { debug: { exact: 'on' } } },
                  { headers: { 'x-canary': {} } },
                ],
                route: [{ destination: { host: 'ratings' } }],
              },
            ],
          })
        : m,
    );
    const labels = probesOf(new MeshIndex(objs))
      .filter((p) => p.from === 'reviews:v1' && p.toLabel === 'ratings')
      .map((p) => p.label);
    assert.deepEqual(labels, [
      'GET /ratings/x',
      'PUT /ratings/v1/x',
      'GET /ratings/beta?debug=on',
      'GET /ratings/x, x-canary: x',
      'a request no route or policy names',
    ]);
  });

  it('says nothing when nothing behaves differently', () => {
    const d = behaviourDiff(mesh({ timeout: '3s' }), mesh({ timeout: '3s' }));
    assert.deepEqual(d.changes, []);
    assert.equal(d.requests, 56);
  });

  it('says what changes in words: widened access and moved traffic first', () => {
    const base = mesh({ timeout: '3s' });
    const head = mesh({
      testersTo: 'v3',
      mirror: true,
      ratingsCallers: ['reviews', 'catalog'],
      catalogImportsRatings: true,
      ratingsFault: true,
      catalogPermissive: true,
      wishlist: true,
    });
    assert.deepEqual(behaviourDiff(base, head).changes, [
      { text: 'catalog → ratings: denied → allowed (shop/ratings-callers)', risk: 'access-widened' },
      // The new workload may call the storefront, which has no ALLOW policy: no policy means allow.
      { text: 'wishlist → storefront: new, allowed', risk: 'access-widened' },
      { text: 'storefront → wishlist: new, allowed (shop/wishlist-callers)', risk: 'access-widened' },
      { text: 'storefront → reviews (GET /reviews/x): mirror none → 5 % to v2', risk: 'traffic-moved' },
      {
        text: 'storefront → reviews (GET /reviews/x, end-user: jason): v2 100 % → v3 100 %',
        risk: 'traffic-moved',
      },
      { text: 'storefront → catalog: mTLS STRICT → PERMISSIVE', risk: null },
      { text: 'storefront → reviews: timeout 3 s → none', risk: null },
      { text: 'reviews → ratings: fault none → abort 503 for 10 %', risk: null },
    ]);
  });

  it('says when access narrows, and where the request is now refused', () => {
    const d = behaviourDiff(mesh(), mesh({ ratingsCallers: ['catalog'] }));
    assert.deepEqual(d.changes, [
      {
        text: 'reviews → ratings: allowed → denied (authorization: shop/ratings-callers)',
        risk: null,
      },
    ]);
  });

  it('says which callers and Services that were let through are gone', () => {
    assert.deepEqual(behaviourDiff(mesh({ wishlist: true }), mesh()).changes, [
      { text: 'wishlist → storefront: gone, was allowed', risk: null },
      { text: 'storefront → wishlist: gone, was allowed (shop/wishlist-callers)', risk: null },
    ]);
  });

  it('asks each caller about the external hosts ServiceEntries declare: a Sidecar that imports one lets it out', () => {
    const payments = o(NET, 'ServiceEntry', 'payments', {
      hosts: ['api.payments.example'],
      ports: [{ number: 443, name: 'tls', protocol: 'TLS' }],
      resolution: 'DNS',
    });
    const base = [...mesh(), payments];
    const head = base.map((m) =>
      m.kind === 'Sidecar' && m.metadata.name === 'reviews'
        ? sidecar('reviews', ['ratings', 'api.payments.example'])
        : m,
    );
    assert.deepEqual(behaviourDiff(base, head).changes, [
      {
        text: 'reviews → api.payments.example: denied → allowed (shop/reviews)',
        risk: 'access-widened',
      },
    ]);
  });

  it("the shop's chaos switch, as the behaviour section tells it", () => {
    const shop = (chaos: boolean) => {
      const app = new App();
      new ShopChart(app, 'shop', { environment: 'dev', chaos });
      return renderObjects(app) as Manifest[];
    };
    assert.deepEqual(behaviourDiff(shop(false), shop(true)).changes, [
      { text: 'reviews → ratings: fault none → abort 503 for 10 %', risk: null },
      { text: 'storefront → reviews: fault none → delay 2 s for 5 %', risk: null },
    ]);
  });

  it('is a section of the diff report: risky changes on top, every change under its variant', () => {
    const variant = { app: 'shop', flag: 'env', variant: 'dev' };
    const report = {
      base: 'main',
      head: 'the working tree',
      variants: compareSyntheses(
        new Map([['shop/dev', mesh({ timeout: '3s' })]]),
        new Map([['shop/dev', mesh({ testersTo: 'v3' })]]),
        [variant],
      ),
    };
    const text = renderText(report, false);
    assert.match(
      text,
      /Risky changes:\n {2}! shop env=dev {2}behaviour: storefront → reviews \(GET \/reviews\/x, end-user: jason\): v2 100 % → v3 100 % \(traffic-moved\)\n/,
    );
    assert.match(
      text,
      /shop env=dev: 0 added, 0 removed, 1 changed\n {2}behaviour \(56 requests explained on both refs: 2 changes\)\n {4}! storefront → reviews \(GET \/reviews\/x, end-user: jason\): v2 100 % → v3 100 %\n {6}storefront → reviews: timeout 3 s → none\n {2}~ VirtualService shop\/reviews\n/,
    );
    const md = renderMarkdown(report);
    assert.match(
      md,
      /### ⚠️ Risky changes\n\n- \*\*shop env=dev\*\* · behaviour — storefront → reviews \(GET \/reviews\/x, end-user: jason\): v2 100 % → v3 100 % _\(traffic-moved\)_\n/,
    );
    assert.match(
      md,
      /\*\*Behaviour\*\* \(56 requests explained on both refs: 2 changes\)\n\n- ⚠️ storefront → reviews \(GET \/reviews\/x, end-user: jason\): v2 100 % → v3 100 %\n- storefront → reviews: timeout 3 s → none\n/,
    );
  });
});
