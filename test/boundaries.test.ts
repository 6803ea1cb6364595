import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Chart, Testing } from 'cdk8s';
import {
  Cpu,
  Duration,
  GatewayApiIngress,
  GlobalRateLimitService,
  type HttpRoute,
  IstioIngress,
  MeshNamespace,
  type MeshNamespaceProps,
  Microservice,
  type MicroserviceProps,
  Probe,
  RateLimitUnit,
  ServicePort,
  Size,
  StringMatch,
  type WeightedVersion,
} from '../constructs/index.js';

// Every numeric rule at its edges: the last value accepted and the first one refused, with the
// exact problem. An off-by-one in a comparison (< for <=, 99 for 100) fails one of each pair.

/** The problems of a synth, or none when it succeeds. */
function problems(chart: Chart): string[] {
  try {
    Testing.synth(chart);
    return [];
  } catch (e) {
    const lines = (e as Error).message.split('\n');
    if (!lines[0].startsWith('Validation failed')) throw e;
    return lines.slice(1).map((l) => l.trim());
  }
}

type Versions = 'v1' | 'v2' | 'v3';

/** A namespace "shop" and one service "reviews" (v1, v2, v3) built with `extra` props. */
function reviews(extra: Partial<MicroserviceProps<Versions>> = {}, nsProps: MeshNamespaceProps = {}) {
  const chart = Testing.chart();
  const ns = new MeshNamespace(chart, 'shop', nsProps);
  const svc = new Microservice(chart, 'reviews', {
    namespace: ns,
    image: 'reviews:1',
    ports: [ServicePort.http(9080)],
    versions: { v1: {}, v2: {}, v3: {} },
    ...extra,
  });
  return { chart, ns, svc };
}

/** reviews with one route to v1 carrying the settings `route` makes for it. */
function routed(route: (svc: Microservice<Versions>) => Omit<HttpRoute, 'to'>): Chart {
  const { chart, svc } = reviews();
  svc.addRoute({ to: svc.version('v1'), ...route(svc) });
  return chart;
}

/** reviews with one route split over v1, v2, v3 by these weights (as many as given). */
function split(...weights: number[]): Chart {
  const { chart, svc } = reviews();
  const versions = (['v1', 'v2', 'v3'] as const).map((v) => svc.version(v));
  svc.addRoute({ to: weights.map((weight, i): WeightedVersion => ({ version: versions[i], weight })) });
  return chart;
}

/** A rule: charts at its accepted edge, and at its refused edge with the problems expected. */
interface Boundary {
  readonly rule: string;
  readonly accepted: Record<string, () => Chart>;
  readonly refused: Record<string, [() => Chart, string[]]>;
}

const R = '[test/reviews]';
const PORT_FIX = 'use a whole number from 1 to 65535';

const BOUNDARIES: Boundary[] = [
  {
    rule: 'Service ports are 1 to 65535',
    accepted: {
      '1 and 65535': () => reviews({ ports: [ServicePort.http(1), ServicePort.http2(65535)] }).chart,
      'a targetPort of 1 and of 65535': () =>
        reviews({
          ports: [ServicePort.http(80, { targetPort: 1 }), ServicePort.grpc(81, { targetPort: 65535 })],
        }).chart,
    },
    refused: {
      '0 and 65536': [
        () => reviews({ ports: [ServicePort.http(0), ServicePort.http2(65536)] }).chart,
        [
          `${R} ports[0].port: 0 is not a valid port; ${PORT_FIX}`,
          `${R} ports[0].targetPort: 0 is not a valid port; ${PORT_FIX}`,
          `${R} ports[1].port: 65536 is not a valid port; ${PORT_FIX}`,
          `${R} ports[1].targetPort: 65536 is not a valid port; ${PORT_FIX}`,
        ],
      ],
      'a targetPort of 0 and of 65536, and a fractional port': [
        () =>
          reviews({
            ports: [
              ServicePort.http(80, { targetPort: 0 }),
              ServicePort.grpc(81, { targetPort: 65536 }),
              ServicePort.tcp(80.5),
            ],
          }).chart,
        [
          `${R} ports[0].targetPort: 0 is not a valid port; ${PORT_FIX}`,
          `${R} ports[1].targetPort: 65536 is not a valid port; ${PORT_FIX}`,
          `${R} ports[2].port: 80.5 is not a valid port; ${PORT_FIX}`,
          `${R} ports[2].targetPort: 80.5 is not a valid port; ${PORT_FIX}`,
        ],
      ],
    },
  },
  {
    rule: 'probe ports are 1 to 65535',
    accepted: {
      '1 and 65535': () =>
        reviews({ probes: { readiness: Probe.tcp(1), liveness: Probe.grpc(65535) } }).chart,
    },
    refused: {
      '0 and 65536': [
        () => reviews({ probes: { readiness: Probe.tcp(0), liveness: Probe.httpGet('/', 65536) } }).chart,
        [
          `${R} probes.readiness.port: 0 is not a valid port; ${PORT_FIX}`,
          `${R} probes.liveness.port: 65536 is not a valid port; ${PORT_FIX}`,
        ],
      ],
    },
  },
  {
    rule: 'port names are at most 15 characters',
    accepted: {
      '15 characters': () => reviews({ ports: [ServicePort.http(80, { name: 'http-0123456789' })] }).chart,
    },
    refused: {
      '16 characters': [
        () => reviews({ ports: [ServicePort.http(80, { name: 'http-0123456789a' })] }).chart,
        [`${R} ports[0].name: "http-0123456789a" is longer than 15 characters; shorten the port name`],
      ],
    },
  },
  {
    rule: 'names are RFC 1123 labels, and <name>-<version> Deployment names at most 63 characters',
    accepted: {
      '60 characters (its Deployments <name>-v1 have 63)': () => reviews({ name: 'r'.repeat(60) }).chart,
    },
    refused: {
      '61 characters (Deployments of 64)': [
        () => reviews({ name: 'r'.repeat(61) }).chart,
        ['v1', 'v2', 'v3'].map(
          (v) =>
            `${R} versions.${v}: the Deployment name "${'r'.repeat(61)}-${v}" is 64 characters long, more than 63; shorten the service name or the version name`,
        ),
      ],
      '64 characters': [
        () => reviews({ name: 'r'.repeat(64) }).chart,
        [
          `${R} name: "${'r'.repeat(64)}" is not a valid RFC 1123 label; use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit`,
          ...['v1', 'v2', 'v3'].map(
            (v) =>
              `${R} versions.${v}: the Deployment name "${'r'.repeat(64)}-${v}" is 67 characters long, more than 63; shorten the service name or the version name`,
          ),
        ],
      ],
    },
  },
  {
    rule: 'service account names are RFC 1123 subdomains of at most 253 characters',
    accepted: {
      '253 characters': () =>
        reviews({ serviceAccountName: `${'a'.repeat(63)}.`.repeat(3) + 'b'.repeat(61) }).chart,
    },
    refused: {
      '254 characters': [
        () => reviews({ serviceAccountName: `${'a'.repeat(63)}.`.repeat(3) + 'b'.repeat(62) }).chart,
        [
          `${R} serviceAccountName: "${`${'a'.repeat(63)}.`.repeat(3) + 'b'.repeat(62)}" is not a valid RFC 1123 subdomain; use lower-case letters, digits, "-" and ".", each part starting and ending with a letter or digit`,
        ],
      ],
      'one upper-case label among good ones': [
        () => reviews({ serviceAccountName: 'reviews.Shop.local' }).chart,
        [
          `${R} serviceAccountName: "reviews.Shop.local" is not a valid RFC 1123 subdomain; use lower-case letters, digits, "-" and ".", each part starting and ending with a letter or digit`,
        ],
      ],
    },
  },
  {
    rule: 'image names are at most 255 characters, tags at most 128',
    accepted: {
      'a 255-character name and a 128-character tag': () =>
        reviews({ image: `${'a'.repeat(255)}:${'t'.repeat(128)}` }).chart,
    },
    refused: {
      'a 256-character name, and a 129-character tag': [
        () =>
          reviews({
            image: 'a'.repeat(256),
            versions: { v1: { image: `reviews:${'t'.repeat(129)}` }, v2: {}, v3: {} },
          }).chart,
        [
          `${R} image: "${'a'.repeat(256)}" is not a container image reference; write it as [registry/]path[:tag][@sha256:digest] with a lower-case path, e.g. "ghcr.io/acme/shop:1.2.0"`,
          `${R} versions.v1.image: "reviews:${'t'.repeat(129)}" is not a container image reference; write it as [registry/]path[:tag][@sha256:digest] with a lower-case path, e.g. "ghcr.io/acme/shop:1.2.0"`,
        ],
      ],
    },
  },
  {
    rule: 'weights add up to exactly 100',
    accepted: {
      '100 over one version': () => split(100),
      '50/50': () => split(50, 50),
      '33/33/34': () => split(33, 33, 34),
      '0/100 (a version kept in the split at 0)': () => split(0, 100),
      '1/99': () => split(1, 99),
    },
    refused: {
      '99': [
        () => split(49, 50),
        [`${R} routes[0].to: weights add up to 99, not 100; make the weights of the route add up to 100`],
      ],
      '101': [
        () => split(51, 50),
        [`${R} routes[0].to: weights add up to 101, not 100; make the weights of the route add up to 100`],
      ],
      '33/33/33': [
        () => split(33, 33, 33),
        [`${R} routes[0].to: weights add up to 99, not 100; make the weights of the route add up to 100`],
      ],
      '100 over one version and 1 more': [
        () => split(100, 1),
        [`${R} routes[0].to: weights add up to 101, not 100; make the weights of the route add up to 100`],
      ],
      '-1 and 50 (the sum is not checked past a bad weight)': [
        () => split(-1, 50),
        [`${R} routes[0].to[0].weight: -1 is not a whole number of 0 or more; use weights from 0 to 100`],
      ],
      'a fraction': [
        () => split(50.5, 40),
        [`${R} routes[0].to[0].weight: 50.5 is not a whole number of 0 or more; use weights from 0 to 100`],
      ],
      'no destinations at all': [
        () => split(),
        [`${R} routes[0].to: has no destinations; route to at least one version`],
      ],
      'one version twice, 50 and 50': [
        () => {
          const { chart, svc } = reviews();
          svc.addRoute({
            to: [
              { version: svc.version('v1'), weight: 50 },
              { version: svc.version('v1'), weight: 50 },
            ],
          });
          return chart;
        },
        [`${R} routes[0].to[1]: version "v1" of reviews appears twice; merge its weights into one entry`],
      ],
      'all 0': [
        () => split(0, 0),
        [
          `${R} routes[0].to: all weights are 0, so the route sends traffic nowhere; give at least one version a weight`,
        ],
      ],
    },
  },
  {
    rule: 'Envoy durations are whole milliseconds of at least 1ms',
    accepted: {
      // The route timeout is 2ms: one try of 1ms must end before it (retriesOutlast).
      '1ms everywhere but the route timeout': () =>
        routed(() => ({
          timeout: Duration.millis(2),
          retries: { attempts: 1, perTryTimeout: Duration.millis(1) },
          fault: { delay: { fixedDelay: Duration.millis(1), percentage: 1 } },
        })),
      'a connect timeout, interval and ejection time of 1ms': () =>
        reviews({
          trafficPolicy: {
            connectionPool: { connectTimeout: Duration.millis(1) },
            outlierDetection: { interval: Duration.millis(1), baseEjectionTime: Duration.millis(1) },
          },
        }).chart,
    },
    refused: {
      '0.999ms and 1.5ms': [
        () =>
          routed(() => ({
            timeout: Duration.millis(0.999),
            retries: { attempts: 1, perTryTimeout: Duration.millis(1.5) },
            fault: { delay: { fixedDelay: Duration.millis(0), percentage: 1 } },
          })),
        [
          `${R} routes[0].timeout: 0.999ms is below Istio's minimum of 1ms; use Duration.millis(1) or more`,
          `${R} routes[0].retries.perTryTimeout: 1.5ms is not a whole number of milliseconds; round it, e.g. Duration.millis(2)`,
          `${R} routes[0].fault.delay.fixedDelay: 0ms is below Istio's minimum of 1ms; use Duration.millis(1) or more`,
        ],
      ],
      'a connect timeout, interval and ejection time under 1ms': [
        () =>
          reviews({
            trafficPolicy: {
              connectionPool: { connectTimeout: Duration.millis(0.5) },
              outlierDetection: {
                interval: Duration.millis(0.999),
                baseEjectionTime: Duration.millis(1000.5),
              },
            },
          }).chart,
        [
          `${R} trafficPolicy.connectionPool.connectTimeout: 0.5ms is below Istio's minimum of 1ms; use Duration.millis(1) or more`,
          `${R} trafficPolicy.outlierDetection.interval: 0.999ms is below Istio's minimum of 1ms; use Duration.millis(1) or more`,
          `${R} trafficPolicy.outlierDetection.baseEjectionTime: 1000.5ms is not a whole number of milliseconds; round it, e.g. Duration.millis(1001)`,
        ],
      ],
    },
  },
  {
    rule: 'probe periods and timeouts are whole seconds of at least 1, delays and grace periods of at least 0',
    accepted: {
      '1s periods and timeouts, 0s delay and grace period': () =>
        reviews({
          probes: {
            readiness: Probe.httpGet('/readyz', 9080, {
              period: Duration.seconds(1),
              timeout: Duration.seconds(1),
              initialDelay: Duration.seconds(0),
            }),
          },
          terminationGracePeriod: Duration.seconds(0),
        }).chart,
    },
    refused: {
      '0s periods and timeouts, 999ms and 1001ms': [
        () =>
          reviews({
            probes: {
              readiness: Probe.httpGet('/readyz', 9080, {
                period: Duration.seconds(0),
                timeout: Duration.millis(999),
                initialDelay: Duration.millis(1001),
              }),
            },
            terminationGracePeriod: Duration.millis(999),
          }).chart,
        [
          `${R} terminationGracePeriod: 999ms is not a whole number of seconds; use Duration.seconds(n)`,
          `${R} probes.readiness.initialDelay: 1001ms is not a whole number of seconds; use Duration.seconds(n)`,
          `${R} probes.readiness.period: 0ms is not a whole number of seconds of at least 1; use Duration.seconds(n) with n ≥ 1`,
          `${R} probes.readiness.timeout: 999ms is not a whole number of seconds of at least 1; use Duration.seconds(n) with n ≥ 1`,
        ],
      ],
      'a fraction of a millisecond': [
        () => reviews({ probes: { liveness: Probe.tcp(9080, { timeout: Duration.millis(1000.5) }) } }).chart,
        [
          `${R} probes.liveness.timeout: 1000.5ms is not a whole number of seconds of at least 1; use Duration.seconds(n) with n ≥ 1`,
        ],
      ],
    },
  },
  {
    rule: 'probe failure thresholds are whole numbers of 1 or more',
    accepted: {
      '1': () => reviews({ probes: { startup: Probe.tcp(9080, { failureThreshold: 1 }) } }).chart,
    },
    refused: {
      '0 and 1.5': [
        () =>
          reviews({
            probes: {
              startup: Probe.tcp(9080, { failureThreshold: 0 }),
              liveness: Probe.tcp(9080, { failureThreshold: 1.5 }),
            },
          }).chart,
        [
          `${R} probes.liveness.failureThreshold: 1.5 must be a whole number of 1 or more; use a whole number of 1 or more`,
          `${R} probes.startup.failureThreshold: 0 must be a whole number of 1 or more; use a whole number of 1 or more`,
        ],
      ],
    },
  },
  {
    rule: 'percentages are 0 to 100',
    accepted: {
      '0 and 100, and a fraction': () =>
        routed((svc) => ({
          fault: {
            delay: { fixedDelay: Duration.seconds(1), percentage: 0 },
            abort: { httpStatus: 503, percentage: 100 },
          },
          mirror: { to: svc.version('v2'), percentage: 0.1 },
        })),
      'sampling at 0 and 100': () => reviews({}, { tracing: { samplingPercentage: 100 } }).chart,
      'ejection and health percentages of 0 and 100': () =>
        reviews({ trafficPolicy: { outlierDetection: { maxEjectionPercent: 100, minHealthPercent: 0 } } })
          .chart,
    },
    refused: {
      '-0.1 and 100.1': [
        () =>
          routed((svc) => ({
            fault: {
              delay: { fixedDelay: Duration.seconds(1), percentage: -0.1 },
              abort: { httpStatus: 503, percentage: 100.1 },
            },
            mirror: { to: svc.version('v2'), percentage: 100.5 },
          })),
        [
          `${R} routes[0].fault.delay.percentage: -0.1 is not a percentage; use a number from 0 to 100`,
          `${R} routes[0].fault.abort.percentage: 100.1 is not a percentage; use a number from 0 to 100`,
          `${R} routes[0].mirror.percentage: 100.5 is not a percentage; use a number from 0 to 100`,
        ],
      ],
      'sampling at 100.1 and ejection percentages of -1 and 101': [
        () =>
          reviews(
            { trafficPolicy: { outlierDetection: { maxEjectionPercent: 101, minHealthPercent: -1 } } },
            { tracing: { samplingPercentage: 100.1 } },
          ).chart,
        [
          '[test/shop] tracing.samplingPercentage: 100.1 is not a percentage; use a number from 0 to 100',
          `${R} trafficPolicy.outlierDetection.maxEjectionPercent: 101 is not a whole percentage; use a whole number from 0 to 100`,
          `${R} trafficPolicy.outlierDetection.minHealthPercent: -1 is not a whole percentage; use a whole number from 0 to 100`,
        ],
      ],
      // int32 fields in destination_rule.proto: the CRD schema refuses 50.5 at apply time.
      'ejection and health percentages of 99.5 and 0.5': [
        () =>
          reviews({
            trafficPolicy: { outlierDetection: { maxEjectionPercent: 99.5, minHealthPercent: 0.5 } },
          }).chart,
        [
          `${R} trafficPolicy.outlierDetection.maxEjectionPercent: 99.5 is not a whole percentage; use a whole number from 0 to 100`,
          `${R} trafficPolicy.outlierDetection.minHealthPercent: 0.5 is not a whole percentage; use a whole number from 0 to 100`,
        ],
      ],
      NaN: [
        () => reviews({}, { tracing: { samplingPercentage: NaN } }).chart,
        ['[test/shop] tracing.samplingPercentage: NaN is not a percentage; use a number from 0 to 100'],
      ],
    },
  },
  {
    rule: 'abort statuses are 200 to 599',
    accepted: {
      '200 and 599': () => {
        const { chart, svc } = reviews();
        svc.addRoute({
          match: [{ headers: { x: StringMatch.exact('1') } }],
          to: svc.version('v2'),
          fault: { abort: { httpStatus: 200, percentage: 1 } },
        });
        svc.addRoute({ to: svc.version('v1'), fault: { abort: { httpStatus: 599, percentage: 1 } } });
        return chart;
      },
    },
    refused: {
      '199 and 600': [
        () => {
          const { chart, svc } = reviews();
          svc.addRoute({
            match: [{ uri: StringMatch.prefix('/a') }],
            to: svc.version('v2'),
            fault: { abort: { httpStatus: 199, percentage: 1 } },
          });
          svc.addRoute({ to: svc.version('v1'), fault: { abort: { httpStatus: 600, percentage: 1 } } });
          return chart;
        },
        [
          `${R} routes[0].fault.abort.httpStatus: 199 is not an HTTP status Envoy can return; use a status from 200 to 599`,
          `${R} routes[1].fault.abort.httpStatus: 600 is not an HTTP status Envoy can return; use a status from 200 to 599`,
        ],
      ],
    },
  },
  {
    rule: 'retry attempts are whole numbers of 0 or more; status codes 100 to 599',
    accepted: {
      'attempts 0 without perTryTimeout, retryOn 100 and 599': () =>
        routed(() => ({ retries: { attempts: 0, retryOn: ['100', '599'] } })),
    },
    refused: {
      'attempts -1 and 1.5, retryOn 99 and 600': [
        () => {
          const { chart, svc } = reviews();
          svc.addRoute({
            match: [{ method: StringMatch.exact('GET') }],
            to: svc.version('v2'),
            retries: { attempts: -1, retryOn: ['99', '600'] },
          });
          svc.addRoute({ to: svc.version('v1'), retries: { attempts: 1.5 } });
          return chart;
        },
        [
          `${R} routes[0].retries.attempts: -1 must be a whole number of 0 or more; use 0 or a positive whole number`,
          `${R} routes[0].retries.retryOn: "99" is not a retry condition; use HTTP status codes or 5xx, gateway-error, reset, reset-before-request, connect-failure, envoy-ratelimited, retriable-4xx, refused-stream, retriable-status-codes, retriable-headers, http3-post-connect-failure, cancelled, deadline-exceeded, internal, resource-exhausted, unavailable`,
          `${R} routes[0].retries.retryOn: "600" is not a retry condition; use HTTP status codes or 5xx, gateway-error, reset, reset-before-request, connect-failure, envoy-ratelimited, retriable-4xx, refused-stream, retriable-status-codes, retriable-headers, http3-post-connect-failure, cancelled, deadline-exceeded, internal, resource-exhausted, unavailable`,
          `${R} routes[1].retries.attempts: 1.5 must be a whole number of 0 or more; use 0 or a positive whole number`,
        ],
      ],
    },
  },
  {
    rule: 'connection pool limits are whole numbers of 1 or more (retries of 0 or more)',
    accepted: {
      '1 each, maxRetries 0': () =>
        reviews({
          trafficPolicy: {
            connectionPool: {
              maxConnections: 1,
              http1MaxPendingRequests: 1,
              http2MaxRequests: 1,
              maxRequestsPerConnection: 1,
              maxRetries: 0,
            },
          },
        }).chart,
    },
    refused: {
      '0 each, maxRetries -1': [
        () =>
          reviews({
            trafficPolicy: {
              connectionPool: {
                maxConnections: 0,
                http1MaxPendingRequests: 0,
                http2MaxRequests: 0,
                maxRequestsPerConnection: 0,
                maxRetries: -1,
              },
            },
          }).chart,
        [
          `${R} trafficPolicy.connectionPool.maxConnections: 0 must be a whole number of 1 or more; use a whole number of 1 or more`,
          `${R} trafficPolicy.connectionPool.http1MaxPendingRequests: 0 must be a whole number of 1 or more; use a whole number of 1 or more`,
          `${R} trafficPolicy.connectionPool.http2MaxRequests: 0 must be a whole number of 1 or more; use a whole number of 1 or more`,
          `${R} trafficPolicy.connectionPool.maxRequestsPerConnection: 0 must be a whole number of 1 or more; use a whole number of 1 or more`,
          `${R} trafficPolicy.connectionPool.maxRetries: -1 must be a whole number of 0 or more; use 0 or a positive whole number`,
        ],
      ],
    },
  },
  {
    rule: 'outlier detection ejects on at least one error count of 1 or more',
    accepted: {
      '5xx 1': () => reviews({ trafficPolicy: { outlierDetection: { consecutive5xxErrors: 1 } } }).chart,
      '5xx 0 with gateway errors 1': () =>
        reviews({
          trafficPolicy: { outlierDetection: { consecutive5xxErrors: 0, consecutiveGatewayErrors: 1 } },
        }).chart,
    },
    refused: {
      '5xx 0 and gateway errors 0': [
        () =>
          reviews({
            trafficPolicy: { outlierDetection: { consecutive5xxErrors: 0, consecutiveGatewayErrors: 0 } },
          }).chart,
        [
          `${R} trafficPolicy.outlierDetection: ejects on no error at all (consecutive5xxErrors is 0); set consecutive5xxErrors or consecutiveGatewayErrors to 1 or more, or remove outlierDetection`,
        ],
      ],
      '5xx -1 and gateway errors -1': [
        () =>
          reviews({
            trafficPolicy: { outlierDetection: { consecutive5xxErrors: -1, consecutiveGatewayErrors: -1 } },
          }).chart,
        [
          `${R} trafficPolicy.outlierDetection.consecutive5xxErrors: -1 must be a whole number of 0 or more; use 0 or a positive whole number`,
          `${R} trafficPolicy.outlierDetection.consecutiveGatewayErrors: -1 must be a whole number of 0 or more; use 0 or a positive whole number`,
        ],
      ],
    },
  },
  {
    rule: 'replicas are whole numbers of 0 or more',
    accepted: {
      '0': () => reviews({ replicas: 0, versions: { v1: { replicas: 0 }, v2: {}, v3: {} } }).chart,
    },
    refused: {
      '-1 and 1.5': [
        () => reviews({ replicas: -1, versions: { v1: { replicas: 1.5 }, v2: {}, v3: {} } }).chart,
        [
          `${R} versions.v1.replicas: 1.5 must be a whole number of 0 or more; use 0 or a positive whole number`,
          `${R} replicas: -1 must be a whole number of 0 or more; use 0 or a positive whole number`,
        ],
      ],
    },
  },
  {
    rule: 'autoscaling: min and max of 1 or more, max at least min, CPU target of 1 or more',
    accepted: {
      'min = max = 1, target 1': () =>
        reviews({ autoscaling: { minReplicas: 1, maxReplicas: 1, cpuUtilization: 1 } }).chart,
    },
    refused: {
      'max one below min': [
        () => reviews({ autoscaling: { minReplicas: 3, maxReplicas: 2 } }).chart,
        [`${R} autoscaling.maxReplicas: 2 is below minReplicas 3; make maxReplicas at least minReplicas`],
      ],
      'min 0, max 0, target 0': [
        () => reviews({ autoscaling: { minReplicas: 0, maxReplicas: 0, cpuUtilization: 0 } }).chart,
        [
          `${R} autoscaling.minReplicas: 0 must be a whole number of 1 or more; use a whole number of 1 or more`,
          `${R} autoscaling.maxReplicas: 0 must be a whole number of 1 or more; use a whole number of 1 or more`,
          `${R} autoscaling.cpuUtilization: 0 is not a whole percentage of 1 or more; use e.g. 80`,
        ],
      ],
      'a fractional target': [
        () => reviews({ autoscaling: { minReplicas: 1, maxReplicas: 2, cpuUtilization: 50.5 } }).chart,
        [`${R} autoscaling.cpuUtilization: 50.5 is not a whole percentage of 1 or more; use e.g. 80`],
      ],
    },
  },
  {
    rule: 'disruption budgets let at least one pod go (2 replicas × 3 versions = 6 pods)',
    accepted: {
      'maxUnavailable 1': () => reviews({ replicas: 2, disruptionBudget: { maxUnavailable: 1 } }).chart,
      'maxUnavailable "1%"': () => reviews({ replicas: 2, disruptionBudget: { maxUnavailable: '1%' } }).chart,
      'minAvailable 5 of 6': () => reviews({ replicas: 2, disruptionBudget: { minAvailable: 5 } }).chart,
      'minAvailable 0': () => reviews({ replicas: 2, disruptionBudget: { minAvailable: 0 } }).chart,
      'minAvailable 2 of 3 with autoscaling from 1': () =>
        reviews({ autoscaling: { minReplicas: 1, maxReplicas: 3 }, disruptionBudget: { minAvailable: 2 } })
          .chart,
      'minAvailable "0%"': () => reviews({ disruptionBudget: { minAvailable: '0%' } }).chart,
    },
    refused: {
      'maxUnavailable 0': [
        () => reviews({ replicas: 2, disruptionBudget: { maxUnavailable: 0 } }).chart,
        [
          `${R} disruptionBudget.maxUnavailable: 0 never allows a pod to be evicted, so node drains block; allow at least 1`,
        ],
      ],
      'maxUnavailable "0%"': [
        () => reviews({ replicas: 2, disruptionBudget: { maxUnavailable: '0%' } }).chart,
        [
          `${R} disruptionBudget.maxUnavailable: "0%" never allows a pod to be evicted, so node drains block; allow at least 1`,
        ],
      ],
      'minAvailable 6 of 6': [
        () => reviews({ replicas: 2, disruptionBudget: { minAvailable: 6 } }).chart,
        [
          `${R} disruptionBudget.minAvailable: 6 never allows a pod to be evicted, so node drains block; keep fewer than all 6 pods available, or add replicas`,
        ],
      ],
      'minAvailable 3 of 3 with autoscaling from 1 (the version with the fewest pods counts)': [
        () =>
          reviews({
            autoscaling: { minReplicas: 1, maxReplicas: 3 },
            disruptionBudget: { minAvailable: 3 },
          }).chart,
        [
          `${R} disruptionBudget.minAvailable: 3 never allows a pod to be evicted, so node drains block; keep fewer than all 3 pods available, or add replicas`,
        ],
      ],
      'minAvailable 3 when one version has 1 replica': [
        () =>
          reviews({
            replicas: 2,
            versions: { v1: {}, v2: { replicas: 1 }, v3: {} },
            disruptionBudget: { minAvailable: 3 },
          }).chart,
        [
          `${R} disruptionBudget.minAvailable: 3 never allows a pod to be evicted, so node drains block; keep fewer than all 3 pods available, or add replicas`,
        ],
      ],
      'minAvailable "100%"': [
        () => reviews({ replicas: 2, disruptionBudget: { minAvailable: '100%' } }).chart,
        [
          `${R} disruptionBudget.minAvailable: "100%" never allows a pod to be evicted, so node drains block; use less than "100%"`,
        ],
      ],
      'minAvailable "101%", maxUnavailable -1': [
        () => {
          const { chart, ns } = reviews({ disruptionBudget: { minAvailable: '101%' } });
          new Microservice(chart, 'b', {
            namespace: ns,
            image: 'b:1',
            versions: { v1: {} },
            disruptionBudget: { maxUnavailable: -1 },
          });
          return chart;
        },
        [
          `${R} disruptionBudget.minAvailable: "101%" is neither a whole number nor a percentage like "25%"; use e.g. 1 or "25%"`,
          '[test/b] disruptionBudget.maxUnavailable: -1 is neither a whole number nor a percentage like "25%"; use e.g. 1 or "25%"',
        ],
      ],
    },
  },
  {
    rule: 'the UID is 1 or more and not 1337',
    accepted: {
      '1': () => reviews({ runAsUser: 1 }).chart,
      '1336': () => reviews({ runAsUser: 1336 }).chart,
      '1338': () => reviews({ runAsUser: 1338 }).chart,
    },
    refused: {
      '0': [
        () => reviews({ runAsUser: 0 }).chart,
        [`${R} runAsUser: 0 is not a non-root UID; use a whole number of 1 or more, e.g. 10001`],
      ],
      '1337': [
        () => reviews({ runAsUser: 1337 }).chart,
        [
          `${R} runAsUser: 1337 is the UID of the Istio proxy, whose traffic bypasses the mesh; use another non-root UID, e.g. 10001`,
        ],
      ],
      '1.5': [
        () => reviews({ runAsUser: 1.5 }).chart,
        [`${R} runAsUser: 1.5 is not a non-root UID; use a whole number of 1 or more, e.g. 10001`],
      ],
    },
  },
  {
    rule: 'CPU in whole millicores, memory in whole bytes, each request at most its limit',
    accepted: {
      '1m, and requests equal to their limits': () =>
        reviews({
          resources: {
            cpu: { request: Cpu.millis(1), limit: Cpu.millis(1) },
            memory: { request: Size.kibibytes(1), limit: Size.kibibytes(1) },
          },
          sidecar: { cpuRequest: Cpu.millis(100), cpuLimit: Cpu.millis(100) },
        }).chart,
      'a request equal to the default limit': () =>
        reviews({
          resources: { cpu: { request: Cpu.millis(500) }, memory: { request: Size.mebibytes(256) } },
        }).chart,
      'the largest amounts below 2^63: 2^63-1024m (written "9223372036854775000m") and 8Ei less 1Mi': () =>
        reviews({
          resources: {
            cpu: { request: Cpu.millis(2 ** 63 - 1024), limit: Cpu.millis(2 ** 63 - 1024) },
            memory: { request: Size.mebibytes(8 * 2 ** 40 - 1), limit: Size.mebibytes(8 * 2 ** 40 - 1) },
          },
        }).chart,
    },
    refused: {
      '2^63m and 8Ei, one step beyond an int64': [
        () =>
          reviews({
            resources: {
              cpu: { request: Cpu.millis(2 ** 63), limit: Cpu.millis(2 ** 63) },
              memory: { request: Size.mebibytes(8 * 2 ** 40), limit: Size.mebibytes(8 * 2 ** 40) },
            },
          }).chart,
        ['request', 'limit']
          .map(
            (f) =>
              `${R} resources.cpu.${f}: "9223372036854776000m" is more millicores than Kubernetes holds (2^63-1, an int64): the API server caps it or the kubelet's arithmetic wraps around; use a realistic amount, e.g. Cpu.units(64)`,
          )
          .concat(
            ['request', 'limit'].map(
              (f) =>
                `${R} resources.memory.${f}: "8796093022208Mi" is more bytes than Kubernetes holds (2^63-1, an int64): the API server caps it or the kubelet's arithmetic wraps around; use a realistic amount, e.g. Size.gibibytes(64)`,
            ),
          ),
      ],
      '0.5m, and requests one unit above their limits': [
        () =>
          reviews({
            resources: {
              cpu: { request: Cpu.millis(2), limit: Cpu.millis(1) },
              memory: { request: Size.kibibytes(2), limit: Size.kibibytes(1) },
            },
            sidecar: { cpuRequest: Cpu.millis(0.5) },
          }).chart,
        [
          `${R} resources.cpu.request: 2m is above the limit 1m; make resources.cpu.limit at least the request`,
          `${R} resources.memory.request: 2Ki is above the limit 1Ki; make resources.memory.limit at least the request`,
          `${R} sidecar.cpuRequest: 0.5m is finer than the 1m (a thousandth of a CPU) Kubernetes accepts; use a whole number of millicores, e.g. Cpu.millis(1)`,
        ],
      ],
      'a request 1m above the default limit': [
        () => reviews({ resources: { cpu: { request: Cpu.millis(501) } } }).chart,
        [
          `${R} resources.cpu.request: 501m is above the default limit 500m; set resources.cpu.limit too, at least as high`,
        ],
      ],
      '1e21m and 1e21Mi, which JavaScript writes with an exponent': [
        () =>
          reviews({
            resources: {
              cpu: { request: Cpu.millis(1e21), limit: Cpu.millis(1e21) },
              memory: { request: Size.mebibytes(1e21), limit: Size.mebibytes(1e21) },
            },
          }).chart,
        [
          `${R} resources.cpu.request: "1e+21m" is too large to write as a Kubernetes quantity; use an amount below 1e21 of its unit, e.g. Cpu.units(64)`,
          `${R} resources.cpu.limit: "1e+21m" is too large to write as a Kubernetes quantity; use an amount below 1e21 of its unit, e.g. Cpu.units(64)`,
          `${R} resources.memory.request: "1e+21Mi" is too large to write as a Kubernetes quantity; use an amount below 1e21 of its unit, e.g. Size.gibibytes(64)`,
          `${R} resources.memory.limit: "1e+21Mi" is too large to write as a Kubernetes quantity; use an amount below 1e21 of its unit, e.g. Size.gibibytes(64)`,
        ],
      ],
      'a CPU limit of 0': [
        () => reviews({ resources: { cpu: { request: Cpu.millis(0), limit: Cpu.millis(0) } } }).chart,
        [
          `${R} resources.cpu.limit: 0m as a limit leaves the container nothing; raise resources.cpu.limit, or leave it out`,
        ],
      ],
    },
  },
  {
    rule: 'local rate limit buckets: 1 token or more, at most maxTokens per fill, every 50ms or slower',
    accepted: {
      'maxTokens 1, tokensPerFill = maxTokens, 50ms': () =>
        reviews({
          localRateLimit: {
            bucket: { maxTokens: 1, tokensPerFill: 1, fillInterval: Duration.millis(50) },
            paths: [
              { prefix: '/a', bucket: { maxTokens: 5, tokensPerFill: 5, fillInterval: Duration.millis(50) } },
            ],
          },
        }).chart,
    },
    refused: {
      'maxTokens 0, tokensPerFill = maxTokens + 1, 49ms': [
        () =>
          reviews({
            localRateLimit: {
              bucket: { maxTokens: 0, tokensPerFill: 0, fillInterval: Duration.millis(49) },
              paths: [
                {
                  prefix: '/a',
                  bucket: { maxTokens: 5, tokensPerFill: 6, fillInterval: Duration.millis(49.5) },
                },
              ],
            },
          }).chart,
        [
          '[test/reviews/local-rate-limit] bucket.maxTokens: 0 must be a whole number of 1 or more; use a whole number of 1 or more',
          '[test/reviews/local-rate-limit] bucket.tokensPerFill: 0 must be a whole number of 1 or more; use a whole number of 1 or more',
          "[test/reviews/local-rate-limit] bucket.fillInterval: 49ms is below Envoy's minimum of 50ms; use Duration.millis(50) or more",
          '[test/reviews/local-rate-limit] paths[0].bucket.fillInterval: 49.5ms is not a whole number of milliseconds; round it, e.g. Duration.millis(50)',
          '[test/reviews/local-rate-limit] paths[0].bucket.tokensPerFill: 6 is more than maxTokens 5, so the excess is lost; make tokensPerFill at most maxTokens',
          "[test/reviews/local-rate-limit] paths[0].bucket.fillInterval: 49.5ms is below Envoy's minimum of 50ms; use Duration.millis(50) or more",
        ],
      ],
    },
  },
  {
    rule: 'the global rate limit service: 1 replica or more, limits of 1 request or more',
    accepted: {
      '1 and 1': () => {
        const chart = Testing.chart();
        const ns = new MeshNamespace(chart, 'shop');
        new GlobalRateLimitService(chart, 'ratelimit', {
          namespace: ns,
          domain: 'shop',
          replicas: 1,
          descriptors: [{ key: 'k', limit: { requestsPerUnit: 1, unit: RateLimitUnit.SECOND } }],
        });
        return chart;
      },
    },
    refused: {
      '0 and 0': [
        () => {
          const chart = Testing.chart();
          const ns = new MeshNamespace(chart, 'shop');
          new GlobalRateLimitService(chart, 'ratelimit', {
            namespace: ns,
            domain: 'shop',
            replicas: 0,
            descriptors: [{ key: 'k', limit: { requestsPerUnit: 0, unit: RateLimitUnit.SECOND } }],
          });
          return chart;
        },
        [
          '[test/ratelimit] replicas: 0 must be a whole number of 1 or more; use a whole number of 1 or more',
          '[test/ratelimit] descriptors[0].limit.requestsPerUnit: 0 must be a whole number of 1 or more; use a whole number of requests, e.g. 100',
        ],
      ],
    },
  },
  {
    rule: 'ingress timeouts of at least 1ms; Gateway API ingress names of at most 57 characters',
    accepted: {
      '1ms and 57 characters': () => {
        const { chart, ns, svc } = reviews();
        new IstioIngress(chart, 'edge', { namespace: ns, hosts: ['a.example.com'] }).addRoute({
          to: svc,
          timeout: Duration.millis(1),
        });
        new GatewayApiIngress(chart, 'api', {
          namespace: ns,
          name: 'g'.repeat(57),
          hosts: ['b.example.com'],
        }).addRoute({ to: svc, timeout: Duration.millis(1) });
        return chart;
      },
    },
    refused: {
      '0.5ms and 58 characters': [
        () => {
          const { chart, ns, svc } = reviews();
          new IstioIngress(chart, 'edge', { namespace: ns, hosts: ['a.example.com'] }).addRoute({
            to: svc,
            timeout: Duration.millis(0.5),
          });
          new GatewayApiIngress(chart, 'api', {
            namespace: ns,
            name: 'g'.repeat(58),
            hosts: ['b.example.com'],
          }).addRoute({ to: svc });
          return chart;
        },
        [
          "[test/edge] routes[0].timeout: 0.5ms is below Istio's minimum of 1ms; use Duration.millis(1) or more",
          `[test/api] name: "${'g'.repeat(58)}" is longer than 57 characters, and Istio names the gateway's Deployment "${'g'.repeat(58)}-istio"; shorten the name`,
        ],
      ],
    },
  },
  {
    rule: 'ingress hosts are at most 253 characters, each label at most 63',
    accepted: {
      '63-character labels, 253 characters in all': () => {
        const { chart, ns, svc } = reviews();
        const host = `${'a'.repeat(63)}.`.repeat(3) + 'b'.repeat(61);
        new IstioIngress(chart, 'edge', { namespace: ns, hosts: [host] }).addRoute({ to: svc });
        return chart;
      },
    },
    refused: {
      'a 64-character label, and 254 characters in all': [
        () => {
          const { chart, ns, svc } = reviews();
          const hosts = [`${'a'.repeat(64)}.example.com`, `${'a'.repeat(63)}.`.repeat(3) + 'b'.repeat(62)];
          new IstioIngress(chart, 'edge', { namespace: ns, hosts }).addRoute({ to: svc });
          return chart;
        },
        [
          `[test/edge] hosts[0]: "${'a'.repeat(64)}.example.com" is not a DNS name or a "*.domain" wildcard; use lower-case letters, digits, "-" and ".", optionally starting with "*."`,
          `[test/edge] hosts[1]: "${`${'a'.repeat(63)}.`.repeat(3) + 'b'.repeat(62)}" is not a DNS name or a "*.domain" wildcard; use lower-case letters, digits, "-" and ".", optionally starting with "*."`,
        ],
      ],
    },
  },
];

describe('numeric rules at their boundaries', () => {
  for (const b of BOUNDARIES) {
    describe(b.rule, () => {
      for (const [name, build] of Object.entries(b.accepted)) {
        it(`accepts ${name}`, () => {
          assert.deepEqual(problems(build()), []);
        });
      }
      for (const [name, [build, expected]] of Object.entries(b.refused)) {
        it(`refuses ${name}`, () => {
          assert.deepEqual(problems(build()), expected);
        });
      }
    });
  }
});
