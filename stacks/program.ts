/**
 * One stack: cluster → Istio → add-ons, the gateway's TLS Secret → images → the shop, and the outputs
 * a person needs.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { ENVIRONMENTS } from '../charts/environments.js';
import { SHOP_SERVICES } from '../charts/shop.js';
import { MetricsServer, Observability, type AddonEndpoint } from './addons.js';
import { ShopApp } from './app.js';
import { type Cluster, EksCluster, ExistingCluster, GATEWAY_NODE_PORTS, KindCluster } from './cluster.js';
import { PROJECT, type StackConfig } from './config.js';
import { ServiceImages } from './images.js';
import { GATEWAY_RELEASE, ISTIO_NAMESPACE, IstioMesh, KIND_GATEWAY, type GatewayService } from './istio.js';

export interface StackOutputs {
  readonly environment: string;
  /** Where the storefront answers. */
  readonly ingressUrl: pulumi.Output<string>;
  /** Load balancer address of the gateway, for DNS (cloud only). */
  readonly ingressAddress?: pulumi.Output<string>;
  /** The cluster's kubeconfig (secret). */
  readonly kubeconfig: pulumi.Output<string>;
  /** Image reference per service. */
  readonly images: pulumi.Output<Record<string, string>>;
  /** Add-on UIs: in-cluster address, local URL and the port-forward that opens it. */
  readonly addons: pulumi.Output<Record<string, AddonEndpoint>>;
  readonly cluster: Cluster;
  readonly metricsServer: MetricsServer;
  readonly mesh: IstioMesh;
  readonly observability: Observability;
  readonly serviceImages: ServiceImages;
  /** The gateway's `kubernetes.io/tls` Secret, when the stack creates it (`tls.mode: config`). */
  readonly tlsSecret?: k8s.core.v1.Secret;
  readonly app: ShopApp;
}

/** The repository root: the nearest folder up from this module with Pulumi.yaml, else the working directory. */
export function projectRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'Pulumi.yaml')) && existsSync(join(dir, 'services'))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}

/** Declares every resource of a stack. */
export function createStack(config: StackConfig, root: string = projectRoot()): StackOutputs {
  const env = ENVIRONMENTS[config.environment];
  const name = `${PROJECT}-${config.environment}`;
  const c = config.cluster;

  let cluster: Cluster;
  let gatewayService: GatewayService;
  if (c.type === 'kind') {
    cluster = new KindCluster(c.name, {
      name: c.name,
      nodeImage: c.nodeImage,
      workers: c.workers,
      portMappings: [
        { containerPort: GATEWAY_NODE_PORTS.http, hostPort: c.httpHostPort },
        { containerPort: GATEWAY_NODE_PORTS.https, hostPort: c.httpsHostPort },
      ],
    });
    gatewayService = KIND_GATEWAY;
  } else if (c.type === 'eks') {
    cluster = new EksCluster(name, {
      kubernetesVersion: c.kubernetesVersion,
      instanceType: c.instanceType,
      desiredCapacity: c.desiredCapacity,
      minSize: c.minSize,
      maxSize: c.maxSize,
      adminRoleArns: c.adminRoleArns,
      viewerRoleArns: c.viewerRoleArns,
      tags: { project: PROJECT, environment: config.environment },
    });
    // A Network Load Balancer in front of the gateway (AWS's service annotation).
    gatewayService = {
      type: 'LoadBalancer',
      annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' },
    };
  } else {
    cluster = new ExistingCluster(name, { kubeconfig: c.kubeconfig, context: c.context });
    gatewayService = c.gatewayServiceType === 'NodePort' ? KIND_GATEWAY : { type: 'LoadBalancer' };
  }
  const providers = { providers: [cluster.provider] };

  const clusterReady = cluster instanceof KindCluster ? [cluster.create] : [];
  // The resource metrics API before the gateway's HorizontalPodAutoscaler needs it.
  const metricsServer = new MetricsServer(
    'metrics-server',
    { kubeletInsecureTls: c.type === 'kind' },
    { ...providers, dependsOn: clusterReady },
  );
  const mesh = new IstioMesh(
    'istio',
    {
      dataPlane: config.dataPlane,
      gatewayService,
      gatewayReplicas: config.gatewayReplicas,
      // The environment's sampling rate (charts/environments.ts), as its app namespaces use it.
      tracing: config.addons.tracing ? { samplingPercentage: env.tracingSamplingPercentage } : undefined,
    },
    { ...providers, dependsOn: [...clusterReady, metricsServer] },
  );
  const observability = new Observability('observability', config.addons, {
    ...providers,
    dependsOn: [mesh],
  });

  // The certificate of the gateway's HTTPS server: a kubernetes.io/tls Secret named after the
  // environment's tlsCredentialName, in the gateway deployment's namespace, where the Istio Gateway
  // (credentialName) finds it. After Istio (its namespace), before the shop (its Gateway).
  let tlsSecret: k8s.core.v1.Secret | undefined;
  if (config.tls?.mode === 'config') {
    tlsSecret = new k8s.core.v1.Secret(
      'ingress-tls',
      {
        metadata: { name: config.tls.credentialName, namespace: ISTIO_NAMESPACE },
        type: 'kubernetes.io/tls',
        // Kubernetes stores stringData base64-encoded under data; both stay Pulumi secrets.
        stringData: {
          'tls.crt': pulumi.secret(config.tls.certificate),
          'tls.key': pulumi.secret(config.tls.key),
        },
      },
      { provider: cluster.provider, dependsOn: [mesh] },
    );
  }

  const r = config.registry;
  const serviceImages = new ServiceImages('images', {
    environment: config.environment,
    services: SHOP_SERVICES,
    context: resolve(root, 'services'),
    platform: config.imagePlatform,
    registry:
      r.type === 'kind' && cluster instanceof KindCluster
        ? { type: 'kind', clusterName: cluster.name, repository: env.imageRegistry, cluster: cluster.create }
        : r.type === 'generic'
          ? { type: 'generic', server: r.server, username: r.username, password: r.password }
          : { type: 'ecr' },
  });

  const app = new ShopApp(
    'shop',
    { environment: config.environment, images: serviceImages.refs },
    {
      ...providers,
      // metrics-server too: the shop's own HorizontalPodAutoscalers read the resource metrics API.
      dependsOn: [metricsServer, mesh, observability, serviceImages, ...(tlsSecret ? [tlsSecret] : [])],
    },
  );

  const host = env.ingressHosts[0];
  let ingressUrl: pulumi.Output<string>;
  let ingressAddress: pulumi.Output<string> | undefined;
  const scheme = env.tlsCredentialName ? 'https' : 'http';
  if (c.type === 'kind') {
    const port = scheme === 'https' ? c.httpsHostPort : c.httpHostPort;
    ingressUrl = pulumi.output(`${scheme}://${host}:${port}/`);
  } else {
    const svc = k8s.core.v1.Service.get('ingress-gateway', `${ISTIO_NAMESPACE}/${GATEWAY_RELEASE}`, {
      provider: cluster.provider,
      dependsOn: [mesh.gateway],
    });
    ingressAddress = svc.status.apply((s) => {
      const lb = s?.loadBalancer?.ingress?.[0];
      return lb?.hostname ?? lb?.ip ?? '';
    });
    ingressUrl = pulumi.output(`${scheme}://${host}/`);
  }

  return {
    environment: config.environment,
    ingressUrl,
    ingressAddress,
    kubeconfig: cluster.kubeconfig,
    images: serviceImages.refs,
    addons: observability.endpoints,
    cluster,
    metricsServer,
    mesh,
    observability,
    serviceImages,
    tlsSecret,
    app,
  };
}
