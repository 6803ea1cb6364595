/**
 * One stack: cluster → Istio → add-ons, the apps' TLS Secret → images → the apps (`mesh-kit:apps`),
 * and the outputs a person needs.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { MetricsServer, Observability, type AddonEndpoint } from './addons.js';
import { type AppGateway, MeshApp } from './app.js';
import { type Cluster, EksCluster, ExistingCluster, GATEWAY_NODE_PORTS, KindCluster } from './cluster.js';
import { PROJECT, type StackApp, type StackConfig } from './config.js';
import { KIND_IMAGE_REPOSITORY } from './environments.js';
import { ServiceImages } from './images.js';
import { GATEWAY_RELEASE, ISTIO_NAMESPACE, IstioMesh, KIND_GATEWAY, type GatewayService } from './istio.js';

/** What the stack reports of each app. */
export interface AppSummary {
  readonly variant: string;
  readonly namespaces: readonly string[];
  /** Hosts its Gateways answer. */
  readonly hosts: readonly string[];
}

export interface StackOutputs {
  readonly environment: string;
  /** Where the first app (of `mesh-kit:apps`) answers. */
  readonly ingressUrl: pulumi.Output<string>;
  /** Where each app with a Gateway answers, by app. */
  readonly ingressUrls: pulumi.Output<Record<string, string>>;
  /** Load balancer address of the gateway, for DNS (cloud only). */
  readonly ingressAddress?: pulumi.Output<string>;
  /** The cluster's kubeconfig (secret). */
  readonly kubeconfig: pulumi.Output<string>;
  /** Image reference per app and image key: built ones by tag (kind) or digest, the others as given. */
  readonly images: pulumi.Output<Record<string, Record<string, string>>>;
  /** The apps, their variants, namespaces and hosts. */
  readonly appSummaries: Record<string, AppSummary>;
  /** Add-on UIs: in-cluster address, local URL and the port-forward that opens it. */
  readonly addons: pulumi.Output<Record<string, AddonEndpoint>>;
  readonly cluster: Cluster;
  readonly metricsServer: MetricsServer;
  readonly mesh: IstioMesh;
  readonly observability: Observability;
  readonly serviceImages: ServiceImages;
  /** The apps' `kubernetes.io/tls` Secret, when the stack creates it (`tls.mode: config`). */
  readonly tlsSecret?: k8s.core.v1.Secret;
  /** The apps, by name, in the order of `mesh-kit:apps`. */
  readonly apps: Readonly<Record<string, MeshApp>>;
}

/** The project root: the nearest folder up from this module with Pulumi.yaml, else the working directory. */
export function projectRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'Pulumi.yaml'))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}

/**
 * The Gateway an app's URL points at: its first Istio Gateway (served by the stack's ingress
 * gateway), else its first Gateway API Gateway.
 */
export function entryGateway(app: StackApp): AppGateway | undefined {
  return app.gateways.find((g) => g.kind === 'istio') ?? app.gateways[0];
}

/** Declares every resource of a stack. */
export function createStack(config: StackConfig, root: string = projectRoot()): StackOutputs {
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
      outboundTrafficPolicy: config.outboundTrafficPolicy,
      egressGateway: config.egressGateway,
      // The environment's sampling rate (stacks/environments.ts, or mesh-kit:tracingSamplingPercentage).
      tracing: config.addons.tracing ? { samplingPercentage: config.tracingSamplingPercentage } : undefined,
    },
    { ...providers, dependsOn: [...clusterReady, metricsServer] },
  );
  const observability = new Observability('observability', config.addons, {
    ...providers,
    dependsOn: [mesh],
  });

  // The certificate of the apps' HTTPS servers: a kubernetes.io/tls Secret of the name their
  // Gateway gives, where its pods read it: istio-system for an Istio Gateway (the stack's gateway
  // deployment), after Istio and before the apps; the app's own namespace for a Gateway API
  // Gateway, after that namespace exists.
  let tlsSecret: k8s.core.v1.Secret | undefined;
  const tls = config.tls?.mode === 'config' ? config.tls : undefined;
  const tlsOwner =
    tls && tls.namespace !== ISTIO_NAMESPACE
      ? config.apps.find((a) => a.namespaces.includes(tls.namespace))
      : undefined;

  const r = config.registry;
  const serviceImages = new ServiceImages('images', {
    environment: config.environment,
    apps: config.apps.map((a) => ({ app: a.app.name, images: a.app.images })),
    root,
    platform: config.imagePlatform,
    registry:
      r.type === 'kind' && cluster instanceof KindCluster
        ? {
            type: 'kind',
            clusterName: cluster.name,
            repository: KIND_IMAGE_REPOSITORY,
            cluster: cluster.create,
          }
        : r.type === 'generic'
          ? { type: 'generic', server: r.server, username: r.username, password: r.password }
          : { type: 'ecr' },
  });

  const newTlsSecret = (dependsOn: pulumi.Resource[]) =>
    tls &&
    new k8s.core.v1.Secret(
      'ingress-tls',
      {
        metadata: { name: tls.credentialName, namespace: tls.namespace },
        type: 'kubernetes.io/tls',
        // Kubernetes stores stringData base64-encoded under data; both stay Pulumi secrets.
        stringData: {
          'tls.crt': pulumi.secret(tls.certificate),
          'tls.key': pulumi.secret(tls.key),
        },
      },
      { provider: cluster.provider, dependsOn },
    );
  if (tls && !tlsOwner) tlsSecret = newTlsSecret([mesh]);

  const apps: Record<string, MeshApp> = {};
  for (const a of config.apps) {
    apps[a.app.name] = new MeshApp(
      a.app.name,
      {
        app: a.app,
        variant: a.variant,
        images: serviceImages.refs.apply((refs) => refs[a.app.name] ?? {}),
        dataPlane: a.dataPlane,
      },
      {
        ...providers,
        // metrics-server too: the apps' own HorizontalPodAutoscalers read the resource metrics API.
        dependsOn: [metricsServer, mesh, observability, serviceImages, ...(tlsSecret ? [tlsSecret] : [])],
      },
    );
    if (tlsOwner === a) tlsSecret = newTlsSecret([mesh, apps[a.app.name].namespaces]);
  }

  let ingressAddress: pulumi.Output<string> | undefined;
  if (c.type !== 'kind') {
    const svc = k8s.core.v1.Service.get('ingress-gateway', `${ISTIO_NAMESPACE}/${GATEWAY_RELEASE}`, {
      provider: cluster.provider,
      dependsOn: [mesh.gateway],
    });
    ingressAddress = svc.status.apply((s) => {
      const lb = s?.loadBalancer?.ingress?.[0];
      return lb?.hostname ?? lb?.ip ?? '';
    });
  }
  // An app's URL: its entry Gateway's first named host, or where the gateway answers when the
  // Gateway takes any host (`*`): localhost on kind, the load balancer's address on the cloud.
  // A Gateway API Gateway gets a gateway deployment of Istio's own (Service <name>-istio in its
  // namespace), behind neither kind's host ports nor the stack's load balancer: its named host, or
  // that Service's in-cluster address.
  const urlOf = (gateway: AppGateway | undefined): pulumi.Output<string> => {
    const scheme = gateway?.https ? 'https' : 'http';
    const named = gateway?.hosts.find((h) => !h.includes('*'));
    const path = gateway?.path ?? '/';
    if (gateway?.kind === 'gateway-api')
      return pulumi.output(
        `${scheme}://${named ?? `${gateway.name}-istio.${gateway.namespace}.svc.cluster.local`}${path}`,
      );
    if (c.type === 'kind')
      return pulumi.output(
        `${scheme}://${named ?? 'localhost'}:${scheme === 'https' ? c.httpsHostPort : c.httpHostPort}${path}`,
      );
    return named !== undefined
      ? pulumi.output(`${scheme}://${named}${path}`)
      : pulumi.interpolate`${scheme}://${ingressAddress!}${path}`;
  };
  const withGateway = config.apps.filter((a) => entryGateway(a) !== undefined);
  const ingressUrls = pulumi
    .all(Object.fromEntries(withGateway.map((a) => [a.app.name, urlOf(entryGateway(a))])))
    .apply((urls) => ({ ...urls }) as Record<string, string>);
  const first = config.apps[0];
  const ingressUrl = urlOf(first === undefined ? undefined : entryGateway(first));

  return {
    environment: config.environment,
    ingressUrl,
    ingressUrls,
    ingressAddress,
    kubeconfig: cluster.kubeconfig,
    images: serviceImages.refs,
    appSummaries: Object.fromEntries(
      config.apps.map((a) => [
        a.app.name,
        {
          variant: a.variant,
          namespaces: a.namespaces,
          hosts: [...new Set(a.gateways.flatMap((g) => g.hosts))],
        },
      ]),
    ),
    addons: observability.endpoints,
    cluster,
    metricsServer,
    mesh,
    observability,
    serviceImages,
    tlsSecret,
    apps,
  };
}
