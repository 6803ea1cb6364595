/**
 * Changes that deserve a second look before they are applied: they replace objects, break
 * clients, weaken mTLS or authorization, move traffic, or remove or loosen a circuit breaker or a
 * rate limit. Each rule looks at one kind of object, before and after.
 */
import {
  arr,
  deepEqual,
  durationMs,
  get,
  is,
  isRecord,
  ISTIO_NETWORKING,
  ISTIO_SECURITY,
  GATEWAY_API,
  type Manifest,
  num,
  rec,
  str,
  strings,
} from './manifest.js';
import { formatValue, type ObjectDiff } from './object-diff.js';
import { rateLimitConfigs } from './ratelimit-config.js';

export type RiskRule =
  | 'deployment-selector'
  | 'service-port-removed'
  | 'mtls-weakened'
  | 'authz-widened'
  | 'route-moved'
  | 'fault-injected'
  | 'circuit-breaker-loosened'
  | 'rate-limit-loosened'
  | 'tls-dropped'
  | 'hosts-widened'
  | 'timeout-raised'
  | 'retries-raised'
  | 'egress-widened';

export interface Risk {
  readonly rule: RiskRule;
  /** The object's label, "VirtualService shop/reviews". */
  readonly object: string;
  readonly message: string;
}

/** What a rule may look at beyond the object itself: every object of the head. */
interface Context {
  readonly head: readonly Manifest[];
}

type Rule = (base: Manifest | undefined, head: Manifest | undefined, context: Context) => string[];

const isPeerAuthentication = (m: Manifest) => is(m, ISTIO_SECURITY, 'PeerAuthentication');
const isDestinationRule = (m: Manifest) => is(m, ISTIO_NETWORKING, 'DestinationRule');
const isAuthorizationPolicy = (m: Manifest) => is(m, ISTIO_SECURITY, 'AuthorizationPolicy');
const isEnvoyFilter = (m: Manifest) => is(m, ISTIO_NETWORKING, 'EnvoyFilter');
const isVirtualService = (m: Manifest) => is(m, ISTIO_NETWORKING, 'VirtualService');
const isIstioGateway = (m: Manifest) => is(m, ISTIO_NETWORKING, 'Gateway');
const isKubeGateway = (m: Manifest) => is(m, GATEWAY_API, 'Gateway');
const isHttpRoute = (m: Manifest) => is(m, GATEWAY_API, 'HTTPRoute');
const WORKLOADS = ['Deployment', 'StatefulSet', 'DaemonSet'];

const RULES: { rule: RiskRule; applies: (m: Manifest) => boolean; check: Rule }[] = [
  {
    rule: 'deployment-selector',
    applies: (m) => WORKLOADS.some((k) => is(m, 'apps', k)),
    check: selectorChanged,
  },
  { rule: 'service-port-removed', applies: (m) => is(m, '', 'Service'), check: servicePortsRemoved },
  { rule: 'mtls-weakened', applies: isPeerAuthentication, check: peerAuthWeakened },
  { rule: 'mtls-weakened', applies: isPeerAuthentication, check: targetMoved },
  { rule: 'mtls-weakened', applies: isDestinationRule, check: clientTlsWeakened },
  { rule: 'mtls-weakened', applies: (m) => is(m, '', 'Namespace'), check: namespaceLeftMesh },
  { rule: 'mtls-weakened', applies: (m) => WORKLOADS.some((k) => is(m, 'apps', k)), check: podsLeftMesh },
  { rule: 'authz-widened', applies: isAuthorizationPolicy, check: authzWidened },
  { rule: 'authz-widened', applies: isAuthorizationPolicy, check: targetMoved },
  {
    rule: 'route-moved',
    applies: isVirtualService,
    check: virtualServiceMoved,
  },
  { rule: 'route-moved', applies: isHttpRoute, check: httpRouteMoved },
  {
    rule: 'fault-injected',
    applies: (m) => is(m, ISTIO_NETWORKING, 'VirtualService'),
    check: faultsInjected,
  },
  { rule: 'circuit-breaker-loosened', applies: isDestinationRule, check: circuitBreakerLoosened },
  {
    rule: 'circuit-breaker-loosened',
    applies: (m) => isDestinationRule(m) && hasCircuitBreaker(m),
    check: targetMoved,
  },
  { rule: 'rate-limit-loosened', applies: isEnvoyFilter, check: envoyRateLimit },
  {
    rule: 'rate-limit-loosened',
    applies: (m) => isEnvoyFilter(m) && rateLimitKind(m) !== undefined,
    check: targetMoved,
  },
  { rule: 'rate-limit-loosened', applies: (m) => is(m, '', 'ConfigMap'), check: globalRateLimitConfig },
  { rule: 'tls-dropped', applies: (m) => isIstioGateway(m) || isKubeGateway(m), check: ingressTlsDropped },
  { rule: 'tls-dropped', applies: isHttpRoute, check: httpRouteRedirectDropped },
  {
    rule: 'hosts-widened',
    applies: (m) => isIstioGateway(m) || isKubeGateway(m) || isVirtualService(m) || isHttpRoute(m),
    check: hostsWidened,
  },
  { rule: 'timeout-raised', applies: (m) => isVirtualService(m) || isHttpRoute(m), check: timeoutRaised },
  { rule: 'retries-raised', applies: isVirtualService, check: retriesRaised },
  { rule: 'egress-widened', applies: (m) => is(m, ISTIO_NETWORKING, 'Sidecar'), check: sidecarEgressWidened },
  { rule: 'egress-widened', applies: (m) => is(m, ISTIO_NETWORKING, 'Sidecar'), check: outboundPolicyOpened },
  {
    rule: 'egress-widened',
    applies: (m) => is(m, ISTIO_NETWORKING, 'ServiceEntry'),
    check: externalHostsAdded,
  },
];

/**
 * The risky changes among `diffs`, in the order of the diffs. `head` is every object of the head
 * (the diffs' and the unchanged ones), for rules that depend on what else applies: which
 * PeerAuthentication takes over from a removed one.
 */
export function findRisks(diffs: readonly ObjectDiff[], head: readonly Manifest[] = []): Risk[] {
  const context: Context = { head };
  const out: Risk[] = [];
  for (const d of diffs) {
    const sample = d.head ?? d.base;
    if (!sample) continue;
    for (const r of RULES) {
      if (!r.applies(sample)) continue;
      for (const message of r.check(d.base, d.head, context))
        out.push({ rule: r.rule, object: d.label, message });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// What a policy applies to

/** The workloads, Services or host a policy object applies to, in words. */
function targetOf(m: Manifest): string {
  const spec = rec(m.spec);
  if (isDestinationRule(m)) {
    const host = hostLabel(str(spec.host) ?? '?', m.metadata.namespace ?? '');
    const selector = get(spec, 'workloadSelector', 'matchLabels');
    return isRecord(selector) ? `host ${host} from workloads ${matchLabels(selector)}` : `host ${host}`;
  }
  const refs = [...arr(spec.targetRefs), ...(spec.targetRef ? [spec.targetRef] : [])].map(
    (r) => `${str(get(r, 'kind')) ?? '?'}/${str(get(r, 'name')) ?? '?'}`,
  );
  if (refs.length > 0) return `targetRefs ${refs.join(', ')}`;
  const selector = get(spec, 'selector', 'matchLabels') ?? get(spec, 'workloadSelector', 'labels');
  return isRecord(selector) && Object.keys(selector).length > 0
    ? `workloads ${matchLabels(selector)}`
    : `every workload of namespace ${m.metadata.namespace ?? '?'}`;
}

function matchLabels(labels: Record<string, unknown>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
}

/** A policy that now applies elsewhere: what it gave its old targets, they lose. */
function targetMoved(base: Manifest | undefined, head: Manifest | undefined): string[] {
  if (!base || !head) return [];
  const before = targetOf(base);
  const after = targetOf(head);
  if (before === after) return [];
  const lost = isAuthorizationPolicy(base)
    ? (str(get(base, 'spec', 'action')) ?? 'ALLOW') === 'ALLOW'
      ? 'what it allows, it now allows on the new targets'
      : 'the old targets lose its protection'
    : isPeerAuthentication(base)
      ? 'the old targets fall back to the namespace or mesh-wide mode'
      : isDestinationRule(base)
        ? 'the old targets lose its circuit breaker'
        : 'the old targets are no longer rate limited';
  return [`applies to ${after} instead of ${before}: ${lost}`];
}

// ---------------------------------------------------------------------------------------------
// Workloads and Services

function selectorChanged(base: Manifest | undefined, head: Manifest | undefined): string[] {
  if (!base || !head) return [];
  const a = get(base, 'spec', 'selector');
  const b = get(head, 'spec', 'selector');
  if (deepEqual(a, b)) return [];
  return [
    `selector changed (${labels(a)} → ${labels(b)}): the selector is immutable, so the ${head.kind} must be deleted and recreated`,
  ];
}

function labels(selector: unknown): string {
  const m = rec(get(selector, 'matchLabels'));
  const parts = Object.entries(m).map(([k, v]) => `${k}=${String(v)}`);
  if (arr(get(selector, 'matchExpressions')).length > 0) parts.push('matchExpressions');
  return parts.join(',') || '(none)';
}

function servicePortsRemoved(base: Manifest | undefined, head: Manifest | undefined): string[] {
  if (!base) return [];
  const ports = (m: Manifest | undefined) =>
    new Map(
      arr(get(m, 'spec', 'ports')).map((p) => {
        const number = String(get(p, 'port'));
        const protocol = str(get(p, 'protocol')) ?? 'TCP';
        const name = str(get(p, 'name'));
        return [`${number}/${protocol}`, name ? `${name} (${number}/${protocol})` : `${number}/${protocol}`];
      }),
    );
  const after = ports(head);
  const removed = [...ports(base)].filter(([k]) => !after.has(k)).map(([, label]) => label);
  if (removed.length === 0) return [];
  const what = head ? 'port' : 'Service removed with its port';
  return [
    `${what}${removed.length > 1 ? 's' : ''} ${removed.join(', ')}${head ? ' removed' : ''}: clients of it break`,
  ];
}

// ---------------------------------------------------------------------------------------------
// mTLS

const PEER_RANK: Record<string, number> = { STRICT: 3, UNSET: 2, PERMISSIVE: 1, DISABLE: 0 };
/** Istio's root namespace, where a PeerAuthentication without selector sets the mesh-wide mode. */
const ROOT_NAMESPACE = 'istio-system';

function peerModes(m: Manifest | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!m) return out;
  out.set('mtls.mode', str(get(m, 'spec', 'mtls', 'mode')) ?? 'UNSET');
  for (const [port, v] of Object.entries(rec(get(m, 'spec', 'portLevelMtls')))) {
    out.set(`portLevelMtls[${port}].mode`, str(get(v, 'mode')) ?? 'UNSET');
  }
  return out;
}

const hasSelector = (m: Manifest) => Object.keys(rec(get(m, 'spec', 'selector', 'matchLabels'))).length > 0;

/**
 * The mode that applies once a PeerAuthentication is gone: the namespace-wide one for a workload
 * policy, then the mesh-wide one, then Istio's default (PERMISSIVE), as found in the head.
 */
function fallbackMode(removed: Manifest, head: readonly Manifest[]): { mode: string; from: string } {
  const namespaceWide = (namespace: string) =>
    head.find((m) => isPeerAuthentication(m) && m.metadata.namespace === namespace && !hasSelector(m));
  // A policy of the same namespace and selector is the removed one under another name.
  const selector = get(removed, 'spec', 'selector', 'matchLabels');
  const renamed = head.find(
    (m) =>
      isPeerAuthentication(m) &&
      m.metadata.namespace === removed.metadata.namespace &&
      deepEqual(get(m, 'spec', 'selector', 'matchLabels'), selector),
  );
  const candidates = [
    renamed,
    ...(hasSelector(removed) ? [namespaceWide(removed.metadata.namespace ?? '')] : []),
    namespaceWide(ROOT_NAMESPACE),
  ];
  for (const pa of candidates) {
    const mode = str(get(pa, 'spec', 'mtls', 'mode'));
    if (pa && mode && mode !== 'UNSET') {
      return { mode, from: `PeerAuthentication ${pa.metadata.namespace}/${pa.metadata.name}` };
    }
  }
  return { mode: 'PERMISSIVE', from: "Istio's default" };
}

function peerAuthWeakened(
  base: Manifest | undefined,
  head: Manifest | undefined,
  context: Context,
): string[] {
  const after = peerModes(head);
  const out: string[] = [];
  if (!base) {
    // A new policy that accepts plain text where the namespace or mesh may have required mTLS.
    for (const [where, now] of after) {
      if ((PEER_RANK[now] ?? 0) < PEER_RANK.UNSET)
        out.push(
          `new PeerAuthentication for ${targetOf(head!)} with ${where} ${now}: plain-text traffic ${now === 'DISABLE' ? 'only' : 'accepted'}`,
        );
    }
    return out;
  }
  const before = peerModes(base);
  for (const [where, old] of before) {
    if (!head) {
      if (where !== 'mtls.mode') continue;
      const fallback = fallbackMode(base, context.head);
      if ((PEER_RANK[fallback.mode] ?? 0) < (PEER_RANK[old] ?? 0)) {
        out.push(
          `PeerAuthentication with ${where} ${old} removed: ${fallback.from} applies to ${targetOf(base)}, ${fallback.mode}`,
        );
      }
      continue;
    }
    const now = after.get(where) ?? after.get('mtls.mode') ?? 'UNSET';
    if ((PEER_RANK[now] ?? 0) < (PEER_RANK[old] ?? 0)) {
      out.push(`${where} ${old} → ${now}: plain-text traffic ${now === 'DISABLE' ? 'only' : 'accepted'}`);
    }
  }
  // A port newly carved out of the workload's mode.
  for (const [where, now] of after) {
    if (before.has(where)) continue;
    const old = before.get('mtls.mode') ?? 'UNSET';
    if ((PEER_RANK[now] ?? 0) < (PEER_RANK[old] ?? 0))
      out.push(`${where} ${now} added (mtls.mode is ${old})`);
  }
  return out;
}

/** Labels that put a namespace's pods in the mesh (a sidecar, a revision's sidecar, or ambient). */
function meshMembership(labels: Record<string, unknown>): string | undefined {
  if (labels['istio-injection'] === 'enabled') return 'istio-injection=enabled';
  if (typeof labels['istio.io/rev'] === 'string') return `istio.io/rev=${labels['istio.io/rev']}`;
  if (labels['istio.io/dataplane-mode'] === 'ambient') return 'istio.io/dataplane-mode=ambient';
  return undefined;
}

function namespaceLeftMesh(base: Manifest | undefined, head: Manifest | undefined): string[] {
  if (!base || !head) return [];
  const before = meshMembership(rec(get(base, 'metadata', 'labels')));
  const after = meshMembership(rec(get(head, 'metadata', 'labels')));
  if (!before || after) return [];
  return [
    `label ${before} removed: its pods leave the mesh (no mTLS, no authorization policies) as they restart`,
  ];
}

/** A pod template that opts out of the mesh: injection off, or ambient mode off. */
function podOptOut(m: Manifest | undefined): string | undefined {
  const meta = get(m, 'spec', 'template', 'metadata');
  const inject =
    get(meta, 'labels', 'sidecar.istio.io/inject') ?? get(meta, 'annotations', 'sidecar.istio.io/inject');
  if (inject === 'false') return 'sidecar.istio.io/inject: "false"';
  if (get(meta, 'labels', 'istio.io/dataplane-mode') === 'none') return 'istio.io/dataplane-mode: none';
  return undefined;
}

function podsLeftMesh(base: Manifest | undefined, head: Manifest | undefined): string[] {
  if (!base || !head) return [];
  const after = podOptOut(head);
  if (!after || podOptOut(base)) return [];
  return [`pods now set ${after}: they leave the mesh (no mTLS, no authorization policies)`];
}

const MUTUAL = new Set(['ISTIO_MUTUAL', 'MUTUAL']);

/**
 * Every traffic policy of a DestinationRule: the top one, per port, and per subset as Istio
 * applies it (the subset's own fields over the top ones). Subsets without a policy of their own on
 * either side are left out: they only repeat the top policy.
 */
function trafficPolicies(
  m: Manifest | undefined,
  subsetsWithOwn?: ReadonlySet<string>,
): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (!m) return out;
  // Per-port settings are listed where they are written: a subset's inherited ones are the top's.
  const add = (where: string, policy: unknown, ports: unknown) => {
    if (!isRecord(policy)) return;
    out.set(where, policy);
    for (const p of arr(ports)) {
      out.set(`${where}.portLevelSettings[${String(get(p, 'port', 'number'))}]`, p);
    }
  };
  const top = rec(get(m, 'spec', 'trafficPolicy'));
  add('trafficPolicy', get(m, 'spec', 'trafficPolicy'), top.portLevelSettings);
  for (const s of arr(get(m, 'spec', 'subsets'))) {
    const name = String(get(s, 'name'));
    const own = get(s, 'trafficPolicy');
    if (!isRecord(own) && !subsetsWithOwn?.has(name)) continue;
    add(`subsets[${name}].trafficPolicy`, { ...top, ...rec(own) }, get(own, 'portLevelSettings'));
  }
  return out;
}

/** Subsets that have a traffic policy of their own in either manifest. */
function subsetsWithPolicy(...ms: (Manifest | undefined)[]): Set<string> {
  return new Set(
    ms.flatMap((m) =>
      arr(get(m, 'spec', 'subsets'))
        .filter((s) => isRecord(get(s, 'trafficPolicy')))
        .map((s) => String(get(s, 'name'))),
    ),
  );
}

/**
 * Whether `part` of a subset's policy only repeats the top policy's on both sides, so that a change
 * is reported once, at the top.
 */
function inherited(
  where: string,
  part: string,
  before: Map<string, unknown>,
  after: Map<string, unknown>,
): boolean {
  if (!where.startsWith('subsets[')) return false;
  const same = (policies: Map<string, unknown>) =>
    deepEqual(get(policies.get(where), part), get(policies.get('trafficPolicy'), part));
  return same(before) && same(after);
}

function hasCircuitBreaker(m: Manifest): boolean {
  return [...trafficPolicies(m).values()].some(
    (p) => isRecord(get(p, 'connectionPool')) || isRecord(get(p, 'outlierDetection')),
  );
}

function clientTlsWeakened(base: Manifest | undefined, head: Manifest | undefined): string[] {
  const own = subsetsWithPolicy(base, head);
  const after = trafficPolicies(head, own);
  const out: string[] = [];
  if (!base) {
    for (const [where, policy] of after) {
      const mode = str(get(policy, 'tls', 'mode'));
      // SIMPLE TLS to an outside host is ordinary TLS origination; inside the mesh it drops mTLS.
      const inCluster = fullHost(
        str(get(head, 'spec', 'host')) ?? '',
        head!.metadata.namespace ?? '',
      ).endsWith('.svc.cluster.local');
      if (mode === 'DISABLE' || (mode === 'SIMPLE' && inCluster))
        out.push(`new DestinationRule sends ${where}.tls.mode ${mode} (no mutual TLS) to ${targetOf(head!)}`);
    }
    return out;
  }
  const before = trafficPolicies(base, own);
  for (const [where, policy] of before) {
    const old = str(get(policy, 'tls', 'mode'));
    if (!old || !MUTUAL.has(old) || inherited(where, 'tls', before, after)) continue;
    const now = str(get(after.get(where), 'tls', 'mode'));
    if (now && MUTUAL.has(now)) continue;
    const host = str(get(base, 'spec', 'host')) ?? '';
    out.push(
      head
        ? `${where}.tls.mode ${old} → ${now ?? '(removed)'} for ${host}`
        : `DestinationRule with ${where}.tls.mode ${old} removed for ${host}`,
    );
  }
  // Overrides that appear where the base had none: a subset or port that now goes without mTLS.
  const topMode = str(get(before.get('trafficPolicy'), 'tls', 'mode'));
  for (const [where, policy] of after) {
    if (before.has(where)) continue;
    const now = str(get(policy, 'tls', 'mode'));
    if (now && !MUTUAL.has(now) && topMode && MUTUAL.has(topMode))
      out.push(`${where}.tls.mode ${now} added (the rule's tls.mode is ${topMode})`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Authorization

const SOURCE_FIELDS = ['principals', 'requestPrincipals', 'namespaces', 'ipBlocks', 'remoteIpBlocks'];
const OPERATION_FIELDS = ['hosts', 'ports', 'methods', 'paths'];
const notField = (f: string) => `not${f[0].toUpperCase()}${f.slice(1)}`;

/** One alternative of a rule's `from` or `to`: field → values (`notX` fields too). */
type Alternative = Map<string, Set<string>>;

interface NormalRule {
  /** undefined: no `from`, any source. */
  readonly from?: Alternative[];
  readonly to?: Alternative[];
  readonly when: Map<string, Set<string>>;
}

function alternatives(list: unknown, inner: string, fields: string[]): Alternative[] | undefined {
  const items = arr(list);
  if (items.length === 0) return undefined;
  return items.map((item) => {
    const alt: Alternative = new Map();
    for (const f of [...fields, ...fields.map(notField)]) {
      const values = get(item, inner, f);
      if (values !== undefined) alt.set(f, new Set(strings(values)));
    }
    return alt;
  });
}

function normalRule(rule: unknown): NormalRule {
  const when = new Map<string, Set<string>>();
  for (const c of arr(get(rule, 'when'))) {
    const key = str(get(c, 'key'));
    if (key && get(c, 'values') !== undefined) when.set(key, new Set(strings(get(c, 'values'))));
    if (key && get(c, 'notValues') !== undefined) when.set(`!${key}`, new Set(strings(get(c, 'notValues'))));
  }
  return {
    from: alternatives(get(rule, 'from'), 'source', SOURCE_FIELDS),
    to: alternatives(get(rule, 'to'), 'operation', OPERATION_FIELDS),
    when,
  };
}

/**
 * Whether every value of `a` is covered by a value of `b`, with Istio's wildcards: "*" alone, a
 * prefix ("/api/*", "cluster.local/ns/shop/*") or a suffix ("*.example.com").
 */
function subset(a: Set<string>, b: Set<string>): boolean {
  return [...a].every((x) => [...b].some((y) => covers(y, x)));
}

function covers(pattern: string, value: string): boolean {
  if (pattern === value || pattern === '*') return true;
  if (pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return value.endsWith(pattern.slice(1));
  return false;
}

/** Does alternative `r` match only requests that `o` matches? */
function altWithin(r: Alternative, o: Alternative): boolean {
  for (const [f, values] of o) {
    const mine = r.get(f);
    if (f.startsWith('not')) {
      if (!mine || !subset(values, mine)) return false;
    } else if (!mine || !subset(mine, values)) {
      return false;
    }
  }
  return true;
}

function altsWithin(r: Alternative[] | undefined, o: Alternative[] | undefined): boolean {
  if (o === undefined) return true;
  if (r === undefined) return false;
  return r.every((x) => o.some((y) => altWithin(x, y)));
}

/** Does rule `r` match only requests that rule `o` matches? */
function ruleWithin(r: NormalRule, o: NormalRule): boolean {
  if (!altsWithin(r.from, o.from) || !altsWithin(r.to, o.to)) return false;
  for (const [k, values] of o.when) {
    const mine = r.when.get(k);
    if (k.startsWith('!') ? !mine || !subset(values, mine) : !mine || !subset(mine, values)) return false;
  }
  return true;
}

/** What rule `r` matches beyond rule `o`, in words. */
function beyond(r: NormalRule, o: NormalRule): string[] {
  const out: string[] = [];
  const compare = (rs: Alternative[] | undefined, os: Alternative[] | undefined, side: string) => {
    if (os === undefined) return;
    if (rs === undefined) {
      out.push(`no ${side} restriction (was ${describeAlts(os)})`);
      return;
    }
    // Each alternative that no old one covers, told against the old one with the same fields, or
    // the one whose fields it keeps (it dropped the others), else as a new alternative.
    for (const x of rs.filter((a) => !os.some((y) => altWithin(a, y)))) {
      const fields = [...x.keys()];
      const twin =
        os.find((y) => y.size === x.size && fields.every((f) => y.has(f))) ??
        os.find((y) => fields.every((f) => y.has(f)));
      if (!twin) {
        out.push(`${side} ${describeAlts([x])} added`);
        continue;
      }
      for (const [f, theirs] of twin) {
        const mine = x.get(f);
        if (!mine) {
          out.push(`${f} no longer restricted (was ${[...theirs].join(', ')})`);
        } else if (f.startsWith('not')) {
          const dropped = [...theirs].filter((v) => !subset(new Set([v]), mine));
          if (dropped.length) out.push(`${f} − ${dropped.join(', ')}`);
        } else {
          const added = [...mine].filter((v) => !subset(new Set([v]), theirs));
          if (added.length) out.push(`${f} + ${added.join(', ')}`);
        }
      }
    }
  };
  compare(r.from, o.from, 'source');
  compare(r.to, o.to, 'operation');
  for (const k of o.when.keys()) if (!r.when.has(k)) out.push(`condition ${k} dropped`);
  return out.length ? out : ['matches more requests'];
}

function describeAlts(alts: Alternative[]): string {
  return alts.map((a) => [...a].map(([f, v]) => `${f} ${[...v].join(',')}`).join(' ')).join(' | ');
}

function describeRule(r: NormalRule): string {
  const parts = [
    r.from ? `from ${describeAlts(r.from)}` : 'from any source',
    r.to ? `to ${describeAlts(r.to)}` : 'any operation',
    ...[...r.when].map(
      ([k, v]) => `when ${k.startsWith('!') ? `${k.slice(1)} not in` : `${k} in`} ${[...v].join(',')}`,
    ),
  ];
  return parts.join(', ');
}

function unrestricted(r: NormalRule): boolean {
  return r.from === undefined && r.to === undefined && r.when.size === 0;
}

const DRY_RUN = 'istio.io/dry-run';

function authzWidened(base: Manifest | undefined, head: Manifest | undefined): string[] {
  const action = (m: Manifest) => str(get(m, 'spec', 'action')) ?? 'ALLOW';
  const rules = (m: Manifest) => arr(get(m, 'spec', 'rules'));
  if (!base) {
    // A new ALLOW policy that admits anyone: nothing else is needed for it to widen access.
    if (!head || action(head) !== 'ALLOW') return [];
    return rules(head)
      .map(normalRule)
      .flatMap((r, i) =>
        unrestricted(r)
          ? [`new ALLOW policy for ${targetOf(head)}: rule ${i} has no restrictions, it allows every request`]
          : r.from === undefined
            ? [`new ALLOW policy for ${targetOf(head)}: rule ${i} allows any source (${describeRule(r)})`]
            : [],
      );
  }
  const old = action(base);
  if (!head) {
    if (old === 'DENY') return ['DENY policy removed: what it denied is allowed again'];
    if (old === 'CUSTOM') return ['CUSTOM (external authorization) policy removed'];
    if (old === 'AUDIT') return [];
    return rules(base).length === 0
      ? ['allow-nothing policy removed: the default deny is gone']
      : ['ALLOW policy removed: if no other ALLOW policy selects these workloads, every request is allowed'];
  }
  const now = action(head);
  if (old !== now) {
    if (old === 'ALLOW' && rules(base).length === 0)
      return [`allow-nothing policy is now a ${now} policy: the default deny is gone`];
    return old === 'DENY' || old === 'CUSTOM' ? [`action ${old} → ${now}`] : [];
  }
  const out: string[] = [];
  const dryRun = (m: Manifest) => get(m, 'metadata', 'annotations', DRY_RUN) === 'true';
  if (dryRun(head) && !dryRun(base) && old !== 'AUDIT') {
    out.push(`${old} policy now ${DRY_RUN}: "true": it is evaluated and logged but no longer enforced`);
  }
  const provider = (m: Manifest) => str(get(m, 'spec', 'provider', 'name'));
  if (old === 'CUSTOM' && provider(base) !== provider(head)) {
    out.push(`external authorizer ${provider(base) ?? '(none)'} → ${provider(head) ?? '(none)'}`);
  }
  const before = rules(base).map(normalRule);
  const after = rules(head).map(normalRule);
  if (old === 'ALLOW') {
    after.forEach((r, i) => {
      if (before.some((o) => ruleWithin(r, o))) return;
      if (unrestricted(r)) {
        out.push(`rule ${i} has no restrictions: it allows every request`);
        return;
      }
      if (before.length === 0) {
        out.push(`rule ${i} added to a policy that allowed nothing`);
        return;
      }
      // Explain against the base rule it differs least from.
      const explained = before.map((o) => beyond(r, o)).sort((x, y) => x.length - y.length)[0];
      out.push(`rule ${i} allows more: ${explained.join('; ')}`);
    });
  } else if (old === 'DENY' || old === 'CUSTOM') {
    // What a DENY (or CUSTOM) rule matched, it must still match, or those requests go through.
    const verb = old === 'DENY' ? 'denied' : 'sent to the external authorizer';
    before.forEach((o, i) => {
      if (after.some((r) => ruleWithin(o, r))) return;
      const closest = after
        .map((r) => ({ r, extra: beyond(o, r).length }))
        .sort((x, y) => x.extra - y.extra)[0]?.r;
      out.push(
        `${old} rule ${i} matches fewer requests than it ${verb}: was ${describeRule(o)}; ${closest ? `now ${describeRule(closest)}` : 'removed'}`,
      );
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Routing

type Split = Map<string, number>;

/**
 * A host as Istio reads it in an object of `namespace`: a name without dots is a Service of that
 * namespace; anything else is taken as written.
 */
function fullHost(host: string, namespace: string): string {
  return host.includes('.') || host === '*' ? host : `${host}.${namespace}.svc.cluster.local`;
}

/** A host for people: "reviews" in its own namespace, "reviews.data" in another, else in full. */
function hostLabel(host: string, namespace: string): string {
  const m = /^([^.]+)\.([^.]+)\.svc\.cluster\.local$/.exec(fullHost(host, namespace));
  if (!m) return host;
  return m[2] === namespace ? m[1] : `${m[1]}.${m[2]}`;
}

/**
 * Where a route sends its traffic: "v1" for a subset of the VirtualService's own hosts (`own`, in
 * full), else "host subset".
 */
function vsSplit(route: unknown, own: ReadonlySet<string>, namespace: string): Split {
  const dests = arr(get(route, 'route'));
  const out: Split = new Map();
  for (const d of dests) {
    const raw = str(get(d, 'destination', 'host')) ?? '?';
    const host = hostLabel(raw, namespace);
    const subset = str(get(d, 'destination', 'subset'));
    const port = get(d, 'destination', 'port', 'number');
    const where =
      subset && own.has(fullHost(raw, namespace)) ? subset : [host, subset].filter(Boolean).join(' ');
    const key = `${where}${port !== undefined ? `:${String(port)}` : ''}`;
    out.set(key, (out.get(key) ?? 0) + (dests.length === 1 ? 100 : (num(get(d, 'weight')) ?? 0)));
  }
  return out;
}

function formatSplit(s: Split | undefined): string {
  if (!s || s.size === 0) return '(no route)';
  if (s.size === 1) return [...s.keys()][0];
  return [...s].map(([k, w]) => `${k} ${Math.round(w * 10) / 10}%`).join(' · ');
}

function routeKeys(routes: unknown[]): string[] {
  const names = routes.map((r) => str(get(r, 'name')));
  const named = names.every((n) => n !== undefined) && new Set(names).size === names.length;
  return names.map((n, i) => (named ? `"${String(n)}"` : `#${i}`));
}

function splitsMoved(before: Map<string, Split>, after: Map<string, Split>, what: string): string[] {
  const out: string[] = [];
  for (const [key, s] of before) {
    const t = after.get(key);
    if (!t) out.push(`${what}: route ${key} (${formatSplit(s)}) removed`);
    else if (!sameSplit(s, t)) out.push(`${what}: route ${key}: ${formatSplit(s)} → ${formatSplit(t)}`);
  }
  for (const [key, t] of after) {
    if (!before.has(key)) out.push(`${what}: route ${key} (${formatSplit(t)}) added`);
  }
  return out;
}

function sameSplit(a: Split, b: Split): boolean {
  const norm = (s: Split) => {
    const total = [...s.values()].reduce((x, y) => x + y, 0) || 1;
    return new Map([...s].filter(([, w]) => w > 0).map(([k, w]) => [k, Math.round((w / total) * 1000)]));
  };
  return deepEqual(Object.fromEntries(norm(a)), Object.fromEntries(norm(b)));
}

interface VsRoute {
  /** `"canary"`, `tcp #0`: the route's name when every route has a unique one, else its position. */
  readonly key: string;
  readonly named: boolean;
  readonly match: unknown;
  readonly split: Split;
}

function vsRouteList(m: Manifest | undefined, own: ReadonlySet<string>): VsRoute[] {
  const out: VsRoute[] = [];
  for (const proto of ['http', 'tcp', 'tls']) {
    const routes = arr(get(m, 'spec', proto));
    const keys = routeKeys(routes);
    routes.forEach((r, i) =>
      out.push({
        key: `${proto === 'http' ? '' : `${proto} `}${keys[i]}`,
        named: keys[i].startsWith('"'),
        match: get(r, 'match'),
        split: vsSplit(r, own, m?.metadata.namespace ?? ''),
      }),
    );
  }
  return out;
}

function vsRoutes(m: Manifest | undefined, own: ReadonlySet<string>): Map<string, Split> {
  return new Map(vsRouteList(m, own).map((r) => [r.key, r.split]));
}

/** The gateways a VirtualService binds to; none listed means the mesh's sidecars only. */
function gatewaysOf(m: Manifest): string[] {
  const listed = strings(get(m, 'spec', 'gateways'));
  return listed.length > 0 ? listed : ['mesh'];
}

function describeMatch(match: unknown): string {
  return arr(match).length === 0 ? 'every request' : formatValue(match, 120);
}

function virtualServiceMoved(base: Manifest | undefined, head: Manifest | undefined): string[] {
  if (!base) return [];
  const namespace = base.metadata.namespace ?? '';
  const hostsOf = (m: Manifest) => strings(get(m, 'spec', 'hosts')).map((h) => fullHost(h, namespace));
  const label = (hosts: string[]) => hosts.map((h) => hostLabel(h, namespace)).join(', ');
  if (!head) {
    const own = new Set(hostsOf(base));
    return [
      `VirtualService for ${label(hostsOf(base))} removed: its routing (${[...vsRoutes(base, own).values()].map((s) => formatSplit(s)).join('; ')}) no longer applies`,
    ];
  }
  const out: string[] = [];
  const [h0, h1] = [hostsOf(base), hostsOf(head)];
  // A host replaced by a wildcard that covers it keeps its routing (hosts-widened tells the rest).
  const lostHosts = h0.filter((h) => !h1.some((p) => hostCovers(p, h)));
  if (lostHosts.length > 0) {
    out.push(`hosts ${label(h0)} → ${label(h1)}: its routing no longer applies to ${label(lostHosts)}`);
  }
  const lostGateways = gatewaysOf(base).filter((g) => !gatewaysOf(head).includes(g));
  if (lostGateways.length > 0) {
    const where = lostGateways.map((g) => (g === 'mesh' ? 'inside the mesh' : `through gateway ${g}`));
    out.push(
      `gateways ${gatewaysOf(base).join(', ')} → ${gatewaysOf(head).join(', ')}: its routing no longer applies to traffic ${where.join(' or ')}`,
    );
  }
  // Subsets of either side's hosts are the service's own versions, named by subset alone.
  const own = new Set([...h0, ...h1]);
  const what = `host ${label(h1)}`;
  const before = vsRouteList(base, own);
  const after = vsRouteList(head, own);
  out.push(
    ...splitsMoved(
      new Map(before.map((r) => [r.key, r.split])),
      new Map(after.map((r) => [r.key, r.split])),
      what,
    ),
  );
  // The first route that matches wins: a changed match or order moves requests between routes.
  const afterByKey = new Map(after.map((r) => [r.key, r]));
  for (const r of before) {
    const a = afterByKey.get(r.key);
    if (a && !deepEqual(r.match, a.match)) {
      out.push(`${what}: route ${r.key} matches ${describeMatch(a.match)} (was ${describeMatch(r.match)})`);
    }
  }
  const common = (list: VsRoute[], other: Map<string, VsRoute>) =>
    list.filter((r) => r.named && other.get(r.key)?.named).map((r) => r.key);
  const order0 = common(before, afterByKey);
  const order1 = common(after, new Map(before.map((r) => [r.key, r])));
  if (order0.join() !== order1.join()) {
    out.push(
      `${what}: routes reordered, ${order0.join(', ')} → ${order1.join(', ')}: a request that several match takes the first`,
    );
  }
  return out;
}

/** One kind of fault of a route: whether it is there, and the share of requests, when given. */
interface Fault {
  readonly present: boolean;
  readonly percent?: number;
  readonly what: string;
}

function fault(route: unknown, kind: 'abort' | 'delay'): Fault {
  const f = get(route, 'fault', kind);
  if (!isRecord(f)) return { present: false, what: '' };
  // `percent` is the deprecated integer form of a delay's share.
  const percent = num(get(f, 'percentage', 'value')) ?? num(f.percent);
  const detail = kind === 'abort' ? String(f.httpStatus ?? f.grpcStatus ?? '?') : String(f.fixedDelay ?? '?');
  const share = percent === undefined ? '(no percentage set)' : `for ${percent} % of requests`;
  return { present: true, percent, what: `${kind} ${detail} ${share}` };
}

/**
 * Faults are for testing: one that reaches a PR's target environment, or grows, fails or slows
 * real requests.
 */
function faultsInjected(base: Manifest | undefined, head: Manifest | undefined): string[] {
  if (!head) return [];
  const routesOf = (m: Manifest | undefined) => {
    const routes = arr(get(m, 'spec', 'http'));
    const keys = routeKeys(routes);
    return new Map(routes.map((r, i) => [keys[i], r]));
  };
  const before = routesOf(base);
  const out: string[] = [];
  for (const [key, route] of routesOf(head)) {
    for (const kind of ['abort', 'delay'] as const) {
      const now = fault(route, kind);
      const old = fault(before.get(key), kind);
      const grew =
        now.present &&
        (!old.present ||
          (now.percent !== undefined && old.percent !== undefined && now.percent > old.percent));
      if (grew) out.push(`route ${key}: ${now.what}${old.present ? ` (was ${old.what})` : ''}`);
    }
  }
  return out;
}

function httpRouteSplits(m: Manifest | undefined): Map<string, Split> {
  const out = new Map<string, Split>();
  const rules = arr(get(m, 'spec', 'rules'));
  const keys = routeKeys(rules);
  rules.forEach((r, i) => {
    const split: Split = new Map();
    for (const b of arr(get(r, 'backendRefs'))) {
      const key = `${str(get(b, 'name')) ?? '?'}${get(b, 'port') !== undefined ? `:${String(get(b, 'port'))}` : ''}`;
      split.set(key, (split.get(key) ?? 0) + (num(get(b, 'weight')) ?? 1));
    }
    const total = [...split.values()].reduce((x, y) => x + y, 0) || 1;
    out.set(keys[i], new Map([...split].map(([k, w]) => [k, (w / total) * 100])));
  });
  return out;
}

function httpRouteMoved(base: Manifest | undefined, head: Manifest | undefined): string[] {
  if (!base) return [];
  const hosts = strings(get(head ?? base, 'spec', 'hostnames')).join(', ') || base.metadata.name;
  if (!head) return [`HTTPRoute for ${hosts} removed`];
  return splitsMoved(httpRouteSplits(base), httpRouteSplits(head), `HTTPRoute ${hosts}`);
}

// ---------------------------------------------------------------------------------------------
// Circuit breakers

/** Limits of a connection pool: raising them lets more load through to a struggling backend. */
const POOL_LIMITS = [
  'tcp.maxConnections',
  'http.http1MaxPendingRequests',
  'http.http2MaxRequests',
  'http.maxRequestsPerConnection',
  'http.maxRetries',
  'http.maxConcurrentStreams',
];
/** Outlier detection: 'up' when a higher value ejects later or less, 'down' when a lower one does. */
const OUTLIER_LOOSER: Record<string, 'up' | 'down'> = {
  consecutive5xxErrors: 'up',
  consecutiveGatewayErrors: 'up',
  consecutiveLocalOriginFailures: 'up',
  consecutiveErrors: 'up',
  interval: 'up',
  minHealthPercent: 'up',
  baseEjectionTime: 'down',
  maxEjectionPercent: 'down',
};

function amount(v: unknown): number | undefined {
  return num(v) ?? durationMs(v);
}

function circuitBreakerLoosened(base: Manifest | undefined, head: Manifest | undefined): string[] {
  const own = subsetsWithPolicy(base, head);
  const after = trafficPolicies(head, own);
  const out: string[] = [];
  const host = str(get(base, 'spec', 'host')) ?? '';
  const before = trafficPolicies(base, own);
  for (const [where, policy] of before) {
    const now = after.get(where);
    for (const part of ['connectionPool', 'outlierDetection']) {
      const a = get(policy, part);
      if (!isRecord(a) || inherited(where, part, before, after)) continue;
      const b = get(now, part);
      if (!isRecord(b)) {
        out.push(
          head
            ? `${where}.${part} removed for ${host}`
            : `DestinationRule with ${where}.${part} removed for ${host}`,
        );
        continue;
      }
      const fields =
        part === 'connectionPool'
          ? POOL_LIMITS.map((f) => [f, 'up'] as const)
          : Object.entries(OUTLIER_LOOSER);
      for (const [field, looser] of fields) {
        const path = field.split('.');
        const x = amount(get(a, ...path));
        if (x === undefined) continue;
        const raw = get(b, ...path);
        const y = amount(raw);
        const label = `${where}.${part}.${field}`;
        if (y === undefined) {
          out.push(`${label} ${String(get(a, ...path))} removed (Istio's default applies)`);
        } else if (part === 'outlierDetection' && field.startsWith('consecutive') && y === 0 && x > 0) {
          out.push(`${label} ${String(get(a, ...path))} → 0 (disabled)`);
        } else if (looser === 'up' ? y > x : y < x) {
          out.push(`${label} ${String(get(a, ...path))} → ${String(raw)}`);
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Rate limits

function rateLimitKind(m: Manifest | undefined): string | undefined {
  const text = JSON.stringify(m?.spec ?? {});
  if (text.includes('envoy.filters.http.local_ratelimit') || text.includes('LocalRateLimit')) return 'local';
  if (text.includes('envoy.filters.http.ratelimit') || text.includes('"rate_limits"')) return 'global';
  return undefined;
}

interface Bucket {
  readonly maxTokens: number;
  /** Tokens per second. */
  readonly rate: number;
  readonly raw: string;
}

/** Every token bucket of an EnvoyFilter, by where it is (filter-wide or per route). */
function buckets(m: Manifest | undefined): Map<string, Bucket> {
  const out = new Map<string, Bucket>();
  const visit = (v: unknown, path: string) => {
    if (Array.isArray(v)) v.forEach((x, i) => visit(x, `${path}[${i}]`));
    if (!isRecord(v)) return;
    for (const [k, x] of Object.entries(v)) {
      if (k === 'token_bucket' && isRecord(x)) {
        const maxTokens = num(x.max_tokens) ?? 0;
        const perFill = num(x.tokens_per_fill) ?? 1;
        const interval = (durationMs(x.fill_interval) ?? 1000) / 1000;
        out.set(path, {
          maxTokens,
          rate: perFill / interval,
          raw: `${String(x.max_tokens)} tokens, ${String(perFill)} every ${String(x.fill_interval)}`,
        });
      } else {
        visit(x, path ? `${path}.${k}` : k);
      }
    }
  };
  visit(get(m, 'spec'), '');
  return out;
}

function envoyRateLimit(base: Manifest | undefined, head: Manifest | undefined): string[] {
  const kind = rateLimitKind(base);
  if (!base || !kind) return [];
  if (!head || !rateLimitKind(head))
    return [`${kind} rate limit EnvoyFilter ${head ? 'no longer rate limits' : 'removed'}`];
  const out: string[] = [];
  const after = buckets(head);
  for (const [where, b] of buckets(base)) {
    const a = after.get(where);
    const at = where.includes('typed_per_filter_config') ? 'per-route token bucket' : 'token bucket';
    if (!a) out.push(`${at} (${b.raw}) removed`);
    else if (a.rate > b.rate || a.maxTokens > b.maxTokens) out.push(`${at} raised: ${b.raw} → ${a.raw}`);
  }
  // The share of requests the local limit is enabled for (counted) and enforced on (refused);
  // Envoy takes a missing share as 0 %.
  for (const [field, verb] of [
    ['filter_enabled', 'enabled'],
    ['filter_enforced', 'enforced'],
  ] as const) {
    const after = shares(head, field);
    for (const [where, before] of shares(base, field)) {
      const now = after.get(where) ?? 0;
      if (now < before)
        out.push(
          `${verb} for ${before} → ${now} % of requests${after.has(where) ? '' : ` (${field} removed)`}`,
        );
    }
  }
  const failDeny = (m: Manifest) => /"failure_mode_deny":true/.test(JSON.stringify(m.spec));
  if (failDeny(base) && !failDeny(head))
    out.push('failure_mode_deny true → false: requests pass when the rate limit service is down');
  const actions = (m: Manifest) => (JSON.stringify(m.spec).match(/"actions":/g) ?? []).length;
  if (actions(head) < actions(base)) out.push(`rate limit actions ${actions(base)} → ${actions(head)}`);
  return out;
}

const DENOMINATORS: Record<string, number> = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 };

/** Every `field` (a RuntimeFractionalPercent) of an EnvoyFilter, by where it is, in percent. */
function shares(m: Manifest, field: string): Map<string, number> {
  const out = new Map<string, number>();
  const visit = (v: unknown, path: string) => {
    if (Array.isArray(v)) v.forEach((x, i) => visit(x, `${path}[${i}]`));
    if (!isRecord(v)) return;
    for (const [k, x] of Object.entries(v)) {
      if (k === field) {
        const numerator = num(get(x, 'default_value', 'numerator')) ?? 0;
        const denominator = DENOMINATORS[str(get(x, 'default_value', 'denominator')) ?? 'HUNDRED'] ?? 100;
        out.set(path, Math.round((numerator / denominator) * 100 * 1000) / 1000);
      } else {
        visit(x, path ? `${path}.${k}` : k);
      }
    }
  };
  visit(m.spec, '');
  return out;
}

const UNIT_SECONDS: Record<string, number> = {
  second: 1,
  minute: 60,
  hour: 3600,
  day: 86400,
  week: 604800,
  month: 2592000,
  year: 31536000,
};

/** Envoy ratelimit service configuration: descriptor path → requests per second (Infinity: unlimited). */
function descriptorLimits(
  m: Manifest | undefined,
): Map<string, { perSecond: number; raw: string }> | undefined {
  const configs = rateLimitConfigs(m);
  if (configs.length === 0) return undefined;
  const out = new Map<string, { perSecond: number; raw: string }>();
  for (const { domain, file, descriptors } of configs) {
    for (const d of descriptors) {
      const key = `${domain} ${file}: ${d.path}`;
      if (d.unlimited) out.set(key, { perSecond: Infinity, raw: 'unlimited' });
      else if (d.limit) {
        const n = d.limit.requestsPerUnit ?? 0;
        const unit = (d.limit.unit ?? 'second').toLowerCase();
        out.set(key, {
          perSecond: d.shadowMode ? Infinity : n / (UNIT_SECONDS[unit] ?? 1),
          raw: `${n}/${unit}${d.shadowMode ? ' (shadow mode)' : ''}`,
        });
      }
    }
  }
  return out;
}

function globalRateLimitConfig(base: Manifest | undefined, head: Manifest | undefined): string[] {
  const before = descriptorLimits(base);
  if (!before) return [];
  if (!head) return ['rate limit service configuration removed'];
  const after = descriptorLimits(head) ?? new Map();
  const out: string[] = [];
  for (const [key, b] of before) {
    const a = after.get(key);
    if (!a) out.push(`global rate limit ${key} (${b.raw}) removed`);
    else if (a.perSecond > b.perSecond) out.push(`global rate limit ${key} raised: ${b.raw} → ${a.raw}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Ingress: TLS, the redirect to HTTPS, and the hosts a gateway or a route bound to one takes

/**
 * `[namespace/]name` as Istio writes hosts in Gateway servers and Sidecar egress: the namespace
 * ("*" when not written, "." for the object's own) and the DNS name.
 */
function splitHost(host: string, namespace: string): [string, string] {
  const slash = host.indexOf('/');
  if (slash < 0) return ['*', host];
  const ns = host.slice(0, slash);
  return [ns === '.' ? namespace : ns, host.slice(slash + 1)];
}

/**
 * Whether host pattern `p` takes every request that `h` does: "*" any name, "*.example.com" any
 * name under it (Istio and the Gateway API alike let a wildcard match several labels), "~/" no
 * namespace (Sidecar egress: nothing).
 */
function hostCovers(p: string, h: string, namespace = ''): boolean {
  const [pn, pd] = splitHost(p, namespace);
  const [hn, hd] = splitHost(h, namespace);
  if (hn === '~') return true;
  if (pn === '~' || (pn !== '*' && pn !== hn)) return false;
  if (pd === hd || pd === '*') return true;
  return pd.startsWith('*.') && hd.endsWith(pd.slice(1));
}

/** The hosts of `after` that take requests no host of `before` took, though they take some of those. */
function widenedHosts(before: string[], after: string[], namespace = ''): string[] {
  return after.filter(
    (a) =>
      !before.some((b) => hostCovers(b, a, namespace)) && before.some((b) => hostCovers(a, b, namespace)),
  );
}

/** A server of an Istio Gateway or a listener of a Gateway API Gateway. */
interface Entrance {
  /** Its name, else its port: how it is matched between base and head. */
  readonly key: string;
  /** "port 443 (HTTPS)", "listener https (port 443, HTTPS)". */
  readonly label: string;
  /** Its port number. */
  readonly port?: number;
  /** HTTPS or TLS. */
  readonly secure: boolean;
  /** Plain-text HTTP (HTTP, HTTP2, GRPC). */
  readonly plain: boolean;
  /** Istio's `tls.httpsRedirect` on a plain-text server. */
  readonly redirect: boolean;
  /** DNS names; "*" for a listener without a hostname, which takes every host. */
  readonly hosts: string[];
  /** How its hosts are written, for messages. */
  readonly hostField: string;
}

const SECURE = new Set(['HTTPS', 'TLS']);
const PLAIN_HTTP = new Set(['HTTP', 'HTTP2', 'GRPC']);

/**
 * Istio Gateway servers (https://istio.io/latest/docs/reference/config/networking/gateway/#Server)
 * and Gateway API listeners (https://gateway-api.sigs.k8s.io/reference/spec/#listener: a listener
 * without a hostname matches every host).
 */
function entrances(m: Manifest | undefined): Entrance[] {
  if (!m) return [];
  if (isIstioGateway(m)) {
    return arr(get(m, 'spec', 'servers')).map((s) => {
      const protocol = (str(get(s, 'port', 'protocol')) ?? '').toUpperCase();
      const number = String(get(s, 'port', 'number') ?? '?');
      return {
        key: str(get(s, 'port', 'name')) ?? number,
        label: `port ${number} (${protocol})`,
        port: num(get(s, 'port', 'number')),
        secure: SECURE.has(protocol),
        plain: PLAIN_HTTP.has(protocol),
        redirect: get(s, 'tls', 'httpsRedirect') === true,
        hosts: strings(get(s, 'hosts')),
        hostField: 'hosts',
      };
    });
  }
  return arr(get(m, 'spec', 'listeners')).map((l) => {
    const protocol = (str(get(l, 'protocol')) ?? '').toUpperCase();
    const name = str(get(l, 'name')) ?? '?';
    return {
      key: name,
      label: `listener ${name} (port ${String(get(l, 'port') ?? '?')}, ${protocol})`,
      port: num(get(l, 'port')),
      secure: SECURE.has(protocol),
      plain: PLAIN_HTTP.has(protocol),
      redirect: false,
      hosts: [str(get(l, 'hostname')) ?? '*'],
      hostField: 'hostname',
    };
  });
}

const dnsNames = (e: Entrance) => e.hosts.map((h) => splitHost(h, '')[1]);
const takes = (e: Entrance, host: string) => dnsNames(e).some((p) => hostCovers(p, host));

/**
 * A gateway that served a host over TLS and now serves it in plain text only, or whose plain-text
 * server redirected it to HTTPS and now serves it as it comes.
 */
function ingressTlsDropped(base: Manifest | undefined, head: Manifest | undefined): string[] {
  if (!base || !head) return [];
  const before = entrances(base);
  const after = entrances(head);
  const out: string[] = [];
  const secureHosts = [...new Set(before.filter((e) => e.secure).flatMap(dnsNames))];
  const lost = secureHosts.filter(
    (h) => !after.some((e) => e.secure && takes(e, h)) && after.some((e) => e.plain && takes(e, h)),
  );
  if (lost.length > 0) {
    const plain = after.filter((e) => e.plain && lost.some((h) => takes(e, h))).map((e) => e.label);
    const was = before.filter((e) => e.secure && lost.some((h) => takes(e, h))).map((e) => e.label);
    out.push(
      `${lost.join(', ')}: ${was.join(', ')} removed, served over plain HTTP only (${plain.join(', ')})`,
    );
  }
  // Istio's redirect: https://istio.io/latest/docs/reference/config/networking/gateway/#ServerTLSSettings
  const redirected = [...new Set(before.filter((e) => e.redirect).flatMap(dnsNames))].filter(
    (h) => !lost.includes(h) && !after.some((e) => e.redirect && takes(e, h)),
  );
  for (const e of after.filter((x) => x.plain && !x.redirect)) {
    const hosts = redirected.filter((h) => takes(e, h));
    if (hosts.length > 0)
      out.push(
        `${e.label} no longer redirects ${hosts.join(', ')} to HTTPS (tls.httpsRedirect): plain-text requests are served`,
      );
  }
  return out;
}

/** A Gateway API rule that redirects to HTTPS (https://gateway-api.sigs.k8s.io/guides/http-redirect-rewrite/). */
function redirectsToHttps(rule: unknown): boolean {
  return arr(get(rule, 'filters')).some(
    (f) => get(f, 'type') === 'RequestRedirect' && get(f, 'requestRedirect', 'scheme') === 'https',
  );
}

function httpRouteRedirectDropped(
  base: Manifest | undefined,
  head: Manifest | undefined,
  context: Context,
): string[] {
  if (!base) return [];
  const rules = (m: Manifest | undefined) => arr(get(m, 'spec', 'rules'));
  const before = rules(base);
  if (!before.some(redirectsToHttps)) return [];
  const hosts = strings(get(base, 'spec', 'hostnames')).join(', ') || 'every host';
  if (!head) return [`HTTPRoute that redirected ${hosts} to HTTPS removed`];
  const after = rules(head);
  const keys = routeKeys(before);
  const afterKeys = routeKeys(after);
  const out = before.flatMap((r, i) => {
    if (!redirectsToHttps(r)) return [];
    const now = after[afterKeys.indexOf(keys[i])];
    return now !== undefined && redirectsToHttps(now)
      ? []
      : [`rule ${keys[i]} no longer redirects ${hosts} to HTTPS${now === undefined ? ' (removed)' : ''}`];
  });
  if (out.length > 0 || !after.some(redirectsToHttps)) return out;
  // The redirect still exists, but for fewer hosts or on fewer listeners: the requests it no longer
  // takes go to whatever else the plain-text listener serves. Compared on the head's Gateways: the
  // plain-text listeners each version's parentRefs attach to, and the hosts those listeners take.
  const known = context.head.length > 0;
  const before_ = attachedListeners(base, context);
  const after_ = attachedListeners(head, context);
  const names = (m: Manifest) => strings(get(m, 'spec', 'hostnames'));
  const afterNames = names(head);
  // Without hostnames a route takes every host of its listeners (Gateway API HTTPRouteSpec.hostnames).
  const beforeHosts =
    names(base).length > 0
      ? names(base)
      : known
        ? [...new Set(after_.flatMap((a) => a.listener.hosts))]
        : ['*'];
  const lostHosts =
    afterNames.length === 0
      ? []
      : beforeHosts.filter(
          (h) =>
            !afterNames.some((p) => hostCovers(p, h)) &&
            // A host no plain-text listener takes any more gets no request to redirect; one no
            // HTTPS listener takes has nowhere to go, which tls-dropped reports on the Gateway.
            (!known ||
              (after_.some((a) => takes(a.listener, h)) &&
                secureListeners(head, context).some((e) => takes(e, h)))),
        );
  if (lostHosts.length > 0)
    out.push(
      `no longer redirects ${lostHosts.map((h) => (h === '*' ? 'every host' : h)).join(', ')} to HTTPS (hostnames ${afterNames.join(', ')}): plain-text requests go to the other routes of the listener`,
    );
  if (!known) return out;
  const routeHosts = names(base).length > 0 ? names(base) : ['*'];
  for (const b of before_) {
    if (after_.some((a) => a.gateway === b.gateway && a.listener.key === b.listener.key)) continue;
    // A listener whose hostname the route's hostnames miss never took the route.
    const shared = routeHosts.some((h) => b.listener.hosts.some((l) => hostCovers(l, h) || hostCovers(h, l)));
    if (shared)
      out.push(
        `no longer redirects ${hosts} to HTTPS on gateway ${b.gateway} listener ${b.listener.key}: plain-text requests go to the other routes of the listener`,
      );
  }
  return out;
}

/**
 * The plain-text listeners of the head's Gateways that the parentRefs of `route` attach to: a ref's
 * sectionName picks a listener by name, its port by port, neither every listener
 * (https://gateway-api.sigs.k8s.io/reference/spec/#parentreference).
 */
function attachedListeners(route: Manifest, context: Context): { gateway: string; listener: Entrance }[] {
  return arr(get(route, 'spec', 'parentRefs'))
    .filter((r) => (str(get(r, 'kind')) ?? 'Gateway') === 'Gateway')
    .flatMap((r) => {
      const gateway = `${str(get(r, 'namespace')) ?? route.metadata.namespace ?? '?'}/${str(get(r, 'name')) ?? '?'}`;
      const section = str(get(r, 'sectionName'));
      const port = num(get(r, 'port'));
      return headGateway(context, gateway)
        .filter(
          (e) =>
            e.plain &&
            (section === undefined || e.key === section) &&
            (port === undefined || e.port === port),
        )
        .map((listener) => ({ gateway, listener }));
    });
}

/** The listeners of Gateway API Gateway `gateway` ("ns/name") in the head. */
function headGateway(context: Context, gateway: string): Entrance[] {
  return entrances(
    context.head.find(
      (m) => isKubeGateway(m) && `${m.metadata.namespace ?? '?'}/${m.metadata.name}` === gateway,
    ),
  );
}

/** The HTTPS listeners of the head's Gateways that `route` is bound to. */
function secureListeners(route: Manifest, context: Context): Entrance[] {
  return routeGateways(route).flatMap((g) => headGateway(context, g).filter((e) => e.secure));
}

/** The gateways an HTTPRoute is bound to: parentRefs of kind Gateway (the default kind). */
function routeGateways(m: Manifest): string[] {
  return arr(get(m, 'spec', 'parentRefs'))
    .filter((r) => (str(get(r, 'kind')) ?? 'Gateway') === 'Gateway')
    .map((r) => `${str(get(r, 'namespace')) ?? m.metadata.namespace ?? '?'}/${str(get(r, 'name')) ?? '?'}`);
}

/**
 * Hosts replaced by a wildcard that covers them (or "*"): the gateway, or the route bound to one,
 * now takes requests for hosts that may belong to someone else.
 */
function hostsWidened(base: Manifest | undefined, head: Manifest | undefined): string[] {
  if (!base || !head) return [];
  const out: string[] = [];
  const say = (what: string, before: string[], after: string[], wider: string[]) =>
    out.push(
      `${what} ${before.join(', ') || '(any)'} → ${after.join(', ') || '(any)'}: it now takes requests for ${wider.includes('*') ? 'every host' : `any host that ${wider.join(' or ')} matches`}`,
    );
  if (isIstioGateway(base) || isKubeGateway(base)) {
    const after = new Map(entrances(head).map((e) => [e.key, e]));
    for (const e of entrances(base)) {
      const now = after.get(e.key);
      if (!now) continue;
      const wider = widenedHosts(e.hosts, now.hosts, base.metadata.namespace ?? '');
      const shown = (x: Entrance) => (x.hostField === 'hostname' && x.hosts[0] === '*' ? [] : x.hosts);
      if (wider.length > 0) say(`${now.label} ${now.hostField}`, shown(e), shown(now), wider);
    }
    // A server or listener added (or renamed) with a wildcard over the hosts the gateway served on
    // its port: a "*" on port 80 that only redirects says nothing of what port 443 takes. On a port
    // new to the gateway, over the hosts served in the same way (TLS or not).
    const keys = new Set(entrances(base).map((e) => e.key));
    for (const now of after.values()) {
      if (keys.has(now.key)) continue;
      const samePort = entrances(base).filter((e) => e.port === now.port);
      const alike = samePort.length > 0 ? samePort : entrances(base).filter((e) => e.secure === now.secure);
      const served = [...new Set(alike.flatMap((e) => e.hosts))];
      const wider = widenedHosts(served, now.hosts, base.metadata.namespace ?? '');
      const where =
        samePort.length > 0
          ? `port ${String(now.port)}`
          : `the gateway's ${now.secure ? 'TLS' : 'plain-text'} ports`;
      if (wider.length > 0)
        out.push(
          `${now.label} added with ${now.hostField} ${wider.join(', ')} (${where} served ${served.join(', ')}): it now takes requests for ${wider.includes('*') ? 'every host' : `any host that ${wider.join(' or ')} matches`}`,
        );
    }
    return out;
  }
  if (isVirtualService(base)) {
    // Inside the mesh a host is a service's name; only at a gateway does it pick whose requests.
    const gateways = gatewaysOf(head).filter((g) => g !== 'mesh');
    if (gateways.length === 0) return [];
    const before = strings(get(base, 'spec', 'hosts'));
    const after = strings(get(head, 'spec', 'hosts'));
    const wider = widenedHosts(before, after);
    if (wider.length > 0) say(`on gateway ${gateways.join(', ')}, hosts`, before, after, wider);
    return out;
  }
  const gateways = routeGateways(head);
  if (gateways.length === 0) return [];
  // An HTTPRoute without hostnames takes every host of its listener.
  const names = (m: Manifest) => strings(get(m, 'spec', 'hostnames'));
  const before = names(base);
  const after = names(head);
  const wider = widenedHosts(before.length ? before : ['*'], after.length ? after : ['*']);
  if (wider.length > 0) say(`on gateway ${gateways.join(', ')}, hostnames`, before, after, wider);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Timeouts and retries

/** "1h30m", "500ms", "2.5s": Istio and Gateway API durations, in milliseconds. */
function durationOf(v: unknown): number | undefined {
  if (typeof v !== 'string' || !/^(?:\d+(?:\.\d+)?(?:ms|h|m|s))+$/.test(v)) return durationMs(v);
  let total = 0;
  for (const [, n, unit] of v.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) {
    total += Number(n) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
  }
  return total;
}

/** Routes present on both sides, by name or position, as routeKeys matches them. */
function sameRoutes(base: Manifest, head: Manifest, field: string): [string, unknown, unknown][] {
  const before = arr(get(base, 'spec', field));
  const after = arr(get(head, 'spec', field));
  const afterKeys = routeKeys(after);
  const keys = routeKeys(before);
  return before.flatMap((r, i): [string, unknown, unknown][] => {
    const j = afterKeys.indexOf(keys[i]);
    return j < 0 ? [] : [[keys[i], r, after[j]]];
  });
}

/**
 * A timeout removed, set to zero or raised lets requests hang on a slow backend and hold its
 * connections. Istio: a route's `timeout` is disabled by default
 * (https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPRoute); the Gateway
 * API: a zero duration disables `timeouts.request` and `timeouts.backendRequest`, and without them
 * the implementation's default applies (https://gateway-api.sigs.k8s.io/reference/spec/#httproutetimeouts;
 * none for Istio).
 */
function timeoutRaised(base: Manifest | undefined, head: Manifest | undefined, context: Context): string[] {
  if (base && !head && removedMeshRouting(base, context)) {
    // Without its VirtualService a host gets Istio's default route, which has no timeout.
    const routes = arr(get(base, 'spec', 'http'));
    const keys = routeKeys(routes);
    return routes.flatMap((r, i) => {
      const was = get(r, 'timeout');
      const x = durationOf(was);
      return x === undefined || x === 0
        ? []
        : [
            `route ${keys[i]}: timeout ${String(was)} removed with the VirtualService: requests wait without limit`,
          ];
    });
  }
  if (!base || !head) return [];
  const istio = isVirtualService(base);
  const fields = istio ? ['timeout'] : ['timeouts.request', 'timeouts.backendRequest'];
  const out: string[] = [];
  for (const [key, a, b] of sameRoutes(base, head, istio ? 'http' : 'rules')) {
    for (const field of fields) {
      const path = field.split('.');
      const was = get(a, ...path);
      const x = durationOf(was);
      if (x === undefined || x === 0) continue;
      const raw = get(b, ...path);
      const y = durationOf(raw);
      const where = `${istio ? 'route' : 'rule'} ${key}: ${field} ${String(was)}`;
      if (raw === undefined)
        out.push(
          `${where} removed: ${istio ? 'requests wait without limit' : "the implementation's default applies (none for Istio)"}`,
        );
      else if (y === 0) out.push(`${where} → ${String(raw)}: requests wait without limit`);
      else if (y !== undefined && y > x) out.push(`${where} → ${String(raw)}`);
    }
  }
  return out;
}

/**
 * Istio's retry policy when a route sets none: 2 attempts on connect-failure, refused-stream,
 * unavailable, cancelled and HTTP 503 (istio/istio pilot/pkg/networking/core/route/retry/retry.go,
 * DefaultPolicy).
 */
const DEFAULT_RETRY_ON = 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes';
const DEFAULT_RETRY_CODES = ['503'];

interface Retries {
  readonly attempts: number;
  readonly perTryTimeout?: string;
  readonly retryOn: string;
  /** The conditions, with status codes as numbers ("503"); retriable-status-codes stands for them. */
  readonly on: Set<string>;
  readonly isDefault: boolean;
}

/** The retries Istio gives a route (retry.go ConvertPolicy: attempts 0 or unset turns them off). */
function retriesOf(route: unknown): Retries {
  const r = get(route, 'retries');
  if (!isRecord(r)) {
    const on = new Set([...DEFAULT_RETRY_ON.split(','), ...DEFAULT_RETRY_CODES]);
    on.delete('retriable-status-codes');
    return { attempts: 2, retryOn: DEFAULT_RETRY_ON, on, isDefault: true };
  }
  const attempts = Math.max(0, num(r.attempts) ?? 0);
  const retryOn = str(r.retryOn) || DEFAULT_RETRY_ON;
  const parts = retryOn.split(',').map((s) => s.trim());
  const on = new Set(parts.filter((s) => s && s !== 'retriable-status-codes'));
  if (!str(r.retryOn)) for (const c of DEFAULT_RETRY_CODES) on.add(c);
  return { attempts, perTryTimeout: str(r.perTryTimeout), retryOn, on, isDefault: false };
}

/**
 * Whether retry condition `a` retries on `b` as well, per Envoy's x-envoy-retry-on: 5xx takes any
 * 5xx response, a reset, a connect failure and a refused stream; gateway-error takes 502, 503 and
 * 504 (https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/router_filter#x-envoy-retry-on).
 */
function retryCovers(a: string, b: string): boolean {
  if (a === b) return true;
  if (a === '5xx')
    return /^5\d\d$/.test(b) || ['gateway-error', 'reset', 'connect-failure', 'refused-stream'].includes(b);
  if (a === 'gateway-error') return ['502', '503', '504'].includes(b);
  return false;
}

/**
 * A VirtualService of the mesh removed (bound to the sidecars, maybe to gateways as well): the hosts
 * it routed in the mesh keep being served, by Istio's default route (no timeout, the default
 * retries), where a gateway's hosts would get 404. Not when no host of it is left to serve that way:
 * its Service was deleted or renamed with it, or another mesh VirtualService routes it in the head.
 */
function removedMeshRouting(base: Manifest, context: Context): boolean {
  if (!isVirtualService(base) || !gatewaysOf(base).includes('mesh')) return false;
  const namespace = base.metadata.namespace ?? '';
  return strings(get(base, 'spec', 'hosts')).some((h) => defaultRouted(fullHost(h, namespace), context));
}

/**
 * Whether the head serves `host` (in full) by Istio's default route: a Service or ServiceEntry
 * defines it and no mesh VirtualService routes it. An empty head (a whole app removed) serves none.
 */
function defaultRouted(host: string, context: Context): boolean {
  const defined = context.head.some(
    (m) =>
      (is(m, '', 'Service') &&
        `${m.metadata.name}.${m.metadata.namespace ?? ''}.svc.cluster.local` === host) ||
      (is(m, ISTIO_NETWORKING, 'ServiceEntry') && strings(get(m, 'spec', 'hosts')).includes(host)),
  );
  const routed = context.head.some(
    (m) =>
      isVirtualService(m) &&
      gatewaysOf(m).includes('mesh') &&
      strings(get(m, 'spec', 'hosts')).some((h) => fullHost(h, m.metadata.namespace ?? '') === host),
  );
  return defined && !routed;
}

/** More attempts, a longer (or no) per-try timeout, or more conditions: more load on a failing backend. */
function retriesRaised(base: Manifest | undefined, head: Manifest | undefined, context: Context): string[] {
  if (!base || (!head && !removedMeshRouting(base, context))) return [];
  const out: string[] = [];
  const routes = head
    ? sameRoutes(base, head, 'http')
    : routeKeys(arr(get(base, 'spec', 'http'))).map((key, i): [string, unknown, unknown] => [
        key,
        arr(get(base, 'spec', 'http'))[i],
        {},
      ]);
  for (const [key, a, b] of routes) {
    const x = retriesOf(a);
    const y = retriesOf(b);
    const now = (r: Retries, v: string) =>
      r.isDefault ? `${v} (Istio's default${head ? '' : ', the VirtualService removed'})` : v;
    const where = `route ${key}: retries`;
    if (y.attempts > x.attempts) out.push(`${where}.attempts ${x.attempts} → ${now(y, String(y.attempts))}`);
    if (x.attempts === 0 || y.attempts === 0) continue;
    const tx = durationOf(x.perTryTimeout);
    const ty = durationOf(y.perTryTimeout);
    if (tx !== undefined && (ty === undefined || ty > tx)) {
      out.push(
        ty === undefined
          ? `${where}.perTryTimeout ${x.perTryTimeout} removed: each attempt may take the route's whole timeout`
          : `${where}.perTryTimeout ${x.perTryTimeout} → ${String(y.perTryTimeout)}`,
      );
    }
    const added = [...y.on].filter((c) => ![...x.on].some((o) => retryCovers(o, c)));
    if (added.length > 0)
      out.push(`${where}.retryOn ${x.retryOn} → ${now(y, y.retryOn)}: also retries on ${added.join(', ')}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Sidecar egress

/**
 * An egress listener's hosts that now take whole namespaces or every namespace ("*\/*",
 * "*\/reviews.shop.svc.cluster.local", "shop/*") beyond what it had: the proxies get, and under a
 * REGISTRY_ONLY outbound policy may reach, services they did not before
 * (https://istio.io/latest/docs/reference/config/networking/sidecar/#IstioEgressListener).
 */
function sidecarEgressWidened(
  base: Manifest | undefined,
  head: Manifest | undefined,
  context: Context,
): string[] {
  if (!base) return [];
  const namespace = base.metadata.namespace ?? '';
  if (!head) {
    // The same namespace and selector under another name takes over; else the namespace's or the
    // root namespace's default Sidecar, else none: every service of the mesh.
    const selector = get(base, 'spec', 'workloadSelector', 'labels');
    const sidecar = (ns: string, sel: unknown) =>
      context.head.find(
        (m) =>
          is(m, ISTIO_NETWORKING, 'Sidecar') &&
          m.metadata.namespace === ns &&
          deepEqual(get(m, 'spec', 'workloadSelector', 'labels'), sel),
      );
    if (sidecar(namespace, selector)) return [];
    const fallback =
      (selector !== undefined ? sidecar(namespace, undefined) : undefined) ??
      sidecar(ROOT_NAMESPACE, undefined);
    return [
      `Sidecar for ${targetOf(base)} removed: ${fallback ? `Sidecar ${fallback.metadata.namespace}/${fallback.metadata.name} applies instead` : 'their proxies get every service of the mesh'}`,
    ];
  }
  const before = arr(get(base, 'spec', 'egress'));
  // Every listener of the old egress already took "*/*", and one took every port: istiod's default
  // is the same, nothing is widened.
  const everything = (l: unknown) => strings(get(l, 'hosts')).some((h) => hostCovers(h, '*/*', namespace));
  const wasEverything =
    before.every(everything) && before.some((l) => get(l, 'port', 'number') === undefined);
  if (before.length > 0 && arr(get(head, 'spec', 'egress')).length === 0 && !wasEverything) {
    // istiod gives a Sidecar without egress one listener with hosts "*/*" (convertToSidecarScope in
    // istio/istio pilot/pkg/model/sidecar.go: "If egress not set, setup a default listener").
    const hosts = before.flatMap((l) => strings(get(l, 'hosts')));
    return [
      `egress removed (was ${hosts.join(', ')}): istiod gives a Sidecar without egress the hosts */*, so its proxies now get every service of the mesh`,
    ];
  }
  const listeners = (m: Manifest) =>
    new Map(
      arr(get(m, 'spec', 'egress')).map((l) => {
        const port = get(l, 'port', 'number');
        return [port === undefined ? 'egress' : `egress[port ${String(port)}]`, strings(get(l, 'hosts'))];
      }),
    );
  const after = listeners(head);
  const out: string[] = [];
  for (const [where, before] of listeners(base)) {
    const now = after.get(where);
    if (!now) continue;
    const wider = now.filter((h) => {
      const [ns, dns] = splitHost(h, namespace);
      const wildcard = ns === '*' || dns === '*' || dns.startsWith('*.');
      return wildcard && !before.some((b) => hostCovers(b, h, namespace));
    });
    if (wider.length > 0)
      out.push(
        `${where} hosts + ${wider.join(', ')} (was ${before.join(', ')}): its proxies now get every service that matches`,
      );
  }
  // A listener added (or a port listener turned into the catch-all) with wildcards no listener had.
  // A Sidecar without egress had istiod's "*/*".
  const had = before.length === 0 ? ['*/*'] : [...listeners(base).values()].flat();
  for (const [where, now] of after) {
    if (listeners(base).has(where)) continue;
    const wider = now.filter((h) => {
      const [ns, dns] = splitHost(h, namespace);
      const wildcard = ns === '*' || dns === '*' || dns.startsWith('*.');
      return wildcard && !had.some((b) => hostCovers(b, h, namespace));
    });
    if (wider.length > 0)
      out.push(
        `${where} added with hosts ${wider.join(', ')} (the Sidecar had ${had.join(', ')}): its proxies now get every service that matches`,
      );
  }
  return out;
}

/**
 * A Sidecar that failed closed (REGISTRY_ONLY) and no longer does: its proxies pass traffic to any
 * host again, declared or not. Without a mode of its own the mesh-wide one applies
 * (https://istio.io/latest/docs/reference/config/networking/sidecar/#OutboundTrafficPolicy).
 */
function outboundPolicyOpened(base: Manifest | undefined, head: Manifest | undefined): string[] {
  if (!base || !head) return [];
  const mode = (m: Manifest) => str(get(m, 'spec', 'outboundTrafficPolicy', 'mode'));
  if (mode(base) !== 'REGISTRY_ONLY' || mode(head) === 'REGISTRY_ONLY') return [];
  const now =
    mode(head) ?? "unset (the mesh-wide mode, Istio's ALLOW_ANY unless the install sets REGISTRY_ONLY)";
  return [
    `outboundTrafficPolicy REGISTRY_ONLY → ${now}: the proxies of ${targetOf(head)} no longer fail closed, and may reach hosts no ServiceEntry declares`,
  ];
}

/** A ServiceEntry that puts a new host outside the mesh in the registry: a new way out. */
function externalHostsAdded(base: Manifest | undefined, head: Manifest | undefined): string[] {
  if (!head || (str(get(head, 'spec', 'location')) ?? 'MESH_EXTERNAL') !== 'MESH_EXTERNAL') return [];
  const before = new Set(
    base && (str(get(base, 'spec', 'location')) ?? 'MESH_EXTERNAL') === 'MESH_EXTERNAL'
      ? strings(get(base, 'spec', 'hosts'))
      : [],
  );
  const added = strings(get(head, 'spec', 'hosts')).filter((h) => !before.has(h));
  if (added.length === 0) return [];
  const ports = arr(get(head, 'spec', 'ports'))
    .map((p) => `${String(get(p, 'number'))}/${str(get(p, 'protocol')) ?? 'TCP'}`)
    .join(', ');
  return [
    `new external host${added.length > 1 ? 's' : ''} ${added.join(', ')}${ports ? ` (${ports})` : ''}: workloads that reach ${added.length > 1 ? 'them' : 'it'} can now leave the mesh, even under REGISTRY_ONLY`,
  ];
}
