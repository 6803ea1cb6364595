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
const HEADER_FIX =
  'use letters, digits and "-" (e.g. "end-user"), a pseudo-header such as ":path", or a JWT claim as "@request.auth.claims.<claim>"';

describe('issue 13 classes: header names and values, wherever they reach Envoy', () => {
  it('refuses a match header name that is no token with its own message, not as an upper-case name', () => {
    const { chart, svc } = reviews();
    // A JavaScript caller's props, as loaded from JSON.
    const headers = JSON.parse('{"x\\r\\nid": {}, "end user": {}, "X-Id": {}}') as Record<string, unknown>;
    for (const k of Object.keys(headers)) headers[k] = StringMatch.exact('a');
    svc.addRoute({ match: [{ headers: headers as never }], to: svc.version('v1') });
    svc.addRoute({ to: svc.version('v2') });
    assert.deepEqual(synthErrors(chart), [
      `[test/reviews] routes[0].match[0].headers: "x\\r\\nid" is not an HTTP header name, and istiod refuses the VirtualService; ${HEADER_FIX}`,
      `[test/reviews] routes[0].match[0].headers: "end user" is not an HTTP header name, and istiod refuses the VirtualService; ${HEADER_FIX}`,
      '[test/reviews] routes[0].match[0].headers: "X-Id" is not a lower-case header name; write it as "x-id"',
    ]);
  });

  it('refuses query parameter names Envoy rejects (empty, over 1024 bytes) or no request carries (a control character)', () => {
    const { chart, svc } = reviews();
    const one = StringMatch.exact('1');
    svc.addRoute({ match: [{ queryParams: { '': one } }], to: svc.version('v1') });
    svc.addRoute({ match: [{ queryParams: { ['é'.repeat(513)]: one } }], to: svc.version('v1') });
    svc.addRoute({ match: [{ queryParams: { 'a\u0001b': one } }], to: svc.version('v1') });
    // A raw space or tab, which the ingress rewrite refuses too (RFC 9112: not in a request line).
    svc.addRoute({ match: [{ queryParams: { 'a b': one } }], to: svc.version('v1') });
    svc.addRoute({ match: [{ queryParams: { '\ta': one } }], to: svc.version('v1') });
    svc.addRoute({ to: svc.version('v2') });
    assert.deepEqual(synthErrors(chart), [
      '[test/reviews] routes[0].match[0].queryParams: has a parameter with an empty name, and Envoy rejects the route configuration; name the parameter, e.g. "version"',
      "[test/reviews] routes[1].match[0].queryParams: a parameter name is 1026 bytes long, above Envoy's limit of 1024, and Envoy rejects the route configuration; shorten the parameter name",
      '[test/reviews] routes[2].match[0].queryParams: "a\\u0001b" contains the control character \\x01, which no request carries, so it never matches; remove the control character',
      '[test/reviews] routes[3].match[0].queryParams: "a b" has a space or tab, which a request line carries only percent-encoded, so it never matches; write the name as requests carry it, e.g. "a%20b"',
      '[test/reviews] routes[4].match[0].queryParams: "\\ta" has a space or tab, which a request line carries only percent-encoded, so it never matches; write the name as requests carry it, e.g. "%09a"',
    ]);
  });

  it('accepts a query parameter name of exactly 1024 bytes, and a space or tab percent-encoded', () => {
    const { chart, svc } = reviews();
    const name = `${'é'.repeat(511)}ab`;
    svc.addRoute({ match: [{ queryParams: { [name]: StringMatch.exact('1') } }], to: svc.version('v1') });
    svc.addRoute({ match: [{ queryParams: { 'a%20b': StringMatch.exact('1') } }], to: svc.version('v1') });
    svc.addRoute({ match: [{ queryParams: { 'a%09b': StringMatch.exact('1') } }], to: svc.version('v1') });
    svc.addRoute({ to: svc.version('v2') });
    const vs = synth(chart).find((o) => o.kind === 'VirtualService')!;
    assert.deepEqual(
      vs.spec.http
        .slice(0, 3)
        .map((r: { match: { queryParams: object }[] }) => Object.keys(r.match[0].queryParams)),
      [[name], ['a%20b'], ['a%09b']],
    );
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
    const fix = 'use letters, digits and "-", or a pseudo-header such as ":path"';
    // CR, LF or NUL: Envoy's HTTP_HEADER_NAME (strict: false) rejects the route configuration.
    for (const [name, shown] of [
      ['x-user\r\nid', 'x-user\\r\\nid'],
      ['x\ny', 'x\\ny'],
      ['x\u0000y', 'x\\u0000y'],
    ])
      assert.deepEqual(synthErrors(build(name)), [
        `[test/reviews/global-rate-limit] actions[0].headerName: "${shown}" has a CR, LF or NUL, and Envoy rejects the route configuration; ${fix}`,
      ]);
    // Anything else that is no token (one colon only, then a token): Envoy takes it, no request has it.
    for (const [name, shown] of [
      ['x user', 'x user'],
      ['::path', '::path'],
      [':', ':'],
      ['x\ty', 'x\\ty'],
    ])
      assert.deepEqual(synthErrors(build(name)), [
        `[test/reviews/global-rate-limit] actions[0].headerName: "${shown}" is not an HTTP header name, so no request carries it and nothing is limited; ${fix}`,
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
    // The edges of the refused range (\x01-\x08, \x0b, \x0c, \x0e-\x1f): HTAB (\x09) is a field value's.
    for (const [c, shown] of [
      ['\u0008', '\\b'],
      ['\u000b', '\\u000b'],
      ['\u001f', '\\u001f'],
    ])
      assert.throws(
        () => explainRequest(chart, { from: 'web', to: 'reviews', headers: { 'x-id': `a${c}` } }),
        {
          message: `explainRequest: headers["x-id"]: "a${shown}" has a control character, which no request carries`,
        },
      );
    const tab = explainRequest(chart, { from: 'web', to: 'reviews', headers: { 'x-id': 'a\tb' } });
    assert.equal(tab.request.headers['x-id'], 'a\tb');
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
      // The edges of the refused range: NUL, a lone LF, the tab, and the space above them.
      for (const [raw, shown, code, encoded] of [
        ['/v1\u0000', '/v1\\u0000', '00', '/v1%00'],
        ['/v1\nx', '/v1\\nx', '0a', '/v1%0Ax'],
        ['/v1\tx', '/v1\\tx', '09', '/v1%09x'],
      ])
        assert.deepEqual(synthErrors(ingress(kind, raw)), [
          `[test/edge] routes[0].rewrite: "${shown}" has the character \\x${code}, which cannot go into the request line the gateway sends; percent-encode it, e.g. "${encoded}"`,
        ]);
      // Only the offending characters are encoded: existing escapes stay, a lone surrogate cannot throw.
      assert.deepEqual(synthErrors(ingress(kind, '/a b%2Fc')), [
        '[test/edge] routes[0].rewrite: "/a b%2Fc" has the character \\x20, which cannot go into the request line the gateway sends; percent-encode it, e.g. "/a%20b%2Fc"',
      ]);
      assert.deepEqual(synthErrors(ingress(kind, '/a b\uD800')), [
        '[test/edge] routes[0].rewrite: "/a b\\ud800" has the character \\x20, which cannot go into the request line the gateway sends; percent-encode it, e.g. "/a%20b\\ud800"',
      ]);
      // "!" (0x21) is the first character past the space: carried as written.
      assert.ok(JSON.stringify(synth(ingress(kind, '/v1/!'))).includes('"/v1/!"'));
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
    // An egress that took */* on every port already: istiod's default is the same.
    assert.deepEqual(risks(sidecar({ egress: [{ hosts: ['*/*'] }] }), sidecar({})), []);
    assert.deepEqual(risks(sidecar({ egress: [{ hosts: ['./*', '*/*'] }] }), sidecar({ egress: [] })), []);
    // Not when a port listener took less, or no listener took every port, or "~/*" took nothing.
    const pg = {
      port: { number: 5432, protocol: 'TCP', name: 'pg' },
      hosts: ['./db.shop.svc.cluster.local'],
    };
    assert.deepEqual(risks(sidecar({ egress: [{ hosts: ['*/*'] }, pg] }), sidecar({})), [
      'egress-widened: egress removed (was */*, ./db.shop.svc.cluster.local): istiod gives a Sidecar without egress the hosts */*, so its proxies now get every service of the mesh',
    ]);
    assert.deepEqual(risks(sidecar({ egress: [{ ...pg, hosts: ['*/*'] }] }), sidecar({})), [
      'egress-widened: egress removed (was */*): istiod gives a Sidecar without egress the hosts */*, so its proxies now get every service of the mesh',
    ]);
    assert.deepEqual(risks(sidecar({ egress: [{ hosts: ['~/*'] }] }), sidecar({})), [
      'egress-widened: egress removed (was ~/*): istiod gives a Sidecar without egress the hosts */*, so its proxies now get every service of the mesh',
    ]);
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
      'hosts-widened: port 443 (HTTPS) added with hosts *.example.com (port 443 served shop.example.com): it now takes requests for any host that *.example.com matches',
    ]);
    assert.deepEqual(risks(istio(shop), istio(shop, https('https-any', ['*']))), [
      'hosts-widened: port 443 (HTTPS) added with hosts * (port 443 served shop.example.com): it now takes requests for every host',
    ]);
    // Another host of its own is no widening.
    assert.deepEqual(risks(istio(shop), istio(shop, https('https-api', ['api.example.com']))), []);
    // Hosts are compared per port: port 80's "*" that only redirects says nothing of port 443.
    const redirectAll = {
      port: { number: 80, name: 'http', protocol: 'HTTP' },
      hosts: ['*'],
      tls: { httpsRedirect: true },
    };
    assert.deepEqual(risks(istio(redirectAll, shop), istio(redirectAll, shop, https('https-any', ['*']))), [
      'hosts-widened: port 443 (HTTPS) added with hosts * (port 443 served shop.example.com): it now takes requests for every host',
    ]);
    // A port new to the gateway: over the hosts served the same way (TLS here), not port 80's.
    const alt = {
      ...https('https-alt', ['*']),
      port: { number: 8443, name: 'https-alt', protocol: 'HTTPS' },
    };
    assert.deepEqual(risks(istio(redirectAll, shop), istio(redirectAll, shop, alt)), [
      "hosts-widened: port 8443 (HTTPS) added with hosts * (the gateway's TLS ports served shop.example.com): it now takes requests for every host",
    ]);
    const plainAlt = { port: { number: 8080, name: 'http-alt', protocol: 'HTTP' }, hosts: ['*'] };
    assert.deepEqual(risks(istio(redirectAll, shop), istio(redirectAll, shop, plainAlt)), []);
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
        'hosts-widened: listener any (port 443, HTTPS) added with hostname * (port 443 served shop.example.com): it now takes requests for every host',
      ],
    );
  });

  it('timeout-raised and retries-raised: a mesh VirtualService removed takes its timeouts and retries with it', () => {
    const vs = (route: Record<string, unknown>, gateways?: string[], name = 'ratings') =>
      obj(NET, 'VirtualService', name, {
        hosts: ['ratings'],
        ...(gateways && { gateways }),
        http: [{ name: 'all', ...route, route: [{ destination: { host: 'ratings' } }] }],
      });
    // The Service stays in the head: Istio's default route serves it.
    const service = obj('v1', 'Service', 'ratings', {
      selector: { app: 'ratings' },
      ports: [{ port: 9080 }],
    });
    const removed = (base: Manifest, head: Manifest[] = [service]) => risks(base, undefined, head).slice(1);
    assert.deepEqual(risks(vs({ timeout: '3s', retries: { attempts: 0 } }), undefined, [service]), [
      'route-moved: VirtualService for ratings removed: its routing (ratings) no longer applies',
      'timeout-raised: route "all": timeout 3s removed with the VirtualService: requests wait without limit',
      'retries-raised: route "all": retries.attempts 0 → 2 (Istio\'s default, the VirtualService removed)',
    ]);
    assert.deepEqual(removed(vs({ timeout: '3s' }, ['mesh'])), [
      'timeout-raised: route "all": timeout 3s removed with the VirtualService: requests wait without limit',
    ]);
    // Bound to a gateway and the mesh: the mesh's requests get the default route.
    assert.deepEqual(removed(vs({ timeout: '3s', retries: { attempts: 0 } }, ['mesh', 'shop/edge'])), [
      'timeout-raised: route "all": timeout 3s removed with the VirtualService: requests wait without limit',
      'retries-raised: route "all": retries.attempts 0 → 2 (Istio\'s default, the VirtualService removed)',
    ]);
    // Retries at Istio's default already, and no timeout or a disabled one: nothing more than the routing.
    assert.deepEqual(removed(vs({ retries: { attempts: 2 } })), []);
    assert.deepEqual(removed(vs({ timeout: '0s' })), []);
    assert.deepEqual(removed(vs({ retries: { attempts: 3, retryOn: 'gateway-error' } })), [
      'retries-raised: route "all": retries.retryOn gateway-error → connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes (Istio\'s default, the VirtualService removed): also retries on connect-failure, refused-stream, unavailable, cancelled',
    ]);
    // Bound to a gateway only, its hosts get 404 without it, not a request that waits.
    assert.deepEqual(removed(vs({ timeout: '3s', retries: { attempts: 0 } }, ['shop/edge'])), []);
  });

  it('timeout-raised and retries-raised: quiet when the VirtualService went with its service, or another one routes the host', () => {
    const vs = (name: string) =>
      obj(NET, 'VirtualService', name, {
        hosts: ['ratings'],
        http: [
          {
            name: 'all',
            timeout: '3s',
            retries: { attempts: 0 },
            route: [{ destination: { host: 'ratings' } }],
          },
        ],
      });
    const service = (name: string) =>
      obj('v1', 'Service', name, { selector: { app: name }, ports: [{ port: 9080 }] });
    const quiet = (head: Manifest[]) =>
      risks(vs('ratings'), undefined, head).filter((r) => /^(timeout|retries)-raised/.test(r));
    // The whole service deleted (an empty head, as the diff gives a removed app), or renamed.
    assert.deepEqual(quiet([]), []);
    assert.deepEqual(quiet([service('ratings-v2')]), []);
    // The same host routed by a VirtualService of another name.
    assert.deepEqual(quiet([service('ratings'), vs('ratings-routes')]), []);
    // A Service of the same name in another namespace is another host.
    assert.equal(quiet([obj('v1', 'Service', 'ratings', { ports: [{ port: 9080 }] }, 'data')]).length, 0);
    assert.equal(quiet([service('ratings')]).length, 2);
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
    const secure = (hostname: string) => ({
      name: `https-${hostname.split('.')[0]}`,
      port: 443,
      protocol: 'HTTPS',
      hostname,
      tls: { certificateRefs: [{ name: 'shop-tls' }] },
    });
    const gateway = (...listeners: unknown[]) =>
      obj(GW, 'Gateway', 'edge', { gatewayClassName: 'istio', listeners });
    const both = ['shop.example.com', 'api.example.com'];
    const head = gateway(
      listener('http-1', 'shop.example.com'),
      listener('http-2', 'api.example.com'),
      secure('shop.example.com'),
      secure('api.example.com'),
    );
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
    const shopOnly = gateway(listener('http', 'shop.example.com'), secure('shop.example.com'));
    const renamed = route(['shop.example.com'], ['http']);
    assert.deepEqual(risks(base, renamed, [shopOnly, renamed]), []);
  });

  it('tls-dropped: a redirect narrowed to the plain-text listeners it served is quiet, compared as listeners of the head', () => {
    const redirect = { type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } };
    const route = (parentRefs: unknown[], hostnames?: string[]) =>
      obj(GW, 'HTTPRoute', 'edge-redirect', {
        parentRefs,
        ...(hostnames && { hostnames }),
        rules: [{ filters: [redirect] }],
      });
    const gateway = obj(GW, 'Gateway', 'edge', {
      gatewayClassName: 'istio',
      listeners: [
        { name: 'http', port: 80, protocol: 'HTTP', hostname: 'shop.example.com' },
        { name: 'http-alt', port: 8080, protocol: 'HTTP', hostname: 'shop.example.com' },
        {
          name: 'https',
          port: 443,
          protocol: 'HTTPS',
          hostname: 'shop.example.com',
          tls: { certificateRefs: [{ name: 'shop-tls' }] },
        },
      ],
    });
    const shop = ['shop.example.com'];
    const whole = route([{ name: 'edge' }], shop);
    const change = (base: Manifest, head: Manifest) => risks(base, head, [gateway, head]);
    // From the whole Gateway to each of its plain-text listeners, by name or by port: the same listeners.
    const bySections = route(
      [
        { name: 'edge', sectionName: 'http' },
        { name: 'edge', sectionName: 'http-alt' },
      ],
      shop,
    );
    assert.deepEqual(change(whole, bySections), []);
    const byPorts = route(
      [
        { name: 'edge', port: 80 },
        { name: 'edge', port: 8080 },
      ],
      shop,
    );
    assert.deepEqual(change(whole, byPorts), []);
    // One port fewer: the listener on it serves plain text again.
    const port80 = route([{ name: 'edge', port: 80 }], shop);
    assert.deepEqual(change(byPorts, port80), [
      'tls-dropped: no longer redirects shop.example.com to HTTPS on gateway shop/edge listener http-alt: plain-text requests go to the other routes of the listener',
    ]);
    assert.deepEqual(change(whole, route([{ name: 'edge', sectionName: 'http' }], shop)), [
      'tls-dropped: no longer redirects shop.example.com to HTTPS on gateway shop/edge listener http-alt: plain-text requests go to the other routes of the listener',
    ]);
    // A listener whose hostname the route's hostnames miss never took the route: nothing is lost there.
    const two = obj(GW, 'Gateway', 'edge', {
      gatewayClassName: 'istio',
      listeners: [
        { name: 'http-shop', port: 80, protocol: 'HTTP', hostname: 'shop.example.com' },
        { name: 'http-api', port: 80, protocol: 'HTTP', hostname: 'api.example.com' },
      ],
    });
    const shopSection = route([{ name: 'edge', sectionName: 'http-shop' }], shop);
    assert.deepEqual(risks(whole, shopSection, [two, shopSection]), []);
    // No hostnames (every host of its listeners) to the only host its listeners take: the same hosts.
    assert.deepEqual(change(route([{ name: 'edge' }]), route([{ name: 'edge' }], shop)), []);
    // Hostnames narrowed below what a listener takes: flagged.
    const wide = obj(GW, 'Gateway', 'edge', {
      gatewayClassName: 'istio',
      listeners: [
        { name: 'http', port: 80, protocol: 'HTTP' },
        { name: 'https', port: 443, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'shop-tls' }] } },
      ],
    });
    const narrowed = route([{ name: 'edge' }], shop);
    assert.deepEqual(risks(route([{ name: 'edge' }]), narrowed, [wide, narrowed]), [
      'tls-dropped: no longer redirects every host to HTTPS (hostnames shop.example.com): plain-text requests go to the other routes of the listener',
    ]);
  });

  it('tls-dropped: a host dropped from a hand-written Gateway everywhere is reported once, on the Gateway', () => {
    const redirect = { type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } };
    const listener = (name: string, port: number, protocol: string, hostname?: string) => ({
      name,
      port,
      protocol,
      ...(hostname && { hostname }),
      ...(protocol === 'HTTPS' && { tls: { certificateRefs: [{ name: 'c' }] } }),
    });
    const gateway = (...listeners: unknown[]) =>
      obj(GW, 'Gateway', 'edge', { gatewayClassName: 'istio', listeners });
    const redirectRoute = (hostnames: string[]) =>
      obj(GW, 'HTTPRoute', 'edge-redirect', {
        parentRefs: [{ name: 'edge', sectionName: 'http' }],
        hostnames,
        rules: [{ filters: [redirect] }],
      });
    const both = ['shop.example.com', 'api.example.com'];
    const http = listener('http', 80, 'HTTP');
    const shop = listener('https-shop', 443, 'HTTPS', 'shop.example.com');
    const base = [
      gateway(http, shop, listener('https-api', 443, 'HTTPS', 'api.example.com')),
      redirectRoute(both),
    ];
    const head = [gateway(http, shop), redirectRoute(['shop.example.com'])];
    assert.deepEqual(
      findRisks(diffManifests(base, head), head).map((r) => `${r.rule}: ${r.object}: ${r.message}`),
      [
        'tls-dropped: Gateway shop/edge: api.example.com: listener https-api (port 443, HTTPS) removed, served over plain HTTP only (listener http (port 80, HTTP))',
      ],
    );
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
