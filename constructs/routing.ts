import type { Duration } from 'cdk8s';
import type { VirtualServiceSpecHttp, VirtualServiceSpecHttpMatch } from '../imports/networking.istio.io.js';
import { HTTP_METHODS } from './security.js';
import { istioDuration, prune, type StringMatch } from './values.js';
import { MAX_DURATION_MILLIS, type Problems } from './validation.js';
import { jwtClaimRoute } from './jwt-claim-route.js';

/**
 * A typed handle on one declared version of a Microservice: routes and mirrors name versions
 * through these, never through bare strings, so a route cannot point at a subset that does not exist.
 */
export interface ServiceVersion {
  /** The owning service's name. */
  readonly serviceName: string;
  /** The owning service's fully qualified host. */
  readonly host: string;
  /** The version's name, which is also its DestinationRule subset and its `version` label. */
  readonly name: string;
  /** Whether the owning service declares this version (false only for a name typed at run time). */
  readonly declared: boolean;
}

/** One destination of a weighted split. */
export interface WeightedVersion {
  readonly version: ServiceVersion;
  /** Relative share of the traffic; the weights of one route add up to 100. */
  readonly weight: number;
}

/** Conditions of one match; all of them must hold. */
export interface HttpMatch {
  /**
   * Request headers (lower-case names) and how their values must match.
   * @default any headers
   */
  readonly headers?: Record<string, StringMatch>;
  /**
   * The request path.
   * @default any path
   */
  readonly uri?: StringMatch;
  /**
   * Query parameters and how their values must match.
   * @default any query
   */
  readonly queryParams?: Record<string, StringMatch>;
  /**
   * The HTTP method.
   * @default any method
   */
  readonly method?: StringMatch;
  /**
   * Labels of the calling workload (sidecar mode only).
   * @default any caller
   */
  readonly sourceLabels?: Record<string, string>;
}

/** Envoy's retry conditions that Istio accepts in `retryOn`, besides plain HTTP status codes. */
export const RETRY_ON = [
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'envoy-ratelimited',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'http3-post-connect-failure',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
] as const;

export interface RetryPolicy {
  /** How many times to retry; 0 turns off the mesh's default of 2 retries. */
  readonly attempts: number;
  /**
   * Timeout of each attempt.
   * @default the route's timeout
   */
  readonly perTryTimeout?: Duration;
  /**
   * Conditions that trigger a retry (Envoy's `x-envoy-retry-on` values or HTTP status codes).
   * @default Istio's default: connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes
   */
  readonly retryOn?: readonly string[];
}

export interface FaultInjection {
  /**
   * Delay a percentage of requests by a fixed time.
   * @default no delay
   */
  readonly delay?: { readonly fixedDelay: Duration; readonly percentage: number };
  /**
   * Answer a percentage of requests with an HTTP status without forwarding them.
   * @default no abort
   */
  readonly abort?: { readonly httpStatus: number; readonly percentage: number };
}

export interface Mirror {
  /** The version that receives a copy of the traffic; its responses are discarded. */
  readonly to: ServiceVersion;
  /**
   * Percentage of requests to copy.
   * @default 100
   */
  readonly percentage?: number;
}

/** One HTTP route of a service, as the service's VirtualService renders it, in the order added. */
export interface HttpRoute {
  /**
   * A name for the route, shown in Envoy's stats and access logs.
   * @default none
   */
  readonly name?: string;
  /**
   * The route applies when any of these matches; a route without matches catches all requests
   * and so must come last.
   * @default catch all
   */
  readonly match?: readonly HttpMatch[];
  /** Where matching requests go: one version, or a weighted split across versions. */
  readonly to: ServiceVersion | readonly WeightedVersion[];
  /**
   * Overall timeout of the request, retries included.
   * @default no timeout (Istio's default)
   */
  readonly timeout?: Duration;
  /**
   * Retries.
   * @default Istio's default of 2 attempts
   */
  readonly retries?: RetryPolicy;
  /**
   * Faults to inject (delays and aborts) for testing resilience.
   * @default none
   */
  readonly fault?: FaultInjection;
  /**
   * Copy traffic to a version (shadowing).
   * @default none
   */
  readonly mirror?: Mirror;
}

/** The destinations of a route, with weights made explicit. */
export function destinations(route: HttpRoute): readonly WeightedVersion[] {
  return isWeighted(route.to) ? route.to : [{ version: route.to, weight: 100 }];
}

function isWeighted(to: HttpRoute['to']): to is readonly WeightedVersion[] {
  return Array.isArray(to);
}

export interface RouteContext {
  readonly serviceName: string;
  readonly host: string;
  /** The HTTP ports to route one by one, when the service has more than one port; else empty. */
  readonly ports: readonly number[];
  readonly ambient: boolean;
}

/** Checks one route; `field` is its path in the problems, e.g. "routes[2]". */
export function validateRoute(route: HttpRoute, ctx: RouteContext, field: string, p: Problems): void {
  const dests = destinations(route);
  if (dests.length === 0) {
    p.add(`${field}.to`, 'has no destinations', 'route to at least one version');
  }
  dests.forEach((d, i) =>
    checkVersion(d.version, ctx, isWeighted(route.to) ? `${field}.to[${i}]` : `${field}.to`, p),
  );
  if (isWeighted(route.to)) validateWeights(route.to, `${field}.to`, p);
  route.match?.forEach((m, i) => validateMatch(m, ctx, `${field}.match[${i}]`, p));
  if (route.match !== undefined && route.match.length === 0) {
    p.add(
      `${field}.match`,
      'is an empty list',
      'leave match out to catch all requests, or give at least one match',
    );
  }
  p.duration(`${field}.timeout`, route.timeout);
  if (route.retries) {
    const r = route.retries;
    p.nonNegativeInt(`${field}.retries.attempts`, r.attempts);
    p.duration(`${field}.retries.perTryTimeout`, r.perTryTimeout);
    if (r.attempts === 0 && r.perTryTimeout !== undefined) {
      p.add(
        `${field}.retries.perTryTimeout`,
        'is set while attempts is 0, so it never applies',
        'remove perTryTimeout, or set attempts to 1 or more',
      );
    }
    const outlast = retriesOutlast(r, route.timeout);
    if (outlast) {
      p.add(
        `${field}.retries`,
        `${outlast} is not less than the route's timeout ${describe(route.timeout!.toMilliseconds({ integral: false }))}, so when tries time out the request ends before its last retry starts`,
        'make the timeout longer, or lower attempts or perTryTimeout',
      );
    }
    for (const cond of r.retryOn ?? []) {
      if (!(RETRY_ON as readonly string[]).includes(cond) && !/^[1-5][0-9][0-9]$/.test(cond)) {
        p.add(
          `${field}.retries.retryOn`,
          `"${cond}" is not a retry condition`,
          `use HTTP status codes or ${RETRY_ON.join(', ')}`,
        );
      }
    }
  }
  if (route.fault) {
    const { delay, abort } = route.fault;
    if (!delay && !abort) {
      p.add(
        `${field}.fault`,
        'has neither delay nor abort',
        'give fault a delay, an abort, or both; or remove it',
      );
    }
    if (delay) {
      p.duration(`${field}.fault.delay.fixedDelay`, delay.fixedDelay);
      p.percent(`${field}.fault.delay.percentage`, delay.percentage);
      p.fractionalPercent(`${field}.fault.delay.percentage`, delay.percentage, 'no request is delayed');
    }
    if (abort) {
      p.httpStatus(`${field}.fault.abort.httpStatus`, abort.httpStatus);
      p.percent(`${field}.fault.abort.percentage`, abort.percentage);
      p.fractionalPercent(`${field}.fault.abort.percentage`, abort.percentage, 'no request is aborted');
    }
  }
  if (route.mirror) {
    const to = route.mirror.to;
    checkVersion(to, ctx, `${field}.mirror.to`, p);
    p.percent(`${field}.mirror.percentage`, route.mirror.percentage);
    p.fractionalPercent(`${field}.mirror.percentage`, route.mirror.percentage, 'nothing is mirrored');
    // Envoy sends the copy to the mirror's cluster whatever the route picked, so a version that
    // also serves the route's requests handles those it is mirrored twice: double writes, double
    // side effects (request_mirror_policies in envoy's RouteAction).
    const live = dests.find((d) => d.version.host === to.host && d.version.name === to.name && d.weight > 0);
    if (live && route.mirror.percentage !== 0) {
      p.add(
        `${field}.mirror.to`,
        `version "${to.name}" already receives ${live.weight} % of this route's requests, so each one mirrored runs twice on it`,
        'mirror to a version the route does not send requests to',
      );
    }
  }
}

/**
 * Each retry starts after the tries before it: when they all run into perTryTimeout, retry n starts
 * no earlier than n × perTryTimeout (plus Envoy's backoff), so a request whose overall timeout is
 * not longer than attempts × perTryTimeout ends before its last retry starts (Istio's
 * HTTPRoute.timeout covers the retries, as Envoy's RouteAction.timeout spans all retries).
 * Returns "attempts × perTryTimeout = total" when that is so.
 * @internal
 */
export function retriesOutlast(retries: RetryPolicy, timeout: Duration | undefined): string | undefined {
  const perTry = retries.perTryTimeout?.toMilliseconds({ integral: false });
  const total = timeout?.toMilliseconds({ integral: false });
  // Durations that are wrong by themselves are reported as such, not compared.
  const valid = (ms: number | undefined): ms is number =>
    ms !== undefined && Number.isInteger(ms) && ms >= 1 && ms <= MAX_DURATION_MILLIS;
  if (!valid(perTry) || !valid(total) || !Number.isInteger(retries.attempts) || retries.attempts < 1) {
    return undefined;
  }
  const needed = retries.attempts * perTry;
  return needed >= total
    ? `${retries.attempts} × perTryTimeout ${describe(perTry)} = ${describe(needed)}`
    : undefined;
}

function describe(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * The weights of a split: whole numbers of 0 or more, each version once, adding up to 100
 * (Istio normalizes other sums silently, which hides typos such as 90/20).
 */
export function validateWeights(split: readonly WeightedVersion[], field: string, p: Problems): void {
  const seen = new Set<string>();
  split.forEach((w, i) => {
    if (!Number.isInteger(w.weight) || w.weight < 0) {
      p.add(
        `${field}[${i}].weight`,
        `${w.weight} is not a whole number of 0 or more`,
        'use weights from 0 to 100',
      );
    }
    const key = `${w.version.host} ${w.version.name}`;
    if (seen.has(key)) {
      p.add(
        `${field}[${i}]`,
        `version "${w.version.name}" of ${w.version.serviceName} appears twice`,
        'merge its weights into one entry',
      );
    }
    seen.add(key);
  });
  if (split.length > 0 && split.every((w) => Number.isInteger(w.weight) && w.weight >= 0)) {
    const sum = split.reduce((s, w) => s + w.weight, 0);
    if (sum === 0) {
      p.add(
        field,
        'all weights are 0, so the route sends traffic nowhere',
        'give at least one version a weight',
      );
    } else if (sum !== 100) {
      p.add(field, `weights add up to ${sum}, not 100`, 'make the weights of the route add up to 100');
    }
  }
}

function checkVersion(v: ServiceVersion, ctx: RouteContext, field: string, p: Problems): void {
  if (v.serviceName !== ctx.serviceName || v.host !== ctx.host) {
    // Same name in another namespace: the names alone would read "reviews", not "reviews".
    const which = (name: string, host: string) =>
      v.serviceName === ctx.serviceName ? `"${name}" (${host})` : `"${name}"`;
    p.add(
      field,
      `version "${v.name}" belongs to service ${which(v.serviceName, v.host)}, not ${which(ctx.serviceName, ctx.host)}`,
      `route to a version of ${ctx.serviceName}`,
    );
  } else if (!v.declared) {
    p.add(
      field,
      `version "${v.name}" is not declared`,
      `declare it in the versions of ${ctx.serviceName}, or route to a declared version`,
    );
  }
}

/** An RFC 9110 token in lower case: "The header keys must be lowercase" (HTTPMatchRequest.headers). */
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
/**
 * The pseudo-headers istiod accepts as match header names besides tokens (`pseudoHeaders` in
 * istio/istio pkg/config/validation/validation.go, ValidateHTTPHeaderNameOrJwtClaimRoute).
 */
const PSEUDO_HEADERS = new Set([':method', ':scheme', ':authority', ':path', ':status']);
/** Envoy's QueryParameterMatcher.name: `max_bytes: 1024`. */
const MAX_QUERY_PARAM_NAME_BYTES = 1024;

function validateMatch(m: HttpMatch, ctx: RouteContext, field: string, p: Problems): void {
  const conditions = [m.headers, m.uri, m.queryParams, m.method, m.sourceLabels].filter(
    (c) => c !== undefined,
  );
  if (conditions.length === 0) {
    p.add(
      field,
      'has no conditions',
      'give it headers, uri, queryParams, method or sourceLabels, or leave the match out',
    );
  }
  for (const name of Object.keys(m.headers ?? {})) {
    if (name === '') {
      p.add(`${field}.headers`, 'has a header with an empty name', 'name the header, e.g. "end-user"');
    } else if (PSEUDO_HEADERS.has(name) || jwtClaimRoute(name) !== undefined) {
      continue;
    } else if (!HEADER_NAME.test(name.toLowerCase())) {
      // Neither an RFC 9110 token, one of istiod's pseudo-headers nor its JWT claim form (a space,
      // a control character, another colon name, "@request.auth.claims." with no claim): istiod's
      // webhook refuses the VirtualService ("header name ... is not a valid header name",
      // ValidateHTTPHeaderNameOrJwtClaimRoute in pkg/config/validation/validation.go).
      p.add(
        `${field}.headers`,
        `${JSON.stringify(name)} is not an HTTP header name, and istiod refuses the VirtualService`,
        'use letters, digits and "-" (e.g. "end-user"), a pseudo-header such as ":path", or a JWT claim as "@request.auth.claims.<claim>"',
      );
    } else if (!HEADER_NAME.test(name)) {
      p.add(
        `${field}.headers`,
        `"${name}" is not a lower-case header name`,
        `write it as "${name.toLowerCase()}"`,
      );
    }
  }
  for (const name of Object.keys(m.queryParams ?? {})) {
    // Envoy's QueryParameterMatcher.name has min_len 1 and max_bytes 1024
    // (envoyproxy/envoy api/envoy/config/route/v3/route_components.proto): a route with an empty or
    // longer name is rejected with its whole route configuration. Query parameters are matched as
    // the request line carries them, so a name with a control character never matches.
    const bytes = Buffer.byteLength(name, 'utf8');
    if (name === '') {
      p.add(
        `${field}.queryParams`,
        'has a parameter with an empty name, and Envoy rejects the route configuration',
        'name the parameter, e.g. "version"',
      );
    } else if (bytes > MAX_QUERY_PARAM_NAME_BYTES) {
      p.add(
        `${field}.queryParams`,
        `a parameter name is ${bytes} bytes long, above Envoy's limit of ${MAX_QUERY_PARAM_NAME_BYTES}, and Envoy rejects the route configuration`,
        'shorten the parameter name',
      );
    } else if (/[ \t]/.test(name)) {
      // A raw space or tab cannot be in a request line (RFC 9112 section 3), the same rule as an
      // ingress rewrite: clients send it percent-encoded, and Envoy matches the name as sent.
      p.add(
        `${field}.queryParams`,
        `${JSON.stringify(name)} has a space or tab, which a request line carries only percent-encoded, so it never matches`,
        `write the name as requests carry it, e.g. ${JSON.stringify(name.replace(/ /g, '%20').replace(/\t/g, '%09'))}`,
      );
    } else {
      p.requestText(`${field}.queryParams`, name);
    }
  }
  const regexes: [string, StringMatch | undefined][] = [
    [`${field}.uri`, m.uri],
    ...Object.entries(m.headers ?? {}).map(([k, v]): [string, StringMatch] => [
      `${field}.headers[${JSON.stringify(k)}]`,
      v,
    ]),
    ...Object.entries(m.queryParams ?? {}).map(([k, v]): [string, StringMatch] => [
      `${field}.queryParams[${JSON.stringify(k)}]`,
      v,
    ]),
  ];
  for (const [where, match] of regexes) if (match?.kind === 'regex') p.re2(where, match.value);
  if (m.method?.kind === 'regex') p.re2(`${field}.method`, m.method.value);
  if (m.uri && m.uri.kind !== 'regex' && !m.uri.value.startsWith('/')) {
    p.add(
      `${field}.uri`,
      `${m.uri} does not start with "/"`,
      'write request paths from the root, e.g. "/api"',
    );
  }
  // Istio refuses an empty prefix everywhere but in uri (validateHTTPRouteMatchRequest in
  // pkg/config/validation/validation.go; Envoy's StringMatcher.prefix has min_len 1).
  const prefixes: [string, StringMatch | undefined, string][] = [
    [`${field}.method`, m.method, 'leave method out to match any method'],
    ...Object.entries(m.headers ?? {}).map(([k, v]): [string, StringMatch, string] => [
      `${field}.headers[${JSON.stringify(k)}]`,
      v,
      'to match any value of a present header, use StringMatch.regex(".*")',
    ]),
    ...Object.entries(m.queryParams ?? {}).map(([k, v]): [string, StringMatch, string] => [
      `${field}.queryParams[${JSON.stringify(k)}]`,
      v,
      'to match any value of a present parameter, use StringMatch.regex(".*")',
    ]),
  ];
  for (const [where, match, fix] of prefixes) {
    if (match?.kind === 'prefix' && match.value === '')
      p.add(where, 'is an empty prefix, which Istio refuses', fix);
  }
  // Envoy matches query parameters as the request line carries them, not decoded
  // (QueryParamsMulti::parseQueryString in source/common/router/config_impl.cc), so like methods,
  // paths and header values they never hold a control character.
  for (const [where, match] of [...regexes, [`${field}.method`, m.method] as const]) {
    if (match && match.kind !== 'regex') {
      if (match === m.uri) p.requestPath(where, match.value);
      else p.requestText(where, match.value);
    }
  }
  if (m.method) checkMethodCase(m.method, `${field}.method`, p);
  for (const [key, value] of Object.entries(m.sourceLabels ?? {}))
    p.label(`${field}.sourceLabels`, key, value);
  if (m.sourceLabels && ctx.ambient) {
    p.add(
      `${field}.sourceLabels`,
      'is not supported by waypoint proxies in ambient mode',
      'match on a header instead, or use sidecar mode',
    );
  }
}

/**
 * Envoy compares `:method` case-sensitively, and clients send methods upper-case (RFC 9110 defines
 * them so; HTTP/1 parsers refuse unknown methods), so a lower-case method never matches. A regex is
 * refused when it takes a lower-case standard method and no upper-case one.
 */
function checkMethodCase(method: StringMatch, field: string, p: Problems): void {
  const lower = method.kind === 'regex' ? methodCaseMistake(method.value) : /[a-z]/.test(method.value);
  if (lower) {
    p.add(
      field,
      `${method} is lower-case, and Envoy compares methods case-sensitively with the upper-case methods clients send, so it never matches`,
      method.kind === 'regex'
        ? 'write the methods upper-case, e.g. "GET|HEAD"'
        : `write it as "${method.value.toUpperCase()}"`,
    );
  }
}

function methodCaseMistake(pattern: string): boolean {
  // A case-insensitive pattern takes the upper-case form of every method it takes.
  if (pattern.includes('(?i)')) return false;
  let re: RegExp;
  try {
    // Invalid patterns are reported by the RE2 check.
    re = new RegExp(`^(?:${pattern})$`);
  } catch {
    return false;
  }
  return HTTP_METHODS.some((m) => re.test(m.toLowerCase())) && !HTTP_METHODS.some((m) => re.test(m));
}

/** What the place a route is rendered for adds to it. */
export interface RenderContext {
  /** Match requests to this port only, and send them to it. */
  readonly port?: number;
  /** Send requests to this port, matching on none (a gateway's port is not the service's). */
  readonly destinationPort?: number;
  /** Conditions added to every match, e.g. the path an ingress gateway routes. */
  readonly within?: VirtualServiceSpecHttpMatch;
  /** A rewrite of the path (ingress). */
  readonly rewrite?: { readonly uri: string };
  /** The timeout of routes that set none (ingress). */
  readonly timeout?: Duration;
}

/** Renders the routes of a service's VirtualService, once per port when it has several. */
export function renderRoutes(routes: readonly HttpRoute[], ctx: RouteContext): VirtualServiceSpecHttp[] {
  if (ctx.ports.length === 0) return routes.map((r) => renderRoute(r));
  return ctx.ports.flatMap((port) => routes.map((r) => renderRoute(r, { port })));
}

/** Renders a route as a VirtualService `http` entry. */
export function renderRoute(route: HttpRoute, rc: RenderContext = {}): VirtualServiceSpecHttp {
  const dests = destinations(route);
  const port = rc.port ?? rc.destinationPort;
  const destination = (v: ServiceVersion) =>
    prune({ host: v.host, subset: v.name, port: port === undefined ? undefined : { number: port } });
  const extra = { ...rc.within, ...(rc.port !== undefined && { port: rc.port }) };
  const matches = (route.match?.map(renderMatch) ?? [{}]).map((m) => ({ ...m, ...extra }));
  const timeout = route.timeout ?? rc.timeout;
  return prune({
    name: route.name && (rc.port === undefined ? route.name : `${route.name}-${rc.port}`),
    match: matches.every((m) => Object.keys(m).length === 0) ? undefined : matches,
    rewrite: rc.rewrite,
    route: dests.map((d) =>
      prune({ destination: destination(d.version), weight: isWeighted(route.to) ? d.weight : undefined }),
    ),
    timeout: timeout && istioDuration(timeout),
    retries:
      route.retries &&
      prune({
        attempts: route.retries.attempts,
        perTryTimeout: route.retries.perTryTimeout && istioDuration(route.retries.perTryTimeout),
        retryOn: route.retries.retryOn?.join(','),
      }),
    fault:
      route.fault &&
      prune({
        delay: route.fault.delay && {
          fixedDelay: istioDuration(route.fault.delay.fixedDelay),
          percentage: { value: route.fault.delay.percentage },
        },
        abort: route.fault.abort && {
          httpStatus: route.fault.abort.httpStatus,
          percentage: { value: route.fault.abort.percentage },
        },
      }),
    mirror: route.mirror && destination(route.mirror.to),
    mirrorPercentage: route.mirror && { value: route.mirror.percentage ?? 100 },
  });
}

function renderMatch(m: HttpMatch): VirtualServiceSpecHttpMatch {
  const each = (r: Record<string, StringMatch> | undefined) =>
    r && Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v._toIstio()]));
  return prune({
    headers: each(m.headers),
    uri: m.uri?._toIstio(),
    queryParams: each(m.queryParams),
    method: m.method?._toIstio(),
    sourceLabels: m.sourceLabels,
  });
}
