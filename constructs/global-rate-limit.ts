import { type Duration, Lazy, Size, Yaml } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-27/lib/container.js';
import * as k8s from 'cdk8s-plus-27/lib/imports/k8s.js';
import { Construct } from 'constructs';
import {
  EnvoyFilter,
  EnvoyFilterSpecConfigPatchesApplyTo as ApplyTo,
  EnvoyFilterSpecConfigPatchesMatchContext as Context,
  EnvoyFilterSpecConfigPatchesMatchRouteConfigurationVhostRouteAction as RouteAction,
  EnvoyFilterSpecConfigPatchesPatchOperation as Operation,
  Sidecar,
} from '../imports/networking.istio.io.js';
import { AuthorizationPolicy, AuthorizationPolicySpecAction } from '../imports/security.istio.io.js';
import { MESH_ROOT_NAMESPACE, type MeshNamespace, MtlsMode } from './mesh-namespace.js';
import { Microservice } from './microservice.js';
import { checkInput, constructId } from './input.js';
import { MeshRegistry } from './registry.js';
import { type Problems, validateWith } from './validation.js';
import {
  Probe,
  protobufDuration,
  renderResources,
  renderServicePort,
  type Resources,
  ServicePort,
  validateResources,
} from './values.js';
import { IMAGES } from './versions.js';

/** The time unit of a limit, as the rate limit service's configuration spells it. */
export enum RateLimitUnit {
  SECOND = 'second',
  MINUTE = 'minute',
  HOUR = 'hour',
  DAY = 'day',
}

/** How many requests a descriptor allows per unit of time, across every proxy that asks. */
export interface RateLimitQuota {
  readonly requestsPerUnit: number;
  readonly unit: RateLimitUnit;
}

/**
 * One node of the rate limit service's descriptor tree. A request's descriptor (built by the
 * actions of `GlobalRateLimitService.apply`) is matched entry by entry: its first entry against the
 * top-level descriptors, its second against the descriptors nested under the match, and so on. A
 * descriptor with a `value` matches that value only; one without matches any value of its key
 * (and then counts each distinct value separately).
 */
export interface RateLimitDescriptor {
  /** The descriptor key the actions send, e.g. "PATH" or "remote_address". */
  readonly key: string;
  /**
   * The one value this descriptor matches.
   * @default any value of the key, each counted separately
   */
  readonly value?: string;
  /**
   * The limit of the requests that end their match here.
   * @default none: matching requests are not limited (an exemption), or only group nested descriptors
   */
  readonly limit?: RateLimitQuota;
  /**
   * Descriptors for the next entry of the request's descriptor.
   * @default none
   */
  readonly descriptors?: readonly RateLimitDescriptor[];
}

/**
 * One entry of the descriptor Envoy sends to the rate limit service for each request (Envoy's route
 * `rate_limits` actions). The entries of several actions are nested in their order.
 */
export class RateLimitAction {
  /**
   * The value of a request header (pseudo-headers such as ":path" and ":method" included), as the
   * entry `descriptorKey`. A request without the header gets no descriptor at all, and so is not
   * limited, unless `skipIfAbsent` leaves out just this entry.
   */
  public static requestHeader(
    headerName: string,
    descriptorKey: string,
    options: { readonly skipIfAbsent?: boolean } = {},
  ): RateLimitAction {
    checkInput.rateLimitAction('requestHeader', { headerName, descriptorKey, options });
    return new RateLimitAction(
      'request_headers',
      descriptorKey,
      undefined,
      {
        header_name: headerName,
        descriptor_key: descriptorKey,
        ...(options.skipIfAbsent !== undefined && { skip_if_absent: options.skipIfAbsent }),
      },
      headerName,
    );
  }

  /** A fixed entry, `descriptorKey` (default "generic_key") = `value`: every request counts against it. */
  public static genericKey(value: string, descriptorKey?: string): RateLimitAction {
    checkInput.rateLimitAction('genericKey', { value, descriptorKey });
    return new RateLimitAction('generic_key', descriptorKey ?? 'generic_key', value, {
      descriptor_value: value,
      ...(descriptorKey !== undefined && { descriptor_key: descriptorKey }),
    });
  }

  /** The client's address (the trusted x-forwarded-for address, else the peer's), as the entry "remote_address". */
  public static remoteAddress(): RateLimitAction {
    return new RateLimitAction('remote_address', 'remote_address', undefined, {});
  }

  private constructor(
    private readonly kind: 'request_headers' | 'generic_key' | 'remote_address',
    /** The key of the entry this action adds. */
    public readonly descriptorKey: string,
    /** The entry's value when it is fixed (generic_key); undefined when it comes from the request. */
    public readonly descriptorValue: string | undefined,
    private readonly config: Record<string, unknown>,
    private readonly headerName?: string,
  ) {}

  /** @internal */
  public _toEnvoy(): Record<string, unknown> {
    return { [this.kind]: this.config };
  }

  /** @internal */
  public _describe(): string {
    return this.descriptorValue === undefined
      ? `descriptor key "${this.descriptorKey}"`
      : `descriptor entry "${this.descriptorKey}" = "${this.descriptorValue}"`;
  }

  /** @internal */
  public _validate(p: Problems, field: string): void {
    if (this.kind === 'request_headers') {
      if (!this.headerName) p.add(`${field}.headerName`, 'is empty', 'name the request header, e.g. ":path"');
      else if (!HEADER_NAME.test(this.headerName)) {
        // Envoy's RateLimit.Action.RequestHeaders.header_name is a well-known HTTP_HEADER_NAME with
        // `strict: false` (envoyproxy/envoy api/envoy/config/route/v3/route_components.proto): CR, LF
        // or NUL reject the whole route configuration. Any other non-token name (a space, a colon
        // inside, "::path") is accepted but carried by no request; Envoy then appends no descriptor
        // and skips the rate limit service, so nothing is limited. Upper case is fine: Envoy looks
        // the name up lower-cased.
        p.add(
          `${field}.headerName`,
          /[\r\n\0]/.test(this.headerName)
            ? `${JSON.stringify(this.headerName)} has a CR, LF or NUL, and Envoy rejects the route configuration`
            : `${JSON.stringify(this.headerName)} is not an HTTP header name, so no request carries it and nothing is limited`,
          'use letters, digits and "-", or a pseudo-header such as ":path"',
        );
      }
      if (!this.descriptorKey) {
        p.add(`${field}.descriptorKey`, 'is empty', 'give the descriptor key it fills, e.g. "PATH"');
      }
    }
    if (this.kind === 'generic_key') {
      if (!this.descriptorValue) {
        p.add(`${field}.value`, 'is empty', 'give the fixed value of the entry, e.g. "all"');
      }
      if (!this.descriptorKey) {
        p.add(`${field}.descriptorKey`, 'is empty', 'leave it out to use "generic_key"');
      }
    }
  }
}

export interface GlobalRateLimitServiceProps {
  /** The mesh namespace the rate limit service and its Redis run in. */
  readonly namespace: MeshNamespace;
  /** The rate limit domain: the name under which the descriptors are configured and asked for. */
  readonly domain: string;
  /** The descriptor tree with its limits (the service's `config.yaml`). */
  readonly descriptors: readonly RateLimitDescriptor[];
  /**
   * The name of the rate limit Service, Deployment and ServiceAccount (and the `app` label).
   * @default "ratelimit"
   */
  readonly name?: string;
  /**
   * The name of the Redis Service that holds the counters.
   * @default "redis"
   */
  readonly redisName?: string;
  /**
   * Replicas of the rate limit service; they share their counters in Redis.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * `LOG_LEVEL` of the rate limit service.
   * @default "info"
   */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /**
   * Resources of the rate limit container.
   * @default requests 50m CPU and 64Mi memory, limits 500m and 128Mi
   */
  readonly resources?: Resources;
  /**
   * Resources of the Redis container.
   * @default requests 50m CPU and 64Mi memory, limits 250m and 128Mi
   */
  readonly redisResources?: Resources;
  /** @default IMAGES.envoyRatelimit */
  readonly image?: string;
  /** @default IMAGES.redis */
  readonly redisImage?: string;
}

export interface GlobalRateLimitOptions {
  /**
   * The actions that build each request's descriptor, one entry per action in this order: the
   * first entry must match a top-level descriptor of the service's config, the second one nested
   * under it, and so on.
   */
  readonly actions: readonly RateLimitAction[];
  /**
   * Refuse requests (500) when the rate limit service cannot be reached, rather than let them through.
   * @default false
   */
  readonly failureModeDeny?: boolean;
  /**
   * How long the proxy waits for the rate limit service's answer.
   * @default Envoy's 20ms
   */
  readonly timeout?: Duration;
}

export interface GlobalRateLimitProps extends GlobalRateLimitOptions {
  /** The rate limit service that keeps the counters. */
  readonly service: GlobalRateLimitService;
  /** The service whose inbound requests are limited (its sidecars ask the rate limit service). */
  readonly target: Microservice<string>;
}

/** An RFC 9110 token, or a pseudo-header such as ":path" (Envoy's HTTP_HEADER_NAME for a request's headers). */
const HEADER_NAME = /^:?[0-9A-Za-z!#$%&'*+.^_`|~-]+$/;

/** The rate limit service's ports, as Envoy's reference implementation serves them. */
export const RATELIMIT_PORTS = { http: 8080, grpc: 8081, debug: 6070 } as const;
const REDIS_PORT = 6379;
/** The constructs' own version label: a constant, because a Deployment's selector never changes. */
const VERSION = 'v1';
/** Not root, not the proxy's 1337. */
const RATELIMIT_UID = 10001;
/** The `redis` user of the official image. */
const REDIS_UID = 999;
/** The ratelimit container's resource defaults: the general ones, with a 128Mi memory limit. */
const RATELIMIT_RESOURCE_DEFAULTS = { memory: { limit: Size.mebibytes(128) } };
const CONFIG_DIR = '/data/ratelimit/config';

const HCM = 'envoy.filters.network.http_connection_manager';
const ROUTER = 'envoy.filters.http.router';
const FILTER = 'envoy.filters.http.ratelimit';
const RATELIMIT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit';

/**
 * Envoy's global rate limit service (envoyproxy/ratelimit) with the Redis that holds its counters,
 * as Istio's "Enabling Rate Limits using Envoy" task deploys it, hardened to the restricted Pod
 * Security Standard, with its descriptor config rendered from typed props. `apply` makes a
 * service's sidecars ask it about every inbound request.
 */
export class GlobalRateLimitService extends Construct {
  public readonly name: string;
  public readonly namespace: MeshNamespace;
  /** The fully qualified host of the rate limit Service. */
  public readonly host: string;
  public readonly domain: string;
  public readonly descriptors: readonly RateLimitDescriptor[];
  public readonly serviceAccountName: string;
  /** The Redis that holds the counters, a Microservice of its own. */
  public readonly redis: Microservice<'v1'>;

  private readonly callers = new Set<string>();
  private readonly props: GlobalRateLimitServiceProps;
  private applied = 0;

  constructor(scope: Construct, id: string, props: GlobalRateLimitServiceProps) {
    super(scope, constructId('GlobalRateLimitService', scope, id));
    checkInput.rateLimitService(this, props);
    this.props = props;
    this.name = props.name ?? 'ratelimit';
    this.namespace = props.namespace;
    this.host = this.namespace.fqdn(this.name);
    this.domain = props.domain;
    this.descriptors = props.descriptors;
    this.serviceAccountName = this.name;
    const redisName = props.redisName ?? 'redis';
    const registry = MeshRegistry.of(this);
    registry.registerService(this.host, this);

    validateWith(this, (p) => this.validate(p, registry, redisName));

    const ns = this.namespace.name;
    const labels = { app: this.name };
    const podLabels = { app: this.name, version: VERSION };
    const configName = `${this.name}-config`;

    this.redis = new Microservice(this, 'redis', {
      namespace: this.namespace,
      name: redisName,
      image: props.redisImage ?? IMAGES.redis,
      versions: { v1: {} },
      ports: [ServicePort.tcp(REDIS_PORT, { name: 'tcp-redis' })],
      runAsUser: REDIS_UID,
      // Redis writes its snapshots to its working directory.
      writablePaths: ['/data'],
      probes: { readiness: Probe.tcp(REDIS_PORT) },
      resources: props.redisResources ?? {
        cpu: { request: Cpu.millis(50), limit: Cpu.millis(250) },
        memory: { request: Size.mebibytes(64), limit: Size.mebibytes(128) },
      },
    });
    this.redis.allowFrom({ principal: this.namespace.principal(this.serviceAccountName) });

    new k8s.KubeServiceAccount(this, 'service-account', {
      metadata: { name: this.serviceAccountName, namespace: ns, labels },
      automountServiceAccountToken: false,
    });

    new k8s.KubeConfigMap(this, 'config', {
      metadata: { name: configName, namespace: ns, labels },
      data: { 'config.yaml': renderConfig(this.domain, this.descriptors) },
    });

    new k8s.KubeService(this, 'service', {
      metadata: { name: this.name, namespace: ns, labels: { ...labels, service: this.name } },
      spec: {
        selector: labels,
        ports: [
          renderServicePort(ServicePort.http(RATELIMIT_PORTS.http)),
          renderServicePort(ServicePort.grpc(RATELIMIT_PORTS.grpc)),
          renderServicePort(ServicePort.http(RATELIMIT_PORTS.debug, { name: 'http-debug' })),
        ],
      },
    });

    const env: Record<string, string> = {
      USE_STATSD: 'false',
      LOG_LEVEL: props.logLevel ?? 'info',
      REDIS_SOCKET_TYPE: 'tcp',
      REDIS_URL: `${redisName}:${REDIS_PORT}`,
      RUNTIME_ROOT: '/data',
      RUNTIME_SUBDIRECTORY: 'ratelimit',
      RUNTIME_WATCH_ROOT: 'false',
      RUNTIME_IGNOREDOTFILES: 'true',
      // Listen on every address, IPv6 included, as Istio's sample does: the sidecar forwards inbound
      // traffic to the pod IP, which is IPv6 on IPv6-only and some dual-stack clusters.
      HOST: '::',
      GRPC_HOST: '::',
    };
    const securityContext = {
      runAsNonRoot: true,
      runAsUser: RATELIMIT_UID,
      runAsGroup: RATELIMIT_UID,
      seccompProfile: { type: 'RuntimeDefault' },
    };

    new k8s.KubeDeployment(this, 'deployment', {
      metadata: { name: this.name, namespace: ns, labels: podLabels },
      spec: {
        replicas: props.replicas ?? 1,
        selector: { matchLabels: podLabels },
        template: {
          metadata: {
            labels: podLabels,
            // The service connects to Redis as it starts: through the sidecar, once it is ready.
            annotations: this.namespace.isAmbient
              ? undefined
              : { 'proxy.istio.io/config': JSON.stringify({ holdApplicationUntilProxyStarts: true }) },
          },
          spec: {
            serviceAccountName: this.serviceAccountName,
            automountServiceAccountToken: false,
            securityContext: { ...securityContext, fsGroup: RATELIMIT_UID },
            containers: [
              {
                name: 'ratelimit',
                image: props.image ?? IMAGES.envoyRatelimit,
                imagePullPolicy: 'IfNotPresent',
                // The image has no entrypoint of its own.
                command: ['/bin/ratelimit'],
                env: Object.entries(env).map(([name, value]) => ({ name, value })),
                ports: [
                  { name: 'http', containerPort: RATELIMIT_PORTS.http },
                  { name: 'grpc', containerPort: RATELIMIT_PORTS.grpc },
                  { name: 'http-debug', containerPort: RATELIMIT_PORTS.debug },
                ],
                readinessProbe: {
                  httpGet: { path: '/healthcheck', port: k8s.IntOrString.fromNumber(RATELIMIT_PORTS.http) },
                },
                resources: renderResources(props.resources, RATELIMIT_RESOURCE_DEFAULTS),
                securityContext: {
                  ...securityContext,
                  allowPrivilegeEscalation: false,
                  privileged: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ['ALL'] },
                },
                volumeMounts: [
                  { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'config', configMap: { name: configName } },
              { name: 'tmp', emptyDir: {} },
            ],
          },
        },
      },
    });

    // The namespace denies by default: only the sidecars of the services it limits may ask, on gRPC.
    new AuthorizationPolicy(this, 'allow-callers', {
      metadata: { name: `${this.name}-allow-callers`, namespace: ns, labels },
      spec: {
        selector: { matchLabels: labels },
        action: AuthorizationPolicySpecAction.ALLOW,
        rules: Lazy.any({ produce: () => this.renderAllowRules() }),
      },
    });

    if (!this.namespace.isAmbient) {
      new Sidecar(this, 'sidecar', {
        metadata: { name: this.name, namespace: ns, labels },
        spec: {
          workloadSelector: { labels },
          egress: [
            {
              hosts: [`./${this.namespace.fqdn(redisName)}`, ...this.namespace.egressHosts, 'istio-system/*'],
            },
          ],
          outboundTrafficPolicy: this.namespace._sidecarOutboundTrafficPolicy(),
        },
      });
    }

    for (const child of this.node.children) {
      if (child !== this.redis) child.node.addDependency(this.namespace);
    }
  }

  /** The SPIFFE principal of the rate limit service. */
  public get principal(): string {
    return this.namespace.principal(this.serviceAccountName);
  }

  /**
   * Limits `target`'s inbound HTTP requests through this service: its sidecars build a descriptor
   * from each request with `options.actions` and ask this service whether it is over the limit.
   */
  public apply(target: Microservice<string>, options: GlobalRateLimitOptions): GlobalRateLimit {
    checkInput.apply(this, this.applied++, target, options);
    let id = 'global-rate-limit';
    for (let i = 2; target.node.tryFindChild(id); i++) id = `global-rate-limit-${i}`;
    return new GlobalRateLimit(target, id, { ...options, service: this, target });
  }

  /** @internal Allows the target's identity to call this service. */
  public _allowCaller(target: Microservice<string>): void {
    this.callers.add(target.namespace.principal(target.serviceAccountName));
  }

  private renderAllowRules() {
    if (this.callers.size === 0) return undefined;
    return [
      {
        from: [{ source: { principals: [...this.callers].sort() } }],
        to: [{ operation: { ports: [String(RATELIMIT_PORTS.grpc)] } }],
      },
    ];
  }

  private validate(p: Problems, registry: MeshRegistry, redisName: string): void {
    const props = this.props;
    p.dnsLabel('name', this.name);
    p.dnsLabel('redisName', redisName);
    p.positiveInt('replicas', props.replicas);
    // Redis is a Microservice, which checks redisImage as its image.
    if (props.image !== undefined) p.imageReference('image', props.image);
    if (!this.domain) p.add('domain', 'is empty', 'name the rate limit domain, e.g. "shop-ratelimit"');
    if (this.descriptors.length === 0) {
      p.add('descriptors', 'is empty, so nothing is limited', 'add at least one descriptor with a limit');
    }
    validateDescriptors(this.descriptors, 'descriptors', p);
    // Redis is a Microservice, which checks redisResources itself.
    validateResources(props.resources, 'resources', p, RATELIMIT_RESOURCE_DEFAULTS);
    registry.checkUniqueService(this.host, this, p);
    if (this.namespace.name === MESH_ROOT_NAMESPACE) {
      // In the root namespace a policy's selector picks workloads in every namespace.
      p.add(
        'namespace',
        `"${MESH_ROOT_NAMESPACE}" is Istio's mesh root namespace, where the AuthorizationPolicy of the rate limit service would select every workload labelled app=${this.name} in every namespace`,
        'run the rate limit service in a namespace of its own',
      );
    }
    if (this.namespace.mtls === MtlsMode.DISABLE) {
      p.add(
        'namespace',
        `"${this.namespace.name}" has mTLS disabled, so the rate limit service and Redis cannot verify their callers and their ALLOW policies deny them`,
        'use MtlsMode.STRICT or PERMISSIVE',
      );
    }
  }
}

/**
 * Global rate limiting of one service's inbound requests, as Istio's task configures it: an
 * EnvoyFilter inserting `envoy.filters.http.ratelimit` before the router of the sidecar's inbound
 * HTTP chain, calling the rate limit service over Istio's own outbound cluster (so with mTLS and
 * the service's identity), and an EnvoyFilter adding the `rate_limits` actions to the inbound
 * virtual host. Also lets the service's identity call the rate limit service, and its Sidecar
 * reach it. Usually created by `GlobalRateLimitService.apply`.
 */
export class GlobalRateLimit extends Construct {
  public readonly service: GlobalRateLimitService;
  public readonly target: Microservice<string>;

  constructor(scope: Construct, id: string, props: GlobalRateLimitProps) {
    super(scope, constructId('GlobalRateLimit', scope, id));
    checkInput.globalRateLimit(this, props);
    const { service, target } = props;
    this.service = service;
    this.target = target;
    const claims = CLAIMS.get(target) ?? [];
    claims.push(this);
    CLAIMS.set(target, claims);
    service._allowCaller(target);

    validateWith(this, (p) => this.validate(p, props, claims));

    const ns = target.namespace.name;
    const labels = { app: target.name };
    const host = service.host;
    const cluster = `outbound|${RATELIMIT_PORTS.grpc}||${host}`;

    new EnvoyFilter(this, 'filter', {
      metadata: { name: `${target.name}-global-ratelimit`, namespace: ns, labels },
      spec: {
        workloadSelector: { labels: target.selectorLabels },
        configPatches: [
          {
            applyTo: ApplyTo.HTTP_UNDERSCORE_FILTER,
            match: {
              context: Context.SIDECAR_UNDERSCORE_INBOUND,
              listener: { filterChain: { filter: { name: HCM, subFilter: { name: ROUTER } } } },
            },
            patch: {
              operation: Operation.INSERT_UNDERSCORE_BEFORE,
              value: {
                name: FILTER,
                typed_config: {
                  '@type': RATELIMIT_TYPE,
                  domain: service.domain,
                  failure_mode_deny: props.failureModeDeny ?? false,
                  ...(props.timeout && { timeout: protobufDuration(props.timeout) }),
                  rate_limit_service: {
                    grpc_service: { envoy_grpc: { cluster_name: cluster, authority: host } },
                    transport_api_version: 'V3',
                  },
                },
              },
            },
          },
        ],
      },
    }).node.addDependency(target.namespace);

    // Istio names the inbound virtual host after the Service port (not the container port).
    const port = target.httpPort?.port ?? 0;
    new EnvoyFilter(this, 'actions', {
      metadata: { name: `${target.name}-global-ratelimit-actions`, namespace: ns, labels },
      spec: {
        workloadSelector: { labels: target.selectorLabels },
        configPatches: [
          {
            applyTo: ApplyTo.VIRTUAL_UNDERSCORE_HOST,
            match: {
              context: Context.SIDECAR_UNDERSCORE_INBOUND,
              routeConfiguration: {
                vhost: { name: `inbound|http|${port}`, route: { action: RouteAction.ANY } },
              },
            },
            patch: {
              operation: Operation.MERGE,
              value: { rate_limits: [{ actions: props.actions.map((a) => a._toEnvoy()) }] },
            },
          },
        ],
      },
    }).node.addDependency(target.namespace);

    // The target's Sidecar scopes its proxy's clusters to what it calls: without the rate limit
    // service there, the outbound cluster the filter names would not exist.
    target.addEgressHost(service.namespace.name, host);
  }

  private validate(p: Problems, props: GlobalRateLimitProps, claims: readonly GlobalRateLimit[]): void {
    const { service, target } = props;
    if (claims[0] !== this) {
      p.add(
        'target',
        `${target.name} is already rate limited by ${claims[0].node.path}`,
        'give one GlobalRateLimit all the actions of the service',
      );
    }
    if (target.namespace.isAmbient) {
      p.add(
        'target',
        `namespace "${target.namespace.name}" is ambient, so ${target.name} has no sidecar for the EnvoyFilters to patch`,
        'use DataPlane.sidecar() for the namespace',
      );
    }
    if (!target.httpPort) p.add('target', `${target.name} has no HTTP port`, 'rate limit an HTTP service');
    if (target.namespace.name === MESH_ROOT_NAMESPACE) {
      // An EnvoyFilter's workloadSelector in the root namespace picks workloads in every namespace.
      p.add(
        'target',
        `${target.name} runs in "${MESH_ROOT_NAMESPACE}", Istio's mesh root namespace, where these EnvoyFilters would select every workload labelled app=${target.name} in every namespace`,
        'rate limit services in namespaces of their own',
      );
    }
    if ((target.localRateLimit?.paths ?? []).length > 0) {
      // Envoy's ratelimit filter ignores virtual-host actions once a route has rate_limits of its
      // own (vh_rate_limits OVERRIDE), and per-path local limits put theirs on every inbound route.
      p.add(
        'target',
        `${target.name} has per-path local rate limits, whose route-level actions make Envoy skip these virtual-host actions`,
        'drop localRateLimit.paths, or express the path limits as descriptors of the global rate limit',
      );
    }
    p.duration('timeout', props.timeout);
    if (props.actions.length === 0) {
      p.add(
        'actions',
        'is empty, so requests get no descriptor and nothing is limited',
        'add at least one action, e.g. RateLimitAction.requestHeader(":path", "PATH")',
      );
    }
    props.actions.forEach((a, i) => a._validate(p, `actions[${i}]`));
    validateActionsAgainstConfig(props.actions, service, p);
  }
}

/** Which GlobalRateLimits limit a service, to refuse a second one (its filter would run twice). */
const CLAIMS = new WeakMap<Microservice<string>, GlobalRateLimit[]>();

/**
 * Follows the request's descriptor down the service's descriptor tree, as the rate limit service
 * does: an entry that matches no descriptor at its level means the request is never limited.
 */
function validateActionsAgainstConfig(
  actions: readonly RateLimitAction[],
  service: GlobalRateLimitService,
  p: Problems,
): void {
  let level: readonly RateLimitDescriptor[] = service.descriptors;
  const path: string[] = [];
  for (const [i, action] of actions.entries()) {
    if (!action.descriptorKey) return;
    const matches = level.filter(
      (d) =>
        d.key === action.descriptorKey &&
        (d.value === undefined || action.descriptorValue === undefined || d.value === action.descriptorValue),
    );
    if (matches.length === 0) {
      const keys = [...new Set(level.map((d) => d.key))].map((k) => `"${k}"`);
      const where =
        path.length === 0
          ? 'no top-level descriptor'
          : `no descriptor nested under ${path.map((k) => `"${k}"`).join(' > ')}`;
      p.add(
        `actions[${i}]`,
        `${action._describe()} matches ${where} of domain "${service.domain}" (${service.node.path}), so requests are never limited`,
        keys.length > 0
          ? `use one of ${keys.join(', ')}, or add the descriptor to the service`
          : `add a descriptor with key "${action.descriptorKey}" there`,
      );
      return;
    }
    path.push(action.descriptorKey);
    level = matches.flatMap((d) => d.descriptors ?? []);
  }
}

function validateDescriptors(descriptors: readonly RateLimitDescriptor[], field: string, p: Problems): void {
  const seen = new Map<string, number>();
  descriptors.forEach((d, i) => {
    const f = `${field}[${i}]`;
    if (!d.key) p.add(`${f}.key`, 'is empty', 'give the descriptor key the actions send, e.g. "PATH"');
    // A value is compared with what an action took from the request (a header, the path), which
    // never holds a control character: such a descriptor would never apply its limit.
    if (d.value !== undefined) p.requestText(`${f}.value`, d.value);
    const id = JSON.stringify([d.key, d.value ?? null]);
    const first = seen.get(id);
    if (first !== undefined) {
      const what =
        d.value === undefined ? `key "${d.key}" without value` : `key "${d.key}" with value "${d.value}"`;
      p.add(
        f,
        `${what} repeats ${field}[${first}]`,
        'merge the two: the rate limit service refuses duplicate descriptors at one level',
      );
    } else {
      seen.set(id, i);
    }
    if (d.limit) {
      p.positiveInt(
        `${f}.limit.requestsPerUnit`,
        d.limit.requestsPerUnit,
        'use a whole number of requests, e.g. 100',
      );
      // The service reads its config into `RequestsPerUnit uint32` (envoyproxy/ratelimit
      // src/config/config_impl.go) and refuses to load a larger number.
      p.uint32(`${f}.limit.requestsPerUnit`, d.limit.requestsPerUnit, 'the rate limit service');
      if (!UNITS.includes(d.limit.unit)) {
        p.add(
          `${f}.limit.unit`,
          `"${String(d.limit.unit)}" is not a rate limit unit`,
          'use RateLimitUnit.SECOND, MINUTE, HOUR or DAY',
        );
      }
    }
    if (d.descriptors) validateDescriptors(d.descriptors, `${f}.descriptors`, p);
  });
}

const UNITS: readonly string[] = Object.values(RateLimitUnit);

/** The rate limit service's `config.yaml`, in its snake_case schema. */
function renderConfig(domain: string, descriptors: readonly RateLimitDescriptor[]): string {
  const render = (ds: readonly RateLimitDescriptor[]): unknown[] =>
    ds.map((d) => ({
      key: d.key,
      ...(d.value !== undefined && { value: d.value }),
      ...(d.limit && { rate_limit: { unit: d.limit.unit, requests_per_unit: d.limit.requestsPerUnit } }),
      ...(d.descriptors && d.descriptors.length > 0 && { descriptors: render(d.descriptors) }),
    }));
  return Yaml.stringify({ domain, descriptors: render(descriptors) });
}
