/**
 * Istio from its own Helm charts, as Istio's Helm install guides order them
 * (istio.io/latest/docs/setup/install/helm, .../ambient/install/helm):
 *
 *   sidecar: base → istiod → gateway
 *   ambient: base → istiod (profile=ambient) → cni (profile=ambient) → ztunnel → gateway
 *
 * Each release waits for its resources to be ready before the next starts (dependsOn). The Gateway
 * API CRDs (which istiod watches, and ambient waypoints need) go in before istiod.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { PLATFORM } from '../constructs/versions.js';
import { GATEWAY_NODE_PORTS } from './cluster.js';

export const ISTIO_NAMESPACE = 'istio-system';
/** The gateway release; the gateway chart names its pods `istio: ingressgateway` and its service account after it. */
export const GATEWAY_RELEASE = 'istio-ingressgateway';
/**
 * The egress gateway release: the same chart labels its pods `istio: egressgateway` (the release
 * name without "istio-") and names its Service after it, which is what `EgressGateway.istio()`
 * selects and sends to.
 */
export const EGRESS_GATEWAY_RELEASE = 'istio-egressgateway';
/** The tracing provider the constructs' MeshNamespace uses by default, and its collector. */
export const OTEL_TRACING = {
  name: 'otel-tracing',
  namespace: 'observability',
  service: 'opentelemetry-collector.observability.svc.cluster.local',
  port: 4317,
} as const;

export type GatewayService =
  | { readonly type: 'NodePort'; readonly httpNodePort: number; readonly httpsNodePort: number }
  | { readonly type: 'LoadBalancer'; readonly annotations?: Record<string, string> };

export interface IstioMeshArgs {
  /** `ambient` adds istio-cni and ztunnel and installs istiod with the ambient profile. @default "sidecar" */
  readonly dataPlane?: 'sidecar' | 'ambient';
  /** How the ingress gateway's Service is exposed. */
  readonly gatewayService: GatewayService;
  /** Gateway replicas (minimum of its HPA). @default 1 */
  readonly gatewayReplicas?: number;
  /** Install the Gateway API CRDs. @default true */
  readonly gatewayApiCrds?: boolean;
  /**
   * Mesh-wide tracing through the "otel-tracing" provider, for every proxy no Telemetry resource
   * configures (the ingress gateway above all, where traces start). Set it only where the collector
   * runs. @default no mesh-wide tracing
   */
  /**
   * Mesh-wide `meshConfig.outboundTrafficPolicy.mode`: with REGISTRY_ONLY, a sidecar refuses traffic
   * to hosts outside its registry (Services and ServiceEntries), so undeclared egress fails
   * everywhere a namespace does not override it (`MeshNamespace` `outboundTrafficPolicy`)
   * (istio.io/latest/docs/tasks/traffic-management/egress/egress-control/#change-to-the-blocking-by-default-policy).
   * Sidecars only: ztunnel does not enforce it. @default Istio's ALLOW_ANY
   */
  readonly outboundTrafficPolicy?: 'ALLOW_ANY' | 'REGISTRY_ONLY';
  /**
   * Install an egress gateway (`istio-egressgateway`, pods labelled istio=egressgateway, a ClusterIP
   * Service on 80 and 443), for ExternalServices routed through `EgressGateway.istio()`.
   * @default false
   */
  readonly egressGateway?: boolean;
  readonly tracing?: {
    /**
     * Percentage of requests without a sampling decision that start a trace. The gateway decides
     * for the whole request (the sidecars behind it follow the propagated decision), so this is the
     * share of all ingress traffic traced end to end: keep it low in prod.
     */
    readonly samplingPercentage: number;
  };
}

export interface MeshValues {
  readonly base: Record<string, unknown>;
  readonly istiod: Record<string, unknown>;
  readonly cni?: Record<string, unknown>;
  readonly ztunnel?: Record<string, unknown>;
  readonly gateway: Record<string, unknown>;
  readonly egressGateway?: Record<string, unknown>;
}

/**
 * The failure policy of the validation webhooks. The charts render `Ignore` and istiod flips it to
 * `Fail` once its webhook serves, so every later apply of the charts (server-side apply in Helm 4,
 * Flux; Pulumi's diff) fights istiod over the field. `base.validationFailurePolicy` (base and istiod
 * charts, istio/istio#59367 and #59488, in 1.28.6+, 1.29 and 1.30) renders `Fail` from the start,
 * which is what the chart comments recommend for server-side apply tools. Safe here because no Istio
 * config is created before istiod is ready: the app waits for the whole mesh.
 */
const VALIDATION = { validationFailurePolicy: 'Fail' } as const;

/** The Helm values of each release, per data plane and gateway exposure. */
export function meshValues(args: IstioMeshArgs): MeshValues {
  const ambient = args.dataPlane === 'ambient';
  const profile = ambient ? { profile: 'ambient' } : {};
  const replicas = args.gatewayReplicas ?? 1;
  const svc = args.gatewayService;
  return {
    base: { defaultRevision: 'default', base: VALIDATION },
    istiod: {
      ...profile,
      base: VALIDATION,
      meshConfig: {
        // Envoy access logs of every proxy, on the proxy's stdout.
        accessLogFile: '/dev/stdout',
        ...(args.outboundTrafficPolicy
          ? { outboundTrafficPolicy: { mode: args.outboundTrafficPolicy } }
          : {}),
        ...(args.tracing
          ? {
              // The provider of every proxy that no Telemetry resource covers: the Telemetry of the
              // app namespaces (MeshNamespace) does not reach the gateway in istio-system, which
              // emitted no spans. MeshConfig.defaultProviders.tracing
              // (istio.io/latest/docs/reference/config/istio.mesh.v1alpha1/#MeshConfig-DefaultProviders);
              // the sampling rate as istio.io/latest/docs/tasks/observability/distributed-tracing/sampling
              // sets it globally (defaultConfig.tracing.sampling, a percentage).
              enableTracing: true,
              defaultProviders: { tracing: [OTEL_TRACING.name] },
              defaultConfig: { tracing: { sampling: args.tracing.samplingPercentage } },
            }
          : {}),
        // istio.io/latest/docs/tasks/observability/distributed-tracing/opentelemetry
        extensionProviders: [
          {
            name: OTEL_TRACING.name,
            opentelemetry: {
              service: OTEL_TRACING.service,
              port: OTEL_TRACING.port,
              resource_detectors: { environment: {} },
            },
          },
        ],
      },
    },
    ...(ambient ? { cni: { profile: 'ambient' }, ztunnel: {} } : {}),
    gateway: {
      autoscaling: { enabled: true, minReplicas: replicas, maxReplicas: Math.max(5, replicas * 3) },
      service:
        svc.type === 'NodePort'
          ? {
              type: 'NodePort',
              // The chart's default ports, with fixed NodePorts for kind's extraPortMappings.
              ports: [
                { name: 'status-port', port: 15021, protocol: 'TCP', targetPort: 15021 },
                { name: 'http2', port: 80, protocol: 'TCP', targetPort: 80, nodePort: svc.httpNodePort },
                { name: 'https', port: 443, protocol: 'TCP', targetPort: 443, nodePort: svc.httpsNodePort },
              ],
            }
          : { type: 'LoadBalancer', annotations: svc.annotations ?? {} },
    },
    // Egress gateways are reached from inside the mesh only: a ClusterIP Service, as Istio's egress
    // gateway task deploys it (istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway/).
    ...(args.egressGateway ? { egressGateway: { service: { type: 'ClusterIP' } } } : {}),
  };
}

/** The default gateway exposure on kind: the NodePorts the kind cluster maps to host ports. */
export const KIND_GATEWAY: GatewayService = {
  type: 'NodePort',
  httpNodePort: GATEWAY_NODE_PORTS.http,
  httpsNodePort: GATEWAY_NODE_PORTS.https,
};

/**
 * Istio's control plane and ingress gateway in istio-system, from Istio's Helm charts pinned to
 * VERSIONS.istio. Depend on the component to create Istio resources after its CRDs and webhooks.
 */
export class IstioMesh extends pulumi.ComponentResource {
  public readonly namespace: k8s.core.v1.Namespace;
  public readonly gatewayApiCrds?: k8s.yaml.v2.ConfigFile;
  public readonly base: k8s.helm.v3.Release;
  public readonly istiod: k8s.helm.v3.Release;
  public readonly cni?: k8s.helm.v3.Release;
  public readonly ztunnel?: k8s.helm.v3.Release;
  public readonly gateway: k8s.helm.v3.Release;
  /** The egress gateway, with `egressGateway`. */
  public readonly egressGateway?: k8s.helm.v3.Release;
  /** Istio version installed. */
  public readonly version: pulumi.Output<string>;
  /** Namespace and name of the ingress gateway Service. */
  public readonly gatewayServiceName: pulumi.Output<string>;

  constructor(name: string, args: IstioMeshArgs, opts?: pulumi.ComponentResourceOptions) {
    super('meshkit:mesh:Istio', name, {}, opts);
    const values = meshValues(args);
    const child = { parent: this };
    const release = (
      id: string,
      chart: string,
      releaseName: string,
      v: Record<string, unknown>,
      dependsOn: pulumi.Resource[],
    ) =>
      new k8s.helm.v3.Release(
        `${name}-${id}`,
        {
          name: releaseName,
          chart,
          version: PLATFORM.istio.chartVersion,
          repositoryOpts: { repo: PLATFORM.istio.repo },
          namespace: ISTIO_NAMESPACE,
          values: v,
          // Wait for every Deployment/DaemonSet to be ready: the next release (and the app) needs it.
          skipAwait: false,
          timeout: 600,
        },
        { ...child, dependsOn },
      );

    this.namespace = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      { metadata: { name: ISTIO_NAMESPACE } },
      // Children do not inherit the component's dependsOn: the releases hang off this namespace.
      { ...child, dependsOn: opts?.dependsOn },
    );
    this.base = release('base', 'base', 'istio-base', values.base, [this.namespace]);
    if (args.gatewayApiCrds ?? true) {
      this.gatewayApiCrds = new k8s.yaml.v2.ConfigFile(
        `${name}-gateway-api-crds`,
        { file: PLATFORM.gatewayApiCrds },
        { ...child, dependsOn: opts?.dependsOn },
      );
    }
    this.istiod = release('istiod', 'istiod', 'istiod', values.istiod, [
      this.base,
      ...(this.gatewayApiCrds ? [this.gatewayApiCrds] : []),
    ]);
    let last: k8s.helm.v3.Release = this.istiod;
    if (values.cni && values.ztunnel) {
      this.cni = release('cni', 'cni', 'istio-cni', values.cni, [this.istiod]);
      this.ztunnel = release('ztunnel', 'ztunnel', 'ztunnel', values.ztunnel, [this.cni]);
      last = this.ztunnel;
    }
    this.gateway = release('gateway', 'gateway', GATEWAY_RELEASE, values.gateway, [last]);
    if (values.egressGateway) {
      this.egressGateway = release(
        'egress-gateway',
        'gateway',
        EGRESS_GATEWAY_RELEASE,
        values.egressGateway,
        [last],
      );
    }
    this.version = pulumi.output(PLATFORM.istio.chartVersion);
    this.gatewayServiceName = pulumi.output(`${ISTIO_NAMESPACE}/${GATEWAY_RELEASE}`);
    this.registerOutputs({ version: this.version, gatewayServiceName: this.gatewayServiceName });
  }
}
