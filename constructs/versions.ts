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
  /** Redis backing the global rate limit service. */
  redis: 'docker.io/library/redis:7.4.2-alpine',
} as const;

/** Istio's Bookinfo sample images, as Istio 1.30.3's samples/bookinfo/platform/kube/bookinfo.yaml pins them. */
export const BOOKINFO_IMAGES = {
  registry: 'registry.istio.io/release',
  tag: '1.20.3',
} as const;

/** The mesh trust domain Istio uses unless meshConfig.trustDomain says otherwise. */
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';
