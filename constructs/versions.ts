/**
 * Every upstream version this project is written against, in one place.
 *
 * `imports/` is generated from the CRDs of ISTIO_VERSION and GATEWAY_API_VERSION (see cdk8s.yaml);
 * the Pulumi stacks install the Istio charts of the same version, so the typed resources and the
 * control plane that reads them never drift apart.
 */
export const VERSIONS = {
  istio: '1.30.3',
  gatewayApi: 'v1.5.1',
  /** Kubernetes API level of the typed core resources (cdk8s-plus-27). */
  kubernetes: '1.27',
} as const;

/** Images the constructs deploy on their own (not the user's services), pinned by tag. */
export const IMAGES = {
  /** Envoy's global rate limit service, the tag Istio 1.30.3's samples/ratelimit uses. */
  envoyRatelimit: 'docker.io/envoyproxy/ratelimit:30a4ce1a',
  /**
   * Redis backing the global rate limit service: the latest 7.4 patch release (security fixes,
   * same protocol and licence as the 7.4.2 it replaces; Redis 8 changes the licence).
   */
  redis: 'docker.io/library/redis:7.4.11-alpine',
} as const;

/** Istio's Bookinfo sample images, as Istio 1.30.3's samples/bookinfo/platform/kube/bookinfo.yaml pins them. */
export const BOOKINFO_IMAGES = {
  registry: 'registry.istio.io/release',
  tag: '1.20.3',
} as const;

/** The mesh trust domain Istio uses unless meshConfig.trustDomain says otherwise. */
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

/**
 * What the Pulumi stacks (stacks/) install, pinned: Istio's own Helm charts at ISTIO_VERSION, the
 * Gateway API CRDs the constructs are generated from, the kind release and node image of the dev
 * stack, the EKS Kubernetes version of the cloud stacks, and the observability add-ons' charts.
 */
export const PLATFORM = {
  istio: {
    /** Istio's Helm repository (istio.io/latest/docs/setup/install/helm). */
    repo: 'https://istio-release.storage.googleapis.com/charts',
    chartVersion: VERSIONS.istio,
  },
  /** Gateway API standard-channel CRDs; Istio 1.30 reads them (its upgrade notes require v1.5.x). */
  gatewayApiCrds: `https://github.com/kubernetes-sigs/gateway-api/releases/download/${VERSIONS.gatewayApi}/standard-install.yaml`,
  kind: {
    /** The kind CLI release the node image was built for. */
    version: 'v0.31.0',
    /** kind v0.31.0's release notes: the default node image, Kubernetes 1.35.0 (Istio 1.30 supports 1.32–1.36). */
    nodeImage: 'kindest/node:v1.35.0@sha256:452d707d4862f52530247495d180205e029056831160e22870e37e3f6c1ac31f',
  },
  /** Kubernetes version of the EKS control plane (within Istio 1.30's supported 1.32–1.36). */
  eks: { kubernetesVersion: '1.35' },
  /**
   * metrics-server (chart 3.13.1, metrics-server 0.8.1): the resource metrics API every
   * HorizontalPodAutoscaler reads, the ingress gateway's included. Neither kind nor EKS installs it.
   */
  metricsServer: {
    repo: 'https://kubernetes-sigs.github.io/metrics-server',
    chart: 'metrics-server',
    version: '3.13.1',
  },
  addons: {
    /** prometheus-community's chart; Istio's samples/addons render the same chart (server only). */
    prometheus: {
      repo: 'https://prometheus-community.github.io/helm-charts',
      chart: 'prometheus',
      version: '27.20.0',
    },
    /**
     * The OpenTelemetry collector behind the "otel-tracing" provider: chart 0.170.0 runs collector
     * 0.158.0 (the chart repository's index; 0.158.3 was never published).
     */
    opentelemetryCollector: {
      repo: 'https://open-telemetry.github.io/opentelemetry-helm-charts',
      chart: 'opentelemetry-collector',
      version: '0.170.0',
    },
    /** Jaeger (v2, all-in-one, in-memory storage): where the collector sends the traces. */
    jaeger: { repo: 'https://jaegertracing.github.io/helm-charts', chart: 'jaeger', version: '4.0.1' },
    /** Kiali's server chart; Kiali releases are tested against the supported Istio releases. */
    kiali: { repo: 'https://kiali.org/helm-charts', chart: 'kiali-server', version: '2.27.0' },
  },
} as const;
