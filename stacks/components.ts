/**
 * The Pulumi components of mesh-kit, published as `mesh-kit/pulumi`: a cluster (kind, EKS or one
 * that exists), Istio from its Helm charts, the add-ons, the images and the app. Kept apart from the
 * constructs (`mesh-kit`) so that a cdk8s-only project never loads Pulumi; this subpath needs the
 * optional peer dependencies @pulumi/pulumi and @pulumi/kubernetes, and loads @pulumi/command,
 * @pulumi/docker, @pulumi/aws and @pulumi/eks only in the components that use them (stacks/peers.ts).
 *
 * @module mesh-kit/pulumi
 */
export { IstioMesh, type IstioMeshArgs, type GatewayService } from './istio.js';
export {
  Observability,
  type ObservabilityArgs,
  type AddonEndpoint,
  MetricsServer,
  type MetricsServerArgs,
} from './addons.js';
export {
  KindCluster,
  type KindClusterArgs,
  type PortMapping,
  EksCluster,
  type EksClusterArgs,
  ExistingCluster,
  type ExistingClusterArgs,
  type Cluster,
} from './cluster.js';
export { ServiceImages, type ServiceImagesArgs, type ImageRegistry, type AppImageSources } from './images.js';
export {
  MeshApp,
  type MeshAppArgs,
  type AppGateway,
  type KubeObject,
  type StackDataPlane,
  appManifests,
  appGateways,
  appNamespaces,
} from './app.js';
