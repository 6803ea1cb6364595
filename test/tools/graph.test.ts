import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { routeLines, toDot, toMermaid, toSvg } from '../../tools/mesh/graph-render.js';
import type { Manifest } from '../../tools/mesh/manifest.js';
import { buildMeshGraph, type GraphEdge } from '../../tools/mesh/mesh-model.js';
import { synthesizeInProcess } from '../../tools/mesh/variants.js';
import { App, Chart } from 'cdk8s';
import {
  DataPlane,
  Duration,
  MtlsMode,
  GatewayApiIngress,
  GlobalRateLimitService,
  MeshNamespace,
  Microservice,
  type MicroserviceProps,
  RateLimitAction,
  RateLimitUnit,
  renderObjects,
  ServicePort,
  StringMatch,
} from '../../constructs/index.js';

const GRAPH = fileURLToPath(new URL('../../tools/graph.js', import.meta.url));

describe('mesh graph of the shop', () => {
  const objects = synthesizeInProcess({ app: 'shop', variant: 'dev' });
  const graph = buildMeshGraph(objects, 'shop env=dev');
  const edge = (from: string, to: string): GraphEdge => {
    const e = graph.edges.find((x) => x.from === from && x.to === to);
    assert.ok(e, `an edge ${from} → ${to} among ${graph.edges.map((x) => `${x.from} → ${x.to}`).join(', ')}`);
    return e;
  };
  const kinds = (e: GraphEdge) => new Set(e.markers.map((m) => m.kind));

  it('has the ingress and every service with its versions', () => {
    assert.deepEqual(graph.nodes.map((n) => n.id).sort(), [
      'ingress:shop/shop',
      'svc:shop/catalog',
      'svc:shop/ratelimit',
      'svc:shop/ratings',
      'svc:shop/redis',
      'svc:shop/reviews',
      'svc:shop/storefront',
    ]);
    const reviews = graph.nodes.find((n) => n.id === 'svc:shop/reviews');
    assert.deepEqual(
      reviews?.versions.map((v) => v.name),
      ['v1', 'v2', 'v3'],
    );
    assert.deepEqual(graph.namespaces[0].notes.slice(0, 3), [
      'sidecar injection',
      'mTLS STRICT',
      'default deny',
    ]);
  });

  it('draws the calls from authorization and Sidecar egress', () => {
    assert.deepEqual(graph.edges.map((e) => `${e.from} → ${e.to}`).sort(), [
      'ingress:shop/shop → svc:shop/storefront',
      'svc:shop/ratelimit → svc:shop/redis',
      'svc:shop/reviews → svc:shop/ratings',
      'svc:shop/storefront → svc:shop/catalog',
      'svc:shop/storefront → svc:shop/ratelimit',
      'svc:shop/storefront → svc:shop/reviews',
    ]);
    assert.deepEqual([...edge('svc:shop/storefront', 'svc:shop/reviews').sources].sort(), [
      'authorization',
      'sidecar',
    ]);
    assert.ok(
      graph.edges.every((e) => !kinds(e).has('warning')),
      'authorization and egress agree',
    );
  });

  it("labels the calls with the callee's routes: matches and weights", () => {
    const weights = ['v1 80%', 'v3 20%'];
    const e = edge('svc:shop/storefront', 'svc:shop/reviews');
    assert.deepEqual(e.routes[0].match, 'end-user=jason');
    assert.deepEqual(e.routes[0].to, [{ version: 'v2' }]);
    assert.deepEqual(
      e.routes[1].to.map((t) => `${t.version} ${t.weight}%`),
      weights,
    );
    assert.match(routeLines(e.routes)[1], new RegExp(`^→ ${weights.join(' · ')} · timeout 3s · retry 2×1s`));
  });

  it('marks timeouts, retries, circuit breakers, rate limits, mTLS, authorization and JWT', () => {
    const reviews = edge('svc:shop/storefront', 'svc:shop/reviews');
    for (const k of ['timeout', 'retries', 'mtls', 'authz'] as const) assert.ok(kinds(reviews).has(k), k);
    assert.ok(reviews.markers.some((m) => m.text === 'allow GET /reviews/*'));
    assert.ok(reviews.markers.some((m) => m.text === 'mTLS STRICT'));
    const ratings = edge('svc:shop/reviews', 'svc:shop/ratings');
    assert.match(
      ratings.markers.find((m) => m.kind === 'circuit-breaker')?.text ?? '',
      /circuit breaker ≤100 conns.*eject after 3×5xx/,
    );
    const ingress = edge('ingress:shop/shop', 'svc:shop/storefront');
    const limits = ingress.markers.filter((m) => m.kind === 'rate-limit').map((m) => m.text);
    assert.equal(limits.length, 2);
    assert.match(limits[0], /^rate limit \d+\/s per pod$/);
    assert.match(limits[1], /^global rate limit \d+\/minute per remote_address$/);
    assert.ok(ingress.markers.some((m) => m.kind === 'jwt' && m.text === 'JWT required on /admin, /admin/*'));
  });

  it('marks fault injection (Bookinfo ratings-test-delay)', () => {
    const g = buildMeshGraph(
      synthesizeInProcess({ app: 'bookinfo', variant: 'ratings-test-delay' }),
      'delay',
    );
    const e = g.edges.find((x) => x.to === 'svc:bookinfo/ratings');
    assert.ok(e?.markers.some((m) => m.kind === 'fault' && m.text === 'fault delay 7s @100%'));
  });

  it('writes DOT, Mermaid and SVG', async () => {
    const dot = toDot(graph);
    assert.match(dot, /^digraph mesh \{/);
    assert.match(dot, /subgraph cluster_0 \{/);
    assert.match(dot, /"svc:shop\/storefront" -> "svc:shop\/reviews" \[label=<.*v1 80% · v3 20%/);
    const mmd = toMermaid(graph);
    assert.match(mmd, /^---\ntitle: shop env=dev\n---\nflowchart TB\n/);
    // The shop's dev chaos (5 % of reviews requests delayed 2 s) is on the route lines.
    assert.match(
      mmd,
      /n\d+ -->\|"end-user=jason → v2 · timeout 3s · fault delay 2s @5%<br\/>→ v1 80% · v3 20%.*"\| n\d+/,
    );
    const svg = await toSvg(graph);
    assert.ok(svg.startsWith('<svg'), svg.slice(0, 100));
    for (const name of ['storefront', 'catalog', 'reviews', 'ratings', 'ingress shop'])
      assert.ok(svg.includes(`>${name}<`), name);
  });

  it('npm run graph writes the file its extension asks for', () => {
    const dir = mkdtempSync(join(tmpdir(), 'graph-'));
    const out = join(dir, 'shop.mmd');
    const r = spawnSync(
      process.execPath,
      [GRAPH, '--app', 'bookinfo', '--scenario', 'reviews-90-10', '--out', out],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /wrote .*shop\.mmd \(\d+ nodes, \d+ edges\)/);
    assert.match(readFileSync(out, 'utf8'), /→ v1 90% · v2 10%|→ v1 90% · v3 10%/);
    const bad = spawnSync(process.execPath, [GRAPH, '--app', 'shop', '--out', join(dir, 'x.png')], {
      encoding: 'utf8',
    });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /use a \.svg, \.mmd or \.dot file/);
  });
});

describe('mesh graph: found by review', () => {
  // front and other call back; back has header routes, a route for front's pods only, a catch-all,
  // a circuit breaker on gateway errors, and (added by hand) a PERMISSIVE policy for its v2 pods.
  const app = new App();
  const chart = new Chart(app, 'c');
  const ns = new MeshNamespace(chart, 'ns', { name: 'shop' });
  const service = (name: string, extra: Partial<MicroserviceProps<'v1' | 'v2'>> = {}) =>
    new Microservice(chart, name, {
      namespace: ns,
      image: `${name}:1`,
      ports: [ServicePort.http(8080)],
      versions: { v1: {}, v2: {} },
      ...extra,
    });
  const back = service('back', {
    trafficPolicy: { outlierDetection: { consecutive5xxErrors: 0, consecutiveGatewayErrors: 4 } },
  });
  const front = service('front');
  const other = service('other');
  front.calls(back);
  other.calls(back);
  back
    .addRoute({ match: [{ headers: { x: StringMatch.exact('1') } }], to: back.version('v1') })
    .addRoute({ match: [{ sourceLabels: { app: 'front' } }], to: back.version('v2') })
    .addRoute({ match: [{ headers: { y: StringMatch.exact('1') } }], to: back.version('v2') })
    .addRoute({ to: back.version('v1') });
  const permissiveV2: Manifest = {
    apiVersion: 'security.istio.io/v1',
    kind: 'PeerAuthentication',
    metadata: { name: 'back-v2', namespace: 'shop' },
    spec: { selector: { matchLabels: { app: 'back', version: 'v2' } }, mtls: { mode: 'PERMISSIVE' } },
  };
  const graph = buildMeshGraph([...renderObjects(app), permissiveV2], 'review');
  const edge = (from: string, to: string) => graph.edges.find((e) => e.from === from && e.to === to)!;

  it('keeps route order and the catch-all; draws a sourceLabels route on its callers only', () => {
    assert.deepEqual(routeLines(edge('svc:shop/front', 'svc:shop/back').routes), [
      'x=1 → v1',
      'from app=front, y=1 → v2',
      '→ v1',
    ]);
    assert.deepEqual(routeLines(edge('svc:shop/other', 'svc:shop/back').routes), [
      'x=1 → v1',
      'y=1 → v2',
      '→ v1',
    ]);
  });

  it('marks mTLS per version and the circuit breaker by what it counts', () => {
    const texts = edge('svc:shop/front', 'svc:shop/back').markers.map((m) => m.text);
    assert.ok(texts.includes('mTLS v1 STRICT; v2 PERMISSIVE'), texts.join(' | '));
    assert.ok(
      texts.some((t) => /eject after 4× gateway errors for 30s/.test(t)),
      texts.join(' | '),
    );
    assert.ok(!texts.some((t) => /0×5xx/.test(t)), texts.join(' | '));
  });

  it('shows a service only the global limits its actions reach', () => {
    const app2 = new App();
    const c = new Chart(app2, 'c');
    const space = new MeshNamespace(c, 'ns', { name: 'shop' });
    const svc = (name: string) =>
      new Microservice(c, name, {
        namespace: space,
        image: `${name}:1`,
        ports: [ServicePort.http(8080)],
        versions: { v1: {} },
      });
    const front = svc('front');
    const api = svc('api');
    const limits = new GlobalRateLimitService(c, 'ratelimit', {
      namespace: space,
      domain: 'edge',
      descriptors: [
        { key: 'generic_key', value: 'front', limit: { requestsPerUnit: 10, unit: RateLimitUnit.SECOND } },
        { key: 'generic_key', value: 'api', limit: { requestsPerUnit: 1000, unit: RateLimitUnit.SECOND } },
      ],
    });
    limits.apply(front, { actions: [RateLimitAction.genericKey('front')] });
    limits.apply(api, { actions: [RateLimitAction.genericKey('api')] });
    front.calls(api);
    const g = buildMeshGraph(renderObjects(app2), 'limits');
    const texts = g.edges
      .find((e) => e.from === 'svc:shop/front' && e.to === 'svc:shop/api')!
      .markers.map((m) => m.text);
    assert.ok(texts.includes('global rate limit 1000/second per generic_key=api'), texts.join(' | '));
    assert.ok(!texts.some((t) => t.includes('generic_key=front')), texts.join(' | '));
  });

  it('admits callers that share an identity only where they otherwise reach the callee', () => {
    const app3 = new App();
    const c = new Chart(app3, 'c');
    const space = new MeshNamespace(c, 'ns', { name: 'shop' });
    const svc = (name: string, serviceAccountName?: string) =>
      new Microservice(c, name, {
        namespace: space,
        image: `${name}:1`,
        ports: [ServicePort.http(8080)],
        versions: { v1: {} },
        ...(serviceAccountName && { serviceAccountName }),
      });
    // c and d run as one service account; only c calls e.
    const callerC = svc('c', 'shared');
    svc('d', 'shared');
    const e = svc('e');
    callerC.calls(e);
    const g = buildMeshGraph(renderObjects(app3), 'shared');
    const into = g.edges.filter((x) => x.to === 'svc:shop/e').map((x) => x.from);
    assert.deepEqual(into, ['svc:shop/c']);
    const edgeCE = g.edges.find((x) => x.from === 'svc:shop/c' && x.to === 'svc:shop/e')!;
    assert.ok(!edgeCE.markers.some((m) => m.kind === 'warning'), JSON.stringify(edgeCE.markers));
  });

  it('shows per-path local limits with their buckets', () => {
    const app4 = new App();
    const c = new Chart(app4, 'c');
    const space = new MeshNamespace(c, 'ns', { name: 'shop' });
    const svc = (name: string, extra: Partial<MicroserviceProps<'v1'>> = {}) =>
      new Microservice(c, name, {
        namespace: space,
        image: `${name}:1`,
        ports: [ServicePort.http(8080)],
        versions: { v1: {} },
        ...extra,
      });
    const api = svc('api', {
      localRateLimit: {
        bucket: { maxTokens: 100, fillInterval: Duration.seconds(1) },
        paths: [{ prefix: '/api/search', bucket: { maxTokens: 10, fillInterval: Duration.seconds(1) } }],
      },
    });
    svc('web').calls(api);
    const g = buildMeshGraph(renderObjects(app4), 'paths');
    const texts = g.edges.find((x) => x.to === 'svc:shop/api')!.markers.map((m) => m.text);
    assert.ok(texts.includes('rate limit 100/s per pod'), texts.join(' | '));
    assert.ok(texts.includes('rate limit /api/search* 10/s per pod'), texts.join(' | '));
    assert.ok(!texts.includes('per-route rate limits'), texts.join(' | '));
  });

  it('shows the HTTPS redirect of a Gateway API listener', () => {
    const app5 = new App();
    const c = new Chart(app5, 'c');
    const space = new MeshNamespace(c, 'ns', { name: 'shop' });
    const web = new Microservice(c, 'web', {
      namespace: space,
      image: 'web:1',
      ports: [ServicePort.http(8080)],
      versions: { v1: {} },
    });
    new GatewayApiIngress(c, 'edge', {
      namespace: space,
      hosts: ['shop.example.com'],
      tls: { credentialName: 'shop-cert' },
    }).addRoute({ to: web });
    const g = buildMeshGraph(renderObjects(app5), 'redirect');
    assert.deepEqual(g.nodes.find((n) => n.kind === 'ingress')?.details, [
      'shop.example.com :80 HTTP → HTTPS',
      'shop.example.com :443 HTTPS TLS shop-cert',
    ]);
  });

  it('draws a call that only an AuthorizationPolicy implies (ambient mode has no Sidecars)', () => {
    for (const dataPlane of [DataPlane.ambient(), DataPlane.ambient({ waypoint: true })]) {
      const app6 = new App();
      const c = new Chart(app6, 'c');
      const space = new MeshNamespace(c, 'ns', { name: 'shop', dataPlane });
      const svc = (name: string) =>
        new Microservice(c, name, {
          namespace: space,
          image: `${name}:1`,
          ports: [ServicePort.http(8080)],
          versions: { v1: {} },
        });
      svc('front').calls(svc('back'));
      const g = buildMeshGraph(renderObjects(app6), 'ambient');
      assert.deepEqual(
        g.edges.map((e) => ({ from: e.from, to: e.to, sources: e.sources })),
        [{ from: 'svc:shop/front', to: 'svc:shop/back', sources: ['authorization'] }],
      );
      assert.deepEqual(
        g.edges[0].markers.map((m) => `${m.kind}: ${m.text}`),
        ['authz: allow any request', 'mtls: mTLS STRICT'],
      );
    }
  });

  it("draws a call a hand-written policy admits but the caller's Sidecar leaves out, and warns", () => {
    const app7 = new App();
    const c = new Chart(app7, 'c');
    const space = new MeshNamespace(c, 'ns', { name: 'shop' });
    const svc = (name: string) =>
      new Microservice(c, name, {
        namespace: space,
        image: `${name}:1`,
        ports: [ServicePort.http(8080)],
        versions: { v1: {} },
      });
    svc('front');
    svc('back');
    const allowFront: Manifest = {
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'back-allow-front', namespace: 'shop' },
      spec: {
        selector: { matchLabels: { app: 'back' } },
        action: 'ALLOW',
        rules: [
          {
            from: [{ source: { principals: ['cluster.local/ns/shop/sa/front'] } }],
            to: [{ operation: { methods: ['GET'] } }],
          },
        ],
      },
    };
    const g = buildMeshGraph([...renderObjects(app7), allowFront], 'hand-written');
    assert.deepEqual(
      g.edges.map((e) => ({ from: e.from, to: e.to, sources: e.sources })),
      [{ from: 'svc:shop/front', to: 'svc:shop/back', sources: ['authorization'] }],
    );
    assert.deepEqual(
      g.edges[0].markers.map((m) => `${m.kind}: ${m.text}`),
      ['authz: allow GET', 'mtls: mTLS STRICT', "warning: not in the caller's Sidecar egress"],
    );
  });

  it('notes each data plane and mTLS mode, and the client TLS a DestinationRule sets', () => {
    const cases: [DataPlane, MtlsMode, string[], string][] = [
      [
        DataPlane.sidecar(),
        MtlsMode.STRICT,
        ['sidecar injection', 'mTLS STRICT', 'default deny'],
        'mTLS STRICT',
      ],
      [
        DataPlane.revision('1-30-3'),
        MtlsMode.PERMISSIVE,
        ['sidecars of revision 1-30-3', 'mTLS PERMISSIVE', 'default deny'],
        'mTLS PERMISSIVE',
      ],
      [
        DataPlane.sidecar(),
        MtlsMode.DISABLE,
        ['sidecar injection', 'mTLS DISABLE', 'default deny'],
        'mTLS DISABLE, client TLS DISABLE',
      ],
      [
        DataPlane.ambient(),
        MtlsMode.PERMISSIVE,
        ['ambient', 'mTLS PERMISSIVE', 'default deny'],
        'mTLS PERMISSIVE',
      ],
      [
        DataPlane.ambient({ waypoint: true }),
        MtlsMode.STRICT,
        ['ambient', 'waypoint waypoint', 'mTLS STRICT', 'default deny'],
        'mTLS STRICT',
      ],
    ];
    for (const [dataPlane, mtls, notes, marker] of cases) {
      const app8 = new App();
      const c = new Chart(app8, 'c');
      const space = new MeshNamespace(c, 'ns', { name: 'shop', dataPlane, mtls });
      const svc = (name: string) =>
        new Microservice(c, name, {
          namespace: space,
          image: `${name}:1`,
          ports: [ServicePort.http(8080)],
          versions: { v1: {} },
        });
      const front = svc('front');
      const back = svc('back');
      // Without mTLS there is no identity to allow, so the call is only the Sidecar's egress.
      if (mtls === MtlsMode.DISABLE) front.addEgressHost('shop', back.host);
      else front.calls(back);
      const g = buildMeshGraph(renderObjects(app8), 'modes');
      const what = `${dataPlane.mode} ${mtls}`;
      assert.deepEqual(g.namespaces, [{ name: 'shop', notes }], what);
      const mtlsMarkers = g.edges.flatMap((e) =>
        e.markers.filter((m) => m.kind === 'mtls').map((m) => m.text),
      );
      assert.deepEqual(mtlsMarkers, [marker], what);
    }
  });
});

describe('mesh graph of payments: a StatefulSet, a Job and a service outside the mesh', () => {
  const graphOf = (variant: 'dev' | 'prod') =>
    buildMeshGraph(synthesizeInProcess({ app: 'payments', variant }), `payments env=${variant}`);
  const prod = graphOf('prod');
  const edge = (from: string, to: string): GraphEdge => {
    const e = prod.edges.find((x) => x.from === from && x.to === to);
    assert.ok(e, `an edge ${from} → ${to} among ${prod.edges.map((x) => `${x.from} → ${x.to}`).join(', ')}`);
    return e;
  };

  it('draws the ledger once (its headless Service names the same pods) and the migration Job as a caller', () => {
    const ids = prod.nodes.map((n) => n.id);
    const job = ids.find((id) => id === 'svc:payments/ledger-migrate');
    assert.ok(job, ids.join(', '));
    assert.deepEqual(ids.filter((id) => id !== job).sort(), [
      'egress:payments/payments-provider',
      'ingress:payments/payments',
      'svc:payments-notify/notifier',
      'svc:payments/api',
      'svc:payments/ledger',
    ]);
    assert.deepEqual(
      prod.nodes.find((n) => n.id === job)?.versions.map((v) => v.name),
      ['job'],
    );
    assert.deepEqual(edge(job, 'svc:payments/ledger').sources.sort(), ['authorization', 'sidecar']);
    assert.ok(!prod.edges.some((e) => e.from === 'ext:cluster.local/ns/payments/sa/ledger-migrate'));
  });

  it('draws the provider as external, reached by the api only, through the egress gateway in prod (which is no ingress)', () => {
    const provider = prod.nodes.find((n) => n.id === 'egress:payments/payments-provider');
    assert.deepEqual(provider?.details, [
      ':443 HTTPS',
      'via egress gateway istio-system/payments-payments-provider',
    ]);
    const call = edge('svc:payments/api', 'egress:payments/payments-provider');
    assert.deepEqual(call.sources.sort(), ['authorization', 'sidecar']);
    assert.ok(call.markers.some((m) => m.text === 'allow any request at the egress gateway'));
    assert.deepEqual(
      prod.edges.filter((e) => e.to === 'egress:payments/payments-provider').map((e) => e.from),
      ['svc:payments/api'],
    );
    assert.ok(!prod.nodes.some((n) => n.id === 'ingress:istio-system/payments-payments-provider'));
    // In dev the sidecar calls it straight: nothing authorizes it on the way out.
    const dev = graphOf('dev');
    assert.deepEqual(dev.nodes.find((n) => n.id === 'egress:payments/payments-provider')?.details, [
      ':443 HTTPS',
    ]);
    assert.deepEqual(dev.edges.find((e) => e.to === 'egress:payments/payments-provider')?.sources, [
      'sidecar',
    ]);
  });
});
