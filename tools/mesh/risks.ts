/**
 * Changes that deserve a second look before they are applied: they replace objects, break
 * clients, weaken mTLS or authorization, move traffic, or remove or loosen a circuit breaker or a
 * rate limit. Each rule looks at one kind of object, before and after.
 */
import { parse as parseYaml } from 'yaml';
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
  shortHost,
  str,
  strings,
} from './manifest.js';
import { type ObjectDiff } from './object-diff.js';

export type RiskRule =
  | 'deployment-selector'
  | 'service-port-removed'
  | 'mtls-weakened'
  | 'authz-widened'
  | 'route-moved'
  | 'circuit-breaker-loosened'
  | 'rate-limit-loosened';

export interface Risk {
  readonly rule: RiskRule;
  /** The object's label, "VirtualService shop/reviews". */
  readonly object: string;
  readonly message: string;
}

type Rule = (base: Manifest | undefined, head: Manifest | undefined) => string[];

const RULES: { rule: RiskRule; applies: (m: Manifest) => boolean; check: Rule }[] = [
  {
    rule: 'deployment-selector',
    applies: (m) => ['Deployment', 'StatefulSet', 'DaemonSet'].some((k) => is(m, 'apps', k)),
    check: selectorChanged,
  },
  { rule: 'service-port-removed', applies: (m) => is(m, '', 'Service'), check: servicePortsRemoved },
  {
    rule: 'mtls-weakened',
    applies: (m) => is(m, ISTIO_SECURITY, 'PeerAuthentication'),
    check: peerAuthWeakened,
  },
  {
    rule: 'mtls-weakened',
    applies: (m) => is(m, ISTIO_NETWORKING, 'DestinationRule'),
    check: clientTlsWeakened,
  },
  {
    rule: 'authz-widened',
    applies: (m) => is(m, ISTIO_SECURITY, 'AuthorizationPolicy'),
    check: authzWidened,
  },
  {
    rule: 'route-moved',
    applies: (m) => is(m, ISTIO_NETWORKING, 'VirtualService'),
    check: virtualServiceMoved,
  },
  { rule: 'route-moved', applies: (m) => is(m, GATEWAY_API, 'HTTPRoute'), check: httpRouteMoved },
  {
    rule: 'circuit-breaker-loosened',
    applies: (m) => is(m, ISTIO_NETWORKING, 'DestinationRule'),
    check: circuitBreakerLoosened,
  },
  {
    rule: 'rate-limit-loosened',
    applies: (m) => is(m, ISTIO_NETWORKING, 'EnvoyFilter'),
    check: envoyRateLimit,
  },
  { rule: 'rate-limit-loosened', applies: (m) => is(m, '', 'ConfigMap'), check: globalRateLimitConfig },
];

/** The risky changes among `diffs`, in the order of the diffs. */
export function findRisks(diffs: readonly ObjectDiff[]): Risk[] {
  const out: Risk[] = [];
  for (const d of diffs) {
    const sample = d.head ?? d.base;
    if (!sample) continue;
    for (const r of RULES) {
      if (!r.applies(sample)) continue;
      for (const message of r.check(d.base, d.head)) out.push({ rule: r.rule, object: d.label, message });
    }
  }
  return out;
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

function peerAuthWeakened(base: Manifest | undefined, head: Manifest | undefined): string[] {
  if (!base) return [];
  const modes = (m: Manifest | undefined) => {
    const out = new Map<string, string>();
    if (!m) return out;
    out.set('mtls.mode', str(get(m, 'spec', 'mtls', 'mode')) ?? 'UNSET');
    for (const [port, v] of Object.entries(rec(get(m, 'spec', 'portLevelMtls')))) {
      out.set(`portLevelMtls[${port}].mode`, str(get(v, 'mode')) ?? 'UNSET');
    }
    return out;
  };
  const before = modes(base);
  const after = modes(head);
  const out: string[] = [];
  for (const [where, old] of before) {
    const now = after.get(where) ?? (head ? (after.get('mtls.mode') ?? 'UNSET') : 'removed');
    if (now === 'removed') {
      if ((PEER_RANK[old] ?? 0) > PEER_RANK.PERMISSIVE) {
        out.push(
          `PeerAuthentication with ${where} ${old} removed: the mesh default (PERMISSIVE unless set) applies`,
        );
      }
    } else if ((PEER_RANK[now] ?? 0) < (PEER_RANK[old] ?? 0)) {
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

const MUTUAL = new Set(['ISTIO_MUTUAL', 'MUTUAL']);

/** tls.mode of every traffic policy of a DestinationRule: the top one, per port, per subset. */
function trafficPolicies(m: Manifest | undefined): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (!m) return out;
  const add = (where: string, policy: unknown) => {
    if (!isRecord(policy)) return;
    out.set(where, policy);
    for (const p of arr(policy.portLevelSettings)) {
      out.set(`${where}.portLevelSettings[${String(get(p, 'port', 'number'))}]`, p);
    }
  };
  add('trafficPolicy', get(m, 'spec', 'trafficPolicy'));
  for (const s of arr(get(m, 'spec', 'subsets'))) {
    add(`subsets[${String(get(s, 'name'))}].trafficPolicy`, get(s, 'trafficPolicy'));
  }
  return out;
}

function clientTlsWeakened(base: Manifest | undefined, head: Manifest | undefined): string[] {
  const after = trafficPolicies(head);
  const out: string[] = [];
  for (const [where, policy] of trafficPolicies(base)) {
    const old = str(get(policy, 'tls', 'mode'));
    if (!old || !MUTUAL.has(old)) continue;
    const now = str(get(after.get(where), 'tls', 'mode'));
    if (now && MUTUAL.has(now)) continue;
    const host = str(get(base, 'spec', 'host')) ?? '';
    out.push(
      head
        ? `${where}.tls.mode ${old} → ${now ?? '(removed)'} for ${host}`
        : `DestinationRule with ${where}.tls.mode ${old} removed for ${host}`,
    );
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
    if (key) when.set(key, new Set(strings(get(c, 'values'))));
    if (key && get(c, 'notValues') !== undefined) when.set(`!${key}`, new Set(strings(get(c, 'notValues'))));
  }
  return {
    from: alternatives(get(rule, 'from'), 'source', SOURCE_FIELDS),
    to: alternatives(get(rule, 'to'), 'operation', OPERATION_FIELDS),
    when,
  };
}

function subset(a: Set<string>, b: Set<string>): boolean {
  return [...a].every((x) => b.has(x));
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
    const union = (alts: Alternative[], f: string) => new Set(alts.flatMap((a) => [...(a.get(f) ?? [])]));
    const fields = new Set(os.flatMap((a) => [...a.keys()]));
    for (const f of fields) {
      const mine = union(rs, f);
      const theirs = union(os, f);
      if (rs.some((a) => !a.has(f))) {
        out.push(`${f} no longer restricted (was ${[...theirs].join(', ')})`);
      } else if (f.startsWith('not')) {
        const dropped = [...theirs].filter((x) => !mine.has(x));
        if (dropped.length) out.push(`${f} − ${dropped.join(', ')}`);
      } else {
        const added = [...mine].filter((x) => !theirs.has(x));
        if (added.length) out.push(`${f} + ${added.join(', ')}`);
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

function unrestricted(r: NormalRule): boolean {
  return r.from === undefined && r.to === undefined && r.when.size === 0;
}

function authzWidened(base: Manifest | undefined, head: Manifest | undefined): string[] {
  if (!base) return [];
  const action = (m: Manifest) => str(get(m, 'spec', 'action')) ?? 'ALLOW';
  const rules = (m: Manifest) => arr(get(m, 'spec', 'rules'));
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
    return old === 'DENY' || old === 'CUSTOM' ? [`action ${old} → ${now}`] : [];
  }
  const before = rules(base).map(normalRule);
  const after = rules(head).map(normalRule);
  const out: string[] = [];
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
  } else if (old === 'DENY') {
    before.forEach((o, i) => {
      if (after.some((r) => ruleWithin(o, r))) return;
      const explained = after.length
        ? after.map((r) => beyond(o, r)).sort((x, y) => x.length - y.length)[0]
        : ['rule removed'];
      out.push(`DENY rule ${i} no longer denies everything it did: ${explained.join('; ')}`);
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Routing

type Split = Map<string, number>;

/** Where a route sends its traffic: "v1" for a subset of the VirtualService's own host, else "host subset". */
function vsSplit(route: unknown, own: ReadonlySet<string>): Split {
  const dests = arr(get(route, 'route'));
  const out: Split = new Map();
  for (const d of dests) {
    const host = shortHost(str(get(d, 'destination', 'host')) ?? '?');
    const subset = str(get(d, 'destination', 'subset'));
    const port = get(d, 'destination', 'port', 'number');
    const where = subset && own.has(host) ? subset : [host, subset].filter(Boolean).join(' ');
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

function vsRoutes(m: Manifest | undefined): Map<string, Split> {
  const out = new Map<string, Split>();
  const own = new Set(strings(get(m, 'spec', 'hosts')).map(shortHost));
  for (const proto of ['http', 'tcp', 'tls']) {
    const routes = arr(get(m, 'spec', proto));
    const keys = routeKeys(routes);
    routes.forEach((r, i) => out.set(`${proto === 'http' ? '' : `${proto} `}${keys[i]}`, vsSplit(r, own)));
  }
  return out;
}

function virtualServiceMoved(base: Manifest | undefined, head: Manifest | undefined): string[] {
  if (!base) return [];
  const hosts = strings(get(head ?? base, 'spec', 'hosts'))
    .map(shortHost)
    .join(', ');
  if (!head)
    return [
      `VirtualService for ${hosts} removed: its routing (${[...vsRoutes(base).values()].map((s) => formatSplit(s)).join('; ')}) no longer applies`,
    ];
  return splitsMoved(vsRoutes(base), vsRoutes(head), `host ${hosts}`);
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
  const after = trafficPolicies(head);
  const out: string[] = [];
  const host = str(get(base, 'spec', 'host')) ?? '';
  for (const [where, policy] of trafficPolicies(base)) {
    const now = after.get(where);
    for (const part of ['connectionPool', 'outlierDetection']) {
      const a = get(policy, part);
      if (!isRecord(a)) continue;
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
  const enforced = (m: Manifest) =>
    JSON.stringify(m.spec).match(/"filter_enforced":\{"default_value":\{[^}]*"numerator":(\d+)/)?.[1];
  const [e0, e1] = [enforced(base), enforced(head)];
  if (e0 !== undefined && e1 !== undefined && Number(e1) < Number(e0))
    out.push(`enforced for ${e0} → ${e1} % of requests`);
  const failDeny = (m: Manifest) => /"failure_mode_deny":true/.test(JSON.stringify(m.spec));
  if (failDeny(base) && !failDeny(head))
    out.push('failure_mode_deny true → false: requests pass when the rate limit service is down');
  const actions = (m: Manifest) => (JSON.stringify(m.spec).match(/"actions":/g) ?? []).length;
  if (actions(head) < actions(base)) out.push(`rate limit actions ${actions(base)} → ${actions(head)}`);
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
  const out = new Map<string, { perSecond: number; raw: string }>();
  let found = false;
  for (const [file, text] of Object.entries(rec(get(m, 'data')))) {
    if (typeof text !== 'string') continue;
    let config: unknown;
    try {
      config = parseYaml(text);
    } catch {
      continue;
    }
    if (!isRecord(config) || typeof config.domain !== 'string' || !Array.isArray(config.descriptors))
      continue;
    found = true;
    const visit = (list: unknown, prefix: string) => {
      for (const d of arr(list)) {
        const key = `${prefix}${str(get(d, 'key')) ?? '?'}${get(d, 'value') !== undefined ? `=${String(get(d, 'value'))}` : ''}`;
        const limit = get(d, 'rate_limit');
        if (get(d, 'unlimited') === true) out.set(key, { perSecond: Infinity, raw: 'unlimited' });
        else if (isRecord(limit)) {
          const n = num(limit.requests_per_unit) ?? 0;
          const unit = String(limit.unit ?? 'second').toLowerCase();
          const shadow = get(d, 'shadow_mode') === true;
          out.set(key, {
            perSecond: shadow ? Infinity : n / (UNIT_SECONDS[unit] ?? 1),
            raw: `${n}/${unit}${shadow ? ' (shadow mode)' : ''}`,
          });
        }
        visit(get(d, 'descriptors'), `${key} › `);
      }
    };
    visit(config.descriptors, `${config.domain} ${file}: `);
  }
  return found ? out : undefined;
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
