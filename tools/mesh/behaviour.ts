/**
 * The behaviour section of `npm run diff`: what a change does to requests, not to fields. The
 * requests come from the synthesized objects of both refs, so it works for any app: every caller
 * (each workload behind a Service, the ingress gateway's identity, a client outside the mesh) ×
 * every Service × each request the objects declare (a VirtualService or HTTPRoute match, an
 * AuthorizationPolicy operation) plus one request nothing declares; and a client outside calling
 * each ingress host with the gateway routes' matches. Each is explained on both refs with the
 * explain evaluator (constructs/explain), and what differs is said in words:
 * "storefront → reviews: v1 80 % · v3 20 % → v1 90 % · v3 10 %".
 */
import { callersOf, type Explanation, explainRequest } from '../../constructs/explain/explain.js';
import { fullMatch } from '../../constructs/explain/match.js';
import {
  arr,
  GATEWAY_API,
  get,
  isRecord,
  labelsOf,
  MeshIndex,
  type MeshObject,
  NETWORKING,
  rec,
  ROOT_NAMESPACE,
  SECURITY,
  selects,
  type ServiceInfo,
  str,
  strings,
} from '../../constructs/explain/objects.js';
import type { Manifest } from './manifest.js';

/** One request of the behaviour section. */
export interface Probe {
  readonly from: string;
  /** What explain is asked for: "<service>.<namespace>" or an ingress host. */
  readonly to: string;
  /** The destination as people read it: the Service's name (with its namespace when names repeat) or the host. */
  readonly toLabel: string;
  /** The Service's name, or null for an ingress host. */
  readonly service: string | null;
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** "GET /reviews/x, end-user: jason", or "a request no route or policy names". */
  readonly label: string;
}

/** A difference in how requests are handled, in words. */
export interface BehaviourChange {
  /** "storefront → reviews: v1 80 % · v3 20 % → v1 90 % · v3 10 %" */
  readonly text: string;
  /** access-widened: a request that was refused (or undecided) gets through; traffic-moved: it goes elsewhere. */
  readonly risk: 'access-widened' | 'traffic-moved' | null;
}

export interface BehaviourDiff {
  /** How many requests were explained on both refs. */
  readonly requests: number;
  /** The changes, those that widen access first, then those that move traffic, then the rest. */
  readonly changes: readonly BehaviourChange[];
}

/** The request no declared match covers: what every other request meets. */
const UNMATCHED = { method: 'GET', path: '/unmatched', headers: {} } as const;
const UNMATCHED_LABEL = 'a request no route or policy names';

type Template = { method: string; path: string; headers: Record<string, string> };

/** A value an AuthorizationPolicy pattern accepts: "/books/*" → "/books/x", "{*}" and "{**}" → "x". */
function concreteAuthzValue(pattern: string): string {
  if (pattern === '*') return '/x';
  const templated = pattern.replaceAll('{**}', 'x').replaceAll('{*}', 'x');
  if (templated.endsWith('*')) return `${templated.slice(0, -1)}x`;
  if (templated.startsWith('*')) return `/x${templated.slice(1)}`;
  return templated;
}

/**
 * A value a VirtualService StringMatch accepts: the exact value, the prefix itself, or for a regex
 * a guess ("x" for each wildcard part) kept only when the regex accepts it.
 */
function concreteStringMatch(m: unknown, fallback: string | undefined): string | undefined {
  if (!isRecord(m)) return fallback;
  const exact = str(m.exact);
  if (exact !== undefined) return exact;
  const prefix = str(m.prefix);
  if (prefix !== undefined) return prefix;
  const regex = str(m.regex);
  if (regex !== undefined) {
    const guess = regex
      .replace(/^\^|\$$/g, '')
      .replace(/\[\^?[^\]]*\][+*]?|\\[dw][+*]?|\.[+*]/g, (t) => (/\\d|0-9/.test(t) ? '1' : 'x'))
      .replace(/\\(.)/g, '$1');
    try {
      return fullMatch(regex, guess) ? guess : fallback;
    } catch {
      return fallback; // RE2 syntax JavaScript does not read: no guess
    }
  }
  return 'x'; // {} checks presence only
}

function withQuery(path: string, query: Record<string, string>): string {
  const q = Object.entries(query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  return q.length === 0 ? path : `${path}${path.includes('?') ? '&' : '?'}${q.join('&')}`;
}

/** A request satisfying one HTTPMatchRequest of a VirtualService, over a base request. */
function fromVirtualServiceMatch(block: Record<string, unknown>, base: Template): Template {
  const headers = { ...base.headers };
  for (const [name, sm] of Object.entries(rec(block.headers))) {
    const v = concreteStringMatch(sm, undefined);
    if (v !== undefined) headers[name.toLowerCase()] = v;
  }
  const query: Record<string, string> = {};
  for (const [name, sm] of Object.entries(rec(block.queryParams))) {
    const v = concreteStringMatch(sm, undefined);
    if (v !== undefined) query[name] = v;
  }
  return {
    method: concreteStringMatch(block.method, base.method) ?? base.method,
    path: withQuery(concreteStringMatch(block.uri, base.path) ?? base.path, query),
    headers,
  };
}

/** A request satisfying one HTTPRouteMatch of the Gateway API. */
function fromHttpRouteMatch(m: unknown, base: Template): Template {
  const headers = { ...base.headers };
  for (const h of arr(get(m, 'headers'))) {
    const name = str(get(h, 'name'));
    const value = str(get(h, 'value'));
    if (name && value !== undefined && str(get(h, 'type')) !== 'RegularExpression')
      headers[name.toLowerCase()] = value;
  }
  const type = str(get(m, 'path', 'type')) ?? 'PathPrefix';
  const value = str(get(m, 'path', 'value'));
  const path = value === undefined || type === 'RegularExpression' ? base.path : value;
  return { method: str(get(m, 'method')) ?? base.method, path, headers };
}

/** The operations the AuthorizationPolicies of a Service's workloads name, as requests. */
function authzTemplates(index: MeshIndex, svc: ServiceInfo): (Template & { allow: boolean })[] {
  const workloads = index.workloadsOf(svc);
  const out: (Template & { allow: boolean })[] = [];
  for (const p of index.of(SECURITY, 'AuthorizationPolicy')) {
    const ns = p.metadata.namespace ?? 'default';
    const targets = [
      ...arr(get(p, 'spec', 'targetRefs')),
      ...(get(p, 'spec', 'targetRef') ? [get(p, 'spec', 'targetRef')] : []),
    ];
    const selector = get(p, 'spec', 'selector');
    const applies =
      targets.length > 0
        ? ns === svc.namespace &&
          targets.some((t) => str(get(t, 'kind')) === 'Service' && str(get(t, 'name')) === svc.name)
        : (ns === svc.namespace || ns === ROOT_NAMESPACE) &&
          (selector === undefined ||
            workloads.some((w) => selects(labelsOf(get(selector, 'matchLabels')), w.labels)));
    if (!applies) continue;
    for (const rule of arr(get(p, 'spec', 'rules'))) {
      const headers: Record<string, string> = {};
      for (const c of arr(get(rule, 'when'))) {
        const key = /^request\.headers\[(.+)\]$/.exec(str(get(c, 'key')) ?? '');
        const value = strings(get(c, 'values'))[0];
        if (key && value !== undefined)
          headers[key[1].toLowerCase()] = concreteAuthzValue(value).replace(/^\/x$/, 'x');
      }
      const allow = (str(get(p, 'spec', 'action')) ?? 'ALLOW') === 'ALLOW';
      for (const op of arr(get(rule, 'to'))) {
        const methods = strings(get(op, 'operation', 'methods'));
        const paths = strings(get(op, 'operation', 'paths'));
        const method = methods[0] ?? 'GET';
        for (const path of paths.length > 0 ? paths : ['/'])
          out.push({ method, path: concreteAuthzValue(path), headers, allow });
        for (const m of methods.slice(1))
          out.push({ method: m, path: concreteAuthzValue(paths[0] ?? '/'), headers, allow });
      }
    }
  }
  return out;
}

/** The requests a Service's objects declare, then the one they do not. */
function serviceTemplates(index: MeshIndex, svc: ServiceInfo): { t: Template; label?: string }[] {
  const authz = authzTemplates(index, svc);
  // Route matches are asked with what an ALLOW rule names (a path a caller may use), when one does.
  const allowed = authz.find((t) => t.allow);
  const base: Template = allowed
    ? { method: allowed.method, path: allowed.path, headers: allowed.headers }
    : { method: 'GET', path: '/', headers: {} };
  const out: { t: Template; label?: string }[] = authz.map(({ allow: _a, ...t }) => ({ t }));
  const host = `${svc.name}.${svc.namespace}.svc.cluster.local`;
  for (const vs of index.of(NETWORKING, 'VirtualService')) {
    const ns = vs.metadata.namespace ?? 'default';
    const gateways = strings(get(vs, 'spec', 'gateways'));
    if (gateways.length > 0 && !gateways.includes('mesh')) continue;
    const hosts = strings(get(vs, 'spec', 'hosts')).map((h) =>
      h.includes('.') ? h : `${h}.${ns}.svc.cluster.local`,
    );
    if (!hosts.includes(host) && !hosts.includes(`${svc.name}.${svc.namespace}`)) continue;
    for (const route of arr(get(vs, 'spec', 'http')))
      for (const block of arr(get(route, 'match')).filter(isRecord))
        out.push({ t: fromVirtualServiceMatch(block, base) });
  }
  for (const r of index.of(GATEWAY_API, 'HTTPRoute')) {
    const ns = r.metadata.namespace ?? 'default';
    const parent = arr(get(r, 'spec', 'parentRefs')).some(
      (p) =>
        str(get(p, 'kind')) === 'Service' &&
        str(get(p, 'name')) === svc.name &&
        (str(get(p, 'namespace')) ?? ns) === svc.namespace,
    );
    if (!parent) continue;
    for (const rule of arr(get(r, 'spec', 'rules')))
      for (const m of arr(get(rule, 'matches'))) out.push({ t: fromHttpRouteMatch(m, base) });
  }
  out.push({ t: { ...UNMATCHED, headers: {} }, label: UNMATCHED_LABEL });
  return out;
}

/** The hosts the ingress Gateways serve, a wildcard made concrete ("*" → "www.example.com"). */
function ingressHosts(index: MeshIndex): { host: string; gateway: string; kind: 'istio' | 'gateway-api' }[] {
  const concrete = (h: string) =>
    h === '*' ? 'www.example.com' : h.startsWith('*.') ? `www${h.slice(1)}` : h;
  const out: { host: string; gateway: string; kind: 'istio' | 'gateway-api' }[] = [];
  for (const gw of index.of(NETWORKING, 'Gateway')) {
    const ref = `${gw.metadata.namespace ?? 'default'}/${gw.metadata.name}`;
    for (const s of arr(get(gw, 'spec', 'servers')))
      for (const h of strings(get(s, 'hosts')))
        out.push({ host: concrete(h.slice(h.indexOf('/') + 1)), gateway: ref, kind: 'istio' });
  }
  for (const gw of index.of(GATEWAY_API, 'Gateway')) {
    if (str(get(gw, 'spec', 'gatewayClassName')) === 'istio-waypoint') continue;
    const ref = `${gw.metadata.namespace ?? 'default'}/${gw.metadata.name}`;
    for (const l of arr(get(gw, 'spec', 'listeners')))
      out.push({ host: concrete(str(get(l, 'hostname')) ?? '*'), gateway: ref, kind: 'gateway-api' });
  }
  const seen = new Set<string>();
  return out.filter((h) => !seen.has(h.host) && (seen.add(h.host), true));
}

/** The requests the routes bound to an ingress Gateway declare for a host, then one they do not. */
function ingressTemplates(
  index: MeshIndex,
  entry: { host: string; gateway: string; kind: string },
): { t: Template; label?: string }[] {
  const base: Template = { method: 'GET', path: '/', headers: {} };
  const out: { t: Template; label?: string }[] = [];
  if (entry.kind === 'istio') {
    for (const vs of index.of(NETWORKING, 'VirtualService')) {
      const ns = vs.metadata.namespace ?? 'default';
      const bound = strings(get(vs, 'spec', 'gateways')).map((g) => (g.includes('/') ? g : `${ns}/${g}`));
      if (!bound.includes(entry.gateway)) continue;
      for (const route of arr(get(vs, 'spec', 'http'))) {
        const blocks = arr(get(route, 'match')).filter(isRecord);
        for (const block of blocks) out.push({ t: fromVirtualServiceMatch(block, base) });
      }
    }
  } else {
    for (const r of index.of(GATEWAY_API, 'HTTPRoute')) {
      const ns = r.metadata.namespace ?? 'default';
      const attached = arr(get(r, 'spec', 'parentRefs')).some(
        (p) =>
          (str(get(p, 'kind')) ?? 'Gateway') === 'Gateway' &&
          `${str(get(p, 'namespace')) ?? ns}/${str(get(p, 'name')) ?? ''}` === entry.gateway,
      );
      if (!attached) continue;
      for (const rule of arr(get(r, 'spec', 'rules')))
        for (const m of arr(get(rule, 'matches'))) out.push({ t: fromHttpRouteMatch(m, base) });
    }
  }
  if (out.length === 0) out.push({ t: base });
  out.push({ t: { ...UNMATCHED, headers: {} }, label: UNMATCHED_LABEL });
  return out;
}

function requestLabel(t: Template): string {
  const headers = Object.entries(t.headers).map(([k, v]) => `${k}: ${v}`);
  return [`${t.method} ${t.path}`, ...headers].join(', ');
}

/** Every request of the behaviour section that one synthesis defines. */
export function probesOf(index: MeshIndex): Probe[] {
  const out: Probe[] = [];
  const names = index.services.map((s) => s.name);
  const callers = callersOf(index);
  for (const svc of index.services) {
    if (svc.ports.length === 0) continue;
    const toLabel =
      names.filter((n) => n === svc.name).length > 1 ? `${svc.name}.${svc.namespace}` : svc.name;
    const templates = serviceTemplates(index, svc);
    for (const from of callers) {
      for (const { t, label } of templates) {
        out.push({
          from,
          to: `${svc.name}.${svc.namespace}`,
          toLabel,
          service: svc.name,
          ...t,
          label: label ?? requestLabel(t),
        });
      }
    }
  }
  // External hosts a ServiceEntry declares: whether each caller gets out to them (Sidecar egress,
  // the outbound traffic policy) and how it is routed there.
  for (const se of index.of(NETWORKING, 'ServiceEntry')) {
    for (const h of strings(get(se, 'spec', 'hosts'))) {
      if (h.includes('*') || index.services.some((s) => `${s.name}.${s.namespace}.svc.cluster.local` === h))
        continue;
      for (const from of callers) {
        const t: Template = { method: 'GET', path: '/', headers: {} };
        out.push({ from, to: h, toLabel: h, service: null, ...t, label: requestLabel(t) });
      }
    }
  }
  for (const entry of ingressHosts(index)) {
    for (const { t, label } of ingressTemplates(index, entry)) {
      out.push({
        from: 'outside',
        to: entry.host,
        toLabel: entry.host,
        service: null,
        ...t,
        label: label ?? requestLabel(t),
      });
    }
  }
  const seen = new Set<string>();
  return out.filter((p) => {
    const k = probeKey(p);
    return !seen.has(k) && (seen.add(k), true);
  });
}

function probeKey(p: Probe): string {
  const headers = Object.entries(p.headers).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify([p.from, p.to, p.method, p.path, headers]);
}

// ---------------------------------------------------------------------------------------------
// What an answer says, aspect by aspect

/** What the behaviour section compares of one answer. */
interface State {
  readonly access: 'allowed' | 'denied' | 'unknown' | 'error';
  /** Why, for people: the deciding policy, or where the request is refused. */
  readonly why: string;
  readonly destinations: string;
  readonly timeout: string;
  readonly retries: string;
  readonly fault: string;
  readonly mirror: string;
  readonly mtls: string;
  readonly rateLimits: string;
}

/** An Istio duration for people: "3s" → "3 s", "500ms" → "500 ms". */
function duration(d: string): string {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(d);
  return m ? `${m[1]} ${m[2]}` : d;
}

function percent(p: number | null): string {
  return p === null ? '? %' : `${p} %`;
}

function stateOf(e: Explanation, target: string | null): State {
  const name = (service: string, version: string | null, fallback: string) =>
    service === target ? (version ?? fallback) : [service, version].filter(Boolean).join(' ');
  const destinations =
    e.destinations.length === 0
      ? e.deniedAt === 'routing'
        ? `no destination (${e.reason})`
        : 'none'
      : e.destinations
          .map(
            (d) =>
              `${name(d.service, d.version, d.deployments.join('+') || d.service)}${d.weight === null ? '' : ` ${d.weight} %`}`,
          )
          .join(' · ');
  const rt = e.retries as {
    attempts?: number;
    perTryTimeout?: string;
    retryOn?: string;
    default?: boolean;
  } | null;
  const retries = !rt
    ? 'none'
    : rt.default
      ? `Istio's default (${rt.attempts} attempts)`
      : `${rt.attempts ?? '?'}${rt.perTryTimeout ? ` × ${duration(rt.perTryTimeout)}` : ''}${rt.retryOn ? ` on ${rt.retryOn}` : ''}`;
  const fault = [
    e.fault?.delay && `delay ${duration(e.fault.delay.fixedDelay)} for ${percent(e.fault.delay.percentage)}`,
    e.fault?.abort && `abort ${e.fault.abort.httpStatus ?? '?'} for ${percent(e.fault.abort.percentage)}`,
  ]
    .filter(Boolean)
    .join(', ');
  const limits = e.rateLimits.map((l) =>
    l.kind === 'local'
      ? `local ${l.counts} ${l.bucket?.maxTokens} per ${l.bucket ? duration(l.bucket.fillInterval) : '?'}`
      : `global ${l.domain} ${l.counts} ${l.limit === null || l.limit === undefined ? 'no limit' : l.limit === 'unlimited' ? 'unlimited' : `${l.limit.requestsPerUnit} per ${l.limit.unit.toLowerCase()}`}`,
  );
  return {
    access: e.allowed === true ? 'allowed' : e.allowed === false ? 'denied' : 'unknown',
    why:
      e.allowed === true
        ? (e.decidedBy ?? '')
        : e.allowed === false
          ? [e.deniedAt, e.decidedBy].filter(Boolean).join(': ')
          : e.reason,
    destinations,
    timeout: e.timeout ? duration(e.timeout) : 'none',
    retries,
    fault: fault || 'none',
    mirror: e.mirror
      ? `${e.mirror.percentage} % to ${name(e.mirror.service, e.mirror.version, e.mirror.service)}`
      : 'none',
    mtls: e.mtls ? e.mtls.mode : 'none',
    rateLimits: limits.join('; ') || 'none',
  };
}

function explain(index: MeshIndex, p: Probe): State {
  try {
    const e = explainRequest(index, {
      from: p.from,
      to: p.to,
      method: p.method,
      path: p.path,
      headers: p.headers,
    });
    return stateOf(e, p.service);
  } catch (err) {
    const blank = 'none';
    return {
      access: 'error',
      why: (err as Error).message,
      destinations: blank,
      timeout: blank,
      retries: blank,
      fault: blank,
      mirror: blank,
      mtls: blank,
      rateLimits: blank,
    };
  }
}

/** The access of a state in words: "allowed (shop/ratings-callers)", "denied (egress: shop/catalog)". */
function accessText(s: State): string {
  if (s.access === 'error') return `not answered (${s.why})`;
  return s.why ? `${s.access} (${s.why})` : s.access;
}

const WIDER: Record<State['access'], number> = { error: 0, denied: 0, unknown: 1, allowed: 2 };

interface Line {
  readonly from: string;
  readonly toLabel: string;
  readonly probe: string;
  readonly text: string;
  readonly risk: BehaviourChange['risk'];
}

/** The changed aspects of one request, one line each. */
function compare(a: State, b: State): Omit<Line, 'from' | 'toLabel' | 'probe'>[] {
  if (a.access !== b.access) {
    const before = a.access === 'error' ? accessText(a) : a.access;
    return [
      {
        text: `${before} → ${accessText(b)}`,
        risk: WIDER[b.access] > WIDER[a.access] ? 'access-widened' : null,
      },
    ];
  }
  // Routing and policy of requests that are refused on both refs do not matter.
  if (a.access === 'denied' || a.access === 'error') return [];
  const out: Omit<Line, 'from' | 'toLabel' | 'probe'>[] = [];
  if (a.destinations !== b.destinations)
    out.push({ text: `${a.destinations} → ${b.destinations}`, risk: 'traffic-moved' });
  if (a.mirror !== b.mirror) out.push({ text: `mirror ${a.mirror} → ${b.mirror}`, risk: 'traffic-moved' });
  if (a.timeout !== b.timeout) out.push({ text: `timeout ${a.timeout} → ${b.timeout}`, risk: null });
  if (a.retries !== b.retries) out.push({ text: `retries ${a.retries} → ${b.retries}`, risk: null });
  if (a.fault !== b.fault) out.push({ text: `fault ${a.fault} → ${b.fault}`, risk: null });
  if (a.mtls !== b.mtls) out.push({ text: `mTLS ${a.mtls} → ${b.mtls}`, risk: null });
  if (a.rateLimits !== b.rateLimits)
    out.push({ text: `rate limits ${a.rateLimits} → ${b.rateLimits}`, risk: null });
  if (a.why !== b.why && out.length === 0)
    out.push({ text: `${accessText(a)} → ${accessText(b)}`, risk: null });
  return out;
}

const RISK_ORDER = { 'access-widened': 0, 'traffic-moved': 1 } as const;

/**
 * What changes for the requests of two syntheses (base, head). Requests that only one side has
 * (a new caller or Service) are said once per caller and destination, when the head allows them.
 */
export function behaviourDiff(base: readonly Manifest[], head: readonly Manifest[]): BehaviourDiff {
  const bi = new MeshIndex(base as readonly MeshObject[]);
  const hi = new MeshIndex(head as readonly MeshObject[]);
  const bp = probesOf(bi);
  const hp = probesOf(hi);
  const pairOf = (p: Probe) => `${p.from}\u0000${p.to}`;
  const basePairs = new Set(bp.map(pairOf));
  const headPairs = new Set(hp.map(pairOf));
  // The requests of a pair both sides have are asked of both sides, whichever side declared them.
  const shared = new Map<string, Probe>();
  for (const p of [...bp, ...hp])
    if (basePairs.has(pairOf(p)) && headPairs.has(pairOf(p))) shared.set(probeKey(p), p);
  const lines: Line[] = [];
  const perPair = new Map<string, number>();
  for (const p of shared.values()) {
    const a = explain(bi, p);
    const b = explain(hi, p);
    // A request refused on both refs tells nothing: it does not count among the pair's requests.
    const refused = (s: State) => s.access === 'denied' || s.access === 'error';
    if (!(refused(a) && refused(b))) perPair.set(pairOf(p), (perPair.get(pairOf(p)) ?? 0) + 1);
    for (const l of compare(a, b)) lines.push({ ...l, from: p.from, toLabel: p.toLabel, probe: p.label });
  }
  // Pairs only one side has (a caller, Service or host added or removed): what the side that has
  // them lets through.
  const oneSided = (
    probes: readonly Probe[],
    index: MeshIndex,
    other: ReadonlySet<string>,
    added: boolean,
  ) => {
    const pairs = new Map<string, { p: Probe; allowed: Probe[]; total: number; why: string }>();
    for (const p of probes) {
      if (other.has(pairOf(p))) continue;
      const entry = pairs.get(pairOf(p)) ?? { p, allowed: [], total: 0, why: '' };
      entry.total++;
      const s = explain(index, p);
      if (s.access === 'allowed' || s.access === 'unknown') {
        entry.allowed.push(p);
        entry.why ||= accessText(s);
      }
      pairs.set(pairOf(p), entry);
    }
    for (const { p, allowed, total, why } of pairs.values()) {
      if (allowed.length === 0) continue;
      lines.push({
        from: p.from,
        toLabel: p.toLabel,
        probe: allowed.length === total ? '' : allowed.map((x) => x.label).join('; '),
        text: added ? `new: ${why}` : `gone: was ${why}`,
        risk: added ? 'access-widened' : null,
      });
    }
  };
  oneSided(hp, hi, basePairs, true);
  oneSided(bp, bi, headPairs, false);
  return { requests: shared.size, changes: group(lines, perPair, bp.concat(hp)) };
}

/**
 * One line per change: the requests of a caller and destination that change alike are named only
 * when not all of them do, and callers that change alike share the line ("reviews" for all its
 * versions).
 */
function group(
  lines: readonly Line[],
  perPair: ReadonlyMap<string, number>,
  probes: readonly Probe[],
): BehaviourChange[] {
  const byPair = new Map<
    string,
    { from: string; toLabel: string; text: string; risk: Line['risk']; probes: string[] }
  >();
  for (const l of lines) {
    const k = JSON.stringify([l.from, l.toLabel, l.text]);
    const g = byPair.get(k) ?? { from: l.from, toLabel: l.toLabel, text: l.text, risk: l.risk, probes: [] };
    if (l.probe) g.probes.push(l.probe);
    byPair.set(k, g);
  }
  const toOf = new Map(probes.map((p) => [p.toLabel, p.to]));
  const byChange = new Map<
    string,
    { froms: string[]; toLabel: string; detail: string; text: string; risk: Line['risk'] }
  >();
  for (const g of byPair.values()) {
    const total = perPair.get(`${g.from}\u0000${toOf.get(g.toLabel) ?? g.toLabel}`) ?? 0;
    const detail = /^(new|gone): /.test(g.text)
      ? g.probes.join('; ')
      : g.probes.length >= total
        ? ''
        : g.probes.join('; ');
    const k = JSON.stringify([g.toLabel, detail, g.text]);
    const c = byChange.get(k) ?? { froms: [], toLabel: g.toLabel, detail, text: g.text, risk: g.risk };
    c.froms.push(g.from);
    byChange.set(k, c);
  }
  // A service whose every version changes alike is named once.
  const callers = [...new Set(probes.map((p) => p.from))];
  const versionsOf = (svc: string) => callers.filter((c) => c.startsWith(`${svc}:`));
  const out = [...byChange.values()].map((c) => {
    const froms: string[] = [];
    for (const f of c.froms) {
      const svc = f.split(':')[0];
      const all = versionsOf(svc);
      if (f.includes(':') && all.length > 0 && all.every((v) => c.froms.includes(v))) {
        if (!froms.includes(svc)) froms.push(svc);
      } else froms.push(f);
    }
    return {
      text: `${froms.join(', ')} → ${c.toLabel}${c.detail ? ` (${c.detail})` : ''}: ${c.text.replace(/^(new|gone): /, '$1, ')}`,
      risk: c.risk,
    };
  });
  return out
    .map((c, i) => ({ c, i }))
    .sort(
      (x, y) =>
        (x.c.risk === null ? 2 : RISK_ORDER[x.c.risk]) - (y.c.risk === null ? 2 : RISK_ORDER[y.c.risk]) ||
        x.i - y.i,
    )
    .map(({ c }) => c);
}
