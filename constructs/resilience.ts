import type { Duration } from 'cdk8s';
import {
  DestinationRuleSpecTrafficPolicyLoadBalancerSimple as Simple,
  DestinationRuleSpecTrafficPolicyTlsMode as TlsMode,
  type DestinationRuleSpecTrafficPolicy,
} from '../imports/networking.istio.io.js';
import { checkInput } from './input.js';
import { istioDuration, prune } from './values.js';
import type { Problems } from './validation.js';

/** Connection limits: what a client's proxy lets pile up before it fails fast with 503 (circuit breaking). */
export interface ConnectionPool {
  /**
   * Maximum TCP connections to all hosts of the service.
   * @default Envoy's 2^32-1
   */
  readonly maxConnections?: number;
  /**
   * TCP connect timeout.
   * @default 10s
   */
  readonly connectTimeout?: Duration;
  /**
   * Maximum requests queued while waiting for a ready connection.
   * @default 1024
   */
  readonly http1MaxPendingRequests?: number;
  /**
   * Maximum active requests to the service.
   * @default 1024
   */
  readonly http2MaxRequests?: number;
  /**
   * Maximum requests per connection; 1 turns keep-alive off.
   * @default unlimited
   */
  readonly maxRequestsPerConnection?: number;
  /**
   * Maximum outstanding retries to all hosts of the service.
   * @default unlimited
   */
  readonly maxRetries?: number;
}

/** Outlier detection: ejecting failing hosts from the load-balancing pool for a while. */
export interface OutlierDetection {
  /**
   * 5xx responses (and connection failures) in a row that eject a host.
   * @default 5
   */
  readonly consecutive5xxErrors?: number;
  /**
   * 502, 503 and 504 responses in a row that eject a host.
   * @default off
   */
  readonly consecutiveGatewayErrors?: number;
  /**
   * Time between ejection sweeps.
   * @default 10s
   */
  readonly interval?: Duration;
  /**
   * Minimum ejection time; it grows with each ejection of the same host.
   * @default 30s
   */
  readonly baseEjectionTime?: Duration;
  /**
   * Maximum share of hosts that may be ejected at once.
   * @default 10
   */
  readonly maxEjectionPercent?: number;
  /**
   * Outlier detection turns off when fewer hosts than this percentage are healthy.
   * @default 0
   */
  readonly minHealthPercent?: number;
}

/** How a client's proxy picks a host of the service. */
export class LoadBalancer {
  public static roundRobin(): LoadBalancer {
    return new LoadBalancer({ simple: Simple.ROUND_UNDERSCORE_ROBIN });
  }
  public static leastRequest(): LoadBalancer {
    return new LoadBalancer({ simple: Simple.LEAST_UNDERSCORE_REQUEST });
  }
  public static random(): LoadBalancer {
    return new LoadBalancer({ simple: Simple.RANDOM });
  }
  /** Session affinity on a request header (e.g. a user id). */
  public static consistentHashByHeader(header: string): LoadBalancer {
    checkInput.loadBalancer('consistentHashByHeader', { header });
    return new LoadBalancer({ consistentHash: { httpHeaderName: header } });
  }
  /** Session affinity on a cookie, which Envoy creates with the given TTL when absent. */
  public static consistentHashByCookie(name: string, ttl: Duration): LoadBalancer {
    checkInput.loadBalancer('consistentHashByCookie', { name, ttl });
    return new LoadBalancer({ consistentHash: { httpCookie: { name, ttl: istioDuration(ttl) } } }, ttl);
  }
  /** Session affinity on the client's IP address. */
  public static consistentHashBySourceIp(): LoadBalancer {
    return new LoadBalancer({ consistentHash: { useSourceIp: true } });
  }
  private constructor(
    /** @internal */ public readonly _spec: NonNullable<DestinationRuleSpecTrafficPolicy['loadBalancer']>,
    /** @internal The cookie's TTL, for validation. */ public readonly _cookieTtl?: Duration,
  ) {}
}

export interface TrafficPolicy {
  /**
   * Connection limits.
   * @default Istio's defaults (effectively unlimited)
   */
  readonly connectionPool?: ConnectionPool;
  /**
   * Circuit breaking by ejecting failing hosts.
   * @default none
   */
  readonly outlierDetection?: OutlierDetection;
  /**
   * Load balancing.
   * @default LoadBalancer.leastRequest() (Istio's default)
   */
  readonly loadBalancer?: LoadBalancer;
}

/** An RFC 9110 token: what a header name and (RFC 6265) a cookie name are made of. */
const TOKEN = /^[0-9A-Za-z!#$%&'*+.^_`|~-]+$/;
/** Envoy's HTTP_HEADER_NAME (validate.proto's well-known rule): a token, or a pseudo-header such as ":authority". */
const HEADER_NAME = /^:?[0-9A-Za-z!#$%&'*+.^_`|~-]+$/;

export function validateTrafficPolicy(tp: TrafficPolicy, field: string, p: Problems): void {
  const hash = tp.loadBalancer?._spec.consistentHash;
  // An empty cookie name is refused by istiod ("name required for HttpCookie", validateLoadBalancer
  // in pkg/config/validation/validation.go); an empty or non-token header name by Envoy, whose
  // RouteAction.HashPolicy.Header.header_name is a well-known HTTP_HEADER_NAME (route_components.proto),
  // so the proxy rejects the whole route configuration. A cookie name outside RFC 6265's token
  // (";", "=", spaces) can never come back in a Cookie header, so affinity would silently not hold.
  const header = hash?.httpHeaderName;
  if (header !== undefined && !HEADER_NAME.test(header)) {
    p.add(
      `${field}.loadBalancer.header`,
      `${JSON.stringify(header)} is not an HTTP header name (Envoy rejects the route configuration)`,
      'use letters, digits and "-", e.g. "x-user-id"',
    );
  }
  const cookie = hash?.httpCookie?.name;
  if (cookie !== undefined && !TOKEN.test(cookie)) {
    p.add(
      `${field}.loadBalancer.cookie`,
      cookie === ''
        ? 'is empty, and istiod refuses a cookie without a name'
        : `${JSON.stringify(cookie)} is not a cookie name, so browsers never send it back and requests lose their affinity`,
      'use letters, digits and "-" or "_", e.g. "session"',
    );
  }
  const ttl = tp.loadBalancer?._cookieTtl;
  p.duration(`${field}.loadBalancer.ttl`, ttl);
  const ttlMs = ttl?.toMilliseconds({ integral: false });
  if (ttlMs !== undefined && Number.isInteger(ttlMs) && ttlMs >= 1 && ttlMs % 1000 !== 0) {
    // Envoy keeps the whole seconds of a cookie's TTL (`std::chrono::seconds(cookie.ttl().seconds())`
    // in source/common/http/hash_policy.cc): 1500ms becomes 1s, and under 1s a session cookie.
    p.add(
      `${field}.loadBalancer.ttl`,
      `${ttlMs}ms is not a whole number of seconds, and Envoy keeps only the whole seconds of a cookie's TTL`,
      'use Duration.seconds(n) with n ≥ 1',
    );
  }
  const cp = tp.connectionPool;
  if (cp) {
    const f = `${field}.connectionPool`;
    p.positiveInt(`${f}.maxConnections`, cp.maxConnections);
    p.duration(`${f}.connectTimeout`, cp.connectTimeout);
    p.positiveInt(`${f}.http1MaxPendingRequests`, cp.http1MaxPendingRequests);
    p.positiveInt(`${f}.http2MaxRequests`, cp.http2MaxRequests);
    p.positiveInt(`${f}.maxRequestsPerConnection`, cp.maxRequestsPerConnection);
    p.nonNegativeInt(`${f}.maxRetries`, cp.maxRetries);
    // ConnectionPoolSettings' counters are int32 (networking/v1alpha3/destination_rule.proto); the
    // CRD schema refuses larger numbers at apply time.
    for (const key of [
      'maxConnections',
      'http1MaxPendingRequests',
      'http2MaxRequests',
      'maxRequestsPerConnection',
      'maxRetries',
    ] as const)
      p.int32(`${f}.${key}`, cp[key], "Istio's connection pool");
  }
  const od = tp.outlierDetection;
  if (od) {
    const f = `${field}.outlierDetection`;
    p.nonNegativeInt(`${f}.consecutive5xxErrors`, od.consecutive5xxErrors);
    p.nonNegativeInt(`${f}.consecutiveGatewayErrors`, od.consecutiveGatewayErrors);
    // OutlierDetection's error counts are google.protobuf.UInt32Value (destination_rule.proto).
    p.uint32(`${f}.consecutive5xxErrors`, od.consecutive5xxErrors, "Istio's outlier detection");
    p.uint32(`${f}.consecutiveGatewayErrors`, od.consecutiveGatewayErrors, "Istio's outlier detection");
    p.duration(`${f}.interval`, od.interval);
    p.duration(`${f}.baseEjectionTime`, od.baseEjectionTime);
    p.wholePercent(`${f}.maxEjectionPercent`, od.maxEjectionPercent);
    p.wholePercent(`${f}.minHealthPercent`, od.minHealthPercent);
    if (od.consecutive5xxErrors === 0 && (od.consecutiveGatewayErrors ?? 0) === 0) {
      p.add(
        f,
        'ejects on no error at all (consecutive5xxErrors is 0)',
        'set consecutive5xxErrors or consecutiveGatewayErrors to 1 or more, or remove outlierDetection',
      );
    }
  }
}

/** Renders the DestinationRule trafficPolicy, with the TLS mode the namespace's mTLS calls for. */
export function renderTrafficPolicy(
  tp: TrafficPolicy,
  tlsMode: 'ISTIO_MUTUAL' | 'DISABLE' | undefined,
): DestinationRuleSpecTrafficPolicy | undefined {
  const cp = tp.connectionPool;
  const od = tp.outlierDetection;
  const d = (x: Duration | undefined) => x && istioDuration(x);
  const tcp = cp && prune({ maxConnections: cp.maxConnections, connectTimeout: d(cp.connectTimeout) });
  const http =
    cp &&
    prune({
      http1MaxPendingRequests: cp.http1MaxPendingRequests,
      http2MaxRequests: cp.http2MaxRequests,
      maxRequestsPerConnection: cp.maxRequestsPerConnection,
      maxRetries: cp.maxRetries,
    });
  const policy = prune({
    connectionPool: cp && prune({ tcp: nonEmpty(tcp), http: nonEmpty(http) }),
    outlierDetection:
      od &&
      prune({
        consecutive5XxErrors: od.consecutive5xxErrors,
        consecutiveGatewayErrors: od.consecutiveGatewayErrors,
        interval: d(od.interval),
        baseEjectionTime: d(od.baseEjectionTime),
        maxEjectionPercent: od.maxEjectionPercent,
        minHealthPercent: od.minHealthPercent,
      }),
    loadBalancer: tp.loadBalancer?._spec,
    tls: tlsMode && { mode: tlsMode === 'ISTIO_MUTUAL' ? TlsMode.ISTIO_UNDERSCORE_MUTUAL : TlsMode.DISABLE },
  }) as DestinationRuleSpecTrafficPolicy;
  return Object.keys(policy).length === 0 ? undefined : policy;
}

function nonEmpty<T extends object>(o: T | undefined): T | undefined {
  return o && Object.keys(o).length > 0 ? o : undefined;
}
