import { Chart, type ChartProps, Duration } from 'cdk8s';
import type { Construct } from 'constructs';
import {
  DataPlane,
  type FaultInjection,
  GlobalRateLimitService,
  type HttpRoute,
  IstioIngress,
  LoadBalancer,
  MeshNamespace,
  Microservice,
  type MicroserviceProps,
  Probe,
  RateLimitAction,
  RateLimitUnit,
  ServicePort,
  StringMatch,
  validateWith,
} from '../constructs/index.js';
import { ENVIRONMENTS, type ShopEnvironment, TIMEOUTS } from './environments.js';

/** The shop's services, each built from services/<name>/Dockerfile into image `shop-<name>`. */
export const SHOP_SERVICES = ['storefront', 'catalog', 'reviews', 'ratings'] as const;
export type ShopService = (typeof SHOP_SERVICES)[number];

/** The port every shop service listens on (services/lib reads PORT, default 8080). */
const PORT = 8080;

/**
 * The JWT issuer of the admin pages: Istio's documented demo issuer, whose tokens
 * (security/tools/jwt/samples) anyone can use to try the policy. Replace it for real users.
 */
export const SHOP_JWT = {
  issuer: 'testing@secure.istio.io',
  jwksUri: 'https://raw.githubusercontent.com/istio/istio/release-1.30/security/tools/jwt/samples/jwks.json',
};

export interface ShopChartProps extends ChartProps {
  /** Which environment's configuration to synthesize. */
  readonly environment: ShopEnvironment['name'] | ShopEnvironment;
  /**
   * Image references per service, replacing `<registry>/shop-<service>:<tag>` (the Pulumi stacks
   * pass the images they built, by digest).
   * @default the environment's registry and tag
   */
  readonly images?: Partial<Record<ShopService, string>>;
  /**
   * The data plane of the namespace.
   * @default DataPlane.sidecar()
   */
  readonly dataPlane?: DataPlane;
  /**
   * The chaos switch: inject the environment's `chaos` faults on their routes. Refused in prod.
   * @default on where the environment defines chaos faults (dev and staging), off elsewhere
   */
  readonly chaos?: boolean;
}

/**
 * The bookshop: storefront → catalog, storefront → reviews (v1, v2, v3) → ratings, behind an Istio
 * ingress gateway, with every policy of the constructs where it belongs.
 */
export class ShopChart extends Chart {
  public readonly env: ShopEnvironment;
  public readonly meshNamespace: MeshNamespace;
  public readonly storefront: Microservice<'v1'>;
  public readonly catalog: Microservice<'v1'>;
  public readonly reviews: Microservice<'v1' | 'v2' | 'v3'>;
  public readonly ratings: Microservice<'v1'>;

  constructor(scope: Construct, id: string, props: ShopChartProps) {
    super(scope, id, props);
    const env = typeof props.environment === 'string' ? ENVIRONMENTS[props.environment] : props.environment;
    if (!env) {
      throw new Error(
        `ShopChart ${id}: unknown environment "${String(props.environment)}"; use one of ${Object.keys(ENVIRONMENTS).join(', ')}`,
      );
    }
    this.env = env;
    const image = (service: ShopService) =>
      props.images?.[service] ?? `${env.imageRegistry}/shop-${service}:${env.imageTag}`;
    const url = (service: string) => `http://${service}.${env.namespace}.svc.cluster.local:${PORT}`;
    const timeoutMs = (d: Duration) => String(d.toMilliseconds());

    // Chaos: each route of a service gets the environment's fault for it, when the switch is on.
    const chaosOn = props.chaos ?? env.chaos !== undefined;
    const faults = chaosOn ? (env.chaos?.faults ?? []) : [];
    const routeNames = new Map<ShopService, (string | undefined)[]>();
    const withChaos = (service: ShopService, route: HttpRoute): HttpRoute => {
      routeNames.set(service, [...(routeNames.get(service) ?? []), route.name]);
      const fault: FaultInjection | undefined = faults.find(
        (f) => f.service === service && (f.route === undefined || f.route === route.name),
      )?.fault;
      return fault ? { ...route, fault } : route;
    };
    validateWith(this, (p) => {
      // Fault injection answers real users' requests with errors and delays: never in prod.
      if (chaosOn && env.name === 'prod') {
        p.add(
          'chaos',
          `injects faults in prod (${faults.length} on ${[...new Set(faults.map((f) => f.service))].join(', ') || 'no route'})`,
          'turn chaos off for prod (chaos: false, and no chaos in the prod environment); inject faults in dev or staging',
        );
      } else if (chaosOn && faults.length === 0) {
        p.add(
          'chaos',
          `is on, but environment ${env.name} defines no chaos faults`,
          'give the environment chaos.faults, or leave chaos out',
        );
      }
      // Only the first fault that covers a route applies to it.
      const shadowed = new Map<number, number>();
      for (const [service, names] of routeNames) {
        for (const name of names) {
          const covering = faults.flatMap((f, i) =>
            f.service === service && (f.route === undefined || f.route === name) ? [i] : [],
          );
          for (const j of covering.slice(1)) if (!shadowed.has(j)) shadowed.set(j, covering[0]);
        }
      }
      faults.forEach((f, i) => {
        const first = shadowed.get(i);
        if (first !== undefined) {
          p.add(
            `environment.chaos.faults[${i}]`,
            `injects a second fault on a route of ${f.service} that faults[${first}] already covers, and only the first applies`,
            'merge them into one fault (a delay and an abort together), or give each its own route',
          );
        }
        const names = (routeNames.get(f.service) ?? []).filter((n): n is string => n !== undefined);
        if (f.route !== undefined && !names.includes(f.route)) {
          p.add(
            `environment.chaos.faults[${i}].route`,
            `"${f.route}" is not a route of ${f.service}${names.length ? ` (its named routes: ${names.join(', ')})` : ', whose routes have no names'}`,
            'name one of its routes, or leave route out to inject the fault on every route of the service',
          );
        }
      });
    });

    this.meshNamespace = new MeshNamespace(this, 'namespace', {
      name: env.namespace,
      dataPlane: props.dataPlane ?? DataPlane.sidecar(),
      tracing: { samplingPercentage: env.tracingSamplingPercentage },
      accessLogging: {},
      labels: { environment: env.name },
    });

    const common = (
      service: ShopService,
      extra: Record<string, string> = {},
    ): Omit<MicroserviceProps<'v1'>, 'versions'> => ({
      namespace: this.meshNamespace,
      image: image(service),
      ports: [ServicePort.http(PORT)],
      // DRAIN_DELAY_MS: after SIGTERM the service keeps serving while Kubernetes removes the pod
      // from the endpoints (readiness turns 503 at once), then drains within SHUTDOWN_TIMEOUT_MS.
      env: {
        SERVICE_NAME: service,
        PORT: String(PORT),
        DRAIN_DELAY_MS: '5000',
        SHUTDOWN_TIMEOUT_MS: '20000',
        ...extra,
      },
      resources: env.resources,
      replicas: env.autoscaling ? undefined : env.replicas,
      autoscaling: env.autoscaling,
      disruptionBudget: env.minAvailable === undefined ? undefined : { minAvailable: env.minAvailable },
      probes: {
        readiness: Probe.httpGet('/readyz', PORT, { period: Duration.seconds(5) }),
        liveness: Probe.httpGet('/healthz', PORT, { period: Duration.seconds(10), failureThreshold: 3 }),
      },
      // 5 s of drain delay plus up to 20 s of draining fit in the grace period.
      terminationGracePeriod: Duration.seconds(30),
    });

    this.ratings = new Microservice(this, 'ratings', {
      ...common('ratings'),
      versions: { v1: { env: { SERVICE_VERSION: 'v1' } } },
      // Circuit breaker: few connections and pending requests, and a pod that fails three times
      // in a row is ejected for 30 s (Istio's circuit-breaking task, with production numbers).
      trafficPolicy: {
        connectionPool: {
          maxConnections: 100,
          http1MaxPendingRequests: 10,
          maxRequestsPerConnection: 10,
          maxRetries: 3,
        },
        outlierDetection: {
          consecutive5xxErrors: 3,
          interval: Duration.seconds(5),
          baseEjectionTime: Duration.seconds(30),
          maxEjectionPercent: 50,
        },
      },
    });

    this.catalog = new Microservice(this, 'catalog', {
      ...common('catalog'),
      versions: { v1: { env: { SERVICE_VERSION: 'v1' } } },
      trafficPolicy: { loadBalancer: LoadBalancer.leastRequest() },
    });

    this.reviews = new Microservice(this, 'reviews', {
      ...common('reviews', { RATINGS_URL: url('ratings'), UPSTREAM_TIMEOUT_MS: timeoutMs(TIMEOUTS.ratings) }),
      versions: {
        v1: { env: { SERVICE_VERSION: 'v1', REVIEWS_VERSION: 'v1' } },
        v2: { env: { SERVICE_VERSION: 'v2', REVIEWS_VERSION: 'v2' } },
        v3: { env: { SERVICE_VERSION: 'v3', REVIEWS_VERSION: 'v3' } },
      },
    });

    this.storefront = new Microservice(this, 'storefront', {
      ...common('storefront', {
        CATALOG_URL: url('catalog'),
        REVIEWS_URL: url('reviews'),
        UPSTREAM_TIMEOUT_MS: timeoutMs(TIMEOUTS.reviews),
      }),
      versions: { v1: { env: { SERVICE_VERSION: 'v1' } } },
      localRateLimit: {
        bucket: { maxTokens: env.storefrontRequestsPerSecond, fillInterval: Duration.seconds(1) },
      },
    });

    // The call graph, from which authorization (callee side) and Sidecar egress (caller side) follow.
    this.storefront.calls(this.catalog, { methods: ['GET'], paths: ['/books', '/books/*'] });
    this.storefront.calls(this.reviews, { methods: ['GET'], paths: ['/reviews/*'] });
    this.reviews.calls(this.ratings, { methods: ['GET'], paths: ['/ratings/*'] });

    // Routing: testers (end-user: jason) see v2; everyone else is on a canary, 80 % v1 and 20 % v3.
    const reviews = this.reviews;
    reviews
      .addRoute(
        withChaos('reviews', {
          name: 'testers',
          match: [{ headers: { 'end-user': StringMatch.exact('jason') } }],
          to: reviews.version('v2'),
          timeout: TIMEOUTS.reviews,
        }),
      )
      .addRoute(
        withChaos('reviews', {
          name: 'canary',
          to: [
            { version: reviews.version('v1'), weight: 80 },
            { version: reviews.version('v3'), weight: 20 },
          ],
          timeout: TIMEOUTS.reviews,
          retries: {
            attempts: 2,
            perTryTimeout: Duration.seconds(1),
            retryOn: ['5xx', 'connect-failure', 'reset'],
          },
          // Shadow 5 % of the canary's traffic to v2, to compare it under real load; answers are discarded.
          mirror: { to: reviews.version('v2'), percentage: 5 },
        }),
      );
    this.ratings.addRoute(
      withChaos('ratings', {
        to: this.ratings.version('v1'),
        timeout: TIMEOUTS.ratings,
        retries: { attempts: 1, perTryTimeout: Duration.millis(500), retryOn: ['connect-failure', 'reset'] },
      }),
    );
    this.catalog.addRoute(
      withChaos('catalog', { to: this.catalog.version('v1'), timeout: TIMEOUTS.catalog }),
    );
    this.storefront.addRoute(withChaos('storefront', { to: this.storefront.version('v1') }));

    // End users reach the storefront through the ingress gateway; /admin needs a valid JWT.
    new IstioIngress(this, 'ingress', {
      namespace: this.meshNamespace,
      name: 'shop',
      hosts: env.ingressHosts,
      tls: env.tlsCredentialName ? { credentialName: env.tlsCredentialName } : undefined,
    }).addRoute({ to: this.storefront, timeout: Duration.seconds(10) });
    this.storefront.requireJwt({ ...SHOP_JWT, paths: ['/admin', '/admin/*'] });

    // Across all storefront pods: a budget of requests per client address per minute.
    const limits = new GlobalRateLimitService(this, 'ratelimit', {
      namespace: this.meshNamespace,
      domain: 'shop',
      descriptors: [
        {
          key: 'remote_address',
          limit: { requestsPerUnit: env.storefrontRequestsPerMinutePerClient, unit: RateLimitUnit.MINUTE },
        },
      ],
    });
    limits.apply(this.storefront, {
      actions: [RateLimitAction.remoteAddress()],
      timeout: Duration.millis(100),
    });
  }
}
