import { Duration, Size } from 'cdk8s';
// mesh-kit's Cpu is cdk8s-plus-27's, without loading the rest of cdk8s-plus-27.
import { type Autoscaling, Cpu, type FaultInjection, type Resources } from '../constructs/index.js';

/**
 * A fault the mesh injects into one service's routes: the caller's proxy delays or answers the
 * request itself, before it reaches the service (HTTPFaultInjection,
 * https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPFaultInjection;
 * https://istio.io/latest/docs/tasks/traffic-management/fault-injection/).
 */
export interface ChaosFault {
  /** The service whose routes get the fault. */
  readonly service: 'storefront' | 'catalog' | 'reviews' | 'ratings';
  /**
   * The name of the route that gets the fault.
   * @default every route of the service
   */
  readonly route?: string;
  /** The delay, the abort, or both, each with its percentage of requests. */
  readonly fault: FaultInjection;
}

/**
 * Chaos testing: faults injected on chosen routes, to watch the shop cope with slow and failing
 * services before a real outage does it. Never in prod (ShopChart refuses it there).
 */
export interface ShopChaos {
  readonly faults: readonly ChaosFault[];
}

/** Everything that differs between the shop's environments; the chart itself is written once. */
export interface ShopEnvironment {
  readonly name: 'dev' | 'staging' | 'prod';
  /** Namespace of the shop's services. */
  readonly namespace: string;
  /** Where the services' images live: `<registry>/shop-<service>:<tag>`. */
  readonly imageRegistry: string;
  readonly imageTag: string;
  /** Fixed replicas of each version (without autoscaling). */
  readonly replicas?: number;
  /** Autoscaling of each version (instead of fixed replicas). */
  readonly autoscaling?: Autoscaling;
  /** Keep this many pods of each service through voluntary disruptions (node drains). */
  readonly minAvailable?: number;
  readonly resources: Resources;
  /** Share of requests traced, in percent: everything in dev, a sample in prod. */
  readonly tracingSamplingPercentage: number;
  /** External host names of the storefront. */
  readonly ingressHosts: readonly string[];
  /** TLS certificate Secret of the ingress gateway (in istio-system); none serves plain HTTP. */
  readonly tlsCredentialName?: string;
  /** Requests a second each storefront pod accepts (token bucket refilled every second). */
  readonly storefrontRequestsPerSecond: number;
  /** Requests a minute one client address may send to the storefront, across all pods. */
  readonly storefrontRequestsPerMinutePerClient: number;
  /**
   * Faults injected on chosen routes, when the chart's chaos switch is on (its default wherever
   * they are set).
   * @default none: no fault injection
   */
  readonly chaos?: ShopChaos;
}

/**
 * The chaos of dev and staging: ratings fails one request in ten with 503, reviews is slow (2 s)
 * for one in twenty: reviews must still answer without ratings, and the storefront within its 3 s
 * budget for reviews.
 */
const CHAOS: ShopChaos = {
  faults: [
    { service: 'ratings', fault: { abort: { httpStatus: 503, percentage: 10 } } },
    { service: 'reviews', fault: { delay: { fixedDelay: Duration.seconds(2), percentage: 5 } } },
  ],
};

/** Container sizes the sample apps share: small for dev, medium for production traffic. */
export const SMALL: Resources = {
  cpu: { request: Cpu.millis(25), limit: Cpu.millis(250) },
  memory: { request: Size.mebibytes(48), limit: Size.mebibytes(128) },
};
export const MEDIUM: Resources = {
  cpu: { request: Cpu.millis(100), limit: Cpu.millis(500) },
  memory: { request: Size.mebibytes(96), limit: Size.mebibytes(256) },
};

/**
 * The three environments. `imageRegistry` of staging and prod is where CI pushes the images; the
 * Pulumi stacks replace every image reference with the digest they built, so these tags are what
 * plain `npm run synth` (GitOps) deploys.
 */
export const ENVIRONMENTS: Record<ShopEnvironment['name'], ShopEnvironment> = {
  dev: {
    name: 'dev',
    namespace: 'shop',
    // kind's documented local registry (kind.sigs.k8s.io/docs/user/local-registry).
    imageRegistry: 'localhost:5001',
    imageTag: 'dev',
    replicas: 1,
    resources: SMALL,
    tracingSamplingPercentage: 100,
    ingressHosts: ['shop.localhost'],
    storefrontRequestsPerSecond: 50,
    storefrontRequestsPerMinutePerClient: 600,
    chaos: CHAOS,
  },
  staging: {
    name: 'staging',
    namespace: 'shop',
    imageRegistry: 'registry.example.com/shop',
    imageTag: '0.1.0',
    replicas: 2,
    minAvailable: 1,
    resources: SMALL,
    tracingSamplingPercentage: 10,
    ingressHosts: ['shop.staging.example.com'],
    tlsCredentialName: 'shop-staging-tls',
    storefrontRequestsPerSecond: 100,
    storefrontRequestsPerMinutePerClient: 600,
    chaos: CHAOS,
  },
  prod: {
    name: 'prod',
    namespace: 'shop',
    imageRegistry: 'registry.example.com/shop',
    imageTag: '0.1.0',
    autoscaling: { minReplicas: 3, maxReplicas: 12, cpuUtilization: 70 },
    minAvailable: 2,
    resources: MEDIUM,
    tracingSamplingPercentage: 1,
    ingressHosts: ['shop.example.com'],
    tlsCredentialName: 'shop-tls',
    storefrontRequestsPerSecond: 200,
    storefrontRequestsPerMinutePerClient: 300,
  },
};

/** How long callers wait for each hop, shared by the routes and the services' own client timeouts. */
export const TIMEOUTS = {
  reviews: Duration.seconds(3),
  ratings: Duration.seconds(1),
  catalog: Duration.seconds(2),
};
