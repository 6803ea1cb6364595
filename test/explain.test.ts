/**
 * The evaluator's semantics on hand-written objects, each expectation taken from Istio's reference
 * pages (cited per block), not from the evaluator.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explainRequest, formatExplanation, type MeshObject } from '../constructs/index.js';
import { routeVirtualService } from '../constructs/explain/routing.js';

const NS = 'demo';

function ns(labels: Record<string, string> = { 'istio-injection': 'enabled' }): MeshObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels } };
}

function service(name: string, port = 8080): MeshObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS },
    spec: { selector: { app: name }, ports: [{ name: 'http', port, targetPort: port, appProtocol: 'http' }] },
  };
}

function deployment(app: string, version: string, serviceAccount = app): MeshObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `${app}-${version}`, namespace: NS },
    spec: {
      selector: { matchLabels: { app, version } },
      template: {
        metadata: { labels: { app, version } },
        spec: { serviceAccountName: serviceAccount, containers: [] },
      },
    },
  };
}

function istio(
  kind: string,
  name: string,
  spec: Record<string, unknown>,
  namespace = NS,
  extra = {},
): MeshObject {
  const group = ['AuthorizationPolicy', 'PeerAuthentication', 'RequestAuthentication'].includes(kind)
    ? 'security.istio.io/v1'
    : 'networking.istio.io/v1';
  return { apiVersion: group, kind, metadata: { name, namespace, ...extra }, spec };
}

/** A client and an api with v1 and v2, a DestinationRule with both subsets. */
function base(): MeshObject[] {
  return [
    ns(),
    service('client'),
    deployment('client', 'v1'),
    deployment('client', 'v2'),
    service('api'),
    deployment('api', 'v1'),
    deployment('api', 'v2'),
    istio('DestinationRule', 'api', {
      host: 'api.demo.svc.cluster.local',
      subsets: [
        { name: 'v1', labels: { version: 'v1' } },
        { name: 'v2', labels: { version: 'v2' } },
      ],
    }),
  ];
}

const to = (subset: string, weight?: number) => ({
  destination: { host: 'api', subset },
  ...(weight !== undefined && { weight }),
});

function routed(http: unknown[]): MeshObject[] {
  return [...base(), istio('VirtualService', 'api', { hosts: ['api'], http })];
}

const version = (objects: MeshObject[], req: Parameters<typeof explainRequest>[1]) =>
  explainRequest(objects, req)
    .destinations.map((d) => `${d.version}:${d.weight}`)
    .join(',');

describe('routing (https://istio.io/latest/docs/reference/config/networking/virtual-service/)', () => {
  it('ANDs the conditions of one match block and ORs the blocks; the first matching route wins', () => {
    const objects = routed([
      {
        name: 'both',
        match: [
          { headers: { 'x-a': { exact: '1' } }, uri: { prefix: '/v2' } },
          { method: { exact: 'DELETE' } },
        ],
        route: [to('v2')],
      },
      { name: 'also-v2-but-later', match: [{ uri: { prefix: '/v2' } }], route: [to('v2')] },
      { name: 'rest', route: [to('v1')] },
    ]);
    const r = (req: object) => explainRequest(objects, { from: 'client', to: 'api', ...req }).route;
    assert.equal(r({ path: '/v2/x', headers: { 'x-a': '1' } }), 'both');
    assert.equal(r({ path: '/v2/x' }), 'also-v2-but-later', 'one condition of the block fails');
    assert.equal(r({ path: '/other', method: 'DELETE' }), 'both', 'the second block alone');
    assert.equal(r({ path: '/other' }), 'rest');
  });

  it('matches uri exact, prefix and regex (RE2, whole path, without the query string)', () => {
    const objects = routed([
      { name: 'exact', match: [{ uri: { exact: '/a' } }], route: [to('v2')] },
      { name: 'regex', match: [{ uri: { regex: '/r/[0-9]+' } }], route: [to('v2')] },
      { name: 'rest', route: [to('v1')] },
    ]);
    const r = (path: string) => explainRequest(objects, { from: 'client', to: 'api', path }).route;
    assert.equal(r('/a'), 'exact');
    assert.equal(r('/a?x=1'), 'exact');
    assert.equal(r('/a/b'), 'rest');
    assert.equal(r('/r/42'), 'regex');
    assert.equal(r('/r/42/x'), 'rest', 'a regex matches the whole path');
    assert.equal(r('/x/r/42'), 'rest');
  });

  it('checks header presence with an empty match, withoutHeaders, query parameters and ignoreUriCase', () => {
    const objects = routed([
      {
        name: 'ignored',
        match: [{ headers: { method: { exact: 'NEVER' } }, uri: { exact: '/ignored' } }],
        route: [to('v2')],
      },
      { name: 'present', match: [{ headers: { 'x-debug': {} } }], route: [to('v2')] },
      {
        name: 'not-beta',
        match: [{ withoutHeaders: { 'x-beta': { exact: 'yes' } }, uri: { prefix: '/w' } }],
        route: [to('v2')],
      },
      { name: 'query', match: [{ queryParams: { v: { exact: '2' } } }], route: [to('v2')] },
      { name: 'nocase', match: [{ uri: { exact: '/upper' }, ignoreUriCase: true }], route: [to('v2')] },
      { name: 'rest', route: [to('v1')] },
    ]);
    const r = (req: object) => explainRequest(objects, { from: 'client', to: 'api', ...req }).route;
    // istiod matches a "method" key as a header of that name (TranslateRouteMatch), whatever the
    // API docs say about ignoring it.
    assert.equal(r({ path: '/ignored' }), 'rest', 'a "method" key is a header the request lacks');
    assert.equal(r({ path: '/ignored', headers: { method: 'NEVER' } }), 'ignored');
    assert.equal(r({ headers: { 'x-debug': '' } }), 'present');
    assert.equal(r({ path: '/w' }), 'not-beta');
    assert.equal(r({ path: '/w', headers: { 'x-beta': 'no' } }), 'not-beta');
    assert.equal(r({ path: '/w', headers: { 'x-beta': 'yes' } }), 'rest');
    assert.equal(r({ path: '/q?v=2' }), 'query');
    assert.equal(r({ path: '/q?v=20' }), 'rest');
    assert.equal(r({ path: '/UPPER' }), 'nocase');
  });

  it('reads the pseudo-headers istiod admits as the method, path, authority and scheme, and a JWT claim match only at a gateway', () => {
    const objects = routed([
      { name: 'posts', match: [{ headers: { ':method': { exact: 'POST' } } }], route: [to('v2')] },
      { name: 'admin', match: [{ headers: { ':path': { prefix: '/admin?' } } }], route: [to('v2')] },
      { name: 'by-host', match: [{ headers: { ':authority': { exact: 'api-alias' } } }], route: [to('v2')] },
      {
        name: 'claims',
        match: [{ headers: { '@request.auth.claims.groups': { exact: 'beta' } } }],
        route: [to('v2')],
      },
      { name: 'no-scheme', match: [{ withoutHeaders: { ':scheme': { exact: 'http' } } }], route: [to('v2')] },
      { name: 'rest', route: [to('v1')] },
    ]);
    const r = (req: object) => explainRequest(objects, { from: 'client', to: 'api', ...req }).route;
    assert.equal(r({ method: 'POST' }), 'posts');
    assert.equal(r({ path: '/admin?x=1' }), 'admin', ':path carries the query string');
    assert.equal(r({ path: '/admin' }), 'rest');
    assert.equal(r({ headers: { host: 'api-alias' } }), 'by-host');
    // "JWT claim based routing is only supported on ingress gateways": a sidecar never matches it.
    assert.equal(r({ jwtClaims: { iss: 'https://issuer.example', groups: ['alpha', 'beta'] } }), 'rest');
    assert.equal(r({}), 'rest', 'a request has a scheme, so withoutHeaders :scheme http never holds');
    // At an ingress gateway the claim is read from the token, each element of a list claim in turn.
    const vs = istio('VirtualService', 'api-edge', {
      hosts: ['api.example.com'],
      gateways: ['edge'],
      http: [
        {
          name: 'beta',
          match: [{ headers: { '@request.auth.claims.groups': { exact: 'beta' } } }],
          route: [to('v2')],
        },
        {
          name: 'nested',
          match: [{ headers: { '@request.auth.claims[org][team.id]': { exact: '7' } } }],
          route: [to('v2')],
        },
        { name: 'secure', match: [{ headers: { ':scheme': { exact: 'https' } } }], route: [to('v2')] },
        { name: 'rest', route: [to('v1')] },
      ],
    });
    const atGateway = (claims?: object, scheme?: 'http' | 'https') =>
      routeVirtualService(vs, {
        method: 'GET',
        path: '/',
        headers: {},
        authority: 'api.example.com',
        port: 80,
        gateway: `${NS}/edge`,
        scheme,
        claims: claims as Record<string, unknown> | undefined,
      }).route;
    assert.equal(atGateway({ groups: ['alpha', 'beta'] }), 'beta');
    assert.equal(atGateway({ groups: 'beta' }), 'beta');
    assert.equal(atGateway({ org: { 'team.id': '7' } }), 'nested');
    // Envoy's string_match holds only for a string value: a number claim never matches.
    assert.equal(atGateway({ org: { 'team.id': 7 } }), 'rest');
    assert.equal(atGateway({ groups: ['alpha'] }), 'rest');
    assert.equal(atGateway(), 'rest', 'no token, no claim');
    assert.equal(atGateway(undefined, 'https'), 'secure', 'a server that ends TLS sees :scheme https');
  });

  it('matches sourceLabels against the calling pods: a version of the caller can be routed apart', () => {
    const objects = routed([
      { name: 'from-v2', match: [{ sourceLabels: { app: 'client', version: 'v2' } }], route: [to('v2')] },
      { name: 'rest', route: [to('v1')] },
    ]);
    assert.equal(explainRequest(objects, { from: 'client:v2', to: 'api' }).route, 'from-v2');
    assert.equal(explainRequest(objects, { from: 'client:v1', to: 'api' }).route, 'rest');
  });

  it('resolves subsets to Deployments and keeps the weights', () => {
    const objects = routed([{ route: [to('v1', 75), to('v2', 25)] }]);
    assert.equal(version(objects, { from: 'client', to: 'api' }), 'v1:75,v2:25');
    const e = explainRequest(objects, { from: 'client', to: 'api' });
    assert.deepEqual(
      e.destinations.map((d) => d.deployments),
      [['api-v1'], ['api-v2']],
    );
  });

  it('answers 404 when a VirtualService has no route for the request', () => {
    const e = explainRequest(routed([{ match: [{ uri: { prefix: '/only' } }], route: [to('v1')] }]), {
      from: 'client',
      to: 'api',
      path: '/else',
    });
    assert.equal(e.allowed, false);
    assert.equal(e.deniedAt, 'routing');
    assert.match(e.reason, /404/);
  });

  it('says it does not follow a delegate VirtualService', () => {
    const e = explainRequest(routed([{ delegate: { name: 'api-routes', namespace: 'team' } }]), {
      from: 'client',
      to: 'api',
    });
    assert.equal(e.allowed, null);
    assert.equal(e.reason, 'the route delegates to VirtualService team/api-routes, which is not followed');
  });

  it('reports fault and mirror with their percentages, and Istio retries when the route sets none', () => {
    const e = explainRequest(
      routed([
        {
          route: [to('v1')],
          fault: {
            delay: { fixedDelay: '2s', percentage: { value: 10 } },
            abort: { httpStatus: 503, percentage: { value: 1.5 } },
          },
          mirror: { host: 'api', subset: 'v2' },
        },
      ]),
      { from: 'client', to: 'api' },
    );
    assert.deepEqual(e.fault, {
      delay: { fixedDelay: '2s', percentage: 10 },
      abort: { httpStatus: 503, percentage: 1.5 },
    });
    // "If this field is absent, all the traffic (100%) will be mirrored" (mirrorPercentage).
    assert.deepEqual(e.mirror, { service: 'api', version: 'v2', percentage: 100 });
    assert.equal(e.retries?.attempts, 2);
    assert.equal(e.timeout, null);
  });
});

describe('DestinationRule (https://istio.io/latest/docs/reference/config/networking/destination-rule/)', () => {
  const rule = (trafficPolicy: Record<string, unknown>, subsetPolicy?: Record<string, unknown>) => [
    ...base().filter((o) => o.kind !== 'DestinationRule'),
    istio('DestinationRule', 'api', {
      host: 'api.demo.svc.cluster.local',
      trafficPolicy,
      subsets: [
        { name: 'v1', labels: { version: 'v1' } },
        { name: 'v2', labels: { version: 'v2' }, ...(subsetPolicy && { trafficPolicy: subsetPolicy }) },
      ],
    }),
    istio('VirtualService', 'api', { hosts: ['api'], http: [{ route: [to('v1', 50), to('v2', 50)] }] }),
  ];
  const policies = (objects: MeshObject[]) =>
    explainRequest(objects, { from: 'client', to: 'api' }).destinations.map((d) => d.trafficPolicy);

  it("overrides the destination-level settings field by field with the subset's", () => {
    const [v1, v2] = policies(
      rule(
        { loadBalancer: { simple: 'ROUND_ROBIN' }, connectionPool: { tcp: { maxConnections: 10 } } },
        { loadBalancer: { simple: 'LEAST_REQUEST' } },
      ),
    );
    assert.deepEqual(v1.loadBalancer, { simple: 'ROUND_ROBIN' });
    assert.deepEqual(v2.loadBalancer, { simple: 'LEAST_REQUEST' });
    assert.deepEqual(
      v2.connectionPool,
      { tcp: { maxConnections: 10 } },
      'inherited from the destination level',
    );
  });

  it('does not inherit destination-level settings into port-level settings: omitted fields take defaults', () => {
    const [v1, v2] = policies(
      rule(
        {
          loadBalancer: { simple: 'ROUND_ROBIN' },
          portLevelSettings: [{ port: { number: 8080 }, outlierDetection: { consecutive5xxErrors: 7 } }],
        },
        { connectionPool: { tcp: { maxConnections: 5 } } },
      ),
    );
    assert.deepEqual(v1.outlierDetection, { consecutive5xxErrors: 7 });
    assert.equal(v1.loadBalancer, null);
    assert.deepEqual(v2.outlierDetection, { consecutive5xxErrors: 7 });
    assert.deepEqual(v2.connectionPool, { tcp: { maxConnections: 5 } });
    const other = rule({
      loadBalancer: { simple: 'ROUND_ROBIN' },
      portLevelSettings: [{ port: { number: 9090 }, loadBalancer: { simple: 'RANDOM' } }],
    });
    assert.deepEqual(
      policies(other)[0].loadBalancer,
      { simple: 'ROUND_ROBIN' },
      'settings of another port do not apply',
    );
  });
});

const allowAll = [istio('PeerAuthentication', 'default', { mtls: { mode: 'STRICT' } })];
const principal = (sa: string) => `cluster.local/ns/${NS}/sa/${sa}`;

describe('authorization (https://istio.io/latest/docs/concepts/security/#authorization-policies)', () => {
  const decide = (policies: MeshObject[], req: Partial<Parameters<typeof explainRequest>[1]> = {}) => {
    const e = explainRequest([...base(), ...allowAll, ...policies], { from: 'client', to: 'api', ...req });
    return [e.allowed, e.decidedBy];
  };
  const policy = (name: string, spec: Record<string, unknown>, extra = {}) =>
    istio('AuthorizationPolicy', name, spec, NS, extra);

  it('allows when no ALLOW policy applies, and an ALLOW policy without rules denies everything', () => {
    assert.deepEqual(decide([]), [true, null]);
    assert.deepEqual(decide([policy('allow-nothing', {})]), [false, 'demo/allow-nothing']);
  });

  it('evaluates DENY before ALLOW', () => {
    const allow = policy('allow', { action: 'ALLOW', rules: [{}] });
    const deny = policy('deny', {
      action: 'DENY',
      rules: [{ to: [{ operation: { methods: ['DELETE'] } }] }],
    });
    assert.deepEqual(decide([allow, deny], { method: 'DELETE' }), [false, 'demo/deny']);
    assert.deepEqual(decide([allow, deny], { method: 'GET' }), [true, 'demo/allow']);
  });

  it('matches a rule when any source, any operation and every condition match', () => {
    const p = policy('allow', {
      rules: [
        {
          from: [{ source: { principals: ['nobody'] } }, { source: { principals: [principal('client')] } }],
          to: [{ operation: { methods: ['GET'], paths: ['/api/*'] } }, { operation: { paths: ['*.js'] } }],
          when: [{ key: 'request.headers[x-tenant]', values: ['a', 'b'] }],
        },
      ],
    });
    const t = { 'x-tenant': 'a' };
    assert.equal(decide([p], { path: '/api/x', headers: t })[0], true);
    assert.equal(decide([p], { path: '/static/app.js', method: 'POST', headers: t })[0], true);
    assert.equal(decide([p], { path: '/api/x', method: 'POST', headers: t })[0], false);
    assert.equal(decide([p], { path: '/api/x', headers: { 'x-tenant': 'c' } })[0], false);
    assert.equal(decide([p], { path: '/api/x' })[0], false, 'an absent header matches no value');
  });

  it('reads notPrincipals and notPaths as exclusions', () => {
    const deny = policy('deny', {
      action: 'DENY',
      rules: [
        {
          from: [{ source: { notPrincipals: [principal('admin')] } }],
          to: [{ operation: { notPaths: ['/public/*'] } }],
        },
      ],
    });
    assert.deepEqual(decide([deny], { path: '/private' }), [false, 'demo/deny']);
    assert.deepEqual(decide([deny], { path: '/public/x' }), [true, null]);
  });

  it('says that a CUSTOM policy is decided by its external authorizer, whose answer it cannot know', () => {
    const custom = policy('ext', { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{}] });
    const e = explainRequest([...base(), ...allowAll, custom], { from: 'client', to: 'api' });
    assert.equal(e.allowed, null);
    assert.equal(e.decidedBy, 'demo/ext');
    assert.match(e.reason, /external authorizer "opa"/);
  });

  it('says it cannot know a rule on addresses, unless another rule decides anyway', () => {
    const byIp = policy('office', {
      action: 'DENY',
      rules: [{ from: [{ source: { notIpBlocks: ['10.0.0.0/8'] } }] }],
    });
    const e = explainRequest([...base(), ...allowAll, byIp], { from: 'client', to: 'api' });
    assert.equal(e.allowed, null);
    assert.match(e.reason, /depends on what the configuration does not say/);
    const deleteDenied = policy('no-delete', {
      action: 'DENY',
      rules: [{ to: [{ operation: { methods: ['DELETE'] } }] }],
    });
    assert.deepEqual(decide([byIp, deleteDenied], { method: 'DELETE' }), [false, 'demo/no-delete']);
  });

  it('does not enforce a dry-run policy', () => {
    const dry = policy('dry', {}, { annotations: { 'istio.io/dry-run': 'true' } });
    assert.deepEqual(decide([dry]), [true, null]);
  });

  it('applies a selector only to the workloads it selects', () => {
    const other = policy('other', { selector: { matchLabels: { app: 'client' } } });
    assert.deepEqual(decide([other]), [true, null]);
    const mine = policy('mine', { selector: { matchLabels: { app: 'api', version: 'v2' } } });
    const objects = [
      ...base(),
      ...allowAll,
      mine,
      istio('VirtualService', 'api', { hosts: ['api'], http: [{ route: [to('v2')] }] }),
    ];
    assert.equal(explainRequest(objects, { from: 'client', to: 'api' }).allowed, false);
  });
});

describe('JWT (https://istio.io/latest/docs/reference/config/security/request_authentication/)', () => {
  const ra = istio('RequestAuthentication', 'jwt', {
    selector: { matchLabels: { app: 'api' } },
    jwtRules: [{ issuer: 'https://issuer.example', audiences: ['api'] }],
  });
  const requireToken = istio('AuthorizationPolicy', 'require', {
    rules: [{ from: [{ source: { requestPrincipals: ['https://issuer.example/*'] } }] }],
  });
  const ask = (policies: MeshObject[], jwtClaims?: Record<string, unknown>) =>
    explainRequest(
      [...base(), ...allowAll, ra, ...policies],
      { from: 'client', to: 'api', jwtClaims },
      { now: 1_000_000_000_000 },
    );

  it('accepts a request without a token unless authorization requires a request principal', () => {
    assert.equal(ask([]).allowed, true);
    const e = ask([requireToken]);
    assert.equal(e.allowed, false);
    assert.equal(e.deniedAt, 'authorization');
  });

  it('accepts a valid token and gives the request principal iss/sub', () => {
    const e = ask([requireToken], { iss: 'https://issuer.example', sub: 'alice', aud: 'api' });
    assert.equal(e.allowed, true);
    assert.equal(e.jwt?.requestPrincipal, 'https://issuer.example/alice');
  });

  it('rejects (401) a token of an unknown issuer, of another audience, or expired', () => {
    for (const claims of [
      { iss: 'https://other.example', sub: 'x', aud: 'api' },
      { iss: 'https://issuer.example', sub: 'x', aud: 'web' },
      { iss: 'https://issuer.example', sub: 'x', aud: 'api', exp: 999_999_999 },
    ]) {
      const e = ask([], claims);
      assert.equal(e.allowed, false, JSON.stringify(claims));
      assert.equal(e.deniedAt, 'jwt');
      assert.match(e.reason, /401/);
    }
  });

  it('matches request.auth.claims conditions', () => {
    const admins = istio('AuthorizationPolicy', 'admins', {
      rules: [{ when: [{ key: 'request.auth.claims[groups]', values: ['admin'] }] }],
    });
    const claims = { iss: 'https://issuer.example', sub: 'a', aud: 'api' };
    assert.equal(ask([admins], { ...claims, groups: ['dev', 'admin'] }).allowed, true);
    assert.equal(ask([admins], { ...claims, groups: ['dev'] }).allowed, false);
  });
});

describe('mTLS (https://istio.io/latest/docs/reference/config/security/peer_authentication/)', () => {
  const pa = (name: string, spec: Record<string, unknown>, namespace = NS) =>
    istio('PeerAuthentication', name, spec, namespace);
  const mode = (policies: MeshObject[], from = 'client') => {
    const e = explainRequest([...base(), ...policies], { from, to: 'api' });
    return [e.mtls?.mode, e.mtls?.source, e.allowed];
  };

  it('is PERMISSIVE without any policy', () => {
    assert.deepEqual(mode([]), ['PERMISSIVE', null, true]);
    assert.deepEqual(mode([], 'outside'), ['PERMISSIVE', null, true]);
  });

  it('takes the workload policy over the namespace policy over the root namespace policy', () => {
    const root = pa('default', { mtls: { mode: 'STRICT' } }, 'istio-system');
    const nsWide = pa('default', { mtls: { mode: 'PERMISSIVE' } });
    const workload = pa('api', { selector: { matchLabels: { app: 'api' } }, mtls: { mode: 'STRICT' } });
    assert.deepEqual(mode([root]), ['STRICT', 'istio-system/default', true]);
    assert.deepEqual(mode([root, nsWide]), ['PERMISSIVE', 'demo/default', true]);
    assert.deepEqual(mode([root, nsWide, workload], 'outside'), ['STRICT', 'demo/api', false]);
  });

  it('inherits when the mode is UNSET, and applies portLevelMtls of a workload policy', () => {
    const nsWide = pa('default', { mtls: { mode: 'STRICT' } });
    const unset = pa('api', { selector: { matchLabels: { app: 'api' } }, mtls: { mode: 'UNSET' } });
    assert.deepEqual(mode([nsWide, unset]), ['STRICT', 'demo/default', true]);
    const port = pa('api', {
      selector: { matchLabels: { app: 'api' } },
      portLevelMtls: { '8080': { mode: 'DISABLE' } },
    });
    assert.deepEqual(mode([nsWide, port], 'outside'), ['DISABLE', 'demo/api (port 8080)', true]);
  });
});

describe('Sidecar egress (https://istio.io/latest/docs/reference/config/networking/sidecar/)', () => {
  const sidecar = (hosts: string[], extra: Record<string, unknown> = {}) =>
    istio('Sidecar', 'client', {
      workloadSelector: { labels: { app: 'client' } },
      egress: [{ hosts }],
      ...extra,
    });
  const egress = (objects: MeshObject[]) =>
    explainRequest([...base(), ...objects], { from: 'client', to: 'api' });

  it('imports hosts by namespace and name: "./name", "*/*", "ns/*"; "~/*" imports nothing', () => {
    assert.equal(egress([sidecar(['./api.demo.svc.cluster.local'])]).egressAllowed, true);
    assert.equal(egress([sidecar(['*/*'])]).egressAllowed, true);
    assert.equal(egress([sidecar(['demo/*'])]).egressAllowed, true);
    assert.equal(egress([sidecar(['other/*'])]).egressAllowed, false);
    assert.equal(egress([sidecar(['~/*'])]).egressAllowed, false);
    assert.equal(egress([]).egressAllowed, true, 'without a Sidecar every host is visible');
  });

  it('blackholes a host it does not import with REGISTRY_ONLY', () => {
    const e = egress([
      sidecar(['./other.demo.svc.cluster.local'], { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } }),
    ]);
    assert.equal(e.allowed, false);
    assert.equal(e.deniedAt, 'egress');
    assert.equal(e.decidedBy, 'demo/client');
  });
});

describe('ambient mode without a waypoint (https://istio.io/latest/docs/ambient/usage/l4-policy/)', () => {
  const ambient = () => [ns({ 'istio.io/dataplane-mode': 'ambient' }), ...base().slice(1)];
  const ask = (objects: MeshObject[], from = 'client') => explainRequest(objects, { from, to: 'api' });

  it('enforces L4 rules at the destination ztunnel with the client identity', () => {
    const p = istio('AuthorizationPolicy', 'allow-client', {
      selector: { matchLabels: { app: 'api' } },
      rules: [{ from: [{ source: { principals: [principal('client')] } }] }],
    });
    const e = ask([...ambient(), p]);
    assert.equal(e.allowed, true, e.reason);
    assert.deepEqual(
      e.authorization.map((l) => [l.at, l.peer]),
      [['ztunnel', principal('client')]],
    );
    assert.equal(e.virtualService, null, 'no waypoint, no L7 routing');
  });

  it('denies the connection when an ALLOW policy needs L7 attributes ztunnel cannot see', () => {
    // The page's example: the identity is right, but methods: ["GET"] makes ztunnel deny.
    const p = istio('AuthorizationPolicy', 'allow-get', {
      selector: { matchLabels: { app: 'api' } },
      rules: [
        {
          from: [{ source: { principals: [principal('client')] } }],
          to: [{ operation: { methods: ['GET'] } }],
        },
      ],
    });
    const e = ask([...ambient(), p]);
    assert.equal(e.allowed, false);
    assert.equal(e.decidedBy, 'demo/allow-get');
  });

  it('ignores a PeerAuthentication DISABLE: HBONE is always mTLS', () => {
    const strict = istio('PeerAuthentication', 'mesh', { mtls: { mode: 'STRICT' } }, 'istio-system');
    const disable = istio('PeerAuthentication', 'default', { mtls: { mode: 'DISABLE' } });
    const e = ask([...ambient(), strict, disable], 'outside');
    assert.equal(e.mtls?.mode, 'STRICT');
    assert.equal(e.mtls?.source, 'istio-system/mesh');
    assert.equal(e.allowed, false);
    assert.equal(
      ask([...base(), strict, disable], 'outside').mtls?.mode,
      'DISABLE',
      'a sidecar honours DISABLE',
    );
  });
});

describe('Gateway API routes for the mesh (HTTPRoute with a Service parent)', () => {
  const versionService = (v: string): MeshObject => ({
    ...service(`api-${v}`),
    spec: { selector: { app: 'api', version: v }, ports: [{ name: 'http', port: 8080, targetPort: 8080 }] },
  });
  const objects = [
    ...base(),
    versionService('v1'),
    versionService('v2'),
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'api', namespace: NS },
      spec: {
        parentRefs: [{ group: '', kind: 'Service', name: 'api', port: 8080 }],
        rules: [
          {
            matches: [{ headers: [{ name: 'end-user', value: 'jason' }] }],
            backendRefs: [{ name: 'api-v2', port: 8080 }],
          },
          {
            backendRefs: [
              { name: 'api-v1', port: 8080, weight: 3 },
              { name: 'api-v2', port: 8080, weight: 1 },
            ],
          },
        ],
      },
    } as MeshObject,
  ];

  it('routes by the matching rule and splits by relative weights', () => {
    const jason = explainRequest(objects, { from: 'client', to: 'api', headers: { 'end-user': 'jason' } });
    assert.equal(jason.virtualService, 'HTTPRoute demo/api');
    assert.deepEqual(
      jason.destinations.map((d) => [d.service, d.version, d.weight]),
      [['api-v2', 'v2', 100]],
    );
    const other = explainRequest(objects, { from: 'client', to: 'api' });
    assert.deepEqual(
      other.destinations.map((d) => [d.version, d.weight]),
      [
        ['v1', 75],
        ['v2', 25],
      ],
    );
  });
});

describe('an ingress gateway in front of an ambient service (https://istio.io/latest/docs/ambient/usage/waypoint/)', () => {
  const objects = (ingressUsesWaypoint: boolean): MeshObject[] => [
    ns({ 'istio.io/dataplane-mode': 'ambient' }),
    {
      ...service('api'),
      metadata: {
        name: 'api',
        namespace: NS,
        labels: {
          'istio.io/use-waypoint': 'waypoint',
          ...(ingressUsesWaypoint && { 'istio.io/ingress-use-waypoint': 'true' }),
        },
      },
    },
    deployment('api', 'v1'),
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'waypoint', namespace: NS },
      spec: {
        gatewayClassName: 'istio-waypoint',
        listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }],
      },
    },
    istio('Gateway', 'edge', {
      selector: { istio: 'ingressgateway' },
      servers: [{ hosts: ['api.example.com'], port: { name: 'http', number: 80, protocol: 'HTTP' } }],
    }),
    istio('VirtualService', 'edge', {
      hosts: ['api.example.com'],
      gateways: ['edge'],
      http: [{ route: [{ destination: { host: 'api.demo.svc.cluster.local' } }] }],
    }),
  ];

  it('goes through the waypoint only with istio.io/ingress-use-waypoint', () => {
    const through = explainRequest(objects(true), { from: 'outside', to: 'api.example.com' });
    assert.deepEqual(
      through.authorization.map((l) => [l.at, l.peer]),
      [
        ['waypoint', 'cluster.local/ns/istio-system/sa/istio-ingressgateway'],
        ['ztunnel', 'cluster.local/ns/demo/sa/waypoint'],
      ],
    );
    const direct = explainRequest(objects(false), { from: 'outside', to: 'api.example.com' });
    assert.deepEqual(
      direct.authorization.map((l) => [l.at, l.peer]),
      [['ztunnel', 'cluster.local/ns/istio-system/sa/istio-ingressgateway']],
    );
    assert.equal(direct.waypoint, null);
  });
});

describe('path normalization (https://istio.io/latest/docs/reference/config/security/normalization/)', () => {
  it('removes dot segments, decodes unreserved characters and turns backslashes into slashes (BASE)', () => {
    const objects = [
      ...base(),
      istio('AuthorizationPolicy', 'no-secret', {
        action: 'DENY',
        rules: [{ to: [{ operation: { paths: ['/data/secret'] } }] }],
      }),
    ];
    for (const path of [
      '/data/secret',
      '/data/public/../secret',
      '/data/./secret',
      '/%64ata/secret',
      '/data\\secret',
    ]) {
      const e = explainRequest(objects, { from: 'client', to: 'api', path });
      assert.equal(e.allowed, false, path);
      assert.equal(e.request.path, '/data/secret', path);
    }
    // BASE neither merges slashes nor decodes %2F.
    assert.equal(explainRequest(objects, { from: 'client', to: 'api', path: '/data//secret' }).allowed, true);
    assert.equal(
      explainRequest(objects, { from: 'client', to: 'api', path: '/data%2Fsecret' }).allowed,
      true,
    );
  });
});

describe('bad input', () => {
  it('lists every problem of a request from JavaScript, naming the field and what to give', () => {
    const bad = {
      from: 'client',
      to: 7,
      port: '80',
      method: 'G E T',
      path: 'x',
      headers: { a: 1 },
    } as unknown as Parameters<typeof explainRequest>[1];
    assert.throws(
      () => explainRequest(base(), bad),
      (e: Error) =>
        e.message ===
        'explainRequest: to: expected a service name or an ingress host, e.g. "ratings", got number 7; port: expected a port number from 1 to 65535, got "80"; method: expected an HTTP method such as "GET", got "G E T"; path: expected a path starting with "/", e.g. "/ratings/0", got "x"; headers["a"]: expected a string, got number 1',
    );
    assert.throws(
      () => explainRequest({} as never, { from: 'client', to: 'api' }),
      /source: expected a cdk8s App or Chart/,
    );
    assert.throws(() => explainRequest(base(), { to: 'api' }), /from is required; use explainAllCallers/);
  });

  it('keeps the method as given: methods are case-sensitive', () => {
    const objects = [
      ...base(),
      istio('AuthorizationPolicy', 'get-only', { rules: [{ to: [{ operation: { methods: ['GET'] } }] }] }),
    ];
    assert.equal(explainRequest(objects, { from: 'client', to: 'api', method: 'GET' }).allowed, true);
    assert.equal(explainRequest(objects, { from: 'client', to: 'api', method: 'get' }).allowed, false);
  });
});

// https://istio.io/latest/docs/reference/config/networking/service-entry/,
// https://istio.io/latest/docs/reference/config/networking/sidecar/#OutboundTrafficPolicy and
// https://istio.io/latest/docs/tasks/traffic-management/egress/egress-control/.
describe('external hosts: ServiceEntry, Sidecar egress and the outbound traffic policy', () => {
  const payments = (extra: Record<string, unknown> = {}, namespace = NS) =>
    istio(
      'ServiceEntry',
      'payments',
      {
        hosts: ['api.payments.example'],
        ports: [{ number: 443, name: 'tls', protocol: 'TLS' }],
        location: 'MESH_EXTERNAL',
        resolution: 'DNS',
        ...extra,
      },
      namespace,
    );
  const weather = istio('ServiceEntry', 'weather', {
    hosts: ['weather.example'],
    ports: [{ number: 80, name: 'http', protocol: 'HTTP' }],
    resolution: 'DNS',
  });
  const sidecar = (hosts: string[], mode = 'REGISTRY_ONLY') =>
    istio('Sidecar', 'client', {
      workloadSelector: { labels: { app: 'client' } },
      egress: [{ hosts }],
      outboundTrafficPolicy: { mode },
    });

  it('a host a ServiceEntry declares is reached when no Sidecar narrows egress; TLS hides the request', () => {
    const e = explainRequest([...base(), payments()], { from: 'client', to: 'api.payments.example' });
    assert.equal(e.allowed, true);
    assert.deepEqual(e.external, {
      host: 'api.payments.example',
      serviceEntry: 'demo/payments',
      location: 'MESH_EXTERNAL',
      resolution: 'DNS',
      protocol: 'TLS',
    });
    assert.equal(e.request.port, 443);
    assert.deepEqual(
      e.destinations.map((d) => [d.service, d.namespace, d.weight]),
      [['api.payments.example', 'demo', null]],
    );
    // No HTTP route applies over TLS, so neither do Istio's default HTTP retries.
    assert.equal(e.retries, null);
    assert.equal(e.mtls, null);
    assert.deepEqual(e.authorization, []);
  });

  it('REGISTRY_ONLY: a host the Sidecar does not import goes to the BlackHoleCluster', () => {
    const e = explainRequest([...base(), payments(), sidecar(['./api.demo.svc.cluster.local'])], {
      from: 'client',
      to: 'api.payments.example',
    });
    assert.equal(e.allowed, false);
    assert.equal(e.deniedAt, 'egress');
    assert.equal(e.decidedBy, 'demo/client');
    assert.equal(e.egressAllowed, false);
    assert.equal(
      e.reason,
      'Sidecar demo/client does not import demo/api.payments.example and its outbound policy is REGISTRY_ONLY: the request goes to the BlackHoleCluster (502)',
    );
    assert.match(
      formatExplanation(e),
      /\n {2}external {2}ServiceEntry demo\/payments: MESH_EXTERNAL, resolution DNS, port 443 TLS/,
    );
  });

  it('REGISTRY_ONLY: imported by "<ServiceEntry namespace>/<host>", the host is reached; a port it does not declare is not', () => {
    const objs = [...base(), payments(), sidecar(['demo/api.payments.example'])];
    const e = explainRequest(objs, { from: 'client', to: 'api.payments.example' });
    assert.equal(e.allowed, true);
    assert.equal(e.egress?.matchedHost, 'demo/api.payments.example');
    assert.equal(
      e.reason,
      'api.payments.example is declared by ServiceEntry demo/payments and imported by Sidecar demo/client',
    );
    const other = explainRequest(objs, { from: 'client', to: 'api.payments.example', port: 8443 });
    assert.equal(other.allowed, false);
    assert.equal(
      other.reason,
      'no ServiceEntry visible to the caller declares api.payments.example port 8443, and the outbound policy of Sidecar demo/client is REGISTRY_ONLY: the request goes to the BlackHoleCluster (502)',
    );
    // Imported under another namespace, it is not the ServiceEntry's host.
    const wrongNs = explainRequest([...base(), payments(), sidecar(['other/api.payments.example'])], {
      from: 'client',
      to: 'api.payments.example',
    });
    assert.equal(wrongNs.allowed, false);
  });

  it('a ServiceEntry exported only to its own namespace is not in the registry of others: ALLOW_ANY passes it through', () => {
    const hidden = payments({ exportTo: ['.'] }, 'payments');
    const blocked = explainRequest([...base(), hidden, sidecar(['*/*'])], {
      from: 'client',
      to: 'api.payments.example',
    });
    assert.equal(blocked.allowed, false);
    assert.ok(
      blocked.notes.includes(
        "ServiceEntry payments/payments is not exported to demo, so it is not in the caller's registry",
      ),
    );
    const open = explainRequest([...base(), hidden, sidecar(['*/*'], 'ALLOW_ANY')], {
      from: 'client',
      to: 'api.payments.example',
    });
    assert.equal(open.allowed, true);
    assert.equal(open.reason, 'passthrough: ALLOW_ANY lets the request out as it is');
    assert.deepEqual(open.destinations, []);
  });

  it('an HTTP external host gets the routes of its VirtualService and Istio default retries', () => {
    const objs = [
      ...base(),
      weather,
      sidecar(['./weather.example']),
      istio('VirtualService', 'weather', {
        hosts: ['weather.example'],
        http: [{ timeout: '2s', route: [{ destination: { host: 'weather.example' } }] }],
      }),
    ];
    const e = explainRequest(objs, { from: 'client:v2', to: 'weather.example', path: '/today' });
    assert.equal(e.allowed, true);
    assert.equal(e.virtualService, 'VirtualService demo/weather');
    assert.equal(e.timeout, '2s');
    assert.deepEqual(e.retries, {
      attempts: 2,
      retryOn: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
      default: true,
    });
    assert.deepEqual(
      e.destinations.map((d) => [d.service, d.weight]),
      [['weather.example', 100]],
    );
    assert.equal(e.external?.resolution, 'DNS');
    assert.equal(e.external?.location, 'MESH_EXTERNAL');
  });
});
