/**
 * explainRequest: where a request goes in the synthesized configuration, and whether it is
 * allowed, following Istio's documented semantics. It reads the rendered objects only, so it
 * answers for what would be applied to the cluster, escape hatches included.
 */
import { App, Chart } from 'cdk8s';
import { renderObjects } from '../render.js';
import { describe, expectArgument, refuseArgument } from '../describe-value.js';
import { closestKey } from '../input.js';
import { hostMatches, normalizePath } from './match.js';
import {
  arr,
  fqdn,
  GATEWAY_API,
  get,
  isRecord,
  labelsOf,
  MeshIndex,
  type MeshObject,
  NETWORKING,
  ref,
  SECURITY,
  type ServiceInfo,
  selects,
  str,
  strings,
  type Workload,
} from './objects.js';
import { rateLimitsFor, type RateLimitOutcome } from './rate-limits.js';
import {
  destinationRuleFor,
  type EffectivePolicy,
  effectivePolicy,
  type FaultDescription,
  httpRoutesFor,
  meshHttpRoutesFor,
  routeHttpRoute,
  type RouteOutcome,
  type RouteDestination,
  routeVirtualService,
  subsetLabels,
  virtualServicesFor,
} from './routing.js';
import {
  appliesTo,
  authorize,
  type AuthzOutcome,
  egressCheck,
  type EgressOutcome,
  type JwtClaims,
  jwtCheck,
  type JwtOutcome,
  mtlsMode,
  type MtlsOutcome,
} from './security.js';

/** A request to explain. */
export interface ExplainRequest {
  /**
   * The caller: a service ("reviews") or one version of it ("reviews:v2"), "ingress" (the ingress
   * gateway's identity) or "outside" (a client with no mesh identity).
   * @default every caller of the app, with explainAllCallers
   */
  readonly from?: string;
  /** The destination: a service name ("ratings", "ratings.shop", its FQDN) or a host an ingress Gateway serves. */
  readonly to: string;
  /**
   * The destination port.
   * @default the service's first port (80, or 443 with TLS, for a gateway host)
   */
  readonly port?: number;
  /**
   * The HTTP method.
   * @default "GET"
   */
  readonly method?: string;
  /**
   * The request path, with a query string if any.
   * @default "/"
   */
  readonly path?: string;
  /**
   * Request headers (names are case-insensitive).
   * @default none
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * The claims of a JWT the request carries (taken as signed by the issuer's key; signatures are
   * not checked).
   * @default no token
   */
  readonly jwtClaims?: JwtClaims;
}

export interface ExplainOptions {
  /**
   * The mesh trust domain of the principals.
   * @default DEFAULT_TRUST_DOMAIN ("cluster.local")
   */
  readonly trustDomain?: string;
  /**
   * When to evaluate token expiry (`exp`), in milliseconds since the epoch.
   * @default Date.now()
   */
  readonly now?: number;
}

/** The caller as the evaluator identified it. */
export interface CallerInfo {
  readonly kind: 'workload' | 'ingress' | 'outside';
  /** "reviews:v2", "ingress", "outside". */
  readonly name: string;
  readonly namespace: string | null;
  readonly principal: string | null;
  readonly labels: Readonly<Record<string, string>>;
  /** "sidecar", "ambient" (ztunnel), "gateway" (an Envoy gateway) or "none". */
  readonly proxy: 'sidecar' | 'ambient' | 'gateway' | 'none';
}

export interface ExplainedDestination {
  readonly service: string;
  readonly namespace: string;
  /** The `version` label of the Deployments the destination reaches; null when they differ or there are none. */
  readonly version: string | null;
  readonly weight: number | null;
  readonly subset: string | null;
  readonly deployments: readonly string[];
  readonly trafficPolicy: EffectivePolicy;
  readonly allowed: boolean | null;
}

export interface AuthorizationLayer extends AuthzOutcome {
  /** Where it is enforced. */
  readonly at: 'sidecar' | 'waypoint' | 'ztunnel';
  /** The peer identity that proxy sees. */
  readonly peer: string | null;
}

export interface Explanation {
  readonly request: {
    readonly from: string;
    readonly to: string;
    readonly host: string;
    readonly port: number;
    readonly method: string;
    readonly path: string;
    readonly headers: Readonly<Record<string, string>>;
    readonly jwt: boolean;
  };
  readonly caller: CallerInfo;
  /** Whether the request reaches the service; null when it depends on what the configuration cannot tell. */
  readonly allowed: boolean | null;
  /** "<namespace>/<name>" of the policy (or Sidecar) that decided; null when no policy decided. */
  readonly decidedBy: string | null;
  /** Where a refusal happens. */
  readonly deniedAt: 'egress' | 'routing' | 'mtls' | 'jwt' | 'authorization' | null;
  /** One sentence: why. */
  readonly reason: string;
  /** The VirtualService or HTTPRoute that routed ("VirtualService shop/reviews"), null when none. */
  readonly virtualService: string | null;
  readonly route: string | number | null;
  readonly matchedBy: string | null;
  readonly destinations: readonly ExplainedDestination[];
  readonly timeout: string | null;
  readonly retries: Record<string, unknown> | null;
  readonly fault: FaultDescription | null;
  readonly mirror: {
    readonly service: string;
    readonly version: string | null;
    readonly percentage: number;
  } | null;
  readonly trafficPolicy: EffectivePolicy | null;
  readonly mtls: MtlsOutcome | null;
  readonly egressAllowed: boolean;
  readonly egress: EgressOutcome | null;
  readonly jwt: JwtOutcome | null;
  readonly authorization: readonly AuthorizationLayer[];
  readonly rateLimits: readonly RateLimitOutcome[];
  /** The waypoint the request goes through in ambient mode ("<ns>/<name>"). */
  readonly waypoint: string | null;
  /** For a host outside the app's Services: the ServiceEntry that declares it, if any. */
  readonly external: ExternalHost | null;
  readonly notes: readonly string[];
}

/** An external host as the mesh knows it (https://istio.io/latest/docs/reference/config/networking/service-entry/). */
export interface ExternalHost {
  readonly host: string;
  /** "<ns>/<name>" of the ServiceEntry visible to the caller that declares the host and port; null when none does. */
  readonly serviceEntry: string | null;
  /** MESH_EXTERNAL (the default) or MESH_INTERNAL. */
  readonly location: string | null;
  /** NONE, STATIC, DNS or DNS_ROUND_ROBIN: how the proxy finds the endpoints. */
  readonly resolution: string | null;
  /** The declared port's protocol (HTTP, HTTPS, TLS, TCP...). */
  readonly protocol: string | null;
}

/** What explainRequest reads: a cdk8s App or Chart (rendered and validated first) or the objects. */
export type MeshSource = App | Chart | readonly MeshObject[] | MeshIndex;

/** Thrown for a request the objects cannot answer (an unknown caller or host), naming the fix. */
export class ExplainError extends Error {}

/** The index of a source; build it once with this to explain many requests over one chart. */
export function meshIndex(source: MeshSource, options: ExplainOptions = {}): MeshIndex {
  return indexOf('meshIndex', source, options);
}

/** The index of a source, with `fn` (the public function called) named in what it refuses. */
function indexOf(fn: string, source: MeshSource, options: ExplainOptions): MeshIndex {
  expectArgument(
    isRecord(options),
    fn,
    'options',
    options,
    'an object',
    'pass e.g. { trustDomain: "cluster.local" }, or leave it out',
  );
  // A misspelt option (trustdomain) would be dropped and the default used, explaining other principals.
  for (const key of Object.keys(options)) {
    if (OPTIONS.includes(key)) continue;
    const closest = closestKey(key, OPTIONS);
    throw new Error(
      `${fn}: options.${key}: is not a known option; ${closest ? `did you mean ${closest}?` : `the options are ${OPTIONS.join(', ')}`}`,
    );
  }
  if (options.trustDomain !== undefined && typeof options.trustDomain !== 'string')
    refuseArgument(
      fn,
      'options.trustDomain',
      options.trustDomain,
      'a string',
      'pass e.g. "cluster.local", or leave it out',
    );
  if (options.now !== undefined && !Number.isFinite(options.now))
    refuseArgument(
      fn,
      'options.now',
      options.now,
      'a number of milliseconds since the epoch',
      'pass e.g. Date.parse("2026-01-01T00:00:00Z"), or leave it out for the current time',
    );
  if (source instanceof MeshIndex) return source;
  if (Array.isArray(source)) return new MeshIndex(source as readonly MeshObject[], options.trustDomain);
  expectArgument(
    source instanceof App || Chart.isChart(source),
    fn,
    'source',
    source,
    'a cdk8s App or Chart, a list of rendered objects, or a MeshIndex',
    'pass the App (or a Chart) the services were built in',
  );
  const app = source instanceof App ? source : App.of(source as Chart);
  return new MeshIndex(renderObjects(app) as unknown as MeshObject[], options.trustDomain);
}

/**
 * Where a request goes and whether it is allowed, e.g.
 * `explainRequest(chart, { from: 'reviews', to: 'ratings', path: '/ratings/0' })`.
 */
export function explainRequest(
  source: MeshSource,
  request: ExplainRequest,
  options: ExplainOptions = {},
): Explanation {
  expectArgument(
    isRecord(request),
    'explainRequest',
    'request',
    request,
    'an object',
    'pass e.g. { from: "reviews", to: "ratings" }',
  );
  const index = indexOf('explainRequest', source, options);
  if (request.from === undefined) {
    throw new ExplainError('explainRequest: from is required; use explainAllCallers to ask for every caller');
  }
  return new Evaluator(index, options).explain(request.from, request);
}

/** The same request from every caller of the app: each service version, "ingress" and "outside". */
export function explainAllCallers(
  source: MeshSource,
  request: Omit<ExplainRequest, 'from'>,
  options: ExplainOptions = {},
): Explanation[] {
  expectArgument(
    isRecord(request),
    'explainAllCallers',
    'request',
    request,
    'an object',
    'pass e.g. { to: "ratings" }',
  );
  // The answers are for every caller, each with its own "from": a given one would be ignored, and
  // the caller would read the answers as for that one caller.
  if ((request as { from?: unknown }).from !== undefined) {
    throw new ExplainError(
      'explainAllCallers: request.from: is not taken, as explainAllCallers answers for every caller; leave from out, or use explainRequest to ask for one caller',
    );
  }
  const index = indexOf('explainAllCallers', source, options);
  return callersOf(index).map((from) => new Evaluator(index, options).explain(from, request));
}

/**
 * Every caller of the app: each workload behind a Service, named after the Service with the
 * widest selector that selects it ("reviews:v2", not the version Service "reviews-v2" a Gateway API
 * split adds), then "ingress" and "outside".
 */
export function callersOf(index: MeshIndex): string[] {
  expectArgument(
    index instanceof MeshIndex,
    'callersOf',
    'index',
    index,
    'a MeshIndex',
    'build one with meshIndex(app)',
  );
  const out: string[] = [];
  for (const w of index.workloads) {
    const services = index.services
      .filter((s) => s.namespace === w.namespace && index.workloadsOf(s).includes(w))
      .sort((a, b) => Object.keys(a.selector).length - Object.keys(b.selector).length);
    const svc = services[0];
    if (!svc) continue;
    const v = w.labels.version;
    out.push(index.workloadsOf(svc).length === 1 || v === undefined ? svc.name : `${svc.name}:${v}`);
  }
  // A Job by its app label (the name its identity and logs carry; the Job object's own name may
  // change with each image), unless a Service takes that name.
  for (const j of index.jobs) {
    const name = jobCallerName(j);
    if (!index.services.some((s) => s.name === name)) out.push(name);
  }
  return [...new Set(out), 'ingress', 'outside'];
}

function jobNames(index: MeshIndex): string {
  return [...new Set(index.jobs.map((j) => `, ${jobCallerName(j)}`))].join('');
}

function jobCallerName(j: Workload): string {
  return j.labels.app ?? j.name;
}

const OPTIONS = ['trustDomain', 'now'];
const REQUEST_FIELDS = ['from', 'to', 'port', 'method', 'path', 'headers', 'jwtClaims'];

/** Refuses a malformed request (from JavaScript or JSON, where types are not checked) with every problem. */
function checkRequest(from: unknown, r: Omit<ExplainRequest, 'from'>): void {
  const problems: string[] = [];
  // A misspelt field (header, jwtclaims) would be dropped: the answer would be for another request.
  for (const key of Object.keys(r)) {
    if (REQUEST_FIELDS.includes(key)) continue;
    const closest = closestKey(key, REQUEST_FIELDS);
    problems.push(
      `${key}: is not a known field; ${closest ? `did you mean ${closest}?` : `the fields are ${REQUEST_FIELDS.join(', ')}`}`,
    );
  }
  // A string as written, a number as "number 7", anything else in words (never "object [object Object]").
  const text = (v: unknown) =>
    typeof v === 'string'
      ? JSON.stringify(v)
      : typeof v === 'number' && !Number.isNaN(v)
        ? `number ${v}`
        : describe(v);
  if (typeof from !== 'string' || from === '')
    problems.push(
      `from: expected a caller such as "reviews", "reviews:v2", "ingress" or "outside", got ${text(from)}`,
    );
  if (r.to === undefined)
    problems.push('to: is required but missing; give a service name or an ingress host, e.g. "ratings"');
  else if (typeof r.to !== 'string' || r.to === '')
    problems.push(`to: expected a service name or an ingress host, e.g. "ratings", got ${text(r.to)}`);
  if (r.port !== undefined && !(Number.isInteger(r.port) && r.port >= 1 && r.port <= 65535))
    problems.push(`port: expected a port number from 1 to 65535, got ${text(r.port)}`);
  if (r.method !== undefined && (typeof r.method !== 'string' || !/^[A-Za-z]+$/.test(r.method)))
    problems.push(`method: expected an HTTP method such as "GET", got ${text(r.method)}`);
  if (r.path !== undefined && (typeof r.path !== 'string' || !r.path.startsWith('/')))
    problems.push(`path: expected a path starting with "/", e.g. "/ratings/0", got ${text(r.path)}`);
  // A request line carries no whitespace or control character in its path (RFC 9112 section 3):
  // such a request does not exist, and explaining it would show matches no client can reach.
  // eslint-disable-next-line no-control-regex
  else if (typeof r.path === 'string' && /[\s\x00-\x1f\x7f]/.test(r.path))
    problems.push(
      `path: ${text(r.path)} has a space or control character, which a request carries percent-encoded; write e.g. "%20" for a space`,
    );
  if (r.headers !== undefined) {
    if (typeof r.headers !== 'object' || r.headers === null || Array.isArray(r.headers))
      problems.push('headers: expected an object of header names to values, e.g. { "end-user": "jason" }');
    else
      for (const [k, v] of Object.entries(r.headers)) {
        // Header names are RFC 9110 tokens (or an HTTP/2 pseudo-header such as ":authority"), and
        // values carry no CR, LF or NUL; Envoy's codecs refuse a request with either.
        if (!/^:?[0-9A-Za-z!#$%&'*+.^_`|~-]+$/.test(k))
          problems.push(
            `headers[${JSON.stringify(k)}]: is not a header name; use letters, digits and "-", e.g. "end-user"`,
          );
        if (typeof v !== 'string') problems.push(`headers["${k}"]: expected a string, got ${text(v)}`);
        else if (/[\r\n\0]/.test(v))
          problems.push(
            `headers[${JSON.stringify(k)}]: ${text(v)} has a CR, LF or NUL, which no request carries`,
          );
        // The other controls but HTAB are outside an RFC 9110 field value too, and a route's header
        // match refuses them (Problems.requestText): such a request does not exist either.
        // eslint-disable-next-line no-control-regex
        else if (/[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(v))
          problems.push(
            `headers[${JSON.stringify(k)}]: ${text(v).replace(/\x7f/g, '\\u007f')} has a control character, which no request carries`,
          );
      }
  }
  if (
    r.jwtClaims !== undefined &&
    (typeof r.jwtClaims !== 'object' || r.jwtClaims === null || Array.isArray(r.jwtClaims))
  )
    problems.push(
      'jwtClaims: expected an object of claims, e.g. { iss: "https://issuer.example", sub: "alice" }',
    );
  if (problems.length > 0) throw new ExplainError(`explainRequest: ${problems.join('; ')}`);
}

/** The principal the ingress gateway installed by the stacks carries (Helm release istio-ingressgateway in istio-system). */
const INGRESS_NAMESPACE = 'istio-system';
const INGRESS_SERVICE_ACCOUNT = 'istio-ingressgateway';

/** Istio's retry policy on a route that sets none (the VirtualService reference, HTTPRetry). */
const DEFAULT_RETRIES = {
  attempts: 2,
  retryOn: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
  default: true,
};

interface Caller extends CallerInfo {
  readonly workload?: Workload;
}

class Evaluator {
  private readonly notes: string[] = [];
  constructor(
    private readonly index: MeshIndex,
    private readonly options: ExplainOptions,
  ) {}

  public explain(from: string, request: Omit<ExplainRequest, 'from'>): Explanation {
    checkRequest(from, request);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(request.headers ?? {})) headers[k.toLowerCase()] = v;
    // Methods are case-sensitive (RFC 9110) and so are Istio's method matches: no case folding.
    const method = request.method ?? 'GET';
    const asked = request.path ?? '/';
    const path = normalizePath(asked);
    if (path !== asked) this.notes.push(`the proxy normalizes the path ${asked} to ${path}`);
    const caller = this.caller(from);
    const gatewayEntry = this.gatewayFor(request.to, request.port);
    if (gatewayEntry && caller.kind === 'workload') {
      this.notes.push(
        `${request.to} is served by the ingress gateway: a workload calling it goes through the gateway like an external client`,
      );
    }
    if (gatewayEntry) {
      return this.throughGateway(
        caller,
        request.to,
        gatewayEntry,
        { method, path, headers, claims: request.jwtClaims },
        from,
      );
    }
    const entries = this.serviceEntriesFor(request.to);
    if (entries.length > 0 && !this.isService(request.to)) {
      return this.toExternal(caller, request.to, entries, request.port, { method, path, headers }, from);
    }
    const svc = this.service(request.to, caller.namespace);
    const port = this.port(svc, request.port);
    const host = fqdn(svc);
    return this.toService(
      caller,
      svc,
      port,
      { method, path, headers, claims: request.jwtClaims, authority: headers.host ?? host },
      {
        from,
        to: request.to,
      },
    );
  }

  /** Identifies the caller: its pods' labels, namespace, service account and proxy. */
  private caller(from: string): Caller {
    const td = this.index.trustDomain;
    if (from === 'ingress') {
      return {
        kind: 'ingress',
        name: 'ingress',
        namespace: INGRESS_NAMESPACE,
        principal: `${td}/ns/${INGRESS_NAMESPACE}/sa/${INGRESS_SERVICE_ACCOUNT}`,
        labels: { istio: 'ingressgateway' },
        proxy: 'gateway',
      };
    }
    if (from === 'outside') {
      return {
        kind: 'outside',
        name: 'outside',
        namespace: null,
        principal: null,
        labels: {},
        proxy: 'none',
      };
    }
    const [name, version, extra] = from.split(':');
    if (extra !== undefined || !name)
      throw new ExplainError(
        `from "${from}": write a service, "<service>:<version>", a job, "ingress" or "outside"`,
      );
    const job = this.job(name, version, from);
    if (job) return job;
    const svc = this.service(name, undefined, 'from');
    const workloads = this.index.workloadsOf(svc, version === undefined ? {} : { version });
    if (workloads.length === 0) {
      const versions = this.index
        .workloadsOf(svc)
        .map((w) => w.labels.version)
        .filter(Boolean);
      throw new ExplainError(
        version === undefined
          ? `from "${from}": service ${svc.namespace}/${svc.name} selects no Deployment, so it has no caller identity`
          : `from "${from}": service ${svc.name} has no version "${version}"; use one of ${versions.join(', ') || '(none)'}`,
      );
    }
    const accounts = [...new Set(workloads.map((w) => w.serviceAccount))];
    if (accounts.length > 1) {
      throw new ExplainError(
        `from "${from}": its versions run as different service accounts (${accounts.join(', ')}); name a version, e.g. "${name}:${workloads[0].labels.version ?? ''}"`,
      );
    }
    return this.workloadCaller(version === undefined ? name : `${name}:${version}`, workloads);
  }

  /**
   * The caller made of `workloads` (one identity, one namespace): a service's versions, or the jobs
   * of one name. Where there are several, only the labels every one carries are certain
   * (sourceLabels), and only a sidecar on every one makes the caller a sidecar.
   */
  private workloadCaller(name: string, workloads: readonly Workload[]): Caller {
    const [first] = workloads;
    const labels: Record<string, string> = { ...first.labels };
    for (const w of workloads.slice(1))
      for (const k of Object.keys(labels)) if (w.labels[k] !== labels[k]) delete labels[k];
    const plane = this.index.dataPlane(first.namespace);
    return {
      kind: 'workload',
      name,
      namespace: first.namespace,
      principal: this.index.principal(first.namespace, first.serviceAccount),
      labels,
      proxy: workloads.every((w) => w.sidecar) ? 'sidecar' : plane === 'ambient' ? 'ambient' : 'none',
      workload: workloads.length === 1 ? first : { ...first, labels },
    };
  }

  /**
   * A Job or CronJob caller by its app label or object name ("<name>.<ns>" when several namespaces
   * have one), when no Service has that name: a Service's name always means the Service.
   */
  private job(name: string, version: string | undefined, from: string): Caller | undefined {
    const m = /^([^.]+)(?:\.([^.]+))?$/.exec(name);
    if (
      !m ||
      this.index.services.some((s) => s.name === m[1] && (m[2] === undefined || s.namespace === m[2]))
    )
      return undefined;
    const jobs = this.index.jobs.filter(
      (j) => (jobCallerName(j) === m[1] || j.name === m[1]) && (m[2] === undefined || j.namespace === m[2]),
    );
    if (jobs.length === 0) return undefined;
    const where = [...new Set(jobs.map((j) => j.namespace))];
    if (where.length > 1) {
      throw new ExplainError(
        `from "${from}": jobs of that name are in ${where.join(', ')}; write "<name>.<namespace>"`,
      );
    }
    if (version !== undefined) {
      throw new ExplainError(
        `from "${from}": ${m[1]} is a ${jobs[0].object.kind}, which has no versions; write "${m[1]}"`,
      );
    }
    const accounts = [...new Set(jobs.map((j) => j.serviceAccount))];
    if (accounts.length > 1) {
      throw new ExplainError(
        `from "${from}": the jobs of that name run as different service accounts (${accounts.join(', ')}); give each its own app label`,
      );
    }
    return this.workloadCaller(m[1], jobs);
  }

  /** A Service by name, "<name>.<ns>" or FQDN; the caller's namespace first. */
  private service(to: string, preferNamespace: string | null | undefined, what = 'to'): ServiceInfo {
    const m = /^([^.]+)(?:\.([^.]+)(?:\.svc(?:\.cluster\.local)?)?)?$/.exec(to);
    const candidates = m
      ? this.index.services.filter((s) => s.name === m[1] && (m[2] === undefined || s.namespace === m[2]))
      : [];
    const found =
      candidates.find((s) => s.namespace === preferNamespace) ??
      (candidates.length === 1 ? candidates[0] : undefined);
    if (found) return found;
    if (candidates.length > 1) {
      throw new ExplainError(
        `${what} "${to}": services of that name are in ${candidates.map((c) => c.namespace).join(', ')}; write "<name>.<namespace>"`,
      );
    }
    const names = this.index.services.map((s) => s.name);
    if (what === 'to')
      for (const se of this.index.of(NETWORKING, 'ServiceEntry'))
        names.push(...strings(get(se, 'spec', 'hosts')));
    // With no Service (an empty list of objects), the callers start at "ingress", not at ", ingress".
    const known = `${[...new Set(names)].join(', ')}${what === 'from' ? jobNames(this.index) + ', ingress, outside' : ''}`;
    throw new ExplainError(
      `${what} "${to}": no such service${what === 'to' ? ' or ingress host' : ''}; use one of ${known.replace(/^, /, '')}`,
    );
  }

  private port(svc: ServiceInfo, port: number | undefined): ServiceInfo['ports'][number] {
    if (svc.ports.length === 0) throw new ExplainError(`service ${svc.namespace}/${svc.name} has no ports`);
    if (port === undefined) return svc.ports[0];
    const p = svc.ports.find((x) => x.port === port);
    if (!p)
      throw new ExplainError(
        `port ${port}: service ${svc.name} has ports ${svc.ports.map((x) => x.port).join(', ')}; use one of them`,
      );
    return p;
  }

  /** The hosts of ServiceEntries outside the mesh (MESH_EXTERNAL), by host, with their "<ns>/<name>". */
  private externalHosts(): Map<string, string> {
    const hosts = new Map<string, string>();
    for (const se of this.index.of(NETWORKING, 'ServiceEntry')) {
      if ((str(get(se, 'spec', 'location')) ?? 'MESH_EXTERNAL') !== 'MESH_EXTERNAL') continue;
      for (const h of strings(get(se, 'spec', 'hosts'))) hosts.set(h, ref(se));
    }
    return hosts;
  }

  /** Whether `to` names one of the app's Services ("ratings", "ratings.shop", its FQDN). */
  private isService(to: string): boolean {
    const m = /^([^.]+)(?:\.([^.]+)(?:\.svc(?:\.cluster\.local)?)?)?$/.exec(to);
    return (
      m !== null &&
      this.index.services.some((s) => s.name === m[1] && (m[2] === undefined || s.namespace === m[2]))
    );
  }

  /** The ServiceEntries whose hosts cover `host` (an exact name or "*.suffix"). */
  private serviceEntriesFor(host: string): MeshObject[] {
    return this.index
      .of(NETWORKING, 'ServiceEntry')
      .filter((se) =>
        strings(get(se, 'spec', 'hosts')).some((h) =>
          hostMatches(h, host, se.metadata.namespace ?? 'default'),
        ),
      );
  }

  /**
   * A request to a host a ServiceEntry declares. A sidecar reaches it when its Sidecar imports the
   * host ("<ServiceEntry namespace>/<host>") and the entry is exported to the caller's namespace;
   * otherwise the request leaves through the PassthroughCluster with outboundTrafficPolicy
   * ALLOW_ANY, or is blackholed (502) with REGISTRY_ONLY
   * (https://istio.io/latest/docs/reference/config/networking/sidecar/#OutboundTrafficPolicy,
   * https://istio.io/latest/docs/tasks/traffic-management/egress/egress-control/). Routes of a
   * VirtualService for the host apply to HTTP ports only: over TLS the sidecar sees the SNI, not
   * the request (https://istio.io/latest/docs/reference/config/networking/service-entry/).
   */
  private toExternal(
    caller: Caller,
    host: string,
    entries: readonly MeshObject[],
    askedPort: number | undefined,
    req: Req,
    from: string,
  ): Explanation {
    const callerNs = caller.namespace;
    const visible = entries.filter((se) => {
      const ns = se.metadata.namespace ?? 'default';
      const exportTo = strings(get(se, 'spec', 'exportTo'));
      if (exportTo.length === 0 || exportTo.includes('*')) return true;
      return callerNs !== null && exportTo.map((e) => (e === '.' ? ns : e)).includes(callerNs);
    });
    if (visible.length < entries.length) {
      this.notes.push(
        `ServiceEntry ${entries
          .filter((e) => !visible.includes(e))
          .map(ref)
          .join(', ')} is not exported to ${callerNs ?? 'the caller'}, so it is not in the caller's registry`,
      );
    }
    const portsOf = (se: MeshObject) => arr(get(se, 'spec', 'ports'));
    const se =
      askedPort === undefined
        ? visible[0]
        : visible.find((e) => portsOf(e).some((p) => get(p, 'number') === askedPort));
    const port = askedPort ?? (se ? Number(get(portsOf(se)[0], 'number')) : 443);
    const sePort = se ? portsOf(se).find((p) => get(p, 'number') === port) : undefined;
    if (askedPort !== undefined && visible.length > 0 && !se) {
      this.notes.push(
        `no ServiceEntry declares port ${askedPort} of ${host}, so that port is not in the registry`,
      );
    }
    const seNamespace = se?.metadata.namespace ?? 'default';
    const protocol = str(get(sePort, 'protocol'))?.toUpperCase() ?? null;
    const external: ExternalHost = {
      host,
      serviceEntry: se ? ref(se) : null,
      location: se ? (str(get(se, 'spec', 'location')) ?? 'MESH_EXTERNAL') : null,
      resolution: se ? (str(get(se, 'spec', 'resolution')) ?? 'NONE') : null,
      protocol,
    };
    const base = {
      from,
      to: host,
      host,
      port,
      method: req.method,
      path: req.path,
      headers: req.headers,
      jwt: false,
    };
    let egress: EgressOutcome | null = null;
    if (caller.proxy === 'sidecar' && caller.workload) {
      const check = egressCheck(this.index, caller.workload, host, port, seNamespace);
      // A host is in the caller's registry when a visible ServiceEntry declares it and the port.
      egress = se ? check : { ...check, allowed: false, matchedHost: null };
      if (!egress.allowed && egress.outboundTrafficPolicy === 'REGISTRY_ONLY') {
        return this.result(base, caller, {
          allowed: false,
          decidedBy: egress.sidecar,
          deniedAt: 'egress',
          reason: se
            ? `Sidecar ${egress.sidecar} does not import ${seNamespace}/${host} and its outbound policy is REGISTRY_ONLY: the request goes to the BlackHoleCluster (502)`
            : `no ServiceEntry visible to the caller declares ${host} port ${port}, and the outbound policy of Sidecar ${egress.sidecar} is REGISTRY_ONLY: the request goes to the BlackHoleCluster (502)`,
          egress,
          external,
        });
      }
      if (!egress.allowed) {
        this.notes.push(
          `${egress.sidecar ? `Sidecar ${egress.sidecar}` : 'the mesh default'} lets unknown hosts out (ALLOW_ANY): the request leaves through the PassthroughCluster, without routing or DestinationRule (https://istio.io/latest/docs/tasks/traffic-management/egress/egress-control/)`,
        );
        if (!egress.sidecar)
          this.notes.push(
            "no Sidecar applies: the mesh's meshConfig.outboundTrafficPolicy (ALLOW_ANY unless set) decides, and the evaluator does not see it",
          );
        return this.result(base, caller, {
          allowed: true,
          decidedBy: egress.sidecar,
          deniedAt: null,
          reason: 'passthrough: ALLOW_ANY lets the request out as it is',
          egress,
          external,
        });
      }
    } else if (caller.proxy === 'ambient') {
      this.notes.push(
        'an ambient caller reaches external hosts through ztunnel; an egress waypoint bound to the ServiceEntry (istio.io/use-waypoint) is not followed',
      );
    } else if (caller.proxy === 'none') {
      this.notes.push('a caller without a proxy is not controlled by the mesh on its way out');
    }
    // Routing: a VirtualService for the host, on HTTP ports (sidecars and gateways).
    const envoy = caller.proxy === 'sidecar' || caller.proxy === 'gateway';
    const http = protocol === null || protocol === 'HTTP' || protocol === 'HTTP2' || protocol === 'GRPC';
    let routing: RouteOutcome | undefined;
    if (envoy && se) {
      const vs = virtualServicesFor(this.index, host, 'mesh', callerNs ?? undefined)[0];
      if (vs && http) {
        routing = routeVirtualService(vs, {
          ...req,
          authority: req.headers.host ?? host,
          port,
          gateway: 'mesh',
          sourceLabels: caller.labels,
          sourceNamespace: callerNs ?? undefined,
        });
      } else if (vs) {
        this.notes.push(
          `port ${port} is ${protocol}: the sidecar sees the TLS server name, not the request, so the HTTP routes of VirtualService ${ref(vs)} do not apply`,
        );
      }
    }
    if (routing && routing.destinations.length === 0) {
      return this.result(base, caller, {
        allowed: routing.undecided ? null : false,
        decidedBy: null,
        deniedAt: routing.undecided ? null : 'routing',
        reason: routing.response ?? 'no route',
        virtualService: routing.config,
        egress,
        external,
      });
    }
    const drNamespace = envoy ? callerNs : seNamespace;
    const targets: readonly RouteDestination[] = routing
      ? routing.destinations
      : [{ host, port, weight: 100 }];
    const destinations: ExplainedDestination[] = targets.map((t) => {
      const svc = this.index.serviceOfHost(t.host);
      const dr = envoy
        ? destinationRuleFor(this.index, t.host, drNamespace ?? undefined, svc ? undefined : seNamespace)
        : undefined;
      return {
        service: svc ? svc.name : t.host,
        namespace: svc ? svc.namespace : seNamespace,
        version: null,
        weight: routing ? t.weight : null,
        subset: t.subset ?? null,
        deployments: svc ? this.index.workloadsOf(svc).map((w) => w.name) : [],
        trafficPolicy: effectivePolicy(dr, t.subset, t.port ?? port),
        allowed: svc ? null : true,
      };
    });
    if (destinations.some((d) => d.allowed === null)) {
      this.notes.push(
        'the route sends some requests to a Service of the app; ask for that Service to see its security',
      );
    }
    const gateway = envoy && se ? this.egressGatewayRoute(host, port, callerNs) : undefined;
    let gatewayDecision: AuthzOutcome | undefined;
    if (gateway) {
      // Istio's egress gateway tasks: the caller's sidecar sends the host to the gateway over mTLS,
      // so the gateway sees the caller's identity and its AuthorizationPolicies decide. Over TLS
      // passthrough it sees the server name (connection.sni) but not the request
      // (https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway/,
      // https://istio.io/latest/docs/reference/config/security/conditions/).
      gatewayDecision = authorize(gateway.policies, {
        principal: caller.principal,
        namespace: callerNs,
        requestPrincipal: null,
        method: req.method,
        path: req.path,
        host,
        port,
        headers: req.headers,
        l4Only: !gateway.http,
        sni: host,
      });
      this.notes.push(
        `the request leaves through the egress gateway ${gateway.service} (VirtualService ${ref(gateway.virtualService)}${gateway.http ? '' : ', by TLS server name'}), whose AuthorizationPolicies decide: ${gatewayDecision.reason}`,
      );
      if (gatewayDecision.allowed !== true) {
        return this.result(base, caller, {
          allowed: gatewayDecision.allowed,
          decidedBy: gatewayDecision.decidedBy,
          deniedAt: gatewayDecision.allowed === false ? 'authorization' : null,
          reason: `at the egress gateway ${gateway.service}: ${gatewayDecision.reason}`,
          virtualService: ref(gateway.virtualService),
          destinations,
          egress,
          external,
        });
      }
    }
    this.notes.push(
      `${host} is outside the app's Services: no mTLS or authorization of the mesh applies at the destination${external.location === 'MESH_INTERNAL' ? ' (a MESH_INTERNAL entry: its workloads may enforce their own)' : ''}`,
    );
    return this.result(base, caller, {
      allowed: true,
      decidedBy: gatewayDecision?.decidedBy ?? egress?.sidecar ?? null,
      deniedAt: null,
      reason: se
        ? `${host} is declared by ServiceEntry ${ref(se)}${egress ? ` and imported by Sidecar ${egress.sidecar ?? '(none)'}` : ''}${gateway ? `, and the egress gateway ${gateway.service} lets the caller out` : ''}`
        : `${host} is not in the registry; nothing stops the caller`,
      virtualService: routing?.config ?? null,
      route: routing?.route ?? null,
      matchedBy: routing?.matchedBy ?? null,
      destinations,
      timeout: routing?.timeout ?? null,
      retries: routing?.retries ?? (envoy && http && se ? DEFAULT_RETRIES : null),
      fault: routing?.fault ?? null,
      mirror: routing?.mirror
        ? {
            service: this.index.serviceOfHost(routing.mirror.host)?.name ?? routing.mirror.host,
            version: null,
            percentage: routing.mirror.percentage,
          }
        : null,
      trafficPolicy: destinations[0]?.trafficPolicy ?? null,
      egress,
      external,
      extraNotes: routing?.notes ?? [],
    });
  }

  /**
   * The egress gateway a host's mesh-side route sends it to, if any: a VirtualService bound to the
   * mesh whose route for the port goes to a host that is neither the external host nor a Service
   * of the app (the gateway's Service), with the AuthorizationPolicies of the gateway's pods. Their
   * labels are the selector of the Istio Gateway that serves the host in the gateway's namespace.
   */
  private egressGatewayRoute(
    host: string,
    port: number,
    callerNs: string | null,
  ): { service: string; virtualService: MeshObject; http: boolean; policies: MeshObject[] } | undefined {
    const vs = virtualServicesFor(this.index, host, 'mesh', callerNs ?? undefined)[0];
    if (!vs) return undefined;
    for (const kind of ['http', 'tls', 'tcp']) {
      for (const r of arr(get(vs, 'spec', kind))) {
        const matches = arr(get(r, 'match'));
        const meshSide =
          matches.length === 0 ||
          matches.some((m) => {
            const gws = strings(get(m, 'gateways'));
            const p = get(m, 'port');
            return (gws.length === 0 || gws.includes('mesh')) && (p === undefined || p === port);
          });
        if (!meshSide) continue;
        for (const d of arr(get(r, 'route'))) {
          const to = str(get(d, 'destination', 'host'));
          if (!to || to === host || this.index.serviceOfHost(to)) continue;
          const gatewayNs = /^[^.]+\.([^.]+)\.svc(\.|$)/.exec(to)?.[1];
          if (!gatewayNs) continue;
          const pods = this.index
            .of(NETWORKING, 'Gateway')
            .filter(
              (g) =>
                (g.metadata.namespace ?? 'default') === gatewayNs &&
                arr(get(g, 'spec', 'servers')).some((srv) =>
                  strings(get(srv, 'hosts')).some(
                    (h) => (h.includes('/') ? h.slice(h.indexOf('/') + 1) : h) === host,
                  ),
                ),
            )
            .map((g) => labelsOf(get(g, 'spec', 'selector')));
          const policies = this.index.of(SECURITY, 'AuthorizationPolicy').filter((p) => {
            if ((p.metadata.namespace ?? 'default') !== gatewayNs) return false;
            const selector = get(p, 'spec', 'selector');
            if (selector === undefined) return get(p, 'spec', 'targetRefs') === undefined;
            const wanted = labelsOf(get(selector, 'matchLabels'));
            return pods.some((labels) => selects(wanted, labels));
          });
          return { service: to, virtualService: vs, http: kind === 'http', policies };
        }
      }
    }
    return undefined;
  }

  /** The ingress Gateway (Istio or Gateway API) that serves a host, on the asked port if any. */
  private gatewayFor(host: string, port: number | undefined): GatewayEntry | undefined {
    if (
      /^[^.]+$/.test(host) ||
      host.endsWith('.svc.cluster.local') ||
      this.index.services.some((s) => host === `${s.name}.${s.namespace}`)
    )
      return undefined;
    const external = this.externalHosts();
    for (const gw of this.index.of(NETWORKING, 'Gateway')) {
      const ns = gw.metadata.namespace ?? 'default';
      // An egress gateway's Gateway (every host it serves is a ServiceEntry's, MESH_EXTERNAL)
      // configures the way out: no client outside reaches the mesh through it.
      const served = arr(get(gw, 'spec', 'servers')).flatMap((s) =>
        strings(get(s, 'hosts')).map((h) => (h.includes('/') ? h.slice(h.indexOf('/') + 1) : h)),
      );
      if (served.length > 0 && served.every((h) => external.has(h))) continue;
      const servers = arr(get(gw, 'spec', 'servers')).filter((s) =>
        strings(get(s, 'hosts')).some((h) =>
          hostMatches(h.includes('/') ? h.slice(h.indexOf('/') + 1) : h, host, ns),
        ),
      );
      const https = servers.find(
        (s) => get(s, 'tls') !== undefined && get(s, 'tls', 'httpsRedirect') !== true,
      );
      const server =
        port === undefined ? (https ?? servers[0]) : servers.find((s) => get(s, 'port', 'number') === port);
      if (!server) {
        if (servers.length > 0) {
          throw new ExplainError(
            `port ${String(port)}: Gateway ${ref(gw)} serves ${host} on port ${servers.map((x) => String(get(x, 'port', 'number'))).join(', ')}; use one of them`,
          );
        }
        continue;
      }
      return {
        kind: 'istio',
        gateway: gw,
        port: Number(get(server, 'port', 'number')),
        redirect: get(server, 'tls', 'httpsRedirect') === true,
        scheme:
          get(server, 'tls') !== undefined && get(server, 'tls', 'httpsRedirect') !== true ? 'https' : 'http',
        principal: this.index.principal(INGRESS_NAMESPACE, INGRESS_SERVICE_ACCOUNT),
      };
    }
    for (const gw of this.index.of(GATEWAY_API, 'Gateway')) {
      if (str(get(gw, 'spec', 'gatewayClassName')) === 'istio-waypoint') continue;
      const ns = gw.metadata.namespace ?? 'default';
      const listeners = arr(get(gw, 'spec', 'listeners')).filter((l) => {
        const h = str(get(l, 'hostname'));
        return h === undefined || hostMatches(h, host, ns);
      });
      const https = listeners.find((l) => get(l, 'protocol') === 'HTTPS');
      const listener =
        port === undefined ? (https ?? listeners[0]) : listeners.find((l) => get(l, 'port') === port);
      if (!listener) {
        if (listeners.length > 0) {
          throw new ExplainError(
            `port ${String(port)}: Gateway ${ref(gw)} serves ${host} on port ${listeners.map((l) => String(get(l, 'port'))).join(', ')}; use one of them`,
          );
        }
        continue;
      }
      // Istio deploys the pods of a Gateway API Gateway as "<name>-istio", with that service account.
      return {
        kind: 'gateway-api',
        gateway: gw,
        port: Number(get(listener, 'port')),
        redirect: false,
        scheme: get(listener, 'protocol') === 'HTTPS' ? 'https' : 'http',
        principal: this.index.principal(ns, `${gw.metadata.name}-istio`),
      };
    }
    return undefined;
  }

  private throughGateway(
    caller: Caller,
    host: string,
    entry: GatewayEntry,
    req: Req,
    from: string,
  ): Explanation {
    const gwRef = ref(entry.gateway);
    const gatewayCaller: Caller = {
      kind: 'ingress',
      name: caller.name,
      namespace: entry.kind === 'istio' ? INGRESS_NAMESPACE : (entry.gateway.metadata.namespace ?? 'default'),
      principal: entry.principal,
      labels: entry.kind === 'istio' ? labelsOf(get(entry.gateway, 'spec', 'selector')) : {},
      proxy: 'gateway',
    };
    const base = {
      from,
      to: host,
      host,
      port: entry.port,
      method: req.method,
      path: req.path,
      headers: req.headers,
      jwt: req.claims !== undefined,
    };
    // A workload reaches the gateway through its Service; with REGISTRY_ONLY its Sidecar must import it.
    if (caller.kind === 'workload' && caller.proxy === 'sidecar' && caller.workload) {
      const gatewayService =
        entry.kind === 'istio'
          ? `${INGRESS_SERVICE_ACCOUNT}.${INGRESS_NAMESPACE}.svc.cluster.local`
          : `${entry.gateway.metadata.name}-istio.${entry.gateway.metadata.namespace ?? 'default'}.svc.cluster.local`;
      const egress = egressCheck(this.index, caller.workload, gatewayService, entry.port);
      if (!egress.allowed && egress.outboundTrafficPolicy === 'REGISTRY_ONLY') {
        return this.result(base, caller, {
          allowed: false,
          decidedBy: egress.sidecar,
          deniedAt: 'egress',
          reason: `Sidecar ${egress.sidecar} does not import the gateway's service ${gatewayService} and its outbound policy is REGISTRY_ONLY: 502`,
          egress,
        });
      }
    }
    if (entry.redirect) {
      return this.result(base, caller, {
        allowed: false,
        decidedBy: gwRef,
        deniedAt: 'routing',
        reason: `Gateway ${gwRef} redirects HTTP on port ${entry.port} to HTTPS (301); ask with --port 443`,
      });
    }
    let outcome: RouteOutcome | undefined;
    if (entry.kind === 'istio') {
      const vs = virtualServicesFor(this.index, host, gwRef, undefined)[0];
      if (vs)
        outcome = routeVirtualService(vs, {
          ...req,
          authority: host,
          port: entry.port,
          scheme: entry.scheme,
          gateway: gwRef,
          sourceLabels: gatewayCaller.labels,
          sourceNamespace: gatewayCaller.namespace ?? undefined,
        });
    } else {
      const route = httpRoutesFor(this.index, gwRef, host)[0];
      if (route)
        outcome = routeHttpRoute(route, {
          ...req,
          authority: host,
          port: entry.port,
          scheme: entry.scheme,
          gateway: gwRef,
        });
    }
    if (!outcome || outcome.destinations.length === 0) {
      return this.result(base, caller, {
        allowed: false,
        decidedBy: null,
        deniedAt: 'routing',
        reason:
          outcome?.response ?? `no VirtualService or HTTPRoute bound to Gateway ${gwRef} serves ${host}: 404`,
        virtualService: outcome?.config ?? null,
      });
    }
    const first = outcome.destinations.find((d) => d.weight > 0) ?? outcome.destinations[0];
    const svc = this.index.serviceOfHost(first.host);
    if (!svc) {
      return this.result(base, caller, {
        allowed: false,
        decidedBy: null,
        deniedAt: 'routing',
        reason: `the route sends to ${first.host}, which is not a service of the app`,
        virtualService: outcome.config,
      });
    }
    if (outcome.destinations.some((d) => this.index.serviceOfHost(d.host) !== svc)) {
      this.notes.push(`the route splits over several services; security is shown for ${svc.name}`);
    }
    this.notes.push(`enters through Gateway ${gwRef}; the gateway calls ${svc.name} as ${entry.principal}`);
    const port = this.port(svc, first.port);
    return this.toService(
      gatewayCaller,
      svc,
      port,
      { ...req, authority: host },
      { from, to: host, port: entry.port },
      outcome,
      caller,
    );
  }

  /** The hop from a caller (a workload, or a gateway after its routing) to a service. */
  private toService(
    caller: Caller,
    svc: ServiceInfo,
    port: ServiceInfo['ports'][number],
    req: Req & { authority: string },
    asked: { from: string; to: string; port?: number },
    gatewayRouting?: RouteOutcome,
    shownCaller: Caller = caller,
  ): Explanation {
    const host = fqdn(svc);
    const base = {
      from: asked.from,
      to: asked.to,
      host: gatewayRouting ? asked.to : host,
      port: asked.port ?? port.port,
      method: req.method,
      path: req.path,
      headers: req.headers,
      jwt: req.claims !== undefined,
    };
    // Mesh clients reach a Service's waypoint; an ingress gateway only with
    // istio.io/ingress-use-waypoint, else it sends straight to the pods' ztunnel
    // (https://istio.io/latest/docs/ambient/usage/waypoint/).
    const serviceWaypoint =
      this.index.dataPlane(svc.namespace) === 'ambient' ? this.index.waypointOf(svc) : undefined;
    const waypoint =
      caller.proxy === 'gateway' && !this.index.ingressUsesWaypoint(svc) ? undefined : serviceWaypoint;
    // Egress: a sidecar reaches only what its Sidecar imports.
    let egress: EgressOutcome | null = null;
    if (caller.proxy === 'sidecar' && caller.workload)
      egress = egressCheck(this.index, caller.workload, host, port.port);
    const passthrough = egress !== null && !egress.allowed;
    if (passthrough && egress!.outboundTrafficPolicy === 'REGISTRY_ONLY') {
      return this.result(base, shownCaller, {
        allowed: false,
        decidedBy: egress!.sidecar,
        deniedAt: 'egress',
        reason: `Sidecar ${egress!.sidecar} does not import ${host} and its outbound policy is REGISTRY_ONLY: the request goes to the BlackHoleCluster (502)`,
        egress,
      });
    }
    if (passthrough) {
      this.notes.push(
        `Sidecar ${egress!.sidecar} does not import ${host}: with outboundTrafficPolicy ALLOW_ANY the request leaves through the PassthroughCluster, without routing, DestinationRule or mTLS (https://istio.io/latest/docs/reference/config/networking/sidecar/)`,
      );
    }
    // Routing: a sidecar applies mesh VirtualServices; in ambient mode the waypoint does; a gateway
    // applied its own; ztunnel alone and clients outside the mesh use Kubernetes' load balancing.
    let routing: RouteOutcome | undefined = gatewayRouting;
    const l7Client =
      !passthrough && (caller.proxy === 'sidecar' || (waypoint !== undefined && caller.proxy !== 'none'));
    if (!routing && l7Client) {
      const vss = virtualServicesFor(this.index, host, 'mesh', caller.namespace ?? undefined);
      if (vss.length > 1)
        this.notes.push(`${vss.length} VirtualServices serve ${host}; Istio uses one (${ref(vss[0])})`);
      if (vss[0]) {
        routing = routeVirtualService(vss[0], {
          ...req,
          port: port.port,
          gateway: 'mesh',
          // A waypoint sees no pod labels of the client (sourceLabels is a sidecar feature).
          sourceLabels: waypoint ? undefined : caller.labels,
          sourceNamespace: caller.namespace ?? undefined,
        });
      } else {
        // Gateway API for the mesh (GAMMA): an HTTPRoute whose parent is the Service
        // (https://istio.io/latest/docs/tasks/traffic-management/request-routing/, Gateway API tab).
        const meshRoute = meshHttpRoutesFor(this.index, svc)[0];
        if (meshRoute) routing = routeHttpRoute(meshRoute, { ...req, port: port.port, gateway: 'mesh' });
      }
    }
    if (routing && routing.destinations.length === 0) {
      return this.result(base, shownCaller, {
        allowed: routing.undecided ? null : false,
        decidedBy: null,
        deniedAt: routing.undecided ? null : 'routing',
        reason: routing.response ?? 'no route',
        virtualService: routing.config,
        egress,
      });
    }
    const drNamespace =
      caller.proxy === 'sidecar' || caller.proxy === 'gateway' ? caller.namespace : svc.namespace;
    const targets: readonly RouteDestination[] = routing
      ? routing.destinations
      : [{ host, port: port.port, weight: 100 }];
    const destinations: (ExplainedDestination & {
      workloads: Workload[];
      svc: ServiceInfo;
      targetPort: number;
    })[] = [];
    for (const t of targets) {
      const dsvc = this.index.serviceOfHost(t.host);
      if (!dsvc) {
        this.notes.push(`${t.host} is not a service of the app; not followed`);
        continue;
      }
      const dr = destinationRuleFor(this.index, t.host, drNamespace ?? undefined);
      let extra: Record<string, string> = {};
      if (t.subset !== undefined) {
        const labels = subsetLabels(dr, t.subset);
        if (labels === undefined) {
          this.notes.push(
            `subset ${t.subset} of ${t.host} is not defined by any DestinationRule: Envoy answers 503 (no healthy upstream)`,
          );
        }
        extra = labels ?? { 'mesh-kit.explain/undefined-subset': t.subset };
      }
      const workloads = this.index.workloadsOf(dsvc, extra);
      const versions = [...new Set(workloads.map((w) => w.labels.version))];
      const dport = dsvc.ports.find((p) => p.port === (t.port ?? port.port)) ?? dsvc.ports[0];
      destinations.push({
        service: dsvc.name,
        namespace: dsvc.namespace,
        version: versions.length === 1 && versions[0] !== undefined ? versions[0] : null,
        weight: routing ? t.weight : null,
        subset: t.subset ?? null,
        deployments: workloads.map((w) => w.name),
        trafficPolicy: passthrough
          ? effectivePolicy(undefined, undefined, 0)
          : effectivePolicy(dr, t.subset, dport.port),
        allowed: null,
        workloads,
        svc: dsvc,
        targetPort: dport.targetPort,
      });
    }
    if (!routing && destinations[0] && destinations[0].workloads.length > 1) {
      this.notes.push(
        `no VirtualService applies: Kubernetes spreads requests over all pods of ${svc.name} (${destinations[0].deployments.join(', ')})`,
      );
    }

    // Security at each destination workload; the explanation shows the first one that takes traffic.
    type Sec = {
      mtls: MtlsOutcome;
      jwt: JwtOutcome;
      layers: AuthorizationLayer[];
      limits: RateLimitOutcome[];
      allowed: boolean | null;
      decidedBy: string | null;
      deniedAt: Explanation['deniedAt'];
      reason: string;
    };
    const secOf = (d: (typeof destinations)[number], w: Workload | undefined): Sec => {
      const ns = d.namespace;
      const dplane = this.index.dataPlane(ns);
      const { mode, source } = mtlsMode(this.index, w, ns, d.targetPort, dplane === 'ambient');
      const tlsMode = str(get(d.trafficPolicy.tls, 'mode'));
      const destinationInMesh = (w?.sidecar ?? false) || dplane === 'ambient';
      const callerSendsMtls =
        !passthrough &&
        destinationInMesh &&
        (caller.proxy === 'ambient' ||
          ((caller.proxy === 'sidecar' || caller.proxy === 'gateway') &&
            (tlsMode === undefined || tlsMode === 'ISTIO_MUTUAL')));
      const accepted = !destinationInMesh || mode !== 'STRICT' || callerSendsMtls;
      const mtls: MtlsOutcome = { mode, source, callerSendsMtls, accepted };
      const peer = callerSendsMtls ? caller.principal : null;
      const wp = waypoint && !passthrough && caller.proxy !== 'none' ? waypoint : undefined;
      const jwt = jwtCheck(this.index, w, ns, req.claims, wp ? d.svc.name : undefined, this.options.now);
      const layers: AuthorizationLayer[] = [];
      const authz = {
        namespace: peer ? (/\/ns\/([^/]+)\//.exec(peer)?.[1] ?? null) : null,
        requestPrincipal: jwt.requestPrincipal,
        claims: req.claims,
        method: req.method,
        path: req.path,
        host: req.authority,
        port: d.targetPort,
        headers: req.headers,
      };
      const policies = this.index.of(SECURITY, 'AuthorizationPolicy');
      if (destinationInMesh && dplane === 'sidecar' && w?.sidecar) {
        const applied = policies.filter((p) => appliesTo(p, w, ns));
        layers.push({
          at: 'sidecar',
          peer,
          ...authorize(applied, { ...authz, principal: peer, l4Only: false }),
        });
      } else if (dplane === 'ambient') {
        if (wp) {
          const applied = policies.filter((p) => appliesTo(p, w, ns, d.svc.name));
          layers.push({
            at: 'waypoint',
            peer,
            ...authorize(applied, { ...authz, principal: peer, l4Only: false }),
          });
        }
        // ztunnel at the destination sees the waypoint's identity when traffic went through it.
        const ztPeer = wp ? this.index.principal(ns, wp.metadata.name) : peer;
        const applied = policies.filter((p) => appliesTo(p, w, ns));
        layers.push({
          at: 'ztunnel',
          peer: ztPeer,
          ...authorize(applied, {
            ...authz,
            namespace: ztPeer ? ns : authz.namespace,
            principal: ztPeer,
            requestPrincipal: null,
            l4Only: true,
          }),
        });
      }
      const limits = rateLimitsFor(this.index, w, req);
      if (!accepted) {
        return {
          mtls,
          jwt,
          layers,
          limits,
          allowed: false,
          decidedBy: source,
          deniedAt: 'mtls',
          reason: `${passthrough ? `the caller's Sidecar does not import ${host}, so the request leaves in plaintext; ` : ''}the destination requires mTLS (STRICT, ${source ?? 'mesh default'}) and the caller sends plaintext: the connection is reset`,
        };
      }
      if (jwt.outcome === 'invalid') {
        return {
          mtls,
          jwt,
          layers,
          limits,
          allowed: false,
          decidedBy: jwt.policy,
          deniedAt: 'jwt',
          reason: `RequestAuthentication ${jwt.policy}: ${jwt.reason}`,
        };
      }
      const denied = layers.find((l) => l.allowed === false);
      const unknown = layers.find((l) => l.allowed === null);
      if (denied)
        return {
          mtls,
          jwt,
          layers,
          limits,
          allowed: false,
          decidedBy: denied.decidedBy,
          deniedAt: 'authorization',
          reason: `${denied.at}: ${denied.reason} (403)`,
        };
      if (unknown)
        return {
          mtls,
          jwt,
          layers,
          limits,
          allowed: null,
          decidedBy: unknown.decidedBy,
          deniedAt: null,
          reason: `${unknown.at}: ${unknown.reason}`,
        };
      const decider = layers.find((l) => l.decidedBy !== null) ?? layers[0];
      return {
        mtls,
        jwt,
        layers,
        limits,
        allowed: true,
        decidedBy: decider?.decidedBy ?? null,
        deniedAt: null,
        reason:
          layers.length === 0
            ? 'the destination has no proxy to enforce policy: allowed'
            : layers.map((l) => `${l.at}: ${l.reason}`).join('; '),
      };
    };
    const results = destinations.map((d) => {
      const perWorkload = (d.workloads.length > 0 ? d.workloads : [undefined]).map((w) => secOf(d, w));
      const all = perWorkload.map((s) => s.allowed);
      const allowed = all.every((a) => a === true) ? true : all.every((a) => a === false) ? false : null;
      return { d, sec: perWorkload[0], allowed };
    });
    for (const r of results) (r.d as { allowed: boolean | null }).allowed = r.allowed;
    const shown = results.find((r) => (r.d.weight ?? 100) > 0) ?? results[0];
    if (!shown) {
      return this.result(base, shownCaller, {
        allowed: false,
        decidedBy: null,
        deniedAt: 'routing',
        reason: 'the route leads to no service of the app',
        virtualService: routing?.config ?? null,
        egress,
      });
    }
    const taking = results.filter((r) => (r.d.weight ?? 100) > 0);
    const allowedAll = taking.every((r) => r.allowed === true)
      ? true
      : taking.every((r) => r.allowed === false)
        ? false
        : null;
    if (allowedAll === null && taking.some((r) => r.allowed !== shown.allowed)) {
      this.notes.push(
        `allowed differs between destinations: ${taking.map((r) => `${r.d.service}${r.d.version ? ` ${r.d.version}` : ''} ${String(r.allowed)}`).join(', ')}`,
      );
    }
    const mirrorSvc = routing?.mirror ? this.index.serviceOfHost(routing.mirror.host) : undefined;
    const mirror = routing?.mirror
      ? {
          service: mirrorSvc?.name ?? routing.mirror.host,
          version:
            routing.mirror.subset === undefined
              ? null
              : (subsetLabels(
                  destinationRuleFor(this.index, routing.mirror.host, drNamespace ?? undefined),
                  routing.mirror.subset,
                )?.version ?? routing.mirror.subset),
          percentage: routing.mirror.percentage,
        }
      : null;
    const envoyClient =
      caller.proxy === 'sidecar' ||
      caller.proxy === 'gateway' ||
      (waypoint !== undefined && caller.proxy === 'ambient');
    return this.result(base, shownCaller, {
      allowed: allowedAll ?? shown.sec.allowed,
      decidedBy: shown.sec.decidedBy,
      deniedAt: shown.sec.deniedAt,
      reason: shown.sec.reason,
      virtualService: routing?.config ?? null,
      route: routing?.route ?? null,
      matchedBy: routing?.matchedBy ?? null,
      destinations: destinations.map(({ workloads: _w, svc: _s, targetPort: _t, ...d }) => d),
      timeout: routing?.timeout ?? null,
      // Envoy clients apply Istio's default retries when the route sets none.
      retries: routing?.retries ?? (envoyClient && !passthrough ? DEFAULT_RETRIES : null),
      fault: routing?.fault ?? null,
      mirror,
      trafficPolicy: shown.d.trafficPolicy,
      mtls: shown.sec.mtls,
      egress,
      jwt: shown.sec.jwt,
      authorization: shown.sec.layers,
      rateLimits: shown.sec.limits,
      waypoint: waypoint ? ref(waypoint) : null,
      extraNotes: routing?.notes ?? [],
    });
  }

  private result(
    request: Explanation['request'],
    caller: Caller,
    r: Partial<Omit<Explanation, 'request' | 'caller' | 'notes'>> & {
      allowed: boolean | null;
      decidedBy: string | null;
      deniedAt: Explanation['deniedAt'];
      reason: string;
      extraNotes?: readonly string[];
    },
  ): Explanation {
    const { workload: _w, ...callerInfo } = caller;
    const { extraNotes, allowed, decidedBy, deniedAt, reason, ...rest } = r;
    return {
      request,
      caller: callerInfo,
      allowed,
      decidedBy,
      deniedAt,
      reason,
      virtualService: null,
      route: null,
      matchedBy: null,
      destinations: [],
      timeout: null,
      retries: null,
      fault: null,
      mirror: null,
      trafficPolicy: null,
      mtls: null,
      egress: null,
      jwt: null,
      authorization: [],
      rateLimits: [],
      waypoint: null,
      external: null,
      ...rest,
      egressAllowed: rest.egress ? rest.egress.allowed : true,
      notes: [...this.notes, ...(extraNotes ?? [])],
    };
  }
}

interface Req {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly claims?: JwtClaims;
}

interface GatewayEntry {
  readonly kind: 'istio' | 'gateway-api';
  readonly gateway: MeshObject;
  readonly port: number;
  readonly redirect: boolean;
  /** "https" where the server or listener ends TLS: what Envoy's `:scheme` is there. */
  readonly scheme: 'http' | 'https';
  readonly principal: string;
}
