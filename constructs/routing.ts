import type { Duration } from 'cdk8s';
import type { VirtualServiceSpecHttp, VirtualServiceSpecHttpMatch } from '../imports/networking.istio.io.js';
import { istioDuration, prune, type StringMatch } from './values.js';
import type { Problems } from './validation.js';

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
    }
    if (abort) {
      p.httpStatus(`${field}.fault.abort.httpStatus`, abort.httpStatus);
      p.percent(`${field}.fault.abort.percentage`, abort.percentage);
    }
  }
  if (route.mirror) {
    checkVersion(route.mirror.to, ctx, `${field}.mirror.to`, p);
    p.percent(`${field}.mirror.percentage`, route.mirror.percentage);
  }
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
    p.add(
      field,
      `version "${v.name}" belongs to service "${v.serviceName}", not "${ctx.serviceName}"`,
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

const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;

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
    } else if (!HEADER_NAME.test(name)) {
      p.add(
        `${field}.headers`,
        `"${name}" is not a lower-case header name`,
        `write it as "${name.toLowerCase()}"`,
      );
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
  if (m.uri && m.uri.kind !== 'regex' && !m.uri.value.startsWith('/')) {
    p.add(
      `${field}.uri`,
      `${m.uri} does not start with "/"`,
      'write request paths from the root, e.g. "/api"',
    );
  }
  if (m.sourceLabels && ctx.ambient) {
    p.add(
      `${field}.sourceLabels`,
      'is not supported by waypoint proxies in ambient mode',
      'match on a header instead, or use sidecar mode',
    );
  }
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
