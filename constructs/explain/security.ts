/**
 * Security at the destination: the mTLS mode (PeerAuthentication), whether the caller's Sidecar
 * lets it reach the host, the JWT outcome (RequestAuthentication), and the authorization decision
 * (AuthorizationPolicy), each as Istio's documentation describes it.
 */
import { authzValueMatch, hostMatches, splitPath } from './match.js';
import {
  arr,
  get,
  isRecord,
  labelsOf,
  type MeshIndex,
  type MeshObject,
  NETWORKING,
  rec,
  ref,
  ROOT_NAMESPACE,
  SECURITY,
  selects,
  str,
  strings,
  type Workload,
} from './objects.js';

export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';

export interface MtlsOutcome {
  /** The mode the destination's proxy accepts on the port. */
  readonly mode: MtlsMode;
  /** The PeerAuthentication that set it ("<ns>/<name>"), or null for Istio's default (PERMISSIVE). */
  readonly source: string | null;
  /** Whether the caller's connection is mutual TLS. */
  readonly callerSendsMtls: boolean;
  /** Whether the destination accepts the caller's connection. */
  readonly accepted: boolean;
}

/**
 * The mTLS mode of a workload on a port. A workload-specific policy (selector) wins over the
 * namespace's policy (no selector), which wins over the mesh's (root namespace, no selector); a
 * mode of UNSET inherits from the level above; portLevelMtls applies to workload-specific policies
 * only; with no policy at all the mesh runs PERMISSIVE
 * (https://istio.io/latest/docs/reference/config/security/peer_authentication/,
 * https://istio.io/latest/docs/concepts/security/#peer-authentication).
 */
export function mtlsMode(
  index: MeshIndex,
  workload: Workload | undefined,
  namespace: string,
  targetPort: number,
  ambient = false,
) {
  const policies = index.of(SECURITY, 'PeerAuthentication');
  const inNs = (ns: string) => policies.filter((p) => (p.metadata.namespace ?? 'default') === ns);
  const selectorOf = (p: MeshObject) => labelsOf(get(p, 'spec', 'selector', 'matchLabels'));
  const levels: MeshObject[] = [];
  const workloadPolicy = workload
    ? inNs(namespace).find(
        (p) => get(p, 'spec', 'selector') !== undefined && selects(selectorOf(p), workload.labels),
      )
    : undefined;
  if (workloadPolicy) levels.push(workloadPolicy);
  const nsPolicy = inNs(namespace).find((p) => get(p, 'spec', 'selector') === undefined);
  if (nsPolicy) levels.push(nsPolicy);
  const rootPolicy = inNs(ROOT_NAMESPACE).find((p) => get(p, 'spec', 'selector') === undefined);
  if (rootPolicy && namespace !== ROOT_NAMESPACE) levels.push(rootPolicy);
  for (const p of levels) {
    const portMode =
      p === workloadPolicy ? str(get(p, 'spec', 'portLevelMtls', String(targetPort), 'mode')) : undefined;
    const mode = portMode && portMode !== 'UNSET' ? portMode : str(get(p, 'spec', 'mtls', 'mode'));
    // ztunnel and HBONE always use mTLS: in ambient mode a DISABLE policy is ignored
    // (https://istio.io/latest/docs/ambient/usage/l4-policy/#peer-authentication).
    if (mode && mode !== 'UNSET' && !(ambient && mode === 'DISABLE')) {
      return {
        mode: mode as MtlsMode,
        source: ref(p) + (portMode && portMode !== 'UNSET' ? ` (port ${targetPort})` : ''),
      };
    }
  }
  return { mode: 'PERMISSIVE' as MtlsMode, source: null };
}

export interface EgressOutcome {
  readonly allowed: boolean;
  /** The caller's Sidecar ("<ns>/<name>"), or null when none applies (every host is visible). */
  readonly sidecar: string | null;
  /** The egress host that imports the destination. */
  readonly matchedHost: string | null;
  /** What happens to a host the Sidecar does not import. */
  readonly outboundTrafficPolicy: 'ALLOW_ANY' | 'REGISTRY_ONLY';
}

/**
 * Whether the caller's Sidecar imports the destination host. The Sidecar of a workload is the one
 * whose workloadSelector selects it, else its namespace's Sidecar without selector, else the root
 * namespace's; egress hosts are "<namespace>/<dnsName>" where the namespace is "*", "." (the
 * Sidecar's own) or a name, and the name "*", "*.suffix" or a FQDN; a listener with a port covers
 * that port only (https://istio.io/latest/docs/reference/config/networking/sidecar/).
 */
export function egressCheck(
  index: MeshIndex,
  caller: Workload,
  host: string,
  port: number,
  // A ServiceEntry's hosts belong to the ServiceEntry's namespace (Sidecar, IstioEgressListener.hosts).
  namespaceOfHost?: string,
): EgressOutcome {
  const sidecars = index.of(NETWORKING, 'Sidecar');
  const ns = (s: MeshObject) => s.metadata.namespace ?? 'default';
  const sidecar =
    sidecars.find(
      (s) =>
        ns(s) === caller.namespace &&
        isRecord(get(s, 'spec', 'workloadSelector')) &&
        selects(labelsOf(get(s, 'spec', 'workloadSelector', 'labels')), caller.labels),
    ) ??
    sidecars.find((s) => ns(s) === caller.namespace && get(s, 'spec', 'workloadSelector') === undefined) ??
    sidecars.find((s) => ns(s) === ROOT_NAMESPACE && get(s, 'spec', 'workloadSelector') === undefined);
  if (!sidecar)
    return { allowed: true, sidecar: null, matchedHost: null, outboundTrafficPolicy: 'ALLOW_ANY' };
  const outbound =
    str(get(sidecar, 'spec', 'outboundTrafficPolicy', 'mode')) === 'REGISTRY_ONLY'
      ? 'REGISTRY_ONLY'
      : 'ALLOW_ANY';
  const hostNamespace = namespaceOfHost ?? index.serviceOfHost(host)?.namespace;
  for (const listener of arr(get(sidecar, 'spec', 'egress'))) {
    const listenerPort = get(listener, 'port', 'number');
    if (typeof listenerPort === 'number' && listenerPort !== port) continue;
    for (const h of strings(get(listener, 'hosts'))) {
      const slash = h.indexOf('/');
      const nsPart = slash < 0 ? '*' : h.slice(0, slash);
      const name = slash < 0 ? h : h.slice(slash + 1);
      const nsOk =
        nsPart === '*' ||
        (nsPart === '.' ? hostNamespace === ns(sidecar) : nsPart !== '~' && nsPart === hostNamespace);
      if (
        nsOk &&
        hostMatches(
          name === '*'
            ? '*'
            : name.includes('.') || name.startsWith('*')
              ? name
              : `${name}.${hostNamespace}.svc.cluster.local`,
          host,
          ns(sidecar),
        )
      ) {
        return { allowed: true, sidecar: ref(sidecar), matchedHost: h, outboundTrafficPolicy: outbound };
      }
    }
  }
  return { allowed: false, sidecar: ref(sidecar), matchedHost: null, outboundTrafficPolicy: outbound };
}

/** The claims of the token a request carries; absent means no token. */
export type JwtClaims = Readonly<Record<string, unknown>>;

export interface JwtOutcome {
  /** "none": no RequestAuthentication applies (a token is not looked at). */
  readonly outcome: 'valid' | 'invalid' | 'no-token' | 'none';
  /** "<iss>/<sub>" of a valid token. */
  readonly requestPrincipal: string | null;
  readonly policy: string | null;
  readonly reason: string;
}

/**
 * Whether a security policy applies to a workload: in the workload's namespace with a selector
 * that selects it or without a selector, or in the root namespace (a selector there selects in
 * every namespace). `service` is set at a waypoint, where only policies with targetRefs naming the
 * Service (or the waypoint) apply
 * (https://istio.io/latest/docs/reference/config/security/authorization-policy/, selector and targetRefs).
 */
export function appliesTo(
  p: MeshObject,
  workload: Workload | undefined,
  namespace: string,
  waypointFor?: string,
): boolean {
  const ns = p.metadata.namespace ?? 'default';
  const targetRefs = arr(get(p, 'spec', 'targetRefs')).concat(
    get(p, 'spec', 'targetRef') ? [get(p, 'spec', 'targetRef')] : [],
  );
  if (waypointFor !== undefined) {
    if (ns !== namespace) return false;
    return targetRefs.some(
      (t) =>
        (str(get(t, 'kind')) === 'Service' && str(get(t, 'name')) === waypointFor) ||
        (str(get(t, 'kind')) === 'Gateway' && str(get(t, 'name')) === 'waypoint'),
    );
  }
  // Policies with targetRefs bind to gateways and waypoints, not to sidecars or ztunnel.
  if (targetRefs.length > 0) return false;
  if (ns !== namespace && ns !== ROOT_NAMESPACE) return false;
  const selector = get(p, 'spec', 'selector');
  if (selector === undefined) return true;
  return workload !== undefined && selects(labelsOf(get(selector, 'matchLabels')), workload.labels);
}

/**
 * The JWT outcome: a request with a token that no applicable jwtRule accepts (unknown issuer, an
 * audience not listed, expired) is rejected with 401; a request without a token is accepted with
 * no request principal, for authorization to decide
 * (https://istio.io/latest/docs/reference/config/security/request_authentication/,
 * https://istio.io/latest/docs/tasks/security/authentication/authn-policy/#end-user-authentication).
 * The evaluator takes the claims as those of a token signed with the issuer's key: it cannot see
 * signatures.
 */
export function jwtCheck(
  index: MeshIndex,
  workload: Workload | undefined,
  namespace: string,
  claims: JwtClaims | undefined,
  waypointFor?: string,
  now = Date.now(),
): JwtOutcome {
  const policies = index
    .of(SECURITY, 'RequestAuthentication')
    .filter((p) => appliesTo(p, workload, namespace, waypointFor));
  if (policies.length === 0) {
    return {
      outcome: 'none',
      requestPrincipal: null,
      policy: null,
      reason: claims
        ? 'no RequestAuthentication applies, so the token is not validated and gives no identity'
        : 'no RequestAuthentication applies',
    };
  }
  const names = policies.map(ref).join(', ');
  if (!claims) {
    return {
      outcome: 'no-token',
      requestPrincipal: null,
      policy: names,
      reason: 'no token: accepted without a request principal',
    };
  }
  const iss = str(claims.iss);
  const aud = typeof claims.aud === 'string' ? [claims.aud] : strings(claims.aud);
  for (const p of policies) {
    for (const rule of arr(get(p, 'spec', 'jwtRules'))) {
      if (str(get(rule, 'issuer')) !== iss) continue;
      const audiences = strings(get(rule, 'audiences'));
      if (audiences.length > 0 && !aud.some((a) => audiences.includes(a))) {
        return {
          outcome: 'invalid',
          requestPrincipal: null,
          policy: ref(p),
          reason: `audience ${JSON.stringify(aud)} is not one of ${audiences.join(', ')}: 401`,
        };
      }
      if (typeof claims.exp === 'number' && claims.exp * 1000 <= now) {
        return {
          outcome: 'invalid',
          requestPrincipal: null,
          policy: ref(p),
          reason: 'the token has expired: 401',
        };
      }
      return {
        outcome: 'valid',
        requestPrincipal: `${iss}/${str(claims.sub) ?? ''}`,
        policy: ref(p),
        reason: `issuer ${iss} accepted`,
      };
    }
  }
  return {
    outcome: 'invalid',
    requestPrincipal: null,
    policy: names,
    reason: `issuer ${JSON.stringify(iss ?? null)} is not configured: 401`,
  };
}

/** What authorization sees of a request. */
export interface AuthzRequest {
  /** The peer's SPIFFE identity (no "spiffe://"), null without mTLS. */
  readonly principal: string | null;
  readonly namespace: string | null;
  readonly requestPrincipal: string | null;
  readonly claims?: JwtClaims;
  readonly method: string;
  readonly path: string;
  readonly host: string;
  readonly port: number;
  readonly headers: Readonly<Record<string, string>>;
  /** ztunnel sees connections only: L7 attributes are unknown there. */
  readonly l4Only: boolean;
}

export interface AuthzOutcome {
  readonly allowed: boolean | null;
  /** "<ns>/<policy>" that decided, or null (no ALLOW policy applies, or the evaluator cannot know). */
  readonly decidedBy: string | null;
  readonly action: 'CUSTOM' | 'DENY' | 'ALLOW' | null;
  /** The index of the rule that matched. */
  readonly rule: number | null;
  readonly reason: string;
  /** Every policy that applied, in the order they were evaluated. */
  readonly policies: readonly string[];
}

type Tri = boolean | 'unknown';
const and = (xs: Tri[]): Tri => (xs.includes(false) ? false : xs.includes('unknown') ? 'unknown' : true);
const or = (xs: Tri[]): Tri => (xs.includes(true) ? true : xs.includes('unknown') ? 'unknown' : false);

/**
 * A field with its negation: the value must match one of `values` (when set) and none of
 * `notValues`. An absent attribute matches no value, so it fails `values` and passes `notValues`.
 */
function field(
  values: unknown,
  notValues: unknown,
  actual: string | null | undefined | 'unknown',
  matcher = authzValueMatch,
): Tri {
  const pos = strings(values);
  const neg = strings(notValues);
  if (pos.length === 0 && neg.length === 0) return true;
  if (actual === 'unknown') return 'unknown';
  const v = actual ?? undefined;
  if (pos.length > 0 && !pos.some((p) => matcher(p, v))) return false;
  if (neg.some((p) => matcher(p, v))) return false;
  return true;
}

/** Keys of L7 attributes, which ztunnel cannot see (https://istio.io/latest/docs/ambient/usage/l4-policy/). */
const L7_SOURCE = ['requestPrincipals', 'notRequestPrincipals'];
const L7_OPERATION = ['methods', 'notMethods', 'paths', 'notPaths', 'hosts', 'notHosts'];

function hasL7(rule: unknown): boolean {
  return (
    arr(get(rule, 'from')).some((f) => L7_SOURCE.some((k) => get(f, 'source', k) !== undefined)) ||
    arr(get(rule, 'to')).some((t) => L7_OPERATION.some((k) => get(t, 'operation', k) !== undefined)) ||
    arr(get(rule, 'when')).some((c) => /^request\./.test(str(get(c, 'key')) ?? ''))
  );
}

function conditionValue(key: string, req: AuthzRequest): string | string[] | null | 'unknown' {
  // https://istio.io/latest/docs/reference/config/security/conditions/
  const header = /^request\.headers\[(.+)\]$/.exec(key);
  if (header) return req.headers[header[1].toLowerCase()] ?? null;
  const claim = /^request\.auth\.claims((?:\[[^\]]+\])+)$/.exec(key);
  if (claim) {
    if (req.requestPrincipal === null) return null;
    let v: unknown = req.claims;
    for (const m of claim[1].matchAll(/\[([^\]]+)\]/g)) v = get(v, m[1]);
    return typeof v === 'string' ? v : Array.isArray(v) ? strings(v) : null;
  }
  switch (key) {
    case 'request.auth.principal':
      return req.requestPrincipal;
    case 'request.auth.audiences': {
      if (req.requestPrincipal === null) return null;
      const aud = req.claims?.aud;
      return typeof aud === 'string' ? aud : strings(aud);
    }
    case 'request.auth.presenter':
      return req.requestPrincipal === null ? null : (str(req.claims?.azp) ?? null);
    case 'source.principal':
      return req.principal;
    case 'source.namespace':
      return req.namespace;
    case 'destination.port':
      return String(req.port);
    default:
      // source.ip, remote.ip, destination.ip, connection.sni, experimental.*: not in the config.
      return 'unknown';
  }
}

/** Whether one rule matches: any source AND any operation AND every condition. */
function ruleMatches(rule: unknown, req: AuthzRequest): Tri {
  const from = arr(get(rule, 'from'));
  const to = arr(get(rule, 'to'));
  const when = arr(get(rule, 'when'));
  const { path } = splitPath(req.path);
  const l7 = (v: string | null): string | null | 'unknown' => (req.l4Only ? 'unknown' : v);
  const source = (f: unknown): Tri => {
    const s = rec(get(f, 'source'));
    const ipFields = ['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks'].some(
      (k) => s[k] !== undefined,
    );
    return and([
      field(s.principals, s.notPrincipals, req.principal),
      field(s.namespaces, s.notNamespaces, req.namespace),
      field(s.requestPrincipals, s.notRequestPrincipals, l7(req.requestPrincipal)),
      ipFields ? 'unknown' : true,
    ]);
  };
  const operation = (t: unknown): Tri => {
    const o = rec(get(t, 'operation'));
    return and([
      field(
        o.hosts,
        o.notHosts,
        l7(req.host),
        (p, v) => v !== undefined && authzValueMatch(p.toLowerCase(), v.toLowerCase()),
      ),
      field(o.ports, o.notPorts, String(req.port)),
      field(o.methods, o.notMethods, l7(req.method)),
      field(o.paths, o.notPaths, l7(path)),
    ]);
  };
  const condition = (c: unknown): Tri => {
    const v = conditionValue(str(get(c, 'key')) ?? '', req);
    if (v === 'unknown' || (req.l4Only && /^request\./.test(str(get(c, 'key')) ?? ''))) return 'unknown';
    const values = Array.isArray(v) ? v : v === null ? [] : [v];
    const anyMatch = (ps: string[]) => ps.some((p) => values.some((x) => authzValueMatch(p, x)));
    const pos = strings(get(c, 'values'));
    const neg = strings(get(c, 'notValues'));
    if (pos.length > 0 && !anyMatch(pos)) return false;
    if (neg.length > 0 && anyMatch(neg)) return false;
    return true;
  };
  return and([
    from.length === 0 ? true : or(from.map(source)),
    to.length === 0 ? true : or(to.map(operation)),
    and(when.map(condition)),
  ]);
}

/**
 * The authorization decision of one proxy: CUSTOM policies first, then DENY, then ALLOW; a request
 * no ALLOW policy applies to is allowed; with ALLOW policies, it must match one (a policy without
 * rules matches nothing: allow-nothing). A policy with the istio.io/dry-run annotation is logged,
 * not enforced (https://istio.io/latest/docs/concepts/security/#authorization-policies,
 * https://istio.io/latest/docs/reference/config/security/authorization-policy/). At ztunnel, a
 * rule with L7 attributes cannot be checked: an ALLOW rule with one is left out and a DENY rule
 * with one denies the whole connection (https://istio.io/latest/docs/ambient/usage/l4-policy/).
 */
export function authorize(policies: readonly MeshObject[], req: AuthzRequest): AuthzOutcome {
  const enforced = policies.filter((p) => p.metadata.annotations?.['istio.io/dry-run'] !== 'true');
  const names = enforced.map(ref);
  const byAction = (action: string) =>
    enforced.filter((p) => (str(get(p, 'spec', 'action')) ?? 'ALLOW') === action);
  const first = (list: MeshObject[], deny: boolean): { p: MeshObject; i: number; m: Tri } | undefined => {
    let unknown: { p: MeshObject; i: number; m: Tri } | undefined;
    for (const p of list) {
      const rules = arr(get(p, 'spec', 'rules'));
      for (let i = 0; i < rules.length; i++) {
        let m: Tri;
        if (req.l4Only && hasL7(rules[i])) m = deny ? true : false;
        else m = ruleMatches(rules[i], req);
        if (m === true) return { p, i, m };
        if (m === 'unknown' && !unknown) unknown = { p, i, m };
      }
    }
    return unknown;
  };
  const custom = first(byAction('CUSTOM'), false);
  if (custom) {
    return {
      allowed: null,
      decidedBy: ref(custom.p),
      action: 'CUSTOM',
      rule: custom.i,
      reason: `CUSTOM policy ${ref(custom.p)} rule ${custom.i} sends the request to the external authorizer ${JSON.stringify(str(get(custom.p, 'spec', 'provider', 'name')) ?? '?')}, whose answer the configuration cannot tell`,
      policies: names,
    };
  }
  const deny = first(byAction('DENY'), true);
  if (deny) {
    if (deny.m === 'unknown') {
      return {
        allowed: null,
        decidedBy: ref(deny.p),
        action: 'DENY',
        rule: deny.i,
        reason: `DENY policy ${ref(deny.p)} rule ${deny.i} depends on what the configuration does not say (addresses, SNI)`,
        policies: names,
      };
    }
    const l7AtZtunnel = req.l4Only && hasL7(arr(get(deny.p, 'spec', 'rules'))[deny.i]);
    return {
      allowed: false,
      decidedBy: ref(deny.p),
      action: 'DENY',
      rule: deny.i,
      reason: l7AtZtunnel
        ? `DENY policy ${ref(deny.p)} rule ${deny.i} has L7 attributes ztunnel cannot see, so it denies every connection`
        : `denied by DENY policy ${ref(deny.p)} rule ${deny.i}`,
      policies: names,
    };
  }
  const allows = byAction('ALLOW');
  if (allows.length === 0) {
    return {
      allowed: true,
      decidedBy: null,
      action: null,
      rule: null,
      reason: 'no ALLOW policy applies, so the request is allowed',
      policies: names,
    };
  }
  const allow = first(allows, false);
  if (allow && allow.m === true) {
    return {
      allowed: true,
      decidedBy: ref(allow.p),
      action: 'ALLOW',
      rule: allow.i,
      reason: `allowed by ALLOW policy ${ref(allow.p)} rule ${allow.i}`,
      policies: names,
    };
  }
  if (allow) {
    return {
      allowed: null,
      decidedBy: ref(allow.p),
      action: 'ALLOW',
      rule: allow.i,
      reason: `ALLOW policy ${ref(allow.p)} rule ${allow.i} depends on what the configuration does not say (addresses, SNI)`,
      policies: names,
    };
  }
  const empty = allows.find((p) => arr(get(p, 'spec', 'rules')).length === 0);
  return {
    allowed: false,
    decidedBy: empty ? ref(empty) : ref(allows[0]),
    action: 'ALLOW',
    rule: null,
    reason: empty
      ? `no ALLOW rule matches; ${ref(empty)} allows nothing, so the request is denied`
      : `no rule of the ALLOW policies (${allows.map(ref).join(', ')}) matches, so the request is denied`,
    policies: names,
  };
}
