import type { Duration } from 'cdk8s';
import { Construct } from 'constructs';
import { EnvoyFilter } from '../imports/networking.istio.io.js';
import type { Microservice } from './microservice.js';
import { checkInput, constructId } from './input.js';
import { MESH_ROOT_NAMESPACE } from './mesh-namespace.js';
import { protobufDuration } from './values.js';
import { type Problems, validateWith } from './validation.js';

/** Envoy's token bucket: `maxTokens` burst, refilled with `tokensPerFill` every `fillInterval`. */
export interface TokenBucket {
  readonly maxTokens: number;
  /**
   * Tokens added at each fill.
   * @default maxTokens
   */
  readonly tokensPerFill?: number;
  readonly fillInterval: Duration;
}

/** A bucket of its own for requests whose path starts with `prefix`. */
export interface PathRateLimit {
  readonly prefix: string;
  readonly bucket: TokenBucket;
}

export interface LocalRateLimitOptions {
  /** The bucket of the whole workload: every request of every path takes a token from it. */
  readonly bucket: TokenBucket;
  /**
   * Stricter buckets for some paths, each taken on top of the workload's bucket.
   * @default none
   */
  readonly paths?: readonly PathRateLimit[];
}

export interface LocalRateLimitProps extends LocalRateLimitOptions {
  readonly service: Microservice<string>;
}

/** The response header Istio's docs add to requests refused by the local rate limit. */
export const RATE_LIMITED_HEADER = 'x-local-rate-limit';

const TYPED_STRUCT = 'type.googleapis.com/udpa.type.v1.TypedStruct';
const LOCAL_RATELIMIT_TYPE =
  'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const FILTER = 'envoy.filters.http.local_ratelimit';
/** The id of the LocalRateLimit that Microservice's `localRateLimit` prop creates in the service. */
export const LOCAL_RATE_LIMIT_ID = 'local-rate-limit';
/** The rate limit stage of per-path local limits (Envoy allows 0 to 10; global limits use 0). */
const LOCAL_STAGE = 1;

/**
 * Local (per-pod) rate limiting, as Istio's "Enabling Rate Limits using Envoy" task does it: an
 * EnvoyFilter that inserts `envoy.filters.http.local_ratelimit` into the service's inbound HTTP
 * chain. Refused requests get 429 and the `x-local-rate-limit: true` header.
 */
export class LocalRateLimit extends Construct {
  constructor(scope: Construct, id: string, props: LocalRateLimitProps) {
    super(scope, constructId('LocalRateLimit', scope, id));
    checkInput.localRateLimit(this, props);
    const svc = props.service;
    validateWith(this, (p) => {
      validateBucket(props.bucket, 'bucket', p);
      const seen = new Map<string, number>();
      (props.paths ?? []).forEach((path, i) => {
        if (!path.prefix.startsWith('/')) {
          p.add(
            `paths[${i}].prefix`,
            `"${path.prefix}" does not start with "/"`,
            'write the path prefix from the root, e.g. "/api"',
          );
        }
        p.requestPath(`paths[${i}].prefix`, path.prefix);
        // Each prefix is a descriptor entry, and Envoy refuses two descriptors with the same
        // entries ("duplicate descriptor in the local rate descriptor", LocalRateLimiterImpl in
        // source/extensions/filters/common/local_ratelimit/local_ratelimit_impl.cc), which rejects
        // the whole inbound route configuration.
        const first = seen.get(path.prefix);
        if (first === undefined) {
          seen.set(path.prefix, i);
        } else {
          p.add(
            `paths[${i}].prefix`,
            `"${path.prefix}" repeats paths[${first}], and Envoy refuses duplicate local rate limit descriptors, rejecting the inbound routes of ${svc.name}`,
            'give each prefix one bucket',
          );
        }
        validateBucket(path.bucket, `paths[${i}].bucket`, p);
      });
      if (!svc.httpPort) p.add('service', `${svc.name} has no HTTP port`, 'rate limit an HTTP service');
      // As for Microservice's localRateLimit: the limit is an EnvoyFilter on the workload's sidecar,
      // which an ambient pod does not have (and Istio does not support EnvoyFilter on waypoints),
      // so it would silently limit nothing; in the mesh root namespace its workloadSelector would
      // select app=<name> in every namespace (EnvoyFilter's `workloadSelector`,
      // https://istio.io/latest/docs/reference/config/networking/envoy-filter/).
      // Microservice's localRateLimit creates this construct inside the service, which reports both.
      const ownedByService = svc.node.tryFindChild(LOCAL_RATE_LIMIT_ID) === this;
      if (ownedByService) return;
      if (svc.namespace.isAmbient) {
        p.add(
          'service',
          `namespace "${svc.namespace.name}" of ${svc.name} is ambient, and Istio does not support the EnvoyFilter that local rate limiting needs on waypoint proxies, so nothing would be limited`,
          'rate-limit at the ingress gateway, or use DataPlane.sidecar() for the namespace',
        );
      } else if (svc.namespace.name === MESH_ROOT_NAMESPACE) {
        p.add(
          'service',
          `${svc.name} is in "${MESH_ROOT_NAMESPACE}", Istio's mesh root namespace, where the rate limit's EnvoyFilter would select every workload labelled app=${svc.name} in every namespace`,
          'run the service in a namespace of its own',
        );
      }
    });

    // Istio names the inbound virtual host after the Service port, not the container port.
    const port = svc.httpPort?.port ?? 0;
    const paths = props.paths ?? [];
    const config = (withDescriptors: boolean) => ({
      stat_prefix: 'http_local_rate_limiter',
      token_bucket: renderBucket(props.bucket),
      filter_enabled: {
        runtime_key: 'local_rate_limit_enabled',
        default_value: { numerator: 100, denominator: 'HUNDRED' },
      },
      filter_enforced: {
        runtime_key: 'local_rate_limit_enforced',
        default_value: { numerator: 100, denominator: 'HUNDRED' },
      },
      response_headers_to_add: [
        { append_action: 'OVERWRITE_IF_EXISTS_OR_ADD', header: { key: RATE_LIMITED_HEADER, value: 'true' } },
      ],
      ...(withDescriptors && {
        stage: LOCAL_STAGE,
        descriptors: paths.map((path) => ({
          entries: [{ key: 'path-prefix', value: path.prefix }],
          token_bucket: renderBucket(path.bucket),
        })),
      }),
    });

    const configPatches: Record<string, unknown>[] = [
      {
        applyTo: 'HTTP_FILTER',
        match: {
          context: 'SIDECAR_INBOUND',
          listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager' } } },
        },
        patch: {
          operation: 'INSERT_BEFORE',
          value: {
            name: FILTER,
            typed_config: { '@type': TYPED_STRUCT, type_url: LOCAL_RATELIMIT_TYPE, value: config(false) },
          },
        },
      },
    ];
    if (paths.length > 0) {
      // Per-path buckets are descriptors: the inbound route turns a path prefix into a descriptor
      // entry, and the route's filter config gives each entry its bucket.
      configPatches.push({
        applyTo: 'HTTP_ROUTE',
        match: {
          context: 'SIDECAR_INBOUND',
          routeConfiguration: { vhost: { name: `inbound|http|${port}`, route: { action: 'ANY' } } },
        },
        patch: {
          operation: 'MERGE',
          value: {
            // rate_limits belongs to the route's action (envoy RouteAction), as in Istio's
            // samples/ratelimit/local-rate-limit-service.yaml; on the Route itself it is dropped.
            // Stage LOCAL_STAGE keeps these actions out of a global rate limit filter (stage 0).
            route: {
              rate_limits: paths.map((path) => ({
                stage: LOCAL_STAGE,
                actions: [
                  {
                    header_value_match: {
                      descriptor_key: 'path-prefix',
                      descriptor_value: path.prefix,
                      headers: [{ name: ':path', string_match: { prefix: path.prefix } }],
                    },
                  },
                ],
              })),
            },
            typed_per_filter_config: {
              [FILTER]: { '@type': TYPED_STRUCT, type_url: LOCAL_RATELIMIT_TYPE, value: config(true) },
            },
          },
        },
      });
    }

    new EnvoyFilter(this, 'envoy-filter', {
      metadata: {
        name: `${svc.name}-local-ratelimit`,
        namespace: svc.namespace.name,
        labels: { app: svc.name },
      },
      spec: { workloadSelector: { labels: svc.selectorLabels }, configPatches: configPatches as never },
    }).node.addDependency(svc.namespace);
  }
}

export function validateBucket(b: TokenBucket, field: string, p: Problems): void {
  p.positiveInt(`${field}.maxTokens`, b.maxTokens);
  p.positiveInt(`${field}.tokensPerFill`, b.tokensPerFill);
  // envoy.type.v3.TokenBucket: max_tokens and tokens_per_fill are uint32 (api/envoy/type/v3/token_bucket.proto).
  p.uint32(`${field}.maxTokens`, b.maxTokens, "Envoy's token bucket");
  p.uint32(`${field}.tokensPerFill`, b.tokensPerFill, "Envoy's token bucket");
  p.duration(`${field}.fillInterval`, b.fillInterval);
  if (b.tokensPerFill !== undefined && b.tokensPerFill > b.maxTokens) {
    p.add(
      `${field}.tokensPerFill`,
      `${b.tokensPerFill} is more than maxTokens ${b.maxTokens}, so the excess is lost`,
      'make tokensPerFill at most maxTokens',
    );
  }
  // Envoy's local rate limit refuses fill intervals under 50ms.
  if (b.fillInterval.toMilliseconds({ integral: false }) < 50) {
    p.add(
      `${field}.fillInterval`,
      `${b.fillInterval.toMilliseconds({ integral: false })}ms is below Envoy's minimum of 50ms`,
      'use Duration.millis(50) or more',
    );
  }
}

function renderBucket(b: TokenBucket) {
  return {
    max_tokens: b.maxTokens,
    tokens_per_fill: b.tokensPerFill ?? b.maxTokens,
    fill_interval: protobufDuration(b.fillInterval),
  };
}
