/**
 * The mesh as the synthesized objects describe it, for drawing: the ingress (Istio Gateway and the
 * VirtualService bound to it, or a Gateway API Gateway and its HTTPRoutes), each service with its
 * versions (Deployments by their app and version labels), and who calls whom, read from the
 * AuthorizationPolicies (principal → service account → workloads) and the Sidecars' egress hosts.
 * Each edge carries what applies to the calls along it: the callee's routes (matches, weights,
 * timeouts, retries, faults, mirroring), its circuit breaker (DestinationRule), rate limits
 * (EnvoyFilters and the rate limit service's configuration), mTLS (PeerAuthentication) and the
 * authorization that admits the caller.
 */
import {
  arr,
  durationMs,
  get,
  GATEWAY_API,
  hostNamespace,
  is,
  isRecord,
  ISTIO_NETWORKING,
  ISTIO_SECURITY,
  type Manifest,
  num,
  rec,
  shortHost,
  str,
  strings,
} from './manifest.js';
import { rateLimitConfigs } from './ratelimit-config.js';

export type MarkerKind =
  | 'timeout'
  | 'retries'
  | 'fault'
  | 'mirror'
  | 'circuit-breaker'
  | 'rate-limit'
  | 'mtls'
  | 'authz'
  | 'jwt'
  | 'warning';

export interface Marker {
  readonly kind: MarkerKind;
  readonly text: string;
}

export interface VersionInfo {
  readonly name: string;
  /** "1", or "3–12" with autoscaling. */
  readonly replicas: string;
  readonly image?: string;
}

export interface GraphNode {
  /** "svc:shop/reviews", "ingress:shop/shop", "ext:<principal>" */
  readonly id: string;
  readonly kind: 'ingress' | 'service' | 'external';
  readonly name: string;
  readonly namespace?: string;
  /** Ports of a service; hosts and listeners of an ingress. */
  readonly details: string[];
  readonly versions: VersionInfo[];
}

export interface RouteTarget {
  /** The service routed to, when it is not the edge's callee. */
  readonly service?: string;
  readonly version?: string;
  /** Percent of the route's traffic; absent for a single destination. */
  readonly weight?: number;
}

export interface RouteInfo {
  readonly name?: string;
  /** "end-user=jason", "/reviews*", "" for a catch-all. */
  readonly match: string;
  /**
   * The callers a route is for, when every alternative of its match names them (sourceLabels);
   * undefined when it applies to any caller.
   */
  readonly sourceLabels?: readonly Labels[];
  readonly to: RouteTarget[];
  readonly timeout?: string;
  readonly retries?: string;
  readonly fault?: string;
  readonly mirror?: string;
}

export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  /** What the edge was found from. */
  readonly sources: ('authorization' | 'sidecar' | 'ingress')[];
  readonly routes: RouteInfo[];
  readonly markers: Marker[];
}

export interface NamespaceInfo {
  readonly name: string;
  /** "sidecar injection", "mTLS STRICT", "default deny", "tracing 100 %", ... */
  readonly notes: string[];
}

export interface MeshGraph {
  readonly title: string;
  readonly namespaces: NamespaceInfo[];
  readonly nodes: GraphNode[];
  readonly edges: GraphEdge[];
}

type Labels = Record<string, string>;

interface Workload {
  readonly name: string;
  readonly namespace: string;
  readonly podLabels: Labels;
  readonly serviceAccount: string;
  readonly version: VersionInfo;
  node?: string;
}

function labelsOf(v: unknown): Labels {
  const out: Labels = {};
  for (const [k, x] of Object.entries(rec(v))) if (typeof x === 'string') out[k] = x;
  return out;
}

function matches(selector: Labels, labels: Labels): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

function ns(m: Manifest): string {
  return m.metadata.namespace ?? 'default';
}

function formatDuration(v: unknown): string {
  if (typeof v !== 'string') return String(v);
  const ms = durationMs(v);
  if (ms === undefined) return v;
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Builds the graph of one synthesized app variant. */
export function buildMeshGraph(objects: readonly Manifest[], title: string): MeshGraph {
  const of = (group: string, kind: string) => objects.filter((m) => is(m, group, kind));
  const nodes = new Map<string, GraphNode>();
  const addNode = (n: GraphNode) => {
    if (!nodes.has(n.id)) nodes.set(n.id, n);
    return n.id;
  };

  // Workloads and their autoscaling.
  const hpas = new Map<string, string>();
  for (const h of objects.filter((m) => m.kind === 'HorizontalPodAutoscaler')) {
    const target = str(get(h, 'spec', 'scaleTargetRef', 'name'));
    if (target)
      hpas.set(
        `${ns(h)}/${target}`,
        `${String(get(h, 'spec', 'minReplicas') ?? 1)}–${String(get(h, 'spec', 'maxReplicas'))}`,
      );
  }
  const workloads: Workload[] = [];
  const workloadObjects = objects.filter(
    (m) =>
      ['Deployment', 'StatefulSet'].some((k) => is(m, 'apps', k)) ||
      ['Job', 'CronJob'].some((k) => is(m, 'batch', k)),
  );
  for (const d of workloadObjects) {
    // A CronJob's pods are its job template's.
    const template =
      d.kind === 'CronJob' ? get(d, 'spec', 'jobTemplate', 'spec', 'template') : get(d, 'spec', 'template');
    const podLabels = labelsOf(get(template, 'metadata', 'labels'));
    const image = str(get(template, 'spec', 'containers', 0, 'image'));
    const schedule = str(get(d, 'spec', 'schedule'));
    const batch = d.kind === 'Job' ? 'job' : schedule !== undefined ? `cron ${schedule}` : undefined;
    workloads.push({
      name: d.metadata.name,
      namespace: ns(d),
      podLabels,
      serviceAccount: str(get(template, 'spec', 'serviceAccountName')) ?? 'default',
      version: {
        name: podLabels.version ?? batch ?? d.metadata.name,
        replicas: hpas.get(`${ns(d)}/${d.metadata.name}`) ?? String(num(get(d, 'spec', 'replicas')) ?? 1),
        image: image?.split('/').pop(),
      },
    });
  }

  // Services: one node per Service that is not a per-version alias of another.
  const hostToNode = new Map<string, string>();
  const versionServices = new Map<string, { node: string; version: string }>();
  const services = of('', 'Service');
  const isVersionAlias = (s: Manifest) => labelsOf(get(s, 'spec', 'selector')).version !== undefined;
  const isHeadless = (s: Manifest) => get(s, 'spec', 'clusterIP') === 'None';
  // Headless Services last: a StatefulSet's (`<name>-headless`) names the pods of its service's node.
  const primary = services.filter((x) => !isVersionAlias(x));
  for (const s of [...primary.filter((x) => !isHeadless(x)), ...primary.filter(isHeadless)]) {
    const selector = labelsOf(get(s, 'spec', 'selector'));
    const mine = workloads.filter((w) => w.namespace === ns(s) && matches(selector, w.podLabels));
    const owner = mine[0]?.node;
    if (isHeadless(s) && owner !== undefined && mine.every((w) => w.node === owner)) {
      for (const h of hostsOf(s.metadata.name, ns(s))) hostToNode.set(h, owner);
      continue;
    }
    const id = addNode({
      id: `svc:${ns(s)}/${s.metadata.name}`,
      kind: 'service',
      name: s.metadata.name,
      namespace: ns(s),
      details: arr(get(s, 'spec', 'ports')).map((p) =>
        `:${String(get(p, 'port'))} ${str(get(p, 'appProtocol')) ?? str(get(p, 'name')) ?? ''}`.trim(),
      ),
      versions: mine.map((w) => w.version).sort((a, b) => a.name.localeCompare(b.name)),
    });
    for (const w of mine) w.node ??= id;
    for (const h of hostsOf(s.metadata.name, ns(s))) hostToNode.set(h, id);
  }
  for (const s of services.filter(isVersionAlias)) {
    const selector = labelsOf(get(s, 'spec', 'selector'));
    const w = workloads.find((x) => x.namespace === ns(s) && matches(selector, x.podLabels) && x.node);
    if (w?.node)
      versionServices.set(`${ns(s)}/${s.metadata.name}`, { node: w.node, version: selector.version });
  }
  // Workloads no Service selects still appear, as services of their own.
  for (const w of workloads.filter((x) => !x.node)) {
    const app = w.podLabels.app ?? w.name;
    w.node = addNode({
      id: `svc:${w.namespace}/${app}`,
      kind: 'service',
      name: app,
      namespace: w.namespace,
      details: [],
      versions: [],
    });
    nodes.get(w.node)?.versions.push(w.version);
  }
  // Hosts outside the mesh (ServiceEntries, MESH_EXTERNAL by default), one node each, which the
  // Sidecars' egress hosts below connect their callers to.
  const externalHosts = new Set<string>();
  for (const se of of(ISTIO_NETWORKING, 'ServiceEntry')) {
    if ((str(get(se, 'spec', 'location')) ?? 'MESH_EXTERNAL') !== 'MESH_EXTERNAL') continue;
    const hosts = strings(get(se, 'spec', 'hosts'));
    const ports = arr(get(se, 'spec', 'ports')).map((p) =>
      `:${String(get(p, 'number'))} ${str(get(p, 'protocol')) ?? ''}`.trim(),
    );
    const id = addNode({
      id: `egress:${ns(se)}/${se.metadata.name}`,
      kind: 'external',
      name: hosts.join(', '),
      details: [ports.join('  '), ...egressVia(objects, hosts)].filter(Boolean),
      versions: [],
    });
    for (const h of hosts) {
      hostToNode.set(h, id);
      externalHosts.add(h);
    }
  }
  const nodeOfHost = (host: string, from: string): string | undefined =>
    hostToNode.get(host) ?? hostToNode.get(`${shortHost(host)}.${hostNamespace(host, from)}`);
  const nodesSelectedBy = (namespace: string, selector: Labels): string[] => [
    ...new Set(
      workloads
        .filter((w) => w.namespace === namespace && matches(selector, w.podLabels))
        .flatMap((w) => (w.node ? [w.node] : [])),
    ),
  ];
  const nodesIn = (namespace: string) =>
    [...nodes.values()].filter((n) => n.namespace === namespace && n.kind === 'service').map((n) => n.id);

  // Ingress gateways, and the identity their pods run as.
  // An identity may be shared: several services on one service account, several gateways on one.
  const principals = new Map<string, string[]>();
  const claim = (principal: string, node: string) => {
    const list = principals.get(principal) ?? [];
    if (!list.includes(node)) list.push(node);
    principals.set(principal, list);
  };
  for (const w of workloads) if (w.node) claim(`ns/${w.namespace}/sa/${w.serviceAccount}`, w.node);
  const waypoints = new Set<string>();
  const edges = new Map<string, GraphEdge>();
  const edge = (from: string, to: string, source: GraphEdge['sources'][number]): GraphEdge => {
    const key = `${from}->${to}`;
    let e = edges.get(key);
    if (!e) {
      e = { from, to, sources: [], routes: [], markers: [] };
      edges.set(key, e);
    }
    if (!e.sources.includes(source)) e.sources.push(source);
    return e;
  };

  for (const g of of(ISTIO_NETWORKING, 'Gateway')) {
    // A Gateway that only takes Istio mTLS serves the mesh's own proxies, not clients from outside:
    // an egress gateway, drawn as the way to its external service instead.
    const servers = arr(get(g, 'spec', 'servers'));
    if (servers.length > 0 && servers.every((s) => str(get(s, 'tls', 'mode')) === 'ISTIO_MUTUAL')) continue;
    const id = addNode({
      id: `ingress:${ns(g)}/${g.metadata.name}`,
      kind: 'ingress',
      name: g.metadata.name,
      namespace: ns(g),
      details: arr(get(g, 'spec', 'servers')).map((s) => {
        const tls = get(s, 'tls');
        const how =
          get(tls, 'httpsRedirect') === true
            ? ' → HTTPS'
            : str(get(tls, 'credentialName'))
              ? ` TLS ${str(get(tls, 'credentialName'))}`
              : '';
        return `${strings(get(s, 'hosts')).join(', ')} :${String(get(s, 'port', 'number'))} ${str(get(s, 'port', 'protocol')) ?? ''}${how}`;
      }),
      versions: [],
    });
    const istio = labelsOf(get(g, 'spec', 'selector')).istio;
    if (istio) claim(`sa/istio-${istio}`, id);
    for (const vs of of(ISTIO_NETWORKING, 'VirtualService')) {
      const bound = strings(get(vs, 'spec', 'gateways')).some(
        (ref) => ref === `${ns(g)}/${g.metadata.name}` || (ref === g.metadata.name && ns(vs) === ns(g)),
      );
      if (!bound) continue;
      for (const r of arr(get(vs, 'spec', 'http'))) addRoute(r, ns(vs), id, 'ingress');
    }
  }
  /** Whether an HTTPRoute on this listener of the Gateway redirects every request to HTTPS. */
  const redirectsToHttps = (g: Manifest, listener: string): boolean =>
    of(GATEWAY_API, 'HTTPRoute').some(
      (hr) =>
        arr(get(hr, 'spec', 'parentRefs')).some(
          (p) =>
            str(get(p, 'name')) === g.metadata.name &&
            (str(get(p, 'namespace')) ?? ns(hr)) === ns(g) &&
            str(get(p, 'sectionName')) === listener,
        ) &&
        arr(get(hr, 'spec', 'rules')).some((r) =>
          arr(get(r, 'filters')).some(
            (f) =>
              str(get(f, 'type')) === 'RequestRedirect' &&
              str(get(f, 'requestRedirect', 'scheme')) === 'https',
          ),
        ),
    );
  for (const g of of(GATEWAY_API, 'Gateway')) {
    if (str(get(g, 'spec', 'gatewayClassName')) === 'istio-waypoint') {
      waypoints.add(`${ns(g)}/${g.metadata.name}`);
      claim(`ns/${ns(g)}/sa/${g.metadata.name}`, 'waypoint');
      continue;
    }
    const id = addNode({
      id: `ingress:${ns(g)}/${g.metadata.name}`,
      kind: 'ingress',
      name: g.metadata.name,
      namespace: ns(g),
      details: arr(get(g, 'spec', 'listeners')).map((l) => {
        const cert = str(get(l, 'tls', 'certificateRefs', 0, 'name'));
        const how = redirectsToHttps(g, str(get(l, 'name')) ?? '') ? ' → HTTPS' : cert ? ` TLS ${cert}` : '';
        return `${str(get(l, 'hostname')) ?? '*'} :${String(get(l, 'port'))} ${str(get(l, 'protocol')) ?? ''}${how}`;
      }),
      versions: [],
    });
    claim(`ns/${ns(g)}/sa/${g.metadata.name}-istio`, id);
    for (const hr of of(GATEWAY_API, 'HTTPRoute')) {
      const parents = arr(get(hr, 'spec', 'parentRefs'));
      const bound = parents.some(
        (p) =>
          (str(get(p, 'kind')) ?? 'Gateway') === 'Gateway' &&
          str(get(p, 'name')) === g.metadata.name &&
          (str(get(p, 'namespace')) ?? ns(hr)) === ns(g),
      );
      if (bound) for (const r of arr(get(hr, 'spec', 'rules'))) addHttpRouteRule(r, ns(hr), id);
    }
  }

  function target(
    host: string,
    from: string,
    subset: string | undefined,
    callee: string,
    weight?: number,
  ): { node?: string; t: RouteTarget } {
    const node = nodeOfHost(host, from);
    return {
      node,
      t: {
        ...(node === callee ? {} : { service: shortHost(host) }),
        ...(subset ? { version: subset } : {}),
        ...(weight !== undefined ? { weight } : {}),
      },
    };
  }

  /** An Istio http route: from the ingress to each service it routes to, or on the edges into a callee. */
  function describeVsRoute(r: unknown, from: string, callee: string): RouteInfo {
    const dests = arr(get(r, 'route'));
    const to = dests.map(
      (d) =>
        target(
          str(get(d, 'destination', 'host')) ?? '',
          from,
          str(get(d, 'destination', 'subset')),
          callee,
          dests.length > 1 ? (num(get(d, 'weight')) ?? 0) : undefined,
        ).t,
    );
    const retries = get(r, 'retries');
    const fault = get(r, 'fault');
    const faults: string[] = [];
    if (isRecord(get(fault, 'delay'))) {
      faults.push(
        `delay ${formatDuration(get(fault, 'delay', 'fixedDelay'))} @${String(get(fault, 'delay', 'percentage', 'value') ?? 100)}%`,
      );
    }
    if (isRecord(get(fault, 'abort'))) {
      faults.push(
        `abort ${String(get(fault, 'abort', 'httpStatus') ?? get(fault, 'abort', 'grpcStatus'))} @${String(get(fault, 'abort', 'percentage', 'value') ?? 100)}%`,
      );
    }
    const mirror = get(r, 'mirror');
    const alternatives = arr(get(r, 'match'));
    const bySource = alternatives.length > 0 && alternatives.every((m) => isRecord(get(m, 'sourceLabels')));
    return {
      name: str(get(r, 'name')),
      match: describeMatches(alternatives),
      sourceLabels: bySource ? alternatives.map((m) => labelsOf(get(m, 'sourceLabels'))) : undefined,
      to,
      timeout: get(r, 'timeout') !== undefined ? formatDuration(get(r, 'timeout')) : undefined,
      retries: isRecord(retries)
        ? num(retries.attempts) === 0
          ? 'no retries'
          : `retry ${String(retries.attempts ?? 2)}×${retries.perTryTimeout !== undefined ? formatDuration(retries.perTryTimeout) : ''}`.replace(
              /×$/,
              '',
            )
        : undefined,
      fault: faults.length ? faults.join(', ') : undefined,
      mirror: isRecord(mirror)
        ? `mirror ${str(mirror.subset) ?? shortHost(str(mirror.host) ?? '')} ${String(get(r, 'mirrorPercentage', 'value') ?? 100)}%`
        : undefined,
    };
  }

  function addRoute(r: unknown, from: string, ingress: string, source: 'ingress'): void {
    const byNode = new Map<string, true>();
    for (const d of arr(get(r, 'route'))) {
      const node = nodeOfHost(str(get(d, 'destination', 'host')) ?? '', from);
      if (node) byNode.set(node, true);
    }
    for (const node of byNode.keys()) edge(ingress, node, source).routes.push(describeVsRoute(r, from, node));
  }

  /** A Gateway API rule, as a route for each service it sends traffic to. */
  function describeHttpRouteRule(r: unknown, from: string): { node: string; route: RouteInfo }[] {
    const refs = arr(get(r, 'backendRefs'));
    const total = refs.reduce<number>((s, b) => s + (num(get(b, 'weight')) ?? 1), 0) || 1;
    const targets = refs.map((b) => {
      const name = str(get(b, 'name')) ?? '';
      const alias = versionServices.get(`${str(get(b, 'namespace')) ?? from}/${name}`);
      const node = alias?.node ?? nodeOfHost(name, str(get(b, 'namespace')) ?? from);
      const weight =
        refs.length > 1 ? Math.round(((num(get(b, 'weight')) ?? 1) / total) * 1000) / 10 : undefined;
      return { node, name, version: alias?.version, weight };
    });
    const timeout = get(r, 'timeouts', 'request');
    const mirrorFilter = arr(get(r, 'filters')).find((f) => str(get(f, 'type')) === 'RequestMirror');
    return [...new Set(targets.flatMap((t) => (t.node ? [t.node] : [])))].map((node) => ({
      node,
      route: {
        match: describeHttpRouteMatches(arr(get(r, 'matches'))),
        to: targets.map((t) => ({
          ...(t.node === node ? {} : { service: (t.node && nodes.get(t.node)?.name) ?? t.name }),
          ...(t.version ? { version: t.version } : {}),
          ...(t.weight !== undefined ? { weight: t.weight } : {}),
        })),
        timeout: timeout !== undefined ? formatDuration(timeout) : undefined,
        mirror: mirrorFilter
          ? `mirror ${str(get(mirrorFilter, 'requestMirror', 'backendRef', 'name')) ?? ''}`
          : undefined,
      },
    }));
  }

  function addHttpRouteRule(r: unknown, from: string, parent: string): void {
    for (const { node, route } of describeHttpRouteRule(r, from))
      edge(parent, node, 'ingress').routes.push(route);
  }

  // Calls from the Sidecars' egress hosts.
  const egress = new Map<string, Set<string>>();
  for (const s of of(ISTIO_NETWORKING, 'Sidecar')) {
    const selector = labelsOf(get(s, 'spec', 'workloadSelector', 'labels'));
    const callers = Object.keys(selector).length > 0 ? nodesSelectedBy(ns(s), selector) : nodesIn(ns(s));
    const callees = new Set<string>();
    for (const e of arr(get(s, 'spec', 'egress'))) {
      for (const h of strings(get(e, 'hosts'))) {
        const [where, host] = h.includes('/') ? h.split('/', 2) : ['*', h];
        if (host.includes('*')) continue;
        const node = nodeOfHost(host, where === '.' || where === '*' || where === '~' ? ns(s) : where);
        if (node) callees.add(node);
      }
    }
    for (const caller of callers) {
      egress.set(caller, callees);
      for (const callee of callees) if (callee !== caller) edge(caller, callee, 'sidecar');
    }
  }

  // Calls from authorization: who each ALLOW policy admits.
  const denies = new Map<string, Marker[]>();
  const policyTargets = (p: Manifest): string[] => {
    const refs = arr(get(p, 'spec', 'targetRefs'));
    if (refs.length > 0) {
      return refs.flatMap((t) => {
        const kind = str(get(t, 'kind'));
        const name = str(get(t, 'name')) ?? '';
        if (kind !== 'Service') return [];
        const alias = versionServices.get(`${ns(p)}/${name}`);
        return [alias?.node ?? `svc:${ns(p)}/${name}`].filter((id) => nodes.has(id));
      });
    }
    const selector = labelsOf(get(p, 'spec', 'selector', 'matchLabels'));
    const selected = Object.keys(selector).length > 0 ? nodesSelectedBy(ns(p), selector) : nodesIn(ns(p));
    if (selected.length > 0) return selected;
    // An egress gateway's policy (its pods are not the app's): it admits calls to the external hosts
    // its rules name, by SNI or Host.
    const named = arr(get(p, 'spec', 'rules')).flatMap((r) => [
      ...arr(get(r, 'when'))
        .filter((c) => str(get(c, 'key')) === 'connection.sni')
        .flatMap((c) => strings(get(c, 'values'))),
      ...arr(get(r, 'to')).flatMap((t) => strings(get(t, 'operation', 'hosts'))),
    ]);
    return [...new Set(named.filter((h) => externalHosts.has(h)).map((h) => hostToNode.get(h)!))];
  };
  const nodesOfPrincipal = (principal: string): string[] => {
    const m = /(?:^|\/)ns\/([^/]+)\/sa\/([^/]+)$/.exec(principal);
    if (!m) return [];
    return principals.get(`ns/${m[1]}/sa/${m[2]}`) ?? principals.get(`sa/${m[2]}`) ?? [];
  };
  const externalNodesOf = (rule: unknown): string[] => {
    const hosts = [
      ...arr(get(rule, 'to')).flatMap((t) => strings(get(t, 'operation', 'hosts'))),
      ...arr(get(rule, 'when')).flatMap((w) =>
        get(w, 'key') === 'connection.sni' ? strings(get(w, 'values')) : [],
      ),
    ];
    const found = hosts
      .map((h) => hostToNode.get(h))
      .filter((id) => id !== undefined && nodes.get(id)?.kind === 'external');
    return [...new Set(found as string[])];
  };
  for (const p of of(ISTIO_SECURITY, 'AuthorizationPolicy')) {
    const action = str(get(p, 'spec', 'action')) ?? 'ALLOW';
    const callees = policyTargets(p);
    for (const rule of arr(get(p, 'spec', 'rules'))) {
      const ops = describeOperations(arr(get(rule, 'to')));
      // A policy at an egress gateway selects no workload of the app: it admits callers to the
      // external hosts its rules name (by Host, or by SNI for TLS).
      const targets = callees.length > 0 ? callees : externalNodesOf(rule);
      if (action === 'DENY') {
        const jwt = arr(get(rule, 'from')).some((f) =>
          strings(get(f, 'source', 'notRequestPrincipals')).includes('*'),
        );
        const marker: Marker = jwt
          ? { kind: 'jwt', text: `JWT required${ops ? ` on ${ops}` : ''}` }
          : { kind: 'authz', text: `deny ${ops || 'matching requests'}` };
        for (const c of callees) denies.set(c, [...(denies.get(c) ?? []), marker]);
        continue;
      }
      if (action !== 'ALLOW') continue;
      for (const from of arr(get(rule, 'from'))) {
        for (const principal of strings(get(from, 'source', 'principals'))) {
          let callers = nodesOfPrincipal(principal);
          if (callers.includes('waypoint')) continue;
          if (callers.length === 0) {
            callers = [
              addNode({
                id: `ext:${principal}`,
                kind: 'external',
                name: principal.replace(/^.*?\/ns\//, ''),
                details: ['outside the app'],
                versions: [],
              }),
            ];
          }
          for (const callee of targets) {
            // Of several nodes sharing the identity, the admitted callers are those that route or
            // reach the callee otherwise; when none does, each of them may.
            const known = callers.filter((c) => edges.has(`${c}->${callee}`));
            for (const caller of callers.length > 1 && known.length > 0 ? known : callers) {
              if (caller === callee) continue;
              const e = edge(caller, callee, 'authorization');
              const atGateway = nodes.get(callee)?.kind === 'external' ? ' at the egress gateway' : '';
              const text = `allow ${ops || 'any request'}${atGateway}`;
              if (!e.markers.some((m) => m.kind === 'authz' && m.text === text))
                e.markers.push({ kind: 'authz', text });
            }
          }
        }
      }
    }
  }

  // What applies on each edge.
  const meshRoutes = new Map<string, RouteInfo[]>();
  for (const vs of of(ISTIO_NETWORKING, 'VirtualService')) {
    const gateways = strings(get(vs, 'spec', 'gateways'));
    if (gateways.length > 0 && !gateways.includes('mesh')) continue;
    for (const host of strings(get(vs, 'spec', 'hosts'))) {
      const node = nodeOfHost(host, ns(vs));
      if (node)
        meshRoutes.set(
          node,
          arr(get(vs, 'spec', 'http')).map((r) => describeVsRoute(r, ns(vs), node)),
        );
    }
  }
  for (const hr of of(GATEWAY_API, 'HTTPRoute')) {
    for (const p of arr(get(hr, 'spec', 'parentRefs'))) {
      if (str(get(p, 'kind')) !== 'Service') continue;
      const node = nodeOfHost(str(get(p, 'name')) ?? '', str(get(p, 'namespace')) ?? ns(hr));
      if (!node) continue;
      const routes = arr(get(hr, 'spec', 'rules')).flatMap((r) =>
        describeHttpRouteRule(r, ns(hr))
          .filter((x) => x.node === node)
          .map((x) => x.route),
      );
      meshRoutes.set(node, routes);
    }
  }
  const namespaceOf = (id: string) => nodes.get(id)?.namespace ?? '';
  const circuitBreakers = new Map<string, string>();
  for (const dr of of(ISTIO_NETWORKING, 'DestinationRule')) {
    const node = nodeOfHost(str(get(dr, 'spec', 'host')) ?? '', ns(dr));
    if (!node) continue;
    const cb = describeCircuitBreaker(get(dr, 'spec', 'trafficPolicy'));
    if (cb) circuitBreakers.set(node, cb);
    const tls = str(get(dr, 'spec', 'trafficPolicy', 'tls', 'mode'));
    if (tls && tls !== 'ISTIO_MUTUAL') circuitBreakers.set(`${node}#tls`, tls);
  }
  const rateLimits = describeRateLimits(objects, (namespace, selector) =>
    nodesSelectedBy(namespace, selector),
  );
  const mtlsOf = (node: string): string => {
    const n = nodes.get(node);
    if (!n?.namespace) return 'mesh default';
    const pas = of(ISTIO_SECURITY, 'PeerAuthentication');
    const modeOf = (pa: Manifest | undefined) => {
      const mode = str(get(pa, 'spec', 'mtls', 'mode'));
      return mode && mode !== 'UNSET' ? mode : undefined;
    };
    // UNSET inherits: the workload's policy, then the namespace's, then the mesh's (root namespace).
    const wide = (namespace: string) =>
      pas.find((p) => ns(p) === namespace && get(p, 'spec', 'selector') === undefined);
    const inherited = modeOf(wide(n.namespace)) ?? modeOf(wide('istio-system')) ?? 'mesh default';
    const modes = new Map<string, string[]>();
    const ports = new Set<string>();
    for (const w of workloads.filter((x) => x.node === node)) {
      const specific = pas.find(
        (p) =>
          ns(p) === n.namespace &&
          get(p, 'spec', 'selector') !== undefined &&
          matches(labelsOf(get(p, 'spec', 'selector', 'matchLabels')), w.podLabels),
      );
      const mode = modeOf(specific) ?? inherited;
      modes.set(mode, [...(modes.get(mode) ?? []), w.podLabels.version ?? w.name]);
      for (const [port, v] of Object.entries(rec(get(specific, 'spec', 'portLevelMtls')))) {
        ports.add(`port ${port} ${str(get(v, 'mode')) ?? 'UNSET'}`);
      }
    }
    const text =
      modes.size <= 1
        ? ([...modes.keys()][0] ?? inherited)
        : [...modes].map(([mode, versions]) => `${versions.join(', ')} ${mode}`).join('; ');
    return [text, ...ports].join(', ');
  };

  for (const e of edges.values()) {
    const callee = nodes.get(e.to);
    if (!callee || callee.kind !== 'service') continue;
    if (!e.sources.includes('ingress')) {
      // A route for some callers only (sourceLabels) is drawn on their edges only.
      const callerPods = workloads.filter((w) => w.node === e.from).map((w) => w.podLabels);
      e.routes.push(
        ...(meshRoutes.get(e.to) ?? []).filter(
          (r) =>
            !r.sourceLabels || r.sourceLabels.some((want) => callerPods.some((pod) => matches(want, pod))),
        ),
      );
    }
    for (const r of e.routes) {
      if (r.timeout) e.markers.push({ kind: 'timeout', text: `timeout ${r.timeout}` });
      if (r.retries) e.markers.push({ kind: 'retries', text: r.retries });
      if (r.fault) e.markers.push({ kind: 'fault', text: `fault ${r.fault}` });
      if (r.mirror) e.markers.push({ kind: 'mirror', text: r.mirror });
    }
    const cb = circuitBreakers.get(e.to);
    if (cb) e.markers.push({ kind: 'circuit-breaker', text: cb });
    for (const rl of rateLimits.get(e.to) ?? []) e.markers.push({ kind: 'rate-limit', text: rl });
    const clientTls = circuitBreakers.get(`${e.to}#tls`);
    e.markers.push({
      kind: 'mtls',
      text: `mTLS ${mtlsOf(e.to)}${clientTls ? `, client TLS ${clientTls}` : ''}`,
    });
    e.markers.push(...(denies.get(e.to) ?? []));
    // Calls one side permits and the other does not: probably a missing `calls()`.
    const from = nodes.get(e.from);
    if (from?.kind === 'service' && egress.has(e.from) && !egress.get(e.from)?.has(e.to)) {
      e.markers.push({ kind: 'warning', text: "not in the caller's Sidecar egress" });
    }
    if (
      e.sources.includes('sidecar') &&
      !e.sources.includes('authorization') &&
      hasDefaultDeny(objects, namespaceOf(e.to))
    ) {
      e.markers.push({ kind: 'warning', text: 'no ALLOW policy admits the caller' });
    }
  }
  // Duplicates from routes sharing a value (the same timeout on every route) are noise.
  const deduped = [...edges.values()].map((e) => ({
    ...e,
    markers: e.markers.filter(
      (m, i) => e.markers.findIndex((x) => x.kind === m.kind && x.text === m.text) === i,
    ),
  }));

  const namespaces = [
    ...new Set(
      [...nodes.values()].flatMap((n) => (n.namespace && n.kind === 'service' ? [n.namespace] : [])),
    ),
  ].map((name) => describeNamespace(objects, name, waypoints));
  const order = { ingress: 0, external: 1, service: 2 } as const;
  return {
    title,
    namespaces,
    nodes: [...nodes.values()].sort((a, b) => order[a.kind] - order[b.kind]),
    edges: deduped,
  };
}

/** How the mesh leaves for external hosts: through an egress gateway, with TLS originated. */
function egressVia(objects: readonly Manifest[], hosts: readonly string[]): string[] {
  const out: string[] = [];
  const gateways = objects
    .filter(
      (m) =>
        is(m, ISTIO_NETWORKING, 'VirtualService') &&
        strings(get(m, 'spec', 'hosts')).some((h) => hosts.includes(h)),
    )
    .flatMap((m) => strings(get(m, 'spec', 'gateways')).filter((g) => g !== 'mesh'));
  if (gateways.length > 0) out.push(`via egress gateway ${[...new Set(gateways)].join(', ')}`);
  const originates = objects.some(
    (m) =>
      is(m, ISTIO_NETWORKING, 'DestinationRule') &&
      hosts.includes(str(get(m, 'spec', 'host')) ?? '') &&
      arr(get(m, 'spec', 'trafficPolicy', 'portLevelSettings')).some(
        (p) => str(get(p, 'tls', 'mode')) === 'SIMPLE',
      ),
  );
  if (originates) out.push('TLS originated');
  return out;
}

/** The names a Service is reached by (a bare name is looked up relative to a namespace). */
function hostsOf(name: string, namespace: string): string[] {
  return [`${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`];
}

function stringMatch(name: string, m: unknown): string {
  if (!isRecord(m)) return name;
  if (m.exact !== undefined) return `${name}=${String(m.exact)}`;
  if (m.prefix !== undefined) return `${name}=${String(m.prefix)}*`;
  if (m.regex !== undefined) return `${name}~${String(m.regex)}`;
  return name;
}

function describeMatches(list: unknown[]): string {
  return list
    .map((m) => {
      const parts: string[] = [];
      const uri = get(m, 'uri');
      if (isRecord(uri)) {
        parts.push(
          uri.exact !== undefined
            ? String(uri.exact)
            : uri.prefix !== undefined
              ? `${String(uri.prefix)}${String(uri.prefix).endsWith('*') ? '' : '*'}`
              : `~${String(uri.regex)}`,
        );
      }
      for (const [h, v] of Object.entries(rec(get(m, 'headers')))) parts.push(stringMatch(h, v));
      if (get(m, 'method') !== undefined)
        parts.push(stringMatch('method', get(m, 'method')).replace(/^method=/, ''));
      for (const [q, v] of Object.entries(rec(get(m, 'queryParams')))) parts.push(stringMatch(`?${q}`, v));
      if (get(m, 'port') !== undefined) parts.push(`:${String(get(m, 'port'))}`);
      const from = Object.entries(rec(get(m, 'sourceLabels'))).map(([k, v]) => `${k}=${String(v)}`);
      if (from.length > 0) parts.push(`from ${from.join(',')}`);
      return parts.join(' & ');
    })
    .filter(Boolean)
    .join(' | ');
}

function describeHttpRouteMatches(list: unknown[]): string {
  return list
    .map((m) => {
      const parts: string[] = [];
      const type = str(get(m, 'path', 'type'));
      const value = str(get(m, 'path', 'value'));
      if (value !== undefined) {
        parts.push(type === 'Exact' ? value : type === 'RegularExpression' ? `~${value}` : `${value}*`);
      }
      for (const h of arr(get(m, 'headers')))
        parts.push(
          `${String(get(h, 'name'))}${str(get(h, 'type')) === 'RegularExpression' ? '~' : '='}${String(get(h, 'value'))}`,
        );
      if (get(m, 'method') !== undefined) parts.push(String(get(m, 'method')));
      return parts.join(' & ');
    })
    .filter(Boolean)
    .join(' | ');
}

function describeOperations(list: unknown[]): string {
  return list
    .map((t) => {
      const op = get(t, 'operation');
      return [
        strings(get(op, 'methods')).join(','),
        strings(get(op, 'paths')).join(', '),
        strings(get(op, 'ports'))
          .map((p) => `:${p}`)
          .join(','),
        strings(get(op, 'notPaths')).length ? `not ${strings(get(op, 'notPaths')).join(', ')}` : '',
      ]
        .filter(Boolean)
        .join(' ');
    })
    .filter(Boolean)
    .join(' | ');
}

function describeCircuitBreaker(policy: unknown): string | undefined {
  const parts: string[] = [];
  const pool = get(policy, 'connectionPool');
  const limits: [string, unknown][] = [
    ['conns', get(pool, 'tcp', 'maxConnections')],
    ['pending', get(pool, 'http', 'http1MaxPendingRequests')],
    ['requests', get(pool, 'http', 'http2MaxRequests')],
    ['requests per connection', get(pool, 'http', 'maxRequestsPerConnection')],
    ['retries at once', get(pool, 'http', 'maxRetries')],
  ];
  for (const [what, value] of limits) if (num(value) !== undefined) parts.push(`≤${String(value)} ${what}`);
  const od = get(policy, 'outlierDetection');
  if (isRecord(od)) {
    const errors5xx = num(od.consecutive5xxErrors) ?? (od.consecutiveGatewayErrors === undefined ? 5 : 0);
    const gateway = num(od.consecutiveGatewayErrors) ?? 0;
    const after = [errors5xx > 0 ? `${errors5xx}×5xx` : '', gateway > 0 ? `${gateway}× gateway errors` : '']
      .filter(Boolean)
      .join(' or ');
    const time = od.baseEjectionTime !== undefined ? formatDuration(od.baseEjectionTime) : '30s';
    parts.push(after ? `eject after ${after} for ${time}` : 'ejection off');
  }
  return parts.length ? `circuit breaker ${parts.join(', ')}` : undefined;
}

/** One limit of a rate limit domain, with the top-level descriptor entry it hangs under. */
interface DomainLimit {
  readonly key: string;
  readonly value?: string;
  readonly text: string;
}

/** The descriptor entry the first action of each `rate_limits` entry sends, anywhere in `v`. */
function actionEntries(
  v: unknown,
  out: { key: string; value?: string }[] = [],
): { key: string; value?: string }[] {
  if (Array.isArray(v)) v.forEach((x) => actionEntries(x, out));
  if (!isRecord(v)) return out;
  for (const [k, x] of Object.entries(v)) {
    if (k === 'rate_limits') {
      for (const rl of arr(x)) {
        const first = get(rl, 'actions', 0);
        const headers = get(first, 'request_headers');
        const generic = get(first, 'generic_key');
        if (isRecord(headers)) out.push({ key: str(headers.descriptor_key) ?? '?' });
        else if (isRecord(generic))
          out.push({
            key: str(generic.descriptor_key) ?? 'generic_key',
            value: str(generic.descriptor_value),
          });
        else if (get(first, 'remote_address') !== undefined) out.push({ key: 'remote_address' });
      }
    } else {
      actionEntries(x, out);
    }
  }
  return out;
}

/**
 * Rate limits in front of each node: local token buckets, and the global limits of its domain
 * that the node's actions can reach (their first descriptor entry), else all of the domain's.
 */
function describeRateLimits(
  objects: readonly Manifest[],
  select: (namespace: string, selector: Labels) => string[],
): Map<string, string[]> {
  const domains = new Map<string, DomainLimit[]>();
  for (const cm of objects.filter((m) => is(m, '', 'ConfigMap'))) {
    for (const { domain, descriptors } of rateLimitConfigs(cm)) {
      domains.set(
        domain,
        descriptors.flatMap((d) =>
          d.limit?.unit
            ? [
                {
                  ...d.top,
                  text: `${String(d.limit.requestsPerUnit)}/${d.limit.unit.toLowerCase()} per ${d.path}`,
                },
              ]
            : [],
        ),
      );
    }
  }
  // Each EnvoyFilter with the nodes its workload selector picks.
  const filters = objects
    .filter((m) => is(m, ISTIO_NETWORKING, 'EnvoyFilter'))
    .map((f) => ({
      spec: get(f, 'spec'),
      targets: select(
        f.metadata.namespace ?? 'default',
        labelsOf(get(f, 'spec', 'workloadSelector', 'labels')),
      ),
    }));
  const entries = new Map<string, { key: string; value?: string }[]>();
  for (const { spec, targets } of filters) {
    const found = actionEntries(spec);
    if (found.length > 0) for (const t of targets) entries.set(t, [...(entries.get(t) ?? []), ...found]);
  }
  const out = new Map<string, string[]>();
  const add = (nodes: readonly string[], text: string) => {
    for (const node of nodes) out.set(node, [...(out.get(node) ?? []), text]);
  };
  for (const { spec, targets } of filters) {
    for (const p of arr(get(spec, 'configPatches'))) {
      const value = get(p, 'patch', 'value');
      const name = str(get(value, 'name'));
      if (name === 'envoy.filters.http.local_ratelimit') {
        const bucket = findBucket(value);
        add(targets, bucket ? `rate limit ${bucket} per pod` : 'local rate limit');
      } else if (name === 'envoy.filters.http.ratelimit') {
        // The domain's limits that each target's actions reach.
        const domain = str(get(value, 'typed_config', 'domain')) ?? '';
        for (const t of targets) {
          const sent = entries.get(t);
          const limits = (domains.get(domain) ?? []).filter(
            (l) =>
              !sent || sent.some((e) => e.key === l.key && (l.value === undefined || l.value === e.value)),
          );
          add(
            [t],
            `global rate limit${limits.length ? ` ${limits.map((l) => l.text).join('; ')}` : ` (domain ${domain})`}`,
          );
        }
      } else if (JSON.stringify(value ?? {}).includes('token_bucket')) {
        // A route's own local limit config: per-path buckets, told by their prefixes.
        const paths = perPathBuckets(value);
        for (const d of paths) add(targets, `rate limit ${d} per pod`);
        if (paths.length === 0) add(targets, 'per-route rate limits');
      }
    }
  }
  return out;
}

/** A local limit's per-path buckets: descriptors of one "path-prefix" entry, as "/api* 10/s". */
function perPathBuckets(v: unknown): string[] {
  const out: string[] = [];
  const visit = (x: unknown) => {
    if (Array.isArray(x)) x.forEach(visit);
    if (!isRecord(x)) return;
    const entries = arr(x.entries);
    const prefix = str(get(entries, 0, 'value'));
    if (
      entries.length === 1 &&
      str(get(entries, 0, 'key')) === 'path-prefix' &&
      prefix &&
      isRecord(x.token_bucket)
    ) {
      out.push(
        `${prefix}${prefix.endsWith('*') ? '' : '*'} ${findBucket({ token_bucket: x.token_bucket }) ?? ''}`.trim(),
      );
      return;
    }
    Object.values(x).forEach(visit);
  };
  visit(v);
  return out;
}

function findBucket(v: unknown): string | undefined {
  if (Array.isArray(v)) return v.map(findBucket).find(Boolean);
  if (!isRecord(v)) return undefined;
  if (isRecord(v.token_bucket)) {
    const b = v.token_bucket;
    return `${String(b.tokens_per_fill ?? b.max_tokens)}/${formatDuration(b.fill_interval)}`.replace(
      /\/1s$/,
      '/s',
    );
  }
  return Object.values(v).map(findBucket).find(Boolean);
}

function hasDefaultDeny(objects: readonly Manifest[], namespace: string): boolean {
  return objects.some(
    (m) =>
      is(m, ISTIO_SECURITY, 'AuthorizationPolicy') &&
      m.metadata.namespace === namespace &&
      Object.keys(rec(m.spec)).length === 0,
  );
}

function describeNamespace(
  objects: readonly Manifest[],
  name: string,
  waypoints: Set<string>,
): NamespaceInfo {
  const notes: string[] = [];
  const n = objects.find((m) => is(m, '', 'Namespace') && m.metadata.name === name);
  const labels = labelsOf(n?.metadata.labels);
  if (labels['istio.io/dataplane-mode'] === 'ambient') notes.push('ambient');
  else if (labels['istio-injection'] === 'enabled') notes.push('sidecar injection');
  else if (labels['istio.io/rev']) notes.push(`sidecars of revision ${labels['istio.io/rev']}`);
  for (const w of waypoints) if (w.startsWith(`${name}/`)) notes.push(`waypoint ${w.slice(name.length + 1)}`);
  const pa = objects.find(
    (m) =>
      is(m, ISTIO_SECURITY, 'PeerAuthentication') &&
      m.metadata.namespace === name &&
      get(m, 'spec', 'selector') === undefined,
  );
  const mode = str(get(pa, 'spec', 'mtls', 'mode'));
  if (mode) notes.push(`mTLS ${mode}`);
  if (hasDefaultDeny(objects, name)) notes.push('default deny');
  // Egress fails closed when every Sidecar of the namespace says REGISTRY_ONLY.
  const sidecars = objects.filter((m) => is(m, ISTIO_NETWORKING, 'Sidecar') && m.metadata.namespace === name);
  if (
    sidecars.length > 0 &&
    sidecars.every((m) => str(get(m, 'spec', 'outboundTrafficPolicy', 'mode')) === 'REGISTRY_ONLY')
  )
    notes.push('egress REGISTRY_ONLY');
  const telemetry = objects.find((m) => m.kind === 'Telemetry' && m.metadata.namespace === name);
  const sampling = num(get(telemetry, 'spec', 'tracing', 0, 'randomSamplingPercentage'));
  if (sampling !== undefined) notes.push(`tracing ${sampling} %`);
  return { name, notes };
}
