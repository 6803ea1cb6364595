import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Testing } from 'cdk8s';
import {
  Duration,
  GatewayApiIngress,
  StringMatch,
  IstioIngress,
  MeshNamespace,
  Microservice,
  ServicePort,
  type ServiceVersion,
} from '../constructs/index.js';
import { all, find, type Manifest, synth, synthErrors } from './support/synth.js';

const ISTIO_GATEWAY = 'cluster.local/ns/istio-system/sa/istio-ingressgateway';

function shop() {
  const chart = Testing.chart();
  const ns = new MeshNamespace(chart, 'shop');
  const web = new Microservice(chart, 'web', { namespace: ns, image: 'web:1', versions: { v1: {} } });
  const reviews = new Microservice(chart, 'reviews', {
    namespace: ns,
    image: 'reviews:1',
    ports: [ServicePort.http(9080)],
    versions: { v1: {}, v2: {}, v3: {} },
  });
  return { chart, ns, web, reviews };
}

function principals(objs: readonly Manifest[], service: string): string[] {
  const policy = find(objs, 'AuthorizationPolicy', `${service}-allow-callers`);
  return policy.spec.rules.flatMap((r: { from: { source: { principals: string[] } }[] }) =>
    r.from.flatMap((f) => f.source.principals),
  );
}

describe('IstioIngress', () => {
  it('serves HTTP on port 80 and routes prefixes, in order, to the services on their HTTP ports', () => {
    const { chart, ns, web, reviews } = shop();
    new IstioIngress(chart, 'storefront', {
      namespace: ns,
      hosts: ['shop.example.com', '*.shop.example.com'],
    })
      .addRoute({ pathPrefix: '/reviews/', to: reviews, rewrite: '/', timeout: Duration.seconds(5) })
      .addRoute({ exactPath: '/healthz', to: web, timeout: Duration.millis(250) })
      .addRoute({ to: web });
    const objs = synth(chart);

    const gw = find(objs, 'Gateway', 'storefront');
    assert.equal(gw.apiVersion, 'networking.istio.io/v1');
    assert.equal(gw.metadata.namespace, 'shop');
    assert.deepEqual(gw.spec, {
      selector: { istio: 'ingressgateway' },
      servers: [
        {
          port: { number: 80, name: 'http', protocol: 'HTTP' },
          hosts: ['shop.example.com', '*.shop.example.com'],
        },
      ],
    });

    const vs = find(objs, 'VirtualService', 'storefront');
    assert.deepEqual(vs.spec.gateways, ['shop/storefront']);
    assert.deepEqual(vs.spec.hosts, ['shop.example.com', '*.shop.example.com']);
    assert.deepEqual(vs.spec.http, [
      {
        match: [{ uri: { prefix: '/reviews/' } }],
        rewrite: { uri: '/' },
        route: [{ destination: { host: 'reviews.shop.svc.cluster.local', port: { number: 9080 } } }],
        timeout: '5s',
      },
      {
        match: [{ uri: { exact: '/healthz' } }],
        route: [{ destination: { host: 'web.shop.svc.cluster.local', port: { number: 8080 } } }],
        timeout: '250ms',
      },
      {
        match: [{ uri: { prefix: '/' } }],
        route: [{ destination: { host: 'web.shop.svc.cluster.local', port: { number: 8080 } } }],
      },
    ]);
    // The default deny of the services' namespace lets the gateway through, once per service.
    assert.deepEqual(principals(objs, 'reviews'), [ISTIO_GATEWAY]);
    assert.deepEqual(principals(objs, 'web'), [ISTIO_GATEWAY]);
    // The gateway pods run in istio-system, so this namespace needs no policy for them.
    assert.equal(
      all(objs, 'AuthorizationPolicy').filter((o) => o.metadata.name.includes('clients')).length,
      0,
    );
  });

  it('terminates TLS on 443 with the credential and redirects port 80 to HTTPS', () => {
    const { chart, ns, web } = shop();
    new IstioIngress(chart, 'storefront', {
      namespace: ns,
      hosts: ['shop.example.com'],
      tls: { credentialName: 'shop-example-com' },
    }).addRoute({ to: web });
    const servers = find(synth(chart), 'Gateway', 'storefront').spec.servers;
    assert.deepEqual(servers, [
      {
        port: { number: 80, name: 'http', protocol: 'HTTP' },
        hosts: ['shop.example.com'],
        tls: { httpsRedirect: true },
      },
      {
        port: { number: 443, name: 'https', protocol: 'HTTPS' },
        hosts: ['shop.example.com'],
        tls: { mode: 'SIMPLE', credentialName: 'shop-example-com' },
      },
    ]);
  });

  it('keeps serving plain HTTP next to HTTPS when the redirect is turned off', () => {
    const { chart, ns, web } = shop();
    new IstioIngress(chart, 'storefront', {
      namespace: ns,
      hosts: ['shop.example.com'],
      tls: { credentialName: 'shop-example-com', httpsRedirect: false },
    }).addRoute({ to: web });
    const servers = find(synth(chart), 'Gateway', 'storefront').spec.servers;
    assert.deepEqual(servers[0], {
      port: { number: 80, name: 'http', protocol: 'HTTP' },
      hosts: ['shop.example.com'],
    });
    assert.equal(servers[1].tls.mode, 'SIMPLE');
  });

  it('uses a custom gateway, and opens the namespace to clients when the gateway pods run in it', () => {
    const { chart, web } = shop();
    const edge = new MeshNamespace(chart, 'edge');
    new IstioIngress(chart, 'storefront', {
      namespace: edge,
      name: 'public',
      hosts: ['shop.example.com'],
      selector: { app: 'edge-gateway' },
      gatewayServiceAccount: 'cluster.local/ns/edge/sa/edge-gateway',
    }).addRoute({ to: web });
    const objs = synth(chart);
    assert.deepEqual(find(objs, 'Gateway', 'public').spec.selector, { app: 'edge-gateway' });
    assert.deepEqual(find(objs, 'VirtualService', 'public').spec.gateways, ['edge/public']);
    assert.deepEqual(principals(objs, 'web'), ['cluster.local/ns/edge/sa/edge-gateway']);
    const allow = find(objs, 'AuthorizationPolicy', 'public-allow-clients');
    assert.equal(allow.metadata.namespace, 'edge');
    assert.deepEqual(allow.spec, {
      selector: { matchLabels: { app: 'edge-gateway' } },
      action: 'ALLOW',
      rules: [{}],
    });
  });

  it('applies its objects after the namespace', () => {
    const { chart, ns, web } = shop();
    const ingress = new IstioIngress(chart, 'storefront', { namespace: ns, hosts: ['shop.example.com'] });
    ingress.addRoute({ to: web });
    for (const child of ingress.node.children) {
      assert.ok(child.node.dependencies.includes(ns), `${child.node.path} depends on the namespace`);
    }
  });

  it("carries the service's own routes (canary weights, matches, retries) into the gateway", () => {
    const { chart, ns, reviews } = shop();
    reviews
      .addRoute({
        match: [{ headers: { 'end-user': StringMatch.exact('jason') } }],
        to: reviews.version('v2'),
      })
      .addRoute({
        to: [
          { version: reviews.version('v1'), weight: 90 },
          { version: reviews.version('v3'), weight: 10 },
        ],
        retries: { attempts: 2, retryOn: ['5xx'] },
      });
    new IstioIngress(chart, 'edge', { namespace: ns, hosts: ['shop.example.com'] }).addRoute({
      pathPrefix: '/reviews',
      to: reviews,
      timeout: Duration.seconds(5),
    });
    const host = 'reviews.shop.svc.cluster.local';
    // A mesh VirtualService does not bind to gateways: without these, edge traffic would skip the canary.
    assert.deepEqual(find(synth(chart), 'VirtualService', 'edge').spec.http, [
      {
        match: [{ headers: { 'end-user': { exact: 'jason' } }, uri: { prefix: '/reviews' } }],
        route: [{ destination: { host, subset: 'v2', port: { number: 9080 } } }],
        timeout: '5s',
      },
      {
        match: [{ uri: { prefix: '/reviews' } }],
        route: [
          { destination: { host, subset: 'v1', port: { number: 9080 } }, weight: 90 },
          { destination: { host, subset: 'v3', port: { number: 9080 } }, weight: 10 },
        ],
        timeout: '5s',
        retries: { attempts: 2, retryOn: '5xx' },
      },
    ]);
  });

  describe('refuses', () => {
    const path = '[test/storefront]';

    it('a route after a prefix that already matches all its paths', () => {
      const { chart, ns, web, reviews } = shop();
      new IstioIngress(chart, 'storefront', { namespace: ns, hosts: ['shop.example.com'] })
        .addRoute({ to: web })
        .addRoute({ pathPrefix: '/reviews', to: reviews })
        .addRoute({ pathPrefix: '/api', to: reviews })
        .addRoute({ exactPath: '/api/v1/status', to: web });
      assert.deepEqual(synthErrors(chart), [
        `${path} routes[1].pathPrefix: can never match: routes[0] (prefix "/") comes first and matches every path it would; move it before routes[0], so the more specific route is tried first`,
        `${path} routes[2].pathPrefix: can never match: routes[0] (prefix "/") comes first and matches every path it would; move it before routes[0], so the more specific route is tried first`,
        `${path} routes[3].exactPath: can never match: routes[0] (prefix "/") comes first and matches every path it would; move it before routes[0], so the more specific route is tried first`,
      ]);
    });

    it('duplicate paths and a shadowing character prefix', () => {
      const { chart, ns, web, reviews } = shop();
      new IstioIngress(chart, 'storefront', { namespace: ns, hosts: ['shop.example.com'] })
        .addRoute({ exactPath: '/login', to: web })
        .addRoute({ exactPath: '/login', to: reviews })
        .addRoute({ pathPrefix: '/api', to: reviews })
        .addRoute({ pathPrefix: '/apiary', to: web });
      assert.deepEqual(synthErrors(chart), [
        `${path} routes[1].exactPath: duplicates routes[0], which always wins; remove one of the two routes`,
        `${path} routes[3].pathPrefix: can never match: routes[2] (prefix "/api") comes first and matches every path it would; move it before routes[2], so the more specific route is tried first`,
      ]);
    });

    it('hosts that are not DNS names or wildcards, and hosts listed twice', () => {
      const { chart, ns, web } = shop();
      new IstioIngress(chart, 'storefront', {
        namespace: ns,
        hosts: [
          'Shop.example.com',
          '*shop.com',
          '10.0.0.1',
          'shop.*.com',
          'ok.example.com',
          'ok.example.com',
        ],
      }).addRoute({ to: web });
      const fix = 'use lower-case letters, digits, "-" and ".", optionally starting with "*."';
      assert.deepEqual(synthErrors(chart), [
        `${path} hosts[0]: "Shop.example.com" is not a DNS name or a "*.domain" wildcard; ${fix}`,
        `${path} hosts[1]: "*shop.com" is not a DNS name or a "*.domain" wildcard; ${fix}`,
        `${path} hosts[2]: "10.0.0.1" is an IP address, not a host name; use the DNS name clients connect to`,
        `${path} hosts[3]: "shop.*.com" is not a DNS name or a "*.domain" wildcard; ${fix}`,
        `${path} hosts[5]: "ok.example.com" is already hosts[4]; list each host once`,
      ]);
    });

    it('no hosts and no routes', () => {
      const { chart, ns } = shop();
      new IstioIngress(chart, 'storefront', { namespace: ns, hosts: [] });
      assert.deepEqual(synthErrors(chart), [
        `${path} hosts: is empty; give at least one host name, e.g. "shop.example.com"`,
        `${path} routes: none are added, so the gateway answers every request with 404; call addRoute(...)`,
      ]);
    });

    it('paths and rewrites that do not start with "/", and both kinds of path at once', () => {
      const { chart, ns, web, reviews } = shop();
      new IstioIngress(chart, 'storefront', { namespace: ns, hosts: ['shop.example.com'] })
        .addRoute({ pathPrefix: 'api', rewrite: 'v1', to: reviews })
        .addRoute({ pathPrefix: '/login', exactPath: '/login', to: web });
      const fix = 'write request paths from the root, e.g. "/api"';
      assert.deepEqual(synthErrors(chart), [
        `${path} routes[0].pathPrefix: "api" does not start with "/"; ${fix}`,
        `${path} routes[0].rewrite: "v1" does not start with "/"; ${fix}`,
        `${path} routes[1]: sets both pathPrefix and exactPath; set only one of them`,
      ]);
    });

    it('a service without an HTTP port, and a timeout below a millisecond', () => {
      const { chart, ns } = shop();
      const db = new Microservice(chart, 'db', {
        namespace: ns,
        image: 'db:1',
        ports: [ServicePort.tcp(5432)],
        versions: { v1: {} },
      });
      new IstioIngress(chart, 'storefront', { namespace: ns, hosts: ['shop.example.com'] }).addRoute({
        to: db,
        timeout: Duration.millis(0.5),
      });
      assert.deepEqual(synthErrors(chart), [
        `${path} routes[0].timeout: 0.5ms is below Istio's minimum of 1ms; use Duration.millis(1) or more`,
        `${path} routes[0].to (db): service db.shop.svc.cluster.local has no HTTP port to route to; give it a ServicePort.http(...) port`,
      ]);
    });

    it('a malformed gateway principal, an empty selector and a bad credential name', () => {
      const { chart, ns, web } = shop();
      new IstioIngress(chart, 'storefront', {
        namespace: ns,
        hosts: ['shop.example.com'],
        selector: {},
        gatewayServiceAccount: 'spiffe://cluster.local/ns/istio-system/sa/gw',
        tls: { credentialName: 'Shop_Cert' },
      }).addRoute({ to: web });
      assert.deepEqual(synthErrors(chart), [
        `${path} tls.credentialName: "Shop_Cert" is not a valid RFC 1123 subdomain; use lower-case letters, digits, "-" and ".", each part starting and ending with a letter or digit`,
        `${path} selector: is empty, so the Gateway would configure every gateway workload; give the labels of the gateway pods, e.g. { istio: "ingressgateway" }`,
        `${path} gatewayServiceAccount: "spiffe://cluster.local/ns/istio-system/sa/gw" is not a principal of the form <trust domain>/ns/<namespace>/sa/<service account>; e.g. "cluster.local/ns/istio-system/sa/istio-ingressgateway"`,
      ]);
    });

    it('two ingresses that route one host through the same gateway', () => {
      const { chart, ns, web } = shop();
      const left = new IstioIngress(chart, 'left', {
        namespace: ns,
        name: 'public',
        hosts: ['shop.example.com'],
      });
      const right = new IstioIngress(chart, 'right', {
        namespace: ns,
        name: 'public',
        hosts: ['shop.example.com'],
      });
      left.addRoute({ to: web });
      right.addRoute({ pathPrefix: '/other', to: web });
      const message =
        'host shop.example.com is also routed through gateway shop/public by test/%s, and Istio merges two VirtualServices for one host unpredictably; route the host from one ingress only';
      assert.deepEqual(synthErrors(chart), [
        `[test/left] hosts[0]: ${message.replace('%s', 'right')}`,
        `[test/right] hosts[0]: ${message.replace('%s', 'left')}`,
      ]);
    });

    it('two ingresses that serve one host from the same gateway pods', () => {
      const { chart, ns, web } = shop();
      const edge = new MeshNamespace(chart, 'edge');
      new IstioIngress(chart, 'storefront', { namespace: ns, hosts: ['shop.example.com'] }).addRoute({
        to: web,
      });
      new IstioIngress(chart, 'mirror', {
        namespace: edge,
        hosts: ['shop.example.com', 'other.example.com'],
      }).addRoute({
        to: web,
      });
      // Other pods for the same host do not conflict.
      new IstioIngress(chart, 'internal', {
        namespace: edge,
        hosts: ['shop.example.com'],
        selector: { istio: 'internal-gateway' },
      }).addRoute({ to: web });
      const message = (other: string) =>
        `hosts[0]: host shop.example.com is also served by test/${other} on the same gateway pods (istio=ingressgateway), and Istio applies only one of the conflicting Gateway servers; serve each host from one ingress, or give the ingresses different gateway pods`;
      assert.deepEqual(synthErrors(chart), [
        `[test/storefront] ${message('mirror')}`,
        `[test/mirror] ${message('storefront')}`,
      ]);
    });
  });
});

describe('GatewayApiIngress', () => {
  it('deploys an istio-class Gateway and one HTTPRoute with a rule per route, as Bookinfo does', () => {
    const { chart, ns, web, reviews } = shop();
    new GatewayApiIngress(chart, 'storefront', { namespace: ns, hosts: ['shop.example.com'] })
      .addRoute({ exactPath: '/productpage', to: web })
      .addRoute({ pathPrefix: '/api/reviews', to: reviews, rewrite: '/', timeout: Duration.seconds(90) })
      .addRoute({ to: web, timeout: Duration.millis(1500) });
    const objs = synth(chart);

    const gw = find(objs, 'Gateway', 'storefront');
    assert.equal(gw.apiVersion, 'gateway.networking.k8s.io/v1');
    assert.deepEqual(gw.spec, {
      gatewayClassName: 'istio',
      listeners: [
        {
          name: 'http',
          port: 80,
          protocol: 'HTTP',
          hostname: 'shop.example.com',
          allowedRoutes: { namespaces: { from: 'Same' } },
        },
      ],
    });

    const route = find(objs, 'HTTPRoute', 'storefront');
    assert.equal(route.metadata.namespace, 'shop');
    assert.deepEqual(route.spec.parentRefs, [{ name: 'storefront' }]);
    assert.deepEqual(route.spec.hostnames, ['shop.example.com']);
    assert.deepEqual(route.spec.rules, [
      {
        matches: [{ path: { type: 'Exact', value: '/productpage' } }],
        backendRefs: [{ name: 'web', port: 8080 }],
      },
      {
        matches: [{ path: { type: 'PathPrefix', value: '/api/reviews' } }],
        filters: [
          {
            type: 'URLRewrite',
            urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } },
          },
        ],
        backendRefs: [{ name: 'reviews', port: 9080 }],
        timeouts: { request: '1m30s' },
      },
      {
        matches: [{ path: { type: 'PathPrefix', value: '/' } }],
        backendRefs: [{ name: 'web', port: 8080 }],
        timeouts: { request: '1s500ms' },
      },
    ]);
    assert.equal(all(objs, 'HTTPRoute').length, 1, 'no redirect route without TLS');

    // Istio runs the gateway as <name>-istio in the Gateway's namespace: the services allow it ...
    assert.deepEqual(principals(objs, 'web'), ['cluster.local/ns/shop/sa/storefront-istio']);
    assert.deepEqual(principals(objs, 'reviews'), ['cluster.local/ns/shop/sa/storefront-istio']);
    // ... and the namespace's default deny lets clients reach the gateway pods.
    assert.deepEqual(find(objs, 'AuthorizationPolicy', 'storefront-allow-clients').spec, {
      selector: { matchLabels: { 'gateway.networking.k8s.io/gateway-name': 'storefront' } },
      action: 'ALLOW',
      rules: [{}],
    });
  });

  it('terminates TLS with the Secret and redirects the HTTP listeners through their own HTTPRoute', () => {
    const { chart, ns, web } = shop();
    new GatewayApiIngress(chart, 'storefront', {
      namespace: ns,
      hosts: ['shop.example.com', 'www.example.com'],
      tls: { credentialName: 'shop-cert' },
    }).addRoute({ to: web });
    const objs = synth(chart);
    const listeners = find(objs, 'Gateway', 'storefront').spec.listeners;
    assert.deepEqual(
      listeners.map((l: { name: string; port: number; protocol: string; hostname: string }) => [
        l.name,
        l.port,
        l.protocol,
        l.hostname,
      ]),
      [
        ['http-1', 80, 'HTTP', 'shop.example.com'],
        ['http-2', 80, 'HTTP', 'www.example.com'],
        ['https-1', 443, 'HTTPS', 'shop.example.com'],
        ['https-2', 443, 'HTTPS', 'www.example.com'],
      ],
    );
    assert.deepEqual(listeners[2].tls, {
      mode: 'Terminate',
      certificateRefs: [{ kind: 'Secret', name: 'shop-cert' }],
    });
    assert.equal(listeners[0].tls, undefined);

    const content = find(objs, 'HTTPRoute', 'storefront');
    assert.deepEqual(content.spec.parentRefs, [
      { name: 'storefront', sectionName: 'https-1' },
      { name: 'storefront', sectionName: 'https-2' },
    ]);
    const redirect = find(objs, 'HTTPRoute', 'storefront-https-redirect');
    assert.deepEqual(redirect.spec, {
      parentRefs: [
        { name: 'storefront', sectionName: 'http-1' },
        { name: 'storefront', sectionName: 'http-2' },
      ],
      hostnames: ['shop.example.com', 'www.example.com'],
      rules: [
        { filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } }] },
      ],
    });
  });

  it('serves content on every listener when the redirect is turned off', () => {
    const { chart, ns, web } = shop();
    new GatewayApiIngress(chart, 'storefront', {
      namespace: ns,
      hosts: ['shop.example.com'],
      tls: { credentialName: 'shop-cert', httpsRedirect: false },
    }).addRoute({ to: web });
    const objs = synth(chart);
    assert.deepEqual(
      find(objs, 'Gateway', 'storefront').spec.listeners.map((l: { name: string }) => l.name),
      ['http', 'https'],
    );
    assert.deepEqual(find(objs, 'HTTPRoute', 'storefront').spec.parentRefs, [{ name: 'storefront' }]);
    assert.equal(all(objs, 'HTTPRoute').length, 1);
  });

  it('splits traffic by weight between per-version Services', () => {
    const { chart, ns, reviews } = shop();
    new GatewayApiIngress(chart, 'storefront', { namespace: ns, hosts: ['shop.example.com'] }).addRoute({
      pathPrefix: '/reviews',
      to: [
        { version: reviews.version('v1'), weight: 90 },
        { version: reviews.version('v2'), weight: 10 },
      ],
    });
    const objs = synth(chart);
    assert.deepEqual(find(objs, 'HTTPRoute', 'storefront').spec.rules[0].backendRefs, [
      { name: 'reviews-v1', port: 9080, weight: 90 },
      { name: 'reviews-v2', port: 9080, weight: 10 },
    ]);
    for (const v of ['v1', 'v2']) {
      const svc = find(objs, 'Service', `reviews-${v}`);
      assert.deepEqual(svc.spec.selector, { app: 'reviews', version: v });
      assert.equal(svc.spec.ports[0].port, 9080);
    }
    assert.equal(all(objs, 'Service').filter((s) => s.metadata.name === 'reviews-v3').length, 0);
    assert.deepEqual(principals(objs, 'reviews'), ['cluster.local/ns/shop/sa/storefront-istio']);
  });

  it('reaches services in other namespaces through a ReferenceGrant there', () => {
    const { chart, web, reviews } = shop();
    const edge = new MeshNamespace(chart, 'edge');
    new GatewayApiIngress(chart, 'public', { namespace: edge, hosts: ['shop.example.com'] })
      .addRoute({ pathPrefix: '/reviews', to: [{ version: reviews.version('v3'), weight: 100 }] })
      .addRoute({ to: web });
    const objs = synth(chart);
    const grant = find(objs, 'ReferenceGrant', 'edge-public');
    assert.equal(grant.apiVersion, 'gateway.networking.k8s.io/v1');
    assert.equal(grant.metadata.namespace, 'shop');
    assert.deepEqual(grant.spec, {
      from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'edge' }],
      to: [
        { group: '', kind: 'Service', name: 'reviews-v3' },
        { group: '', kind: 'Service', name: 'web' },
      ],
    });
    assert.deepEqual(
      find(objs, 'HTTPRoute', 'public').spec.rules.map((r: { backendRefs: unknown[] }) => r.backendRefs),
      [
        [{ name: 'reviews-v3', namespace: 'shop', port: 9080, weight: 100 }],
        [{ name: 'web', namespace: 'shop', port: 8080 }],
      ],
    );
    assert.deepEqual(principals(objs, 'web'), ['cluster.local/ns/edge/sa/public-istio']);
    assert.ok(find(objs, 'AuthorizationPolicy', 'public-allow-clients'));
  });

  it('opens nothing for clients when the namespace has no default deny', () => {
    const chart = Testing.chart();
    const ns = new MeshNamespace(chart, 'open', { defaultDeny: false });
    const web = new Microservice(chart, 'web', { namespace: ns, image: 'web:1', versions: { v1: {} } });
    new GatewayApiIngress(chart, 'storefront', { namespace: ns, hosts: ['shop.example.com'] }).addRoute({
      to: web,
    });
    const objs = synth(chart);
    assert.equal(
      all(objs, 'AuthorizationPolicy').filter((o) => o.metadata.name.includes('clients')).length,
      0,
    );
  });

  describe('refuses', () => {
    it('a service whose own routes the gateway would skip, in sidecar mode', () => {
      const { chart, ns, reviews } = shop();
      reviews.addRoute({ to: reviews.version('v1') });
      new GatewayApiIngress(chart, 'edge', { namespace: ns, hosts: ['shop.example.com'] }).addRoute({
        to: reviews,
      });
      assert.deepEqual(synthErrors(chart), [
        '[test/edge] routes[0].to (reviews): reviews routes its traffic with a VirtualService, which this gateway does not apply, so its weights, matches and retries would be skipped; route to its versions here with weights, use IstioIngress, or an ambient namespace with a waypoint',
      ]);
    });

    const path = '[test/storefront]';
    const ingress = (chart: ReturnType<typeof shop>['chart'], ns: MeshNamespace, name?: string) =>
      new GatewayApiIngress(chart, 'storefront', { namespace: ns, name, hosts: ['shop.example.com'] });

    it('weights that do not add up to 100', () => {
      const { chart, ns, reviews } = shop();
      ingress(chart, ns).addRoute({
        to: [
          { version: reviews.version('v1'), weight: 50 },
          { version: reviews.version('v2'), weight: 30 },
        ],
      });
      assert.deepEqual(synthErrors(chart), [
        `${path} routes[0].to: weights add up to 80, not 100; make the weights of the route add up to 100`,
      ]);
    });

    it('weights that are all 0', () => {
      const { chart, ns, reviews } = shop();
      ingress(chart, ns).addRoute({
        to: [
          { version: reviews.version('v1'), weight: 0 },
          { version: reviews.version('v2'), weight: 0 },
        ],
      });
      assert.deepEqual(synthErrors(chart), [
        `${path} routes[0].to: all weights are 0, so the route sends traffic nowhere; give at least one version a weight`,
      ]);
    });

    it('weights that are negative or fractional', () => {
      const { chart, ns, reviews } = shop();
      ingress(chart, ns).addRoute({
        to: [
          { version: reviews.version('v1'), weight: -10 },
          { version: reviews.version('v2'), weight: 110.5 },
        ],
      });
      assert.deepEqual(synthErrors(chart), [
        `${path} routes[0].to[0].weight: -10 is not a whole number of 0 or more; use weights from 0 to 100`,
        `${path} routes[0].to[1].weight: 110.5 is not a whole number of 0 or more; use weights from 0 to 100`,
      ]);
    });

    it('undeclared, repeated and foreign versions, and an empty split', () => {
      const { chart, ns, reviews } = shop();
      const ghost: ServiceVersion = {
        serviceName: 'ghost',
        host: 'ghost.shop.svc.cluster.local',
        name: 'v1',
        declared: true,
      };
      ingress(chart, ns)
        .addRoute({
          pathPrefix: '/reviews',
          to: [
            { version: reviews.version('v9' as 'v1'), weight: 20 },
            { version: reviews.version('v1'), weight: 30 },
            { version: reviews.version('v1'), weight: 30 },
            { version: ghost, weight: 20 },
          ],
        })
        .addRoute({ to: [] });
      assert.deepEqual(synthErrors(chart), [
        `${path} routes[0].to[0] (reviews): version "v9" is not declared; declare it in the versions of reviews, or route to a declared version`,
        `${path} routes[0].to[3] (ghost): service ghost.shop.svc.cluster.local is not in this app; declare the Microservice in the same cdk8s App`,
        `${path} routes[0].to[2]: version "v1" of reviews appears twice; merge its weights into one entry`,
        `${path} routes[1].to: has no destinations; route to a service, or to at least one version`,
      ]);
      // No Service is created for a version that does not exist.
      assert.equal(reviews.node.tryFindChild('service-v9'), undefined);
    });

    it('a name too long for the Deployment Istio derives from it', () => {
      const { chart, ns, web } = shop();
      const name = 'a'.repeat(58);
      ingress(chart, ns, name).addRoute({ to: web });
      assert.deepEqual(synthErrors(chart), [
        `${path} name: "${name}" is longer than 57 characters, and Istio names the gateway's Deployment "${name}-istio"; shorten the name`,
      ]);
    });

    it('a name that is not a DNS label', () => {
      const { chart, ns, web } = shop();
      ingress(chart, ns, 'Store.Front').addRoute({ to: web });
      assert.deepEqual(synthErrors(chart), [
        `${path} name: "Store.Front" is not a valid RFC 1123 label; use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit`,
      ]);
    });

    it('two rules with the same match', () => {
      const { chart, ns, web, reviews } = shop();
      // Order does not matter to the Gateway API: "/" before "/reviews" is fine.
      ingress(chart, ns)
        .addRoute({ to: web })
        .addRoute({ pathPrefix: '/reviews', to: reviews })
        .addRoute({ pathPrefix: '/reviews', to: web });
      assert.deepEqual(synthErrors(chart), [
        `${path} routes[2].pathPrefix: duplicates routes[1], which always wins; remove one of the two routes`,
      ]);
    });

    it('a host with a trailing dot, a bare "*", an empty credential name and no route', () => {
      const { chart, ns } = shop();
      new GatewayApiIngress(chart, 'storefront', {
        namespace: ns,
        hosts: ['shop.example.com.', '*.example.com', '*'],
        tls: { credentialName: '' },
      });
      assert.deepEqual(synthErrors(chart), [
        `${path} hosts[0]: "shop.example.com." is not a DNS name or a "*.domain" wildcard; use lower-case letters, digits, "-" and ".", optionally starting with "*."`,
        `${path} hosts[2]: "*" is not a DNS name or a "*.domain" wildcard; use lower-case letters, digits, "-" and ".", optionally starting with "*."`,
        `${path} tls.credentialName: "" is not a valid RFC 1123 subdomain; use lower-case letters, digits, "-" and ".", each part starting and ending with a letter or digit`,
        `${path} routes: none are added, so the gateway answers every request with 404; call addRoute(...)`,
      ]);
    });

    it('paths and rewrites that do not start with "/"', () => {
      const { chart, ns, web } = shop();
      ingress(chart, ns)
        .addRoute({ exactPath: 'index.html', to: web })
        .addRoute({ pathPrefix: '/static', rewrite: 'assets', to: web });
      const fix = 'write request paths from the root, e.g. "/api"';
      assert.deepEqual(synthErrors(chart), [
        `${path} routes[0].exactPath: "index.html" does not start with "/"; ${fix}`,
        `${path} routes[1].rewrite: "assets" does not start with "/"; ${fix}`,
      ]);
    });

    it('services without an HTTP port, directly or by version', () => {
      const { chart, ns } = shop();
      const db = new Microservice(chart, 'db', {
        namespace: ns,
        image: 'db:1',
        ports: [ServicePort.tcp(5432)],
        versions: { v1: {} },
      });
      ingress(chart, ns)
        .addRoute({ pathPrefix: '/db', to: db })
        .addRoute({ to: [{ version: db.version('v1'), weight: 100 }] });
      const message =
        'service db.shop.svc.cluster.local has no HTTP port to route to; give it a ServicePort.http(...) port';
      assert.deepEqual(synthErrors(chart), [
        `${path} routes[0].to (db): ${message}`,
        `${path} routes[1].to[0] (db): ${message}`,
      ]);
    });

    it('two ingresses that route one host through the same Gateway', () => {
      const { chart, ns, web } = shop();
      new GatewayApiIngress(chart, 'left', {
        namespace: ns,
        name: 'public',
        hosts: ['shop.example.com'],
      }).addRoute({
        to: web,
      });
      new GatewayApiIngress(chart, 'right', {
        namespace: ns,
        name: 'public',
        hosts: ['shop.example.com'],
      }).addRoute({
        to: web,
      });
      const message = (other: string) =>
        `hosts[0]: host shop.example.com is also routed through Gateway shop/public by test/${other}, and the two HTTPRoutes compete for the same paths; route the host from one ingress only`;
      assert.deepEqual(synthErrors(chart), [
        `[test/left] ${message('right')}`,
        `[test/right] ${message('left')}`,
      ]);
    });
  });
});

// Cases the mutation run over constructs/ingress.ts found untested (README, "Mutation testing").
describe('ingress details the mutation run found untested', () => {
  it('labels every object it emits with the ingress name, for both kinds', () => {
    const { chart, web } = shop();
    const edge = new MeshNamespace(chart, 'edge');
    new IstioIngress(chart, 'front', { namespace: edge, hosts: ['shop.example.com'] }).addRoute({ to: web });
    new GatewayApiIngress(chart, 'public', { namespace: edge, hosts: ['api.example.com'] }).addRoute({
      to: web,
    });
    const labelled = synth(chart)
      .filter((o) => o.metadata.namespace === 'edge' && o.kind !== 'Namespace')
      .filter(
        (o) =>
          !['Sidecar', 'PeerAuthentication', 'AuthorizationPolicy'].includes(o.kind) ||
          o.metadata.labels?.ingress,
      )
      .map((o) => `${o.kind} ${o.metadata.name} ${String(o.metadata.labels?.ingress)}`)
      .sort();
    assert.deepEqual(labelled, [
      'AuthorizationPolicy public-allow-clients public',
      'Gateway front front',
      'Gateway public public',
      'HTTPRoute public public',
      'VirtualService front front',
    ]);
  });

  it('grants a Gateway API route only the Services of other namespaces', () => {
    const { chart, ns, web } = shop();
    new GatewayApiIngress(chart, 'public', { namespace: ns, hosts: ['shop.example.com'] }).addRoute({
      to: web,
    });
    assert.deepEqual(
      synth(chart).filter((o) => o.kind === 'ReferenceGrant'),
      [],
      'a route to its own namespace needs no ReferenceGrant',
    );
  });

  it('tells shadowed, duplicate and independent paths apart, per kind', () => {
    const istio = shop();
    new IstioIngress(istio.chart, 'front', { namespace: istio.ns, hosts: ['shop.example.com'] })
      .addRoute({ exactPath: '/x', to: istio.web })
      .addRoute({ pathPrefix: '/x', to: istio.web }) // an exact path shadows no prefix
      .addRoute({ exactPath: '/b', to: istio.web })
      .addRoute({ exactPath: '/c', to: istio.web }) // nor another exact path
      .addRoute({ pathPrefix: '/api', to: istio.web })
      .addRoute({ pathPrefix: '/apix', to: istio.web }) // a prefix shadows what starts with it
      .addRoute({ pathPrefix: '/api', to: istio.web });
    assert.deepEqual(synthErrors(istio.chart), [
      '[test/front] routes[5].pathPrefix: can never match: routes[4] (prefix "/api") comes first and matches every path it would; move it before routes[4], so the more specific route is tried first',
      '[test/front] routes[6].pathPrefix: duplicates routes[4], which always wins; remove one of the two routes',
    ]);
    const gw = shop();
    new GatewayApiIngress(gw.chart, 'public', { namespace: gw.ns, hosts: ['shop.example.com'] })
      .addRoute({ exactPath: '/a', to: gw.web })
      .addRoute({ pathPrefix: '/a', to: gw.web }) // the Gateway API orders by specificity
      .addRoute({ pathPrefix: '/api', to: gw.web })
      .addRoute({ pathPrefix: '/apix', to: gw.web })
      .addRoute({ pathPrefix: '/api', to: gw.web });
    assert.deepEqual(synthErrors(gw.chart), [
      '[test/public] routes[4].pathPrefix: duplicates routes[2], which always wins; remove one of the two routes',
    ]);
  });

  it('refuses exactly the IPv4 addresses among hosts', () => {
    const { chart, ns, web } = shop();
    new GatewayApiIngress(chart, 'public', {
      namespace: ns,
      hosts: ['10.20.30.40', 'a1.2.3.4', '1.2.3.4a', '1.2.3', 'x.10.20.30.40'],
    }).addRoute({ to: web });
    assert.deepEqual(synthErrors(chart), [
      '[test/public] hosts[0]: "10.20.30.40" is an IP address, not a host name; use the DNS name clients connect to',
    ]);
  });
});
