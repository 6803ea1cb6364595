/**
 * What differs between the stacks' environments and belongs to the stack, not to any app: the
 * mesh-wide trace sampling, the gateway replicas, the registry prefix of images loaded into kind.
 * An app's own settings per environment (its hosts, replicas, certificates) live with the app, in
 * its variant of the same name.
 */

/** The Pulumi project name (Pulumi.yaml `name`), which is also the namespace of its config keys. */
export const PROJECT = 'mesh-kit';

/** The environments a stack can be (`mesh-kit:environment`). */
export const ENVIRONMENT_NAMES = ['dev', 'staging', 'prod'] as const;
export type EnvironmentName = (typeof ENVIRONMENT_NAMES)[number];

export interface StackEnvironment {
  readonly name: EnvironmentName;
  /**
   * Share of requests the mesh traces, in percent (istiod's default for every proxy without a
   * Telemetry of its own, the ingress gateway among them): everything in dev, a sample in prod.
   * `mesh-kit:tracingSamplingPercentage` overrides it.
   */
  readonly tracingSamplingPercentage: number;
  /** Replicas of the ingress gateway (its HPA's minimum); `mesh-kit:gatewayReplicas` overrides it. */
  readonly gatewayReplicas: number;
}

export const STACK_ENVIRONMENTS: Readonly<Record<EnvironmentName, StackEnvironment>> = {
  dev: { name: 'dev', tracingSamplingPercentage: 100, gatewayReplicas: 1 },
  staging: { name: 'staging', tracingSamplingPercentage: 10, gatewayReplicas: 1 },
  prod: { name: 'prod', tracingSamplingPercentage: 1, gatewayReplicas: 2 },
};

/**
 * The registry prefix of images loaded into kind's nodes (kind's documented local registry,
 * kind.sigs.k8s.io/docs/user/local-registry): `localhost:5001/<app>-<image>:<tag>`. Nothing is
 * pushed there; the name only has to match what the Deployments run.
 */
export const KIND_IMAGE_REPOSITORY = 'localhost:5001';
