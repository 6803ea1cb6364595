/**
 * Issue 13, class by class: each rule applied in every place its class reaches, not only the one
 * its first example named (the audit is /work/audit-13.md at the time of writing). Each place is
 * built as a TypeScript caller writes it and, where types would stop a mistake, as a JavaScript
 * caller (JSON props) would.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Testing } from 'cdk8s';
import {
  Duration,
  explainRequest,
  GatewayApiIngress,
  GlobalRateLimitService,
  IstioIngress,
  MeshNamespace,
  Microservice,
  Probe,
  RateLimitAction,
  RateLimitUnit,
  ServicePort,
  StringMatch,
} from '../constructs/index.js';
import { type Manifest } from '../tools/mesh/manifest.js';
import { diffManifests } from '../tools/mesh/object-diff.js';
import { findRisks } from '../tools/mesh/risks.js';
import { reviews } from './support/fixtures.js';
import { synth, synthErrors } from './support/synth.js';
import { NET, obj } from './tools/support.js';

const GW = 'gateway.networking.k8s.io/v1';

describe('issue 13 classes: header names and values, wherever they reach Envoy', () => {
  it('refuses a match header name that is no token with its own message, not as an upper-case name', () => {
    const { chart, svc } = reviews();
    // A JavaScript caller's props, as loaded from JSON.
    const headers = JSON.parse('{"x\\r\\nid": {}, "end user": {}, "X-Id": {}}') as Record<string, unknown>;
    for (const k of Object.keys(headers)) headers[k] = StringMatch.exact('a');
    svc.addRoute({ match: [{ headers: headers as never }], to: svc.version('v1') });
    svc.addRoute({ to: svc.version('v2') });
    assert.deepEqual(synthErrors(chart), [
      '[test/reviews] routes[0].match[0].headers: "x\\r\\nid" is not an HTTP header name, so it never matches; use letters, digits and "-", e.g. "end-user"',
      '[test/reviews] routes[0].match[0].headers: "end user" is not an HTTP header name, so it never matches; use letters, digits and "-", e.g. "end-user"',
      '[test/reviews] routes[0].match[0].headers: "X-Id" is not a lower-case header name; write it as "x-id"',
    ]);
  });

  it('refuses query parameter names Envoy rejects (empty, over 1024 bytes) or no request carries (a control character)', () => {
    const { chart, svc } = reviews();
    const one = StringMatch.exact('1');
    svc.addRoute({ match: [{ queryParams: { '': one } }], to: svc.version('v1') });
    svc.addRoute({ match: [{ queryParams: { ['é'.repeat(513)]: one } }], to: svc.version('v1') });
    svc.addRoute({ match: [{ queryParams: { 'a\u0001b': one } }], to: svc.version('v1') });
    svc.addRoute({ to: svc.version('v2') });
    assert.deepEqual(synthErrors(chart), [
      '[test/reviews] routes[0].match[0].queryParams: has a parameter with an empty name, and Envoy rejects the route configuration; name the parameter, e.g. "version"',
      "[test/reviews] routes[1].match[0].queryParams: a parameter name is 1026 bytes long, above Envoy's limit of 1024, and Envoy rejects the route configuration; shorten the parameter name",
      '[test/reviews] routes[2].match[0].queryParams: "a\\u0001b" contains the control character \\x01, which no request carries, so it never matches; remove the control character',
    ]);
  });

  it('accepts a query parameter name of exactly 1024 bytes, and a tab-free token', () => {
    const { chart, svc } = reviews();
    const name = `${'é'.repeat(511)}ab`;
    svc.addRoute({ match: [{ queryParams: { [name]: StringMatch.exact('1') } }], to: svc.version('v1') });
    svc.addRoute({ to: svc.version('v2') });
    const vs = synth(chart).find((o) => o.kind === 'VirtualService')!;
    assert.deepEqual(Object.keys(vs.spec.http[0].match[0].queryParams), [name]);
  });

  it('refuses a global rate limit header name Envoy rejects or no request carries; accepts upper case and pseudo-headers', () => {
    const build = (headerName: string) => {
      const { chart, svc } = reviews();
      const limits = new GlobalRateLimitService(chart, 'ratelimit', {
        namespace: new MeshNamespace(chart, 'limits'),
        domain: 'shop',
        descriptors: [{ key: 'USER', limit: { requestsPerUnit: 10, unit: RateLimitUnit.MINUTE } }],
      });
      limits.apply(svc, { actions: [RateLimitAction.requestHeader(headerName, 'USER')] });
      return chart;
    };
    assert.deepEqual(synthErrors(build('x-user\r\nid')), [
      '[test/reviews/global-rate-limit] actions[0].headerName: "x-user\\r\\nid" is not an HTTP header name, so no request carries it and nothing is limited; use letters, digits and "-", or a pseudo-header such as ":path"',
    ]);
    assert.deepEqual(synthErrors(build('x user')), [
      '[test/reviews/global-rate-limit] actions[0].headerName: "x user" is not an HTTP header name, so no request carries it and nothing is limited; use letters, digits and "-", or a pseudo-header such as ":path"',
    ]);
    for (const ok of ['X-User-Id', ':path', ':authority']) {
      const filter = synth(build(ok)).find((o) => o.metadata.name === 'reviews-global-ratelimit-actions')!;
      const actions = filter.spec.configPatches[0].patch.value.rate_limits[0].actions;
      assert.deepEqual(actions, [{ request_headers: { header_name: ok, descriptor_key: 'USER' } }]);
    }
  });

  it('refuses a control character in an explained header value, as a route match does; accepts a tab', () => {
    const { chart, ns, svc } = reviews();
    new Microservice(chart, 'web', {
      namespace: ns,
      image: 'web:1',
      versions: { v1: {} },
      ports: [ServicePort.http(8080)],
    }).calls(svc);
    assert.throws(
      () => explainRequest(chart, { from: 'web', to: 'reviews', headers: { 'x-id': 'a\u0001b' } }),
      {
        message:
          'explainRequest: headers["x-id"]: "a\\u0001b" has a control character, which no request carries',
      },
    );
    assert.throws(
      () => explainRequest(chart, { from: 'web', to: 'reviews', headers: { 'x-id': 'a\u007f' } }),
      {
        message:
          'explainRequest: headers["x-id"]: "a\\u007f" has a control character, which no request carries',
      },
    );
    explainRequest(chart, { from: 'web', to: 'reviews', headers: { 'x-id': 'a\tb' } });
  });
});

describe('issue 13 classes: an empty prefix or path, in every place a path is matched', () => {
  it('refuses it in a route uri, a local rate limit path, authorization and JWT paths and both ingress kinds', () => {
    const one = { maxTokens: 1, fillInterval: Duration.seconds(1) };
    const { chart, ns, svc } = reviews({
      localRateLimit: { bucket: one, paths: [{ prefix: '', bucket: one }] },
    });
    svc.addRoute({ match: [{ uri: StringMatch.prefix('') }], to: svc.version('v1') });
    svc.addRoute({ to: svc.version('v2') });
    svc.allowFrom({ principal: 'cluster.local/ns/a/sa/b', paths: [''] });
    svc.requireJwt({
      issuer: 'https://issuer.example.com',
      jwksUri: 'https://issuer.example.com/jwks',
      paths: [''],
    });
    const web = new Microservice(chart, 'web', {
      namespace: ns,
      image: 'web:1',
      versions: { v1: {} },
      ports: [ServicePort.http(8080)],
    });
    new IstioIngress(chart, 'edge', { namespace: ns, hosts: ['shop.example.com'] }).addRoute({
      to: web,
      pathPrefix: '',
    });
    new GatewayApiIngress(chart, 'api', { namespace: ns, hosts: ['api.example.com'] }).addRoute({
      to: web,
      exactPath: '',
    });
    const authz =
      '"" is not a path Istio\'s authorization can match; use an exact path "/a/b", a prefix "/a/*", a suffix "*.js", or whole-segment templates "/a/{*}/b", "/a/{**}"';
    const root = 'does not start with "/"; write request paths from the root, e.g. "/api"';
    assert.deepEqual(synthErrors(chart), [
      `[test/reviews] routes[0].match[0].uri: prefix "" ${root}`,
      `[test/reviews] callers[0] (a/b).paths: ${authz}`,
      `[test/reviews] jwt[0].paths: ${authz}`,
      '[test/reviews/local-rate-limit] paths[0].prefix: "" does not start with "/"; write the path prefix from the root, e.g. "/api"',
      `[test/edge] routes[0].pathPrefix: "" ${root}`,
      `[test/api] routes[0].exactPath: "" ${root}`,
    ]);
  });
});

describe('issue 13 classes: every counter within its protobuf integer type', () => {
  const INT32 = 2147483647;
  const UINT32 = 4294967295;
  const counters = (n: number, errors: number) =>
    reviews({
      trafficPolicy: {
        connectionPool: {
          maxConnections: n,
          http1MaxPendingRequests: n,
          http2MaxRequests: n,
          maxRequestsPerConnection: n,
          maxRetries: n,
        },
        outlierDetection: { consecutive5xxErrors: errors, consecutiveGatewayErrors: errors },
      },
      probes: { readiness: Probe.tcp(9080, { failureThreshold: n }) },
    }).chart;

  it('refuses connection pool counters and probe thresholds above int32, outlier error counts above uint32', () => {
    const pool = (key: string) =>
      `[test/reviews] trafficPolicy.connectionPool.${key}: 2147483648 is above Istio's connection pool's maximum of 2147483647 (int32); use 2147483647 or less`;
    const outlier = (key: string) =>
      `[test/reviews] trafficPolicy.outlierDetection.${key}: 4294967296 is above Istio's outlier detection's maximum of 4294967295 (uint32); use 4294967295 or less`;
    assert.deepEqual(synthErrors(counters(INT32 + 1, UINT32 + 1)), [
      "[test/reviews] probes.readiness.failureThreshold: 2147483648 is above the Probe API's maximum of 2147483647 (int32); use 2147483647 or less",
      pool('maxConnections'),
      pool('http1MaxPendingRequests'),
      pool('http2MaxRequests'),
      pool('maxRequestsPerConnection'),
      pool('maxRetries'),
      outlier('consecutive5xxErrors'),
      outlier('consecutiveGatewayErrors'),
    ]);
  });

  it('accepts the largest of each, which the CRD and API schemas take too', () => {
    // synth() runs the admission pass over the objects as well.
    const objects = synth(counters(INT32, UINT32));
    const rule = objects.find((o) => o.kind === 'DestinationRule')!.spec.trafficPolicy;
    assert.deepEqual(rule.connectionPool, {
      tcp: { maxConnections: INT32 },
      http: {
        http1MaxPendingRequests: INT32,
        http2MaxRequests: INT32,
        maxRequestsPerConnection: INT32,
        maxRetries: INT32,
      },
    });
    assert.equal(rule.outlierDetection.consecutive5xxErrors, UINT32);
    assert.equal(rule.outlierDetection.consecutiveGatewayErrors, UINT32);
  });
});

describe('issue 13 classes: what Envoy refuses in an ingress rewrite, for both ingress kinds', () => {
  const ingress = (kind: 'istio' | 'gateway-api', rewrite: string) => {
    const chart = Testing.chart();
    const ns = new MeshNamespace(chart, 'shop');
    const web = new Microservice(chart, 'web', {
      namespace: ns,
      image: 'web:1',
      versions: { v1: {} },
      ports: [ServicePort.http(8080)],
    });
    const props = { namespace: ns, hosts: ['shop.example.com'] };
    const edge =
      kind === 'istio' ? new IstioIngress(chart, 'edge', props) : new GatewayApiIngress(chart, 'edge', props);
    edge.addRoute({ to: web, pathPrefix: '/api', rewrite, timeout: Duration.seconds(5) });
    return chart;
  };

  for (const kind of ['istio', 'gateway-api'] as const) {
    it(`${kind}: refuses CR, LF, another control character or a space in rewrite; accepts it percent-encoded`, () => {
      assert.deepEqual(synthErrors(ingress(kind, '/v1\r\nx-admin: 1')), [
        '[test/edge] routes[0].rewrite: "/v1\\r\\nx-admin: 1" has the character \\x0d, which cannot go into the request line the gateway sends; percent-encode it, e.g. "/v1%0D%0Ax-admin:%201"',
      ]);
      assert.deepEqual(synthErrors(ingress(kind, '/v1/a b')), [
        '[test/edge] routes[0].rewrite: "/v1/a b" has the character \\x20, which cannot go into the request line the gateway sends; percent-encode it, e.g. "/v1/a%20b"',
      ]);
      assert.deepEqual(synthErrors(ingress(kind, '/v1\u007f')), [
        '[test/edge] routes[0].rewrite: "/v1\\u007f" has the character \\x7f, which cannot go into the request line the gateway sends; percent-encode it, e.g. "/v1%7F"',
      ]);
      const objects = synth(ingress(kind, '/v1/a%20b'));
      const rewritten = JSON.stringify(objects);
      assert.ok(rewritten.includes('"/v1/a%20b"'), rewritten);
    });
  }
});

/** The risks of the change, with `context` as every object of the head. */
function risks(base: Manifest | undefined, head: Manifest | undefined, context: Manifest[] = []): string[] {
  return findRisks(diffManifests(base ? [base] : [], head ? [head] : []), context).map(
    (r) => `${r.rule}: ${r.message}`,
  );
}

describe('issue 13 class 5: risky changes, every way they can be written', () => {
  it('egress-widened: a Sidecar whose egress is removed or emptied gets */* from istiod', () => {
    const sidecar = (spec: Record<string, unknown>) =>
      obj(NET, 'Sidecar', 'reviews', { workloadSelector: { labels: { app: 'reviews' } }, ...spec });
    const base = sidecar({ egress: [{ hosts: ['./ratings.shop.svc.cluster.local', 'istio-system/*'] }] });
    const expected = [
      'egress-widened: egress removed (was ./ratings.shop.svc.cluster.local, istio-system/*): istiod gives a Sidecar without egress the hosts */*, so its proxies now get every service of the mesh',
    ];
    assert.deepEqual(risks(base, sidecar({})), expected);
    assert.deepEqual(risks(base, sidecar({ egress: [] })), expected);
    // Egress given where there was none: narrower than the */* istiod gave.
    assert.deepEqual(risks(sidecar({}), base), []);
  });

  it('egress-widened: a listener added, or a port listener turned into the catch-all, with wildcards it had not', () => {
    const sidecar = (egress: unknown[]) =>
      obj(NET, 'Sidecar', 'reviews', { workloadSelector: { labels: { app: 'reviews' } }, egress });
    const ratings = { hosts: ['./ratings.shop.svc.cluster.local'] };
    const port80 = { number: 80, protocol: 'HTTP', name: 'http' };
    assert.deepEqual(risks(sidecar([ratings]), sidecar([ratings, { port: port80, hosts: ['*/*'] }])), [
      'egress-widened: egress[port 80] added with hosts */* (the Sidecar had ./ratings.shop.svc.cluster.local): its proxies now get every service that matches',
    ]);
    assert.deepEqual(risks(sidecar([{ ...ratings, port: port80 }]), sidecar([{ hosts: ['shop/*'] }])), [
      'egress-widened: egress added with hosts shop/* (the Sidecar had ./ratings.shop.svc.cluster.local): its proxies now get every service that matches',
    ]);
    // A narrower listener beside the catch-all, or a named host: no wildcard beyond what it had.
    const all = { hosts: ['*/*'] };
    assert.deepEqual(
      risks(sidecar([all]), sidecar([all, { port: port80, hosts: ['./a.shop.svc.cluster.local'] }])),
      [],
    );
    assert.deepEqual(
      risks(sidecar([ratings]), sidecar([ratings, { port: port80, hosts: ['./a.shop.svc.cluster.local'] }])),
      [],
    );
  });

  it('hosts-widened: a gateway server or listener added or renamed with a wildcard over the hosts it served', () => {
    const https = (name: string, hosts: string[]) => ({
      port: { number: 443, name, protocol: 'HTTPS' },
      hosts,
      tls: { mode: 'SIMPLE', credentialName: 'shop-tls' },
    });
    const istio = (...servers: unknown[]) =>
      obj(NET, 'Gateway', 'edge', { selector: { istio: 'ingressgateway' }, servers });
    const shop = https('https', ['shop.example.com']);
    assert.deepEqual(risks(istio(shop), istio(https('https-2', ['*.example.com']))), [
      'hosts-widened: port 443 (HTTPS) added with hosts *.example.com (the gateway served shop.example.com): it now takes requests for any host that *.example.com matches',
    ]);
    assert.deepEqual(risks(istio(shop), istio(shop, https('https-any', ['*']))), [
      'hosts-widened: port 443 (HTTPS) added with hosts * (the gateway served shop.example.com): it now takes requests for every host',
    ]);
    // Another host of its own is no widening.
    assert.deepEqual(risks(istio(shop), istio(shop, https('https-api', ['api.example.com']))), []);
    const listener = (name: string, hostname?: string) => ({
      name,
      port: 443,
      protocol: 'HTTPS',
      ...(hostname && { hostname }),
    });
    const kube = (...listeners: unknown[]) =>
      obj(GW, 'Gateway', 'edge', { gatewayClassName: 'istio', listeners });
    assert.deepEqual(
      risks(
        kube(listener('https', 'shop.example.com')),
        kube(listener('https', 'shop.example.com'), listener('any')),
      ),
      [
        'hosts-widened: listener any (port 443, HTTPS) added with hostname * (the gateway served shop.example.com): it now takes requests for every host',
      ],
    );
  });

  it('timeout-raised and retries-raised: a mesh VirtualService removed takes its timeouts and retries with it', () => {
    const vs = (route: Record<string, unknown>, gateways?: string[]) =>
      obj(NET, 'VirtualService', 'ratings', {
        hosts: ['ratings'],
        ...(gateways && { gateways }),
        http: [{ name: 'all', ...route, route: [{ destination: { host: 'ratings' } }] }],
      });
    assert.deepEqual(risks(vs({ timeout: '3s', retries: { attempts: 0 } }), undefined), [
      'route-moved: VirtualService for ratings removed: its routing (ratings) no longer applies',
      'timeout-raised: route "all": timeout 3s removed with the VirtualService: requests wait without limit',
      'retries-raised: route "all": retries.attempts 0 → 2 (Istio\'s default, the VirtualService removed)',
    ]);
    assert.deepEqual(risks(vs({ timeout: '3s' }, ['mesh']), undefined).slice(1), [
      'timeout-raised: route "all": timeout 3s removed with the VirtualService: requests wait without limit',
    ]);
    // Retries at Istio's default already, and no timeout: nothing more than the routing removed.
    assert.deepEqual(risks(vs({ retries: { attempts: 2 } }), undefined).slice(1), []);
    assert.deepEqual(risks(vs({ retries: { attempts: 3, retryOn: 'gateway-error' } }), undefined).slice(1), [
      'retries-raised: route "all": retries.retryOn gateway-error → connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes (Istio\'s default, the VirtualService removed): also retries on connect-failure, refused-stream, unavailable, cancelled',
    ]);
    // Bound to a gateway, its hosts get 404 without it, not a request that waits.
    assert.deepEqual(
      risks(vs({ timeout: '3s', retries: { attempts: 0 } }, ['shop/edge']), undefined).filter(
        (r) => !r.startsWith('route-moved'),
      ),
      [],
    );
  });

  it('tls-dropped: an HTTPS server or listener turned plain HTTP in place, or serving other hosts, for both kinds', () => {
    const istio = (...servers: unknown[]) =>
      obj(NET, 'Gateway', 'edge', { selector: { istio: 'ingressgateway' }, servers });
    const http = { port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['shop.example.com'] };
    const https = (protocol: string, hosts = ['shop.example.com']) => ({
      port: { number: 443, name: 'https', protocol },
      hosts,
      ...(protocol === 'HTTPS' && { tls: { mode: 'SIMPLE', credentialName: 'shop-tls' } }),
    });
    assert.deepEqual(risks(istio(http, https('HTTPS')), istio(http, https('HTTP'))), [
      'tls-dropped: shop.example.com: port 443 (HTTPS) removed, served over plain HTTP only (port 80 (HTTP), port 443 (HTTP))',
    ]);
    assert.deepEqual(risks(istio(http, https('HTTPS')), istio(http, https('HTTPS', ['api.example.com']))), [
      'tls-dropped: shop.example.com: port 443 (HTTPS) removed, served over plain HTTP only (port 80 (HTTP))',
    ]);
    const listener = (name: string, port: number, protocol: string, hostname: string) => ({
      name,
      port,
      protocol,
      hostname,
    });
    const kube = (...listeners: unknown[]) =>
      obj(GW, 'Gateway', 'edge', { gatewayClassName: 'istio', listeners });
    const plain = listener('http', 80, 'HTTP', 'shop.example.com');
    assert.deepEqual(
      risks(
        kube(plain, listener('https', 443, 'HTTPS', 'shop.example.com')),
        kube(plain, listener('https', 443, 'HTTP', 'shop.example.com')),
      ),
      [
        'tls-dropped: shop.example.com: listener https (port 443, HTTPS) removed, served over plain HTTP only (listener http (port 80, HTTP), listener https (port 443, HTTP))',
      ],
    );
    assert.deepEqual(
      risks(
        kube(plain, listener('https', 443, 'HTTPS', 'shop.example.com')),
        kube(plain, listener('https', 443, 'HTTPS', 'api.example.com')),
      ),
      [
        'tls-dropped: shop.example.com: listener https (port 443, HTTPS) removed, served over plain HTTP only (listener http (port 80, HTTP))',
      ],
    );
    // The whole Gateway removed serves nothing, in plain text or not.
    assert.deepEqual(risks(istio(http, https('HTTPS')), undefined), []);
  });

  it('tls-dropped: a Gateway API redirect that keeps its filter but covers fewer hosts or listeners', () => {
    const redirect = { type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } };
    const route = (hostnames: string[], sections: string[]) =>
      obj(GW, 'HTTPRoute', 'edge-https-redirect', {
        parentRefs: sections.map((sectionName) => ({ name: 'edge', sectionName })),
        hostnames,
        rules: [{ filters: [redirect] }],
      });
    const listener = (name: string, hostname: string) => ({ name, port: 80, protocol: 'HTTP', hostname });
    const gateway = (...listeners: unknown[]) =>
      obj(GW, 'Gateway', 'edge', { gatewayClassName: 'istio', listeners });
    const both = ['shop.example.com', 'api.example.com'];
    const head = gateway(listener('http-1', 'shop.example.com'), listener('http-2', 'api.example.com'));
    const base = route(both, ['http-1', 'http-2']);
    const narrowed = route(['shop.example.com'], ['http-1', 'http-2']);
    assert.deepEqual(risks(base, narrowed, [head, narrowed]), [
      'tls-dropped: no longer redirects api.example.com to HTTPS (hostnames shop.example.com): plain-text requests go to the other routes of the listener',
    ]);
    const detached = route(both, ['http-1']);
    assert.deepEqual(risks(base, detached, [head, detached]), [
      'tls-dropped: no longer redirects shop.example.com, api.example.com to HTTPS on gateway shop/edge listener http-2: plain-text requests go to the other routes of the listener',
    ]);
    // A host removed from the ingress altogether: its listener went too, nothing is left to redirect.
    const shopOnly = gateway(listener('http', 'shop.example.com'));
    const renamed = route(['shop.example.com'], ['http']);
    assert.deepEqual(risks(base, renamed, [shopOnly, renamed]), []);
  });

  it('tls-dropped, hosts-widened: quiet when GatewayApiIngress gains a host (listeners renumbered)', () => {
    const build = (hosts: string[]) => {
      const chart = Testing.chart();
      const ns = new MeshNamespace(chart, 'shop');
      const web = new Microservice(chart, 'web', {
        namespace: ns,
        image: 'web:1',
        versions: { v1: {} },
        ports: [ServicePort.http(8080)],
      });
      new GatewayApiIngress(chart, 'edge', {
        namespace: ns,
        hosts,
        tls: { credentialName: 'shop-tls' },
      }).addRoute({
        to: web,
      });
      return synth(chart) as Manifest[];
    };
    const base = build(['shop.example.com']);
    const head = build(['shop.example.com', 'api.example.com']);
    const found = findRisks(diffManifests(base, head), head).filter((r) =>
      ['tls-dropped', 'hosts-widened', 'egress-widened', 'timeout-raised'].includes(r.rule),
    );
    assert.deepEqual(found, []);
  });
});
