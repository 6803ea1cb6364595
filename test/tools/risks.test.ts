import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Manifest } from '../../tools/mesh/manifest.js';
import { diffManifests, formatValue } from '../../tools/mesh/object-diff.js';
import { findRisks, type RiskRule } from '../../tools/mesh/risks.js';
import { NET, obj, SEC } from './support.js';

/** The risks of going from `base` to `head` (either may be absent: an added or removed object). */
function risks(base: Manifest | undefined, head: Manifest | undefined): string[] {
  return findRisks(diffManifests(base ? [base] : [], head ? [head] : [])).map(
    (r) => `${r.rule}: ${r.message}`,
  );
}

function flags(
  rule: RiskRule,
  base: Manifest | undefined,
  head: Manifest | undefined,
  pattern: RegExp,
): void {
  const found = risks(base, head);
  assert.ok(
    found.some((r) => r.startsWith(`${rule}: `) && pattern.test(r)),
    `expected ${rule} matching ${String(pattern)}, got ${JSON.stringify(found)}`,
  );
}

function quiet(base: Manifest | undefined, head: Manifest | undefined): void {
  assert.deepEqual(risks(base, head), []);
}

/** The storefront's local rate limit EnvoyFilter, with the given typed_config (in its "value"). */
function localLimit(value: Record<string, unknown>, app = 'storefront'): Manifest {
  return obj(NET, 'EnvoyFilter', 'storefront-local-ratelimit', {
    workloadSelector: { labels: { app } },
    configPatches: [
      {
        applyTo: 'HTTP_FILTER',
        patch: {
          operation: 'INSERT_BEFORE',
          value: { name: 'envoy.filters.http.local_ratelimit', typed_config: { value } },
        },
      },
    ],
  });
}

const bucket = (tokens: number, interval = '1s') => ({
  token_bucket: { max_tokens: tokens, tokens_per_fill: tokens, fill_interval: interval },
});

describe('risky changes', () => {
  it('deployment-selector: a changed selector replaces the Deployment; new labels elsewhere do not', () => {
    const d = (selector: Record<string, string>, extra: Record<string, string> = {}) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'reviews-v1', namespace: 'shop', labels: { ...selector, ...extra } },
      spec: {
        selector: { matchLabels: selector },
        template: { metadata: { labels: { ...selector, ...extra } } },
      },
    });
    flags(
      'deployment-selector',
      d({ app: 'reviews' }),
      d({ app: 'reviews', version: 'v1' }),
      /app=reviews → app=reviews,version=v1.*recreated/,
    );
    quiet(d({ app: 'reviews' }), d({ app: 'reviews' }, { team: 'books' }));
  });

  it('service-port-removed: a removed port or Service; not a new target port', () => {
    const svc = (ports: { name: string; port: number; targetPort?: number }[]) =>
      obj('v1', 'Service', 'reviews', { ports });
    flags(
      'service-port-removed',
      svc([
        { name: 'http', port: 8080 },
        { name: 'grpc', port: 9090 },
      ]),
      svc([{ name: 'http', port: 8080 }]),
      /grpc \(9090\/TCP\) removed/,
    );
    flags(
      'service-port-removed',
      svc([{ name: 'http', port: 8080 }]),
      undefined,
      /Service removed with its port http/,
    );
    quiet(
      svc([{ name: 'http', port: 8080, targetPort: 8080 }]),
      svc([
        { name: 'http', port: 8080, targetPort: 9080 },
        { name: 'grpc', port: 9090 },
      ]),
    );
  });

  it('mtls-weakened: PeerAuthentication STRICT → PERMISSIVE or DISABLE, or removed; not PERMISSIVE → STRICT', () => {
    const pa = (mode: string, portLevelMtls?: Record<string, { mode: string }>) =>
      obj(SEC, 'PeerAuthentication', 'default', { mtls: { mode }, ...(portLevelMtls && { portLevelMtls }) });
    flags('mtls-weakened', pa('STRICT'), pa('PERMISSIVE'), /mtls.mode STRICT → PERMISSIVE/);
    flags('mtls-weakened', pa('STRICT'), pa('DISABLE'), /STRICT → DISABLE/);
    flags('mtls-weakened', pa('STRICT'), undefined, /removed/);
    flags(
      'mtls-weakened',
      pa('STRICT'),
      pa('STRICT', { '9090': { mode: 'DISABLE' } }),
      /portLevelMtls\[9090\].mode DISABLE added/,
    );
    quiet(pa('PERMISSIVE'), pa('STRICT'));
  });

  it('mtls-weakened: DestinationRule tls ISTIO_MUTUAL removed or DISABLE; not other traffic policy changes', () => {
    const dr = (trafficPolicy: unknown) =>
      obj(NET, 'DestinationRule', 'reviews', { host: 'reviews', trafficPolicy });
    flags(
      'mtls-weakened',
      dr({ tls: { mode: 'ISTIO_MUTUAL' } }),
      dr({ tls: { mode: 'DISABLE' } }),
      /ISTIO_MUTUAL → DISABLE/,
    );
    flags('mtls-weakened', dr({ tls: { mode: 'ISTIO_MUTUAL' } }), dr({}), /ISTIO_MUTUAL → \(removed\)/);
    quiet(
      dr({ tls: { mode: 'ISTIO_MUTUAL' } }),
      dr({ tls: { mode: 'ISTIO_MUTUAL' }, loadBalancer: { simple: 'LEAST_REQUEST' } }),
    );
  });

  describe('authz-widened', () => {
    const allow = (rules?: unknown[], action?: string) =>
      obj(SEC, 'AuthorizationPolicy', 'reviews', {
        ...(action && { action }),
        selector: { matchLabels: { app: 'reviews' } },
        ...(rules && { rules }),
      });
    const rule = (principals: string[], methods?: string[], paths?: string[]) => ({
      from: [{ source: { principals } }],
      ...(methods || paths
        ? { to: [{ operation: { ...(methods && { methods }), ...(paths && { paths }) } }] }
        : {}),
    });
    const SF = 'cluster.local/ns/shop/sa/storefront';
    const CAT = 'cluster.local/ns/shop/sa/catalog';

    it('flags a removed policy, a removed DENY policy, and a removed allow-nothing', () => {
      flags('authz-widened', allow([rule([SF], ['GET'])]), undefined, /ALLOW policy removed/);
      flags(
        'authz-widened',
        allow([rule([SF], undefined, ['/admin'])], 'DENY'),
        undefined,
        /DENY policy removed/,
      );
      flags(
        'authz-widened',
        obj(SEC, 'AuthorizationPolicy', 'allow-nothing', {}),
        undefined,
        /allow-nothing policy removed/,
      );
    });

    it('flags principals, namespaces, paths and methods added', () => {
      flags(
        'authz-widened',
        allow([rule([SF], ['GET'])]),
        allow([rule([SF, CAT], ['GET'])]),
        /principals \+ cluster.local\/ns\/shop\/sa\/catalog/,
      );
      flags(
        'authz-widened',
        allow([rule([SF], ['GET'])]),
        allow([rule([SF], ['GET', 'POST'])]),
        /methods \+ POST/,
      );
      flags(
        'authz-widened',
        allow([rule([SF], ['GET'], ['/a'])]),
        allow([rule([SF], ['GET'], ['/a', '/b'])]),
        /paths \+ \/b/,
      );
      const ns = (namespaces: string[]) => allow([{ from: [{ source: { namespaces } }] }]);
      flags('authz-widened', ns(['shop']), ns(['shop', 'other']), /namespaces \+ other/);
    });

    it('flags a rule without restrictions and a dropped restriction', () => {
      flags(
        'authz-widened',
        allow([rule([SF], ['GET'])]),
        allow([rule([SF], ['GET']), {}]),
        /rule 1 has no restrictions/,
      );
      flags('authz-widened', allow([rule([SF], ['GET'])]), allow([rule([SF])]), /no operation restriction/);
      flags('authz-widened', allow(), allow([rule([SF])]), /policy that allowed nothing/);
    });

    it('flags a DENY policy that denies less', () => {
      const deny = (paths: string[]) =>
        allow(
          [{ from: [{ source: { notRequestPrincipals: ['*'] } }], to: [{ operation: { paths } }] }],
          'DENY',
        );
      flags('authz-widened', deny(['/admin', '/admin/*']), deny(['/admin']), /DENY rule 0/);
      quiet(deny(['/admin']), deny(['/admin', '/admin/*']));
    });

    it('does not flag narrowing: principals or methods removed, rules reordered', () => {
      quiet(allow([rule([SF, CAT], ['GET', 'POST'])]), allow([rule([SF], ['GET'])]));
      quiet(
        allow([rule([SF], ['GET']), rule([CAT], ['GET'])]),
        allow([rule([CAT], ['GET']), rule([SF], ['GET'])]),
      );
      quiet(allow([rule([SF])]), allow([rule([SF], ['GET'])]));
    });
  });

  it('route-moved: a weight or subset moved for a host; not a timeout change', () => {
    const vs = (weights: [string, number][], timeout = '3s') =>
      obj(NET, 'VirtualService', 'reviews', {
        hosts: ['reviews.shop.svc.cluster.local'],
        http: [
          {
            name: 'canary',
            timeout,
            route: weights.map(([subset, weight]) => ({
              destination: { host: 'reviews.shop.svc.cluster.local', subset },
              weight,
            })),
          },
        ],
      });
    flags(
      'route-moved',
      vs([
        ['v1', 80],
        ['v3', 20],
      ]),
      vs([
        ['v1', 90],
        ['v3', 10],
      ]),
      /host reviews: route "canary": v1 80% · v3 20% → v1 90% · v3 10%/,
    );
    flags('route-moved', vs([['v1', 100]]), vs([['v2', 100]]), /route "canary": v1 → v2/);
    flags('route-moved', vs([['v1', 100]]), undefined, /VirtualService for reviews removed/);
    quiet(
      vs(
        [
          ['v1', 80],
          ['v3', 20],
        ],
        '5s',
      ),
      vs([
        ['v1', 80],
        ['v3', 20],
      ]),
    );
    quiet(
      vs([
        ['v1', 80],
        ['v3', 20],
      ]),
      vs([
        ['v1', 40],
        ['v3', 10],
      ]),
    );
  });

  it('route-moved: HTTPRoute backend weights', () => {
    const hr = (w1: number, w2: number) =>
      obj('gateway.networking.k8s.io/v1', 'HTTPRoute', 'edge', {
        hostnames: ['shop.example.com'],
        rules: [
          {
            backendRefs: [
              { name: 'api-v1', port: 8080, weight: w1 },
              { name: 'api-v2', port: 8080, weight: w2 },
            ],
          },
        ],
      });
    flags(
      'route-moved',
      hr(9, 1),
      hr(1, 1),
      /api-v1:8080 90% · api-v2:8080 10% → api-v1:8080 50% · api-v2:8080 50%/,
    );
    quiet(hr(9, 1), hr(90, 10));
  });

  it('circuit-breaker-loosened: outlierDetection or connectionPool removed or raised; not tightened', () => {
    const dr = (maxConnections: number, consecutive5xxErrors?: number) =>
      obj(NET, 'DestinationRule', 'ratings', {
        host: 'ratings',
        trafficPolicy: {
          tls: { mode: 'ISTIO_MUTUAL' },
          connectionPool: { tcp: { maxConnections }, http: { http1MaxPendingRequests: 10 } },
          ...(consecutive5xxErrors !== undefined && {
            outlierDetection: { consecutive5xxErrors, interval: '5s', baseEjectionTime: '30s' },
          }),
        },
      });
    flags('circuit-breaker-loosened', dr(100, 3), dr(100), /trafficPolicy.outlierDetection removed/);
    flags('circuit-breaker-loosened', dr(100, 3), dr(200, 3), /tcp.maxConnections 100 → 200/);
    flags('circuit-breaker-loosened', dr(100, 3), dr(100, 10), /consecutive5xxErrors 3 → 10/);
    flags(
      'circuit-breaker-loosened',
      dr(100, 3),
      undefined,
      /DestinationRule with trafficPolicy.connectionPool removed/,
    );
    quiet(dr(100, 3), dr(50, 2));
  });

  it('rate-limit-loosened: local token bucket raised or the filter removed; not lowered', () => {
    const ef = (tokens: number, interval = '1s') => localLimit(bucket(tokens, interval));
    flags(
      'rate-limit-loosened',
      ef(50),
      ef(100),
      /token bucket raised: 50 tokens, 50 every 1s → 100 tokens, 100 every 1s/,
    );
    flags('rate-limit-loosened', ef(50, '1s'), ef(50, '500ms'), /raised/);
    flags('rate-limit-loosened', ef(50), undefined, /local rate limit EnvoyFilter removed/);
    quiet(ef(100), ef(50));
  });

  it('rate-limit-loosened: global limits raised or removed in the rate limit service configuration', () => {
    const config = (n: number, unit = 'minute') => ({
      ...obj('v1', 'ConfigMap', 'ratelimit-config', undefined),
      data: {
        'config.yaml': `domain: shop\ndescriptors:\n  - key: remote_address\n    rate_limit:\n      unit: ${unit}\n      requests_per_unit: ${n}\n`,
      },
    });
    flags(
      'rate-limit-loosened',
      config(600),
      config(1200),
      /remote_address raised: 600\/minute → 1200\/minute/,
    );
    flags('rate-limit-loosened', config(600, 'minute'), config(600, 'second'), /raised/);
    flags('rate-limit-loosened', config(600), undefined, /configuration removed/);
    const global = (present: boolean) =>
      obj('networking.istio.io/v1alpha3', 'EnvoyFilter', 'storefront-global-ratelimit', {
        configPatches: [
          {
            patch: { value: { name: present ? 'envoy.filters.http.ratelimit' : 'envoy.filters.http.cors' } },
          },
        ],
      });
    flags(
      'rate-limit-loosened',
      global(true),
      global(false),
      /global rate limit EnvoyFilter no longer rate limits/,
    );
    quiet(config(600), config(300));
    quiet(config(600, 'second'), config(600, 'minute'));
  });

  describe('found by review: what a policy applies to, new objects, order and matches', () => {
    const SF = 'cluster.local/ns/shop/sa/storefront';
    const route = (name: string, subset: string, match?: unknown) => ({
      name,
      ...(match !== undefined && { match }),
      route: [{ destination: { host: 'reviews.shop.svc.cluster.local', subset } }],
    });
    const vs = (http: unknown[], extra: Record<string, unknown> = {}) =>
      obj(NET, 'VirtualService', 'reviews', { hosts: ['reviews.shop.svc.cluster.local'], http, ...extra });
    const testers = route('testers', 'v2', [{ headers: { 'end-user': { exact: 'jason' } } }]);
    const beta = route('beta', 'v3', [{ headers: { 'end-user': { prefix: 'j' } } }]);
    const rest = route('rest', 'v1');

    it('route-moved: named routes reordered, a match changed, hosts or gateways dropped', () => {
      flags(
        'route-moved',
        vs([testers, beta, rest]),
        vs([beta, testers, rest]),
        /routes reordered, "testers", "beta", "rest" → "beta", "testers", "rest"/,
      );
      flags(
        'route-moved',
        vs([testers, rest]),
        vs([route('testers', 'v2', [{ headers: { 'end-user': { prefix: '' } } }]), rest]),
        /route "testers" matches \[\{headers: \{end-user: \{prefix: ""\}\}\}\] \(was .*exact: jason/,
      );
      flags('route-moved', vs([testers, rest]), vs([route('testers', 'v2'), rest]), /matches every request/);
      const other = obj(NET, 'VirtualService', 'reviews', {
        hosts: ['reviews2.shop.svc.cluster.local'],
        http: [testers, rest],
      });
      flags('route-moved', vs([testers, rest]), other, /no longer applies to reviews$/);
      flags(
        'route-moved',
        vs([testers, rest], { gateways: ['mesh', 'shop/gw'] }),
        vs([testers, rest], { gateways: ['shop/gw'] }),
        /no longer applies to traffic inside the mesh/,
      );
      const found = risks(vs([testers, rest]), other).join('\n');
      assert.doesNotMatch(found, /v2 → reviews v2/, 'a subset of the old host is not a move to another host');
      quiet(vs([testers, rest]), vs([testers, rest], { gateways: ['mesh'] }));
    });

    it('object diffs show a reordering as a change of its own, and long added mappings field by field', () => {
      const [d] = diffManifests([vs([testers, beta, rest])], [vs([beta, testers, rest])]);
      assert.deepEqual(d.changes, [
        { path: 'spec.http (order)', old: ['testers', 'beta', 'rest'], new: ['beta', 'testers', 'rest'] },
      ]);
      const pool = {
        tcp: { maxConnections: 100, connectTimeout: '2s' },
        http: { http1MaxPendingRequests: 10, maxRequestsPerConnection: 5, maxRetries: 3 },
      };
      const outlier = {
        consecutive5xxErrors: 5,
        interval: '10s',
        baseEjectionTime: '30s',
        maxEjectionPercent: 50,
      };
      const dr = (trafficPolicy: unknown) =>
        obj(NET, 'DestinationRule', 'reviews', { host: 'reviews', trafficPolicy });
      const [moved] = diffManifests([dr({})], [dr({ connectionPool: pool, outlierDetection: outlier })]);
      assert.deepEqual(
        moved.changes.map((c) => c.path),
        [
          'spec.trafficPolicy.connectionPool.http',
          'spec.trafficPolicy.connectionPool.tcp',
          'spec.trafficPolicy.outlierDetection',
        ],
      );
      assert.ok(
        moved.changes.every((c) => !formatValue(c.new).endsWith('…')),
        'no value is cut short',
      );
    });

    it('mtls-weakened: new permissive PeerAuthentication or DestinationRule; a removed one judged by what takes over', () => {
      const pa = (name: string, mode: string, selector?: Record<string, string>, namespace = 'shop') =>
        obj(
          SEC,
          'PeerAuthentication',
          name,
          { ...(selector && { selector: { matchLabels: selector } }), mtls: { mode } },
          namespace,
        );
      flags(
        'mtls-weakened',
        undefined,
        pa('ratings', 'PERMISSIVE', { app: 'ratings' }),
        /new PeerAuthentication for workloads app=ratings with mtls.mode PERMISSIVE/,
      );
      const workload = pa('ratings', 'STRICT', { app: 'ratings' });
      const strictNs = pa('default', 'STRICT');
      const noRisk = findRisks(diffManifests([workload, strictNs], [strictNs]), [strictNs]);
      assert.deepEqual(noRisk, [], 'the namespace policy keeps STRICT');
      const meshWide = pa('default', 'PERMISSIVE', undefined, 'istio-system');
      const found = findRisks(diffManifests([workload, meshWide], [meshWide]), [meshWide]).map(
        (r) => r.message,
      );
      assert.deepEqual(found, [
        'PeerAuthentication with mtls.mode STRICT removed: PeerAuthentication istio-system/default applies to workloads app=ratings, PERMISSIVE',
      ]);
      flags(
        'mtls-weakened',
        workload,
        pa('ratings', 'STRICT', { app: 'catalog' }),
        /applies to workloads app=catalog instead of workloads app=ratings/,
      );

      const dr = (spec: Record<string, unknown>) =>
        obj(NET, 'DestinationRule', 'reviews', { host: 'reviews', ...spec });
      flags(
        'mtls-weakened',
        undefined,
        dr({ trafficPolicy: { tls: { mode: 'DISABLE' } } }),
        /new DestinationRule sends trafficPolicy.tls.mode DISABLE/,
      );
      const mutual = { tls: { mode: 'ISTIO_MUTUAL' }, connectionPool: { tcp: { maxConnections: 100 } } };
      const subsets = (v1: unknown) => [
        { name: 'v1', labels: { version: 'v1' }, ...(v1 !== undefined && { trafficPolicy: v1 }) },
        { name: 'v2', labels: { version: 'v2' } },
      ];
      flags(
        'mtls-weakened',
        dr({ trafficPolicy: mutual, subsets: subsets(undefined) }),
        dr({ trafficPolicy: mutual, subsets: subsets({ tls: { mode: 'DISABLE' } }) }),
        /subsets\[v1\].trafficPolicy.tls.mode ISTIO_MUTUAL → DISABLE/,
      );
      flags(
        'circuit-breaker-loosened',
        dr({ trafficPolicy: mutual, subsets: subsets(undefined) }),
        dr({
          trafficPolicy: mutual,
          subsets: subsets({ connectionPool: { tcp: { maxConnections: 100000 } } }),
        }),
        /subsets\[v1\].trafficPolicy.connectionPool.tcp.maxConnections 100 → 100000/,
      );
      // A change at the top is reported once, not again for every subset that inherits it.
      const raised = risks(
        dr({ trafficPolicy: mutual, subsets: subsets({ loadBalancer: { simple: 'RANDOM' } }) }),
        dr({
          trafficPolicy: { ...mutual, connectionPool: { tcp: { maxConnections: 200 } } },
          subsets: subsets({ loadBalancer: { simple: 'RANDOM' } }),
        }),
      );
      assert.deepEqual(raised, [
        'circuit-breaker-loosened: trafficPolicy.connectionPool.tcp.maxConnections 100 → 200',
      ]);
      flags(
        'circuit-breaker-loosened',
        dr({ trafficPolicy: mutual }),
        obj(NET, 'DestinationRule', 'reviews', { host: 'catalog', trafficPolicy: mutual }),
        /applies to host catalog instead of host reviews/,
      );
    });

    it('mtls-weakened: a namespace or its pods leaving the mesh', () => {
      const ns = (labels: Record<string, string>) => ({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'shop', labels },
      });
      flags(
        'mtls-weakened',
        ns({ 'istio-injection': 'enabled' }),
        ns({}),
        /label istio-injection=enabled removed/,
      );
      quiet(ns({ 'istio-injection': 'enabled' }), ns({ 'istio.io/rev': 'canary' }));
      const deploy = (annotations: Record<string, string>) => ({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'ratings-v1', namespace: 'shop' },
        spec: {
          selector: { matchLabels: { app: 'ratings' } },
          template: { metadata: { labels: { app: 'ratings' }, annotations } },
        },
      });
      flags('mtls-weakened', deploy({}), deploy({ 'sidecar.istio.io/inject': 'false' }), /leave the mesh/);
    });

    describe('authz-widened', () => {
      const policy = (spec: Record<string, unknown>, annotations?: Record<string, string>) => ({
        ...obj(SEC, 'AuthorizationPolicy', 'ratings', {
          selector: { matchLabels: { app: 'ratings' } },
          ...spec,
        }),
        ...(annotations && { metadata: { name: 'ratings', namespace: 'shop', annotations } }),
      });
      const from = (principals: string[]) => [{ source: { principals } }];

      it('flags a new ALLOW policy that admits anyone, not one with sources', () => {
        flags(
          'authz-widened',
          undefined,
          policy({ rules: [{}] }),
          /new ALLOW policy for workloads app=ratings: rule 0 has no restrictions/,
        );
        flags(
          'authz-widened',
          undefined,
          policy({ rules: [{ to: [{ operation: { methods: ['GET'] } }] }] }),
          /rule 0 allows any source/,
        );
        quiet(undefined, policy({ rules: [{ from: from([SF]) }] }));
      });

      it('flags a selector moved, a condition inverted, a DENY or CUSTOM policy narrowed or in dry-run', () => {
        flags(
          'authz-widened',
          policy({ rules: [{ from: from([SF]) }] }),
          { ...policy({ rules: [{ from: from([SF]) }] }), spec: { rules: [{ from: from([SF]) }] } },
          /applies to every workload of namespace shop instead of workloads app=ratings/,
        );
        flags(
          'authz-widened',
          policy({
            rules: [{ from: from([SF]), when: [{ key: 'request.headers[x-env]', values: ['prod'] }] }],
          }),
          policy({
            rules: [{ from: from([SF]), when: [{ key: 'request.headers[x-env]', notValues: ['dev'] }] }],
          }),
          /rule 0 allows more: condition request.headers\[x-env\] dropped/,
        );
        const deny = (methods?: string[]) =>
          policy({
            action: 'DENY',
            rules: [{ to: [{ operation: { paths: ['/admin/*'], ...(methods && { methods }) } }] }],
          });
        flags(
          'authz-widened',
          deny(),
          deny(['POST']),
          /DENY rule 0 matches fewer requests than it denied: was from any source.*paths \/admin\/\*; now .*methods POST/,
        );
        flags(
          'authz-widened',
          deny(),
          {
            ...deny(),
            metadata: { name: 'ratings', namespace: 'shop', annotations: { 'istio.io/dry-run': 'true' } },
          },
          /no longer enforced/,
        );
        const custom = (provider: string, paths: string[]) =>
          policy({
            action: 'CUSTOM',
            provider: { name: provider },
            rules: [{ to: [{ operation: { paths } }] }],
          });
        flags(
          'authz-widened',
          custom('ext-authz', ['/api/*']),
          custom('ext-authz', ['/api/orders']),
          /CUSTOM rule 0 matches fewer requests than it sent to the external authorizer/,
        );
        flags(
          'authz-widened',
          custom('ext-authz', ['/api/*']),
          custom('other', ['/api/*']),
          /external authorizer ext-authz → other/,
        );
      });

      it('tells a new source alternative as added, not as a dropped restriction', () => {
        flags(
          'authz-widened',
          policy({ rules: [{ from: from([SF]) }] }),
          policy({ rules: [{ from: [...from([SF]), { source: { namespaces: ['other'] } }] }] }),
          /rule 0 allows more: source namespaces other added$/,
        );
      });

      it('reads wildcards: narrowing a prefix or a principal is quiet, a DENY on fewer principals is quiet', () => {
        quiet(
          policy({ rules: [{ from: from(['cluster.local/ns/shop/sa/*']) }] }),
          policy({ rules: [{ from: from(['cluster.local/ns/shop/sa/reviews']) }] }),
        );
        quiet(
          policy({ rules: [{ from: from([SF]), to: [{ operation: { paths: ['/ratings/*'] } }] }] }),
          policy({ rules: [{ from: from([SF]), to: [{ operation: { paths: ['/ratings/1'] } }] }] }),
        );
        const jwt = (notRequestPrincipals: string[]) =>
          policy({ action: 'DENY', rules: [{ from: [{ source: { notRequestPrincipals } }] }] });
        quiet(jwt(['*']), jwt(['testing@secure.istio.io/*']));
        flags(
          'authz-widened',
          jwt(['testing@secure.istio.io/*']),
          jwt(['*']),
          /DENY rule 0 matches fewer requests/,
        );
      });
    });

    it('rate-limit-loosened: the local limit enabled for fewer requests, or moved to other workloads', () => {
      const ef = (enabled: number, app = 'storefront') =>
        localLimit(
          {
            ...bucket(100),
            filter_enabled: { default_value: { numerator: enabled, denominator: 'HUNDRED' } },
          },
          app,
        );
      flags('rate-limit-loosened', ef(100), ef(0), /enabled for 100 → 0 % of requests/);
      flags(
        'rate-limit-loosened',
        ef(100),
        ef(100, 'catalog'),
        /applies to workloads app=catalog instead of workloads app=storefront/,
      );
    });
  });

  describe('found by a second review', () => {
    it('route-moved: hosts compared in full, destinations in other namespaces kept apart', () => {
      const vs = (hosts: string[], dest = 'reviews.shop.svc.cluster.local') =>
        obj(NET, 'VirtualService', 'edge', {
          hosts,
          http: [{ name: 'all', route: [{ destination: { host: dest, subset: 'v1' } }] }],
        });
      flags('route-moved', vs(['example.com']), vs(['example.org']), /no longer applies to example.com$/);
      flags(
        'route-moved',
        vs(['reviews.shop.svc.cluster.local']),
        vs(['reviews.data.svc.cluster.local']),
        /hosts reviews → reviews.data: its routing no longer applies to reviews$/,
      );
      flags(
        'route-moved',
        vs(['example.com']),
        vs(['example.com'], 'reviews.evil.svc.cluster.local'),
        /route "all": reviews v1 → reviews.evil v1/,
      );
      quiet(vs(['reviews']), vs(['reviews.shop.svc.cluster.local']));
    });

    it('mtls-weakened: a renamed PeerAuthentication is not a weakening; a new SIMPLE rule to an outside host is fine', () => {
      const pa = (name: string) => obj(SEC, 'PeerAuthentication', name, { mtls: { mode: 'STRICT' } });
      assert.deepEqual(findRisks(diffManifests([pa('default')], [pa('shop-mtls')]), [pa('shop-mtls')]), []);
      const dr = (host: string) =>
        obj(NET, 'DestinationRule', 'out', { host, trafficPolicy: { tls: { mode: 'SIMPLE' } } });
      quiet(undefined, dr('api.stripe.com'));
      flags(
        'mtls-weakened',
        undefined,
        dr('ratings'),
        /new DestinationRule sends trafficPolicy.tls.mode SIMPLE/,
      );
      const ports = (subsets: unknown[]) =>
        obj(NET, 'DestinationRule', 'reviews', {
          host: 'reviews',
          trafficPolicy: { portLevelSettings: [{ port: { number: 9080 }, tls: { mode: 'ISTIO_MUTUAL' } }] },
          subsets,
        });
      const subsets = [
        { name: 'v1', labels: { version: 'v1' }, trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } },
      ];
      const changed = risks(ports(subsets), {
        ...ports(subsets),
        spec: {
          host: 'reviews',
          trafficPolicy: { portLevelSettings: [{ port: { number: 9080 }, tls: { mode: 'DISABLE' } }] },
          subsets,
        },
      });
      assert.deepEqual(changed, [
        'mtls-weakened: trafficPolicy.portLevelSettings[9080].tls.mode ISTIO_MUTUAL → DISABLE for reviews',
      ]);
      const drHost = (host: string) =>
        obj(NET, 'DestinationRule', 'reviews', {
          host,
          trafficPolicy: { connectionPool: { tcp: { maxConnections: 1 } } },
        });
      quiet(drHost('reviews'), drHost('reviews.shop.svc.cluster.local'));
    });

    it('authz-widened: an allow-nothing policy turned into another action', () => {
      const p = (spec: Record<string, unknown>) => obj(SEC, 'AuthorizationPolicy', 'allow-nothing', spec);
      flags('authz-widened', p({}), p({ action: 'DENY' }), /allow-nothing policy is now a DENY policy/);
    });

    it('rate-limit-loosened: shares read with their denominator, a removed share is 0 %', () => {
      const ef = (filterEnabled?: unknown) =>
        localLimit({ ...bucket(10), ...(filterEnabled !== undefined && { filter_enabled: filterEnabled }) });
      const share = (numerator: number, denominator: string) => ({
        default_value: { numerator, denominator },
      });
      quiet(ef(share(10000, 'TEN_THOUSAND')), ef(share(100, 'HUNDRED')));
      flags(
        'rate-limit-loosened',
        ef(share(100, 'HUNDRED')),
        ef(share(5000, 'TEN_THOUSAND')),
        /enabled for 100 → 50 %/,
      );
      flags(
        'rate-limit-loosened',
        ef(share(100, 'HUNDRED')),
        ef(),
        /enabled for 100 → 0 % of requests \(filter_enabled removed\)/,
      );
    });
  });

  it('fault-injected: a fault added, or applied to more requests; not one reduced', () => {
    const vs = (fault?: unknown) =>
      obj(NET, 'VirtualService', 'ratings', {
        hosts: ['ratings'],
        http: [
          {
            name: 'all',
            ...(fault !== undefined && { fault }),
            route: [{ destination: { host: 'ratings' } }],
          },
        ],
      });
    const abort = (value?: number) => ({
      abort: { httpStatus: 500, ...(value !== undefined && { percentage: { value } }) },
    });
    flags('fault-injected', vs(), vs(abort(100)), /route "all": abort 500 for 100 % of requests$/);
    flags('fault-injected', vs(), vs(abort()), /abort 500 \(no percentage set\)/);
    flags(
      'fault-injected',
      undefined,
      vs({ delay: { fixedDelay: '7s', percentage: { value: 10 } } }),
      /delay 7s for 10 %/,
    );
    flags(
      'fault-injected',
      vs(abort(1)),
      vs(abort(50)),
      /abort 500 for 50 % of requests \(was abort 500 for 1 % of requests\)/,
    );
    quiet(vs(abort(50)), vs(abort(1)));
    quiet(vs(abort(50)), vs());
  });
});

const GW = 'gateway.networking.k8s.io/v1';

describe('ingress, timeouts, retries and egress', () => {
  const server = (name: string, number: number, protocol: string, hosts: string[], tls?: unknown) => ({
    port: { number, name, protocol },
    hosts,
    ...(tls !== undefined && { tls }),
  });
  const istioGateway = (...servers: unknown[]) =>
    obj(NET, 'Gateway', 'edge', { selector: { istio: 'ingressgateway' }, servers });
  const shop = ['shop.example.com'];
  const https = (hosts = shop) =>
    server('https', 443, 'HTTPS', hosts, { mode: 'SIMPLE', credentialName: 'shop-cert' });
  const http = (redirect: boolean, hosts = shop) =>
    server('http', 80, 'HTTP', hosts, redirect ? { httpsRedirect: true } : undefined);
  const listener = (name: string, port: number, protocol: string, hostname?: string) => ({
    name,
    port,
    protocol,
    ...(hostname !== undefined && { hostname }),
  });
  const kubeGateway = (...listeners: unknown[]) =>
    obj(GW, 'Gateway', 'edge', { gatewayClassName: 'istio', listeners });

  it('tls-dropped: an Istio Gateway serving a host over plain HTTP only, or no longer redirecting it to HTTPS', () => {
    assert.deepEqual(risks(istioGateway(http(true), https()), istioGateway(http(false))), [
      'tls-dropped: shop.example.com: port 443 (HTTPS) removed, served over plain HTTP only (port 80 (HTTP))',
    ]);
    assert.deepEqual(risks(istioGateway(http(true), https()), istioGateway(http(false), https())), [
      'tls-dropped: port 80 (HTTP) no longer redirects shop.example.com to HTTPS (tls.httpsRedirect): plain-text requests are served',
    ]);
    // HTTPS moved to another port, the plain-text server dropped, the redirect added: still TLS only.
    quiet(
      istioGateway(http(true), https()),
      istioGateway(http(true), { ...https(), port: { number: 8443, name: 'https-alt', protocol: 'HTTPS' } }),
    );
    quiet(istioGateway(http(true), https()), istioGateway(https()));
    quiet(istioGateway(http(false), https()), istioGateway(http(true), https()));
    // A wildcard HTTPS server still covers the host.
    assert.deepEqual(
      risks(istioGateway(http(true), https()), istioGateway(http(true), https(['*.example.com']))),
      [
        'hosts-widened: port 443 (HTTPS) hosts shop.example.com → *.example.com: it now takes requests for any host that *.example.com matches',
      ],
    );
  });

  it('tls-dropped: a Gateway API HTTPS listener removed, or the redirect route dropped', () => {
    assert.deepEqual(
      risks(
        kubeGateway(
          listener('http-0', 80, 'HTTP', 'shop.example.com'),
          listener('https-0', 443, 'HTTPS', 'shop.example.com'),
        ),
        kubeGateway(listener('http-0', 80, 'HTTP', 'shop.example.com')),
      ),
      [
        'tls-dropped: shop.example.com: listener https-0 (port 443, HTTPS) removed, served over plain HTTP only (listener http-0 (port 80, HTTP))',
      ],
    );
    quiet(
      kubeGateway(
        listener('http-0', 80, 'HTTP', 'shop.example.com'),
        listener('https-0', 443, 'HTTPS', 'shop.example.com'),
      ),
      kubeGateway(listener('https-0', 443, 'HTTPS', 'shop.example.com')),
    );
    const redirect = { type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } };
    const route = (rule: unknown) =>
      obj(GW, 'HTTPRoute', 'edge-https-redirect', {
        parentRefs: [{ name: 'edge', sectionName: 'http-0' }],
        hostnames: shop,
        rules: [rule],
      });
    assert.deepEqual(risks(route({ filters: [redirect] }), undefined), [
      'route-moved: HTTPRoute for shop.example.com removed',
      'tls-dropped: HTTPRoute that redirected shop.example.com to HTTPS removed',
    ]);
    assert.deepEqual(
      risks(route({ filters: [redirect] }), route({ backendRefs: [{ name: 'web', port: 8080 }] })),
      [
        'route-moved: HTTPRoute shop.example.com: route #0: (no route) → web:8080',
        'tls-dropped: rule #0 no longer redirects shop.example.com to HTTPS',
      ],
    );
    quiet(
      route({ filters: [redirect] }),
      route({ filters: [{ ...redirect, requestRedirect: { scheme: 'https' } }] }),
    );
  });

  it('hosts-widened: gateway hosts and listener hostnames replaced by a wildcard that covers them, or "*"', () => {
    assert.deepEqual(risks(istioGateway(https()), istioGateway(https(['*']))), [
      'hosts-widened: port 443 (HTTPS) hosts shop.example.com → *: it now takes requests for every host',
    ]);
    assert.deepEqual(
      risks(istioGateway(https(['shop/shop.example.com'])), istioGateway(https(['*/shop.example.com']))),
      [
        'hosts-widened: port 443 (HTTPS) hosts shop/shop.example.com → */shop.example.com: it now takes requests for any host that */shop.example.com matches',
      ],
    );
    // A new host beside the old one, or a narrower one: not a widening.
    quiet(istioGateway(https()), istioGateway(https(['shop.example.com', 'api.example.com'])));
    quiet(istioGateway(https(['*.example.com'])), istioGateway(https()));
    assert.deepEqual(
      risks(
        kubeGateway(listener('https-0', 443, 'HTTPS', 'shop.example.com')),
        kubeGateway(listener('https-0', 443, 'HTTPS')),
      ),
      [
        'hosts-widened: listener https-0 (port 443, HTTPS) hostname shop.example.com → (any): it now takes requests for every host',
      ],
    );
    assert.deepEqual(
      risks(
        kubeGateway(listener('https-0', 443, 'HTTPS', 'shop.example.com')),
        kubeGateway(listener('https-0', 443, 'HTTPS', '*.example.com')),
      ),
      [
        'hosts-widened: listener https-0 (port 443, HTTPS) hostname shop.example.com → *.example.com: it now takes requests for any host that *.example.com matches',
      ],
    );
  });

  it('hosts-widened: a VirtualService or HTTPRoute bound to a gateway; not one inside the mesh', () => {
    const vs = (hosts: string[], gateways?: string[]) =>
      obj(NET, 'VirtualService', 'edge', {
        hosts,
        ...(gateways && { gateways }),
        http: [{ name: 'all', route: [{ destination: { host: 'web' } }] }],
      });
    assert.deepEqual(risks(vs(shop, ['shop/edge']), vs(['*.example.com'], ['shop/edge'])), [
      'hosts-widened: on gateway shop/edge, hosts shop.example.com → *.example.com: it now takes requests for any host that *.example.com matches',
    ]);
    quiet(
      vs(['reviews.shop.svc.cluster.local']),
      vs(['reviews.shop.svc.cluster.local', '*.shop.svc.cluster.local']),
    );
    const hr = (hostnames: string[] | undefined, parentRefs: unknown[] = [{ name: 'edge' }]) =>
      obj(GW, 'HTTPRoute', 'edge', {
        parentRefs,
        ...(hostnames && { hostnames }),
        rules: [{ backendRefs: [{ name: 'web', port: 8080 }] }],
      });
    assert.deepEqual(risks(hr(shop), hr(undefined)), [
      'hosts-widened: on gateway shop/edge, hostnames shop.example.com → (any): it now takes requests for every host',
    ]);
    // A route for a Service (the mesh, GAMMA) picks no gateway's requests.
    const mesh = [{ group: '', kind: 'Service', name: 'web' }];
    quiet(hr(shop, mesh), hr(undefined, mesh));
  });

  it('timeout-raised: a VirtualService route timeout removed, disabled or raised; not lowered or kept', () => {
    const vs = (timeout?: string) =>
      obj(NET, 'VirtualService', 'ratings', {
        hosts: ['ratings'],
        http: [
          {
            name: 'all',
            ...(timeout !== undefined && { timeout }),
            route: [{ destination: { host: 'ratings' } }],
          },
        ],
      });
    assert.deepEqual(risks(vs('3s'), vs('10s')), ['timeout-raised: route "all": timeout 3s → 10s']);
    assert.deepEqual(risks(vs('3s'), vs()), [
      'timeout-raised: route "all": timeout 3s removed: requests wait without limit',
    ]);
    assert.deepEqual(risks(vs('3s'), vs('0s')), [
      'timeout-raised: route "all": timeout 3s → 0s: requests wait without limit',
    ]);
    // The last value kept quiet and the first one flagged.
    quiet(vs('3s'), vs('3000ms'));
    assert.deepEqual(risks(vs('3s'), vs('3.001s')), ['timeout-raised: route "all": timeout 3s → 3.001s']);
    quiet(vs('3s'), vs('1s'));
    quiet(vs(), vs('3s'));
  });

  it('timeout-raised: an HTTPRoute rule timeouts.request or backendRequest removed or raised', () => {
    const hr = (timeouts?: Record<string, string>) =>
      obj(GW, 'HTTPRoute', 'edge', {
        parentRefs: [{ name: 'edge' }],
        hostnames: ['shop.example.com'],
        rules: [{ ...(timeouts && { timeouts }), backendRefs: [{ name: 'web', port: 8080 }] }],
      });
    assert.deepEqual(risks(hr({ request: '10s', backendRequest: '2s' }), hr({ request: '1m' })), [
      'timeout-raised: rule #0: timeouts.request 10s → 1m',
      "timeout-raised: rule #0: timeouts.backendRequest 2s removed: the implementation's default applies (none for Istio)",
    ]);
    quiet(hr({ request: '90s' }), hr({ request: '1m30s' }));
    assert.deepEqual(risks(hr({ request: '1m30s' }), hr({ request: '1m30s1ms' })), [
      'timeout-raised: rule #0: timeouts.request 1m30s → 1m30s1ms',
    ]);
  });

  it('retries-raised: attempts up, perTryTimeout up or removed, retryOn widened, Istio defaults included', () => {
    const vs = (retries?: Record<string, unknown>) =>
      obj(NET, 'VirtualService', 'ratings', {
        hosts: ['ratings'],
        http: [{ name: 'all', ...(retries && { retries }), route: [{ destination: { host: 'ratings' } }] }],
      });
    assert.deepEqual(risks(vs({ attempts: 3 }), vs({ attempts: 4 })), [
      'retries-raised: route "all": retries.attempts 3 → 4',
    ]);
    quiet(vs({ attempts: 3 }), vs({ attempts: 3, retryOn: '503' }));
    quiet(vs({ attempts: 3 }), vs({ attempts: 1 }));
    assert.deepEqual(risks(vs({ attempts: 0 }), vs()), [
      'retries-raised: route "all": retries.attempts 0 → 2 (Istio\'s default)',
    ]);
    assert.deepEqual(
      risks(vs({ attempts: 2, perTryTimeout: '2s' }), vs({ attempts: 2, perTryTimeout: '5s' })),
      ['retries-raised: route "all": retries.perTryTimeout 2s → 5s'],
    );
    assert.deepEqual(risks(vs({ attempts: 2, perTryTimeout: '2s' }), vs({ attempts: 2 })), [
      'retries-raised: route "all": retries.perTryTimeout 2s removed: each attempt may take the route\'s whole timeout',
    ]);
    quiet(vs({ attempts: 2, perTryTimeout: '2s' }), vs({ attempts: 2, perTryTimeout: '2000ms' }));
    assert.deepEqual(
      risks(vs({ attempts: 2, retryOn: '5xx' }), vs({ attempts: 2, retryOn: '5xx,retriable-4xx' })),
      ['retries-raised: route "all": retries.retryOn 5xx → 5xx,retriable-4xx: also retries on retriable-4xx'],
    );
    assert.deepEqual(
      risks(vs({ attempts: 2, retryOn: 'gateway-error' }), vs({ attempts: 2, retryOn: '5xx' })),
      ['retries-raised: route "all": retries.retryOn gateway-error → 5xx: also retries on 5xx'],
    );
    // Envoy's 5xx takes gateway-error, reset and every 5xx status.
    quiet(vs({ attempts: 2, retryOn: '5xx' }), vs({ attempts: 2, retryOn: 'gateway-error,reset,503' }));
    assert.deepEqual(risks(vs({ attempts: 3, retryOn: '5xx' }), vs()), [
      'retries-raised: route "all": retries.retryOn 5xx → connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes (Istio\'s default): also retries on unavailable, cancelled',
    ]);
  });

  it('egress-widened: a Sidecar egress gaining */*, */host or ns/*, or removed; not a host added', () => {
    const sidecar = (hosts: string[], name = 'reviews') =>
      obj(NET, 'Sidecar', name, {
        workloadSelector: { labels: { app: 'reviews' } },
        egress: [{ hosts }],
      });
    const base = sidecar(['./ratings.shop.svc.cluster.local', 'istio-system/*']);
    assert.deepEqual(risks(base, sidecar(['./ratings.shop.svc.cluster.local', 'istio-system/*', '*/*'])), [
      'egress-widened: egress hosts + */* (was ./ratings.shop.svc.cluster.local, istio-system/*): its proxies now get every service that matches',
    ]);
    assert.deepEqual(risks(base, sidecar(['*/ratings.shop.svc.cluster.local', 'shop/*', 'istio-system/*'])), [
      'egress-widened: egress hosts + */ratings.shop.svc.cluster.local, shop/* (was ./ratings.shop.svc.cluster.local, istio-system/*): its proxies now get every service that matches',
    ]);
    quiet(
      base,
      sidecar(['./ratings.shop.svc.cluster.local', './details.shop.svc.cluster.local', 'istio-system/*']),
    );
    quiet(base, sidecar(['istio-system/*']));
    assert.deepEqual(risks(base, undefined), [
      'egress-widened: Sidecar for workloads app=reviews removed: their proxies get every service of the mesh',
    ]);
    const namespaceDefault = obj(NET, 'Sidecar', 'default', {
      egress: [{ hosts: ['./*', 'istio-system/*'] }],
    });
    assert.deepEqual(
      findRisks(diffManifests([base], [namespaceDefault]), [namespaceDefault]).map(
        (r) => `${r.rule}: ${r.message}`,
      ),
      ['egress-widened: Sidecar for workloads app=reviews removed: Sidecar shop/default applies instead'],
    );
    const renamed = sidecar(['./ratings.shop.svc.cluster.local', 'istio-system/*'], 'reviews-egress');
    assert.deepEqual(findRisks(diffManifests([base], [renamed]), [renamed]), []);
  });
});
