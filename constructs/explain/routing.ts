/**
 * Routing: which VirtualService (or HTTPRoute) applies to a request, which of its routes matches,
 * where it sends the request, and the DestinationRule policy each destination gets.
 */
import { describeStringMatch, hostMatches, splitPath, stringMatch } from './match.js';
import type { JwtClaims } from './security.js';
import { jwtClaimRoute } from '../jwt-claim-route.js';
import {
  arr,
  get,
  GATEWAY_API,
  isRecord,
  labelsOf,
  type MeshIndex,
  type MeshObject,
  NETWORKING,
  rec,
  ref,
  ROOT_NAMESPACE,
  selects,
  str,
  strings,
} from './objects.js';

/** The request as routing sees it. */
export interface RoutedRequest {
  readonly method: string;
  /** The path, with its query string if any. */
  readonly path: string;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The Host (authority) header. */
  readonly authority: string;
  readonly port: number;
  /** The caller's pod labels and namespace (sourceLabels and sourceNamespace); none for a gateway or outside. */
  readonly sourceLabels?: Readonly<Record<string, string>>;
  readonly sourceNamespace?: string;
  /** "mesh" for a sidecar or waypoint, "<ns>/<name>" of the Gateway for an ingress gateway. */
  readonly gateway: string;
  /**
   * The request's scheme as Envoy sees it: "https" on a gateway server or listener that ends TLS.
   * @default "http"
   */
  readonly scheme?: 'http' | 'https';
  /**
   * The claims of the request's JWT, for matches on `@request.auth.claims.<claim>`.
   * @default none: such a match does not hold
   */
  readonly claims?: JwtClaims;
}

/** One weighted destination of the matched route, before versions are resolved. */
export interface RouteDestination {
  readonly host: string;
  readonly subset?: string;
  readonly port?: number;
  readonly weight: number;
}

export interface FaultDescription {
  readonly delay?: { readonly fixedDelay: string; readonly percentage: number | null };
  readonly abort?: { readonly httpStatus: number | null; readonly percentage: number | null };
}

export interface RouteOutcome {
  /** "VirtualService shop/reviews" or "HTTPRoute shop/shop"; null when none applies. */
  readonly config: string | null;
  /** The matched route's name, else its index in the list; null when nothing matched. */
  readonly route: string | number | null;
  /** The matched route's match, for people: "headers end-user exact \"jason\"", "any request". */
  readonly matchedBy: string | null;
  readonly destinations: readonly RouteDestination[];
  readonly timeout: string | null;
  readonly retries: Record<string, unknown> | null;
  readonly fault: FaultDescription | null;
  readonly mirror: { readonly host: string; readonly subset?: string; readonly percentage: number } | null;
  /** A redirect or direct response instead of a destination. */
  readonly response?: string;
  /** Where the route leads is beyond the objects the evaluator follows (a delegate VirtualService). */
  readonly undecided?: boolean;
  readonly notes: readonly string[];
}

const NO_ROUTE = { timeout: null, retries: null, fault: null, mirror: null } as const;

/**
 * The VirtualService a sidecar or gateway applies to a host. For sidecars, the ones bound to
 * "mesh" (no gateways field means mesh); for a gateway, the ones naming it. Short gateway names
 * are read in the VirtualService's namespace
 * (https://istio.io/latest/docs/reference/config/networking/virtual-service/#VirtualService).
 * exportTo "." limits a VirtualService to its own namespace.
 */
export function virtualServicesFor(
  index: MeshIndex,
  host: string,
  gateway: string,
  callerNamespace: string | undefined,
): MeshObject[] {
  return index.of(NETWORKING, 'VirtualService').filter((vs) => {
    const ns = vs.metadata.namespace ?? 'default';
    const gateways = strings(get(vs, 'spec', 'gateways'));
    const bound = (gateways.length === 0 ? ['mesh'] : gateways).map((g) =>
      g === 'mesh' || g.includes('/') ? g : `${ns}/${g}`,
    );
    if (!bound.includes(gateway)) return false;
    const exportTo = strings(get(vs, 'spec', 'exportTo'));
    if (gateway === 'mesh' && exportTo.length > 0 && !exportTo.includes('*')) {
      const visible = exportTo.map((e) => (e === '.' ? ns : e));
      if (callerNamespace === undefined || !visible.includes(callerNamespace)) return false;
    }
    return strings(get(vs, 'spec', 'hosts')).some((h) => hostMatches(h, host, ns));
  });
}

/**
 * A destination host as Istio reads it: a short name is a service in the VirtualService's own
 * namespace (https://istio.io/latest/docs/reference/config/networking/virtual-service/#Destination).
 */
export function qualify(host: string, namespace: string): string {
  return host.includes('.') ? host : `${host}.${namespace}.svc.cluster.local`;
}

/**
 * What a match header name reads (istiod's ValidateHTTPHeaderNameOrJwtClaimRoute admits these
 * forms): a pseudo-header is the request's method, path (with its query, as Envoy's `:path`),
 * authority or scheme; `@request.auth.claims.<a>.<b>` (or `[a][b]`, pkg/jwt ToRoutingClaim) is a
 * claim of the request's JWT, "only supported on ingress gateways"
 * (https://istio.io/latest/docs/tasks/security/authentication/jwt-route/), each element of a list
 * claim in turn; anything else is the header. `[undefined]` when the request has none.
 */
function headerValues(name: string, req: RoutedRequest): (string | undefined)[] {
  switch (name) {
    case ':method':
      return [req.method];
    case ':path':
      return [req.path];
    case ':authority':
      return [req.authority];
    case ':scheme':
      return [req.scheme ?? 'http'];
    case ':status':
      return [undefined];
  }
  const path = jwtClaimRoute(name);
  if (path === undefined) return [req.headers[name.toLowerCase()]];
  if (req.gateway === 'mesh' || req.claims === undefined) return [undefined];
  let value: unknown = req.claims;
  for (const key of path) value = isRecord(value) ? value[key] : undefined;
  // istiod matches a claim with a StringMatcher, and Envoy's ValueMatcher.string_match holds "if
  // and only if the target value is a string": a number or boolean claim never matches.
  const values = Array.isArray(value) ? value : [value];
  const texts = values.filter((v): v is string => typeof v === 'string');
  return texts.length > 0 ? texts : [undefined];
}

/** Whether one HTTPMatchRequest block matches (all its conditions hold). */
function matchBlock(m: Record<string, unknown>, req: RoutedRequest, vsNamespace: string): boolean {
  // https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPMatchRequest:
  // the conditions of one block are ANDed; uri excludes the query string; header names are
  // lower-case; an empty header match checks presence; withoutHeaders negates.
  const { path, query } = splitPath(req.path);
  const ignoreCase = m.ignoreUriCase === true;
  if (m.uri !== undefined && !stringMatch(m.uri, path, ignoreCase)) return false;
  if (m.method !== undefined && !stringMatch(m.method, req.method)) return false;
  if (m.authority !== undefined && !stringMatch(m.authority, req.authority)) return false;
  if (m.scheme !== undefined && !stringMatch(m.scheme, req.scheme ?? 'http')) return false;
  for (const [name, sm] of Object.entries(rec(m.headers))) {
    // Every key is a header name, "uri", "method", "scheme" and "authority" too: the API docs call
    // those ignored, but istiod's TranslateRouteMatch (pilot/pkg/networking/core/route/route.go)
    // turns each key into an Envoy HeaderMatcher of that literal name.
    if (!headerValues(name, req).some((v) => stringMatch(sm, v))) return false;
  }
  for (const [name, sm] of Object.entries(rec(m.withoutHeaders))) {
    if (headerValues(name, req).some((v) => v !== undefined && stringMatch(sm, v))) return false;
  }
  for (const [name, sm] of Object.entries(rec(m.queryParams))) {
    if (!stringMatch(sm, query.get(name))) return false;
  }
  if (typeof m.port === 'number' && m.port !== req.port) return false;
  if (isRecord(m.sourceLabels)) {
    if (!req.sourceLabels || !selects(labelsOf(m.sourceLabels), req.sourceLabels)) return false;
  }
  if (typeof m.sourceNamespace === 'string' && m.sourceNamespace !== req.sourceNamespace) return false;
  const gateways = strings(m.gateways).map((g) =>
    g === 'mesh' || g.includes('/') ? g : `${vsNamespace}/${g}`,
  );
  if (gateways.length > 0 && !gateways.includes(req.gateway)) return false;
  return true;
}

function describeBlock(m: Record<string, unknown>): string {
  const parts: string[] = [];
  if (m.uri !== undefined) parts.push(`uri ${describeStringMatch(m.uri)}`);
  if (m.method !== undefined) parts.push(`method ${describeStringMatch(m.method)}`);
  if (m.authority !== undefined) parts.push(`authority ${describeStringMatch(m.authority)}`);
  for (const [k, v] of Object.entries(rec(m.headers))) parts.push(`header ${k} ${describeStringMatch(v)}`);
  for (const [k, v] of Object.entries(rec(m.withoutHeaders)))
    parts.push(`without header ${k} ${describeStringMatch(v)}`);
  for (const [k, v] of Object.entries(rec(m.queryParams))) parts.push(`query ${k} ${describeStringMatch(v)}`);
  if (m.port !== undefined) parts.push(`port ${String(m.port)}`);
  if (isRecord(m.sourceLabels))
    parts.push(
      `source labels ${Object.entries(m.sourceLabels)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(',')}`,
    );
  if (m.sourceNamespace !== undefined) parts.push(`source namespace ${String(m.sourceNamespace)}`);
  return parts.length === 0 ? 'any request' : parts.join(' and ');
}

function percentage(v: unknown): number | null {
  const n = get(v, 'value');
  return typeof n === 'number' ? n : null;
}

/**
 * The first route of a VirtualService whose match holds: routes are tried in order and the first
 * match wins; a route without match takes every request; within a route, the match blocks are
 * ORed (https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPRoute).
 */
export function routeVirtualService(vs: MeshObject, req: RoutedRequest): RouteOutcome {
  const ns = vs.metadata.namespace ?? 'default';
  const config = `VirtualService ${ref(vs)}`;
  const routes = arr(get(vs, 'spec', 'http'));
  for (let i = 0; i < routes.length; i++) {
    const r = rec(routes[i]);
    const blocks = arr(r.match).filter(isRecord);
    const hit = blocks.length === 0 ? {} : blocks.find((b) => matchBlock(b, req, ns));
    if (hit === undefined) continue;
    const notes: string[] = [];
    if (isRecord(r.delegate)) {
      notes.push(
        `the route delegates to VirtualService ${String(get(r.delegate, 'namespace') ?? ns)}/${String(get(r.delegate, 'name'))}, which is not followed`,
      );
    }
    const single = arr(r.route).length === 1;
    const destinations = arr(r.route).map((d) => ({
      host: qualify(str(get(d, 'destination', 'host')) ?? '', ns),
      subset: str(get(d, 'destination', 'subset')),
      port:
        typeof get(d, 'destination', 'port', 'number') === 'number'
          ? (get(d, 'destination', 'port', 'number') as number)
          : undefined,
      // "If there is only one destination in a rule, it will receive all traffic" (HTTPRouteDestination.weight).
      weight: typeof get(d, 'weight') === 'number' ? (get(d, 'weight') as number) : single ? 100 : 0,
    }));
    const fault = rec(r.fault);
    const delay = rec(fault.delay);
    const abort = rec(fault.abort);
    const faultOut: FaultDescription | null =
      r.fault === undefined
        ? null
        : {
            ...(fault.delay !== undefined
              ? {
                  delay: {
                    fixedDelay: str(delay.fixedDelay) ?? '',
                    percentage: percentage(delay.percentage),
                  },
                }
              : {}),
            ...(fault.abort !== undefined
              ? {
                  abort: {
                    httpStatus: typeof abort.httpStatus === 'number' ? abort.httpStatus : null,
                    percentage: percentage(abort.percentage),
                  },
                }
              : {}),
          };
    if (faultOut && Object.values(faultOut).some((f) => f.percentage === null))
      notes.push('the fault sets no percentage; see HTTPFaultInjection on the VirtualService reference');
    // "Fault injection policy to apply on HTTP traffic at the client side. Note that timeouts or
    // retries will not be enabled when faults are enabled on the client side" (HTTPRoute.fault).
    if (faultOut && (r.timeout !== undefined || isRecord(r.retries)))
      notes.push(
        "the caller's proxy injects the fault; Istio's reference says timeouts or retries are not enabled when faults are, so do not count on this route's timeout and retries to hide it (https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPRoute)",
      );
    const mirror = isRecord(r.mirror)
      ? {
          host: qualify(str(r.mirror.host) ?? '', ns),
          ...(str(r.mirror.subset) !== undefined && { subset: str(r.mirror.subset) }),
          // "If this field is absent, all the traffic (100%) will be mirrored" (HTTPRoute.mirrorPercentage).
          percentage: percentage(r.mirrorPercentage) ?? 100,
        }
      : null;
    const response = isRecord(r.redirect)
      ? `redirect ${JSON.stringify(r.redirect)}`
      : isRecord(r.directResponse)
        ? `direct response ${String(get(r.directResponse, 'status'))}`
        : isRecord(r.delegate)
          ? notes[0]
          : undefined;
    return {
      ...(isRecord(r.delegate) && { undecided: true }),
      config,
      route: str(r.name) ?? i,
      matchedBy: blocks.length === 0 ? 'no match: every request' : describeBlock(hit),
      destinations,
      // "Timeout for HTTP requests, default is disabled" (HTTPRoute.timeout).
      timeout: str(r.timeout) ?? null,
      retries: isRecord(r.retries) ? r.retries : null,
      fault: faultOut,
      mirror,
      ...(response !== undefined && { response }),
      notes,
    };
  }
  return {
    config,
    route: null,
    matchedBy: null,
    destinations: [],
    ...NO_ROUTE,
    response: 'no route matches: the proxy answers 404 (route not found)',
    notes: [],
  };
}

/**
 * The first rule of an HTTPRoute that matches. The Gateway API orders rules by specificity (exact
 * path before prefix, longer prefix first, then method, headers, query) across the rules
 * (https://gateway-api.sigs.k8s.io/reference/spec/#httprouterule); within a match all conditions
 * hold, and the matches of a rule are ORed.
 */
export function routeHttpRoute(route: MeshObject, req: RoutedRequest): RouteOutcome {
  const config = `HTTPRoute ${ref(route)}`;
  const ns = route.metadata.namespace ?? 'default';
  const { path, query } = splitPath(req.path);
  type Candidate = { rule: number; score: number[]; m: Record<string, unknown> };
  const candidates: Candidate[] = [];
  arr(get(route, 'spec', 'rules')).forEach((rule, i) => {
    const matches = arr(get(rule, 'matches')).filter(isRecord);
    for (const m of matches.length === 0 ? [{ path: { type: 'PathPrefix', value: '/' } }] : matches) {
      const type = str(get(m, 'path', 'type')) ?? 'PathPrefix';
      const value = str(get(m, 'path', 'value')) ?? '/';
      const pathOk =
        type === 'Exact'
          ? path === value
          : type === 'PathPrefix'
            ? // Prefixes match whole path elements: "/abc" matches "/abc" and "/abc/d", not "/abcd".
              value === '/' ||
              path === value.replace(/\/$/, '') ||
              path.startsWith(value.endsWith('/') ? value : `${value}/`)
            : new RegExp(`^(?:${value})$`).test(path);
      if (!pathOk) continue;
      if (m.method !== undefined && m.method !== req.method) continue;
      const headersOk = arr(m.headers).every((h) => {
        const v = req.headers[(str(get(h, 'name')) ?? '').toLowerCase()];
        return str(get(h, 'type')) === 'RegularExpression'
          ? v !== undefined && new RegExp(`^(?:${str(get(h, 'value')) ?? ''})$`).test(v)
          : v === str(get(h, 'value'));
      });
      const queryOk = arr(m.queryParams).every((q) => {
        const v = query.get(str(get(q, 'name')) ?? '');
        return str(get(q, 'type')) === 'RegularExpression'
          ? v !== undefined && new RegExp(`^(?:${str(get(q, 'value')) ?? ''})$`).test(v)
          : v === str(get(q, 'value'));
      });
      if (!headersOk || !queryOk) continue;
      candidates.push({
        rule: i,
        score: [
          type === 'Exact' ? 1 : 0,
          value.length,
          m.method !== undefined ? 1 : 0,
          arr(m.headers).length,
          arr(m.queryParams).length,
        ],
        m,
      });
    }
  });
  candidates.sort((a, b) => {
    for (let k = 0; k < a.score.length; k++) if (a.score[k] !== b.score[k]) return b.score[k] - a.score[k];
    return a.rule - b.rule;
  });
  const best = candidates[0];
  if (!best) {
    return {
      config,
      route: null,
      matchedBy: null,
      destinations: [],
      ...NO_ROUTE,
      response: 'no rule matches: the gateway answers 404',
      notes: [],
    };
  }
  const rule = rec(arr(get(route, 'spec', 'rules'))[best.rule]);
  const refs = arr(rule.backendRefs);
  const weights = refs.map((b) => (typeof get(b, 'weight') === 'number' ? (get(b, 'weight') as number) : 1));
  const total = weights.reduce((a, b) => a + b, 0);
  return {
    config,
    route: str(rule.name) ?? best.rule,
    matchedBy: `path ${str(get(best.m, 'path', 'type')) ?? 'PathPrefix'} ${JSON.stringify(str(get(best.m, 'path', 'value')) ?? '/')}`,
    destinations: refs.map((b, k) => ({
      host: `${str(get(b, 'name')) ?? ''}.${str(get(b, 'namespace')) ?? ns}.svc.cluster.local`,
      port: typeof get(b, 'port') === 'number' ? (get(b, 'port') as number) : undefined,
      // backendRefs weights are relative (default 1): each gets its share of the total.
      weight: total === 0 ? 0 : Math.round((weights[k] / total) * 10000) / 100,
    })),
    timeout: str(get(rule, 'timeouts', 'request')) ?? null,
    retries: isRecord(rule.retry) ? rule.retry : null,
    fault: null,
    mirror: null,
    notes: [],
  };
}

/** The DestinationRule a caller uses for a host: its own namespace's, the host's, then the root's. */
export function destinationRuleFor(
  index: MeshIndex,
  host: string,
  callerNamespace: string | undefined,
  namespaceOfHost?: string,
): MeshObject | undefined {
  // https://istio.io/latest/docs/ops/best-practices/traffic-management/#cross-namespace-configuration:
  // the client's namespace is looked up first, then the service's, then the root namespace.
  const serviceNamespace = namespaceOfHost ?? index.serviceOfHost(host)?.namespace;
  const order = [callerNamespace, serviceNamespace, ROOT_NAMESPACE].filter((n): n is string => !!n);
  const rules = index.of(NETWORKING, 'DestinationRule').filter((dr) => {
    const ns = dr.metadata.namespace ?? 'default';
    const exportTo = strings(get(dr, 'spec', 'exportTo'));
    if (exportTo.length > 0 && !exportTo.includes('*')) {
      const visible = exportTo.map((e) => (e === '.' ? ns : e));
      if (callerNamespace === undefined || !visible.includes(callerNamespace)) return false;
    }
    return hostMatches(str(get(dr, 'spec', 'host')) ?? '', host, ns);
  });
  for (const ns of order) {
    const found = rules.find((dr) => (dr.metadata.namespace ?? 'default') === ns);
    if (found) return found;
  }
  return undefined;
}

export interface EffectivePolicy {
  readonly destinationRule: string | null;
  readonly connectionPool: Record<string, unknown> | null;
  readonly outlierDetection: Record<string, unknown> | null;
  readonly loadBalancer: Record<string, unknown> | null;
  readonly tls: Record<string, unknown> | null;
}

const POLICY_FIELDS = ['connectionPool', 'outlierDetection', 'loadBalancer', 'tls'] as const;

/**
 * The traffic policy a destination gets. Port-level settings replace the whole policy they belong
 * to: "Traffic settings specified at the destination-level will not be inherited when overridden by
 * port-level settings, i.e. default values will be applied to fields omitted in port-level traffic
 * policies" (https://istio.io/latest/docs/reference/config/networking/destination-rule/#TrafficPolicy).
 * A subset's policy then overrides the destination's field by field ("settings specified at the
 * subset level will override the corresponding settings specified at the destination level",
 * #Subset), all of it when the subset has port-level settings for the port (istio/istio
 * pilot/pkg/networking/util MergeSubsetTrafficPolicy).
 */
export function effectivePolicy(
  dr: MeshObject | undefined,
  subset: string | undefined,
  port: number,
): EffectivePolicy {
  type Fields = Record<(typeof POLICY_FIELDS)[number], Record<string, unknown> | null>;
  const fieldsOf = (policy: unknown): Fields =>
    Object.fromEntries(
      POLICY_FIELDS.map((f) => [
        f,
        isRecord(get(policy, f)) ? (get(policy, f) as Record<string, unknown>) : null,
      ]),
    ) as Fields;
  /** The policy for the port: its port-level settings when it has some for the port, else itself. */
  const forPort = (policy: unknown): { fields: Fields; portLevel: boolean } => {
    const portLevel = arr(get(policy, 'portLevelSettings')).find((p) => get(p, 'port', 'number') === port);
    return portLevel === undefined
      ? { fields: fieldsOf(policy), portLevel: false }
      : { fields: fieldsOf(portLevel), portLevel: true };
  };
  const out = forPort(get(dr, 'spec', 'trafficPolicy')).fields;
  const subsetPolicy =
    subset === undefined
      ? undefined
      : get(
          arr(get(dr, 'spec', 'subsets')).find((s) => get(s, 'name') === subset),
          'trafficPolicy',
        );
  if (isRecord(subsetPolicy)) {
    const own = forPort(subsetPolicy);
    for (const f of POLICY_FIELDS) if (own.fields[f] !== null || own.portLevel) out[f] = own.fields[f];
  }
  return {
    destinationRule: dr ? `DestinationRule ${ref(dr)}` : null,
    connectionPool: out.connectionPool,
    outlierDetection: out.outlierDetection,
    loadBalancer: out.loadBalancer,
    tls: out.tls,
  };
}

/** The labels of a DestinationRule subset, or undefined when the rule has no such subset. */
export function subsetLabels(dr: MeshObject | undefined, subset: string): Record<string, string> | undefined {
  const s = arr(get(dr, 'spec', 'subsets')).find((x) => get(x, 'name') === subset);
  return s === undefined ? undefined : labelsOf(get(s, 'labels'));
}

/** The Gateway API HTTPRoutes attached to a Gateway ("<ns>/<name>") that serve a host. */
export function httpRoutesFor(index: MeshIndex, gateway: string, host: string): MeshObject[] {
  return index.of(GATEWAY_API, 'HTTPRoute').filter((r) => {
    const ns = r.metadata.namespace ?? 'default';
    const attached = arr(get(r, 'spec', 'parentRefs')).some(
      (p) =>
        (str(get(p, 'kind')) ?? 'Gateway') === 'Gateway' &&
        `${str(get(p, 'namespace')) ?? ns}/${str(get(p, 'name')) ?? ''}` === gateway,
    );
    const hostnames = strings(get(r, 'spec', 'hostnames'));
    return attached && (hostnames.length === 0 || hostnames.some((h) => hostMatches(h, host, ns)));
  });
}

/** The HTTPRoutes whose parent is a Service: the Gateway API's routing of mesh traffic (GAMMA). */
export function meshHttpRoutesFor(index: MeshIndex, svc: { name: string; namespace: string }): MeshObject[] {
  return index.of(GATEWAY_API, 'HTTPRoute').filter((r) => {
    const ns = r.metadata.namespace ?? 'default';
    return arr(get(r, 'spec', 'parentRefs')).some(
      (p) =>
        str(get(p, 'kind')) === 'Service' &&
        (str(get(p, 'group')) ?? '') === '' &&
        str(get(p, 'name')) === svc.name &&
        (str(get(p, 'namespace')) ?? ns) === svc.namespace,
    );
  });
}
