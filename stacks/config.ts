/**
 * The stack configuration, read once and typed. Every problem is reported at once, each naming the
 * key (as `pulumi config` spells it) and the command that fixes it, before any resource is declared.
 */
import * as pulumi from '@pulumi/pulumi';
import { APPS } from '../charts/apps.js';
import type { AppRegistry, MeshAppDefinition } from '../constructs/index.js';
import { closestKey } from '../constructs/input.js';
import { PLATFORM } from '../constructs/versions.js';
import { type AppGateway, appGateways, appManifests, egressGatewayHosts, type KubeObject } from './app.js';
import { ISTIO_NAMESPACE } from './istio.js';
import { ENVIRONMENT_NAMES, type EnvironmentName, PROJECT, STACK_ENVIRONMENTS } from './environments.js';

export { PROJECT };

export type { EnvironmentName } from './environments.js';

/** One app the stack deploys (`mesh-kit:apps`), checked against the registry and rendered once. */
export interface StackApp {
  readonly app: MeshAppDefinition;
  /** The variant: the one given, else the stack's environment where the app has it, else the app's default. */
  readonly variant: string;
  /** Its Gateways in this variant (hosts, certificates), from a render with the chart's own images. */
  readonly gateways: readonly AppGateway[];
  /** The namespaces it creates. */
  readonly namespaces: readonly string[];
  /**
   * The data plane of its namespaces (`apps[i].dataPlane`); sidecar namespaces run in an ambient
   * mesh too, so a stack's `dataPlane` does not impose its own.
   * @default the app's own choice
   */
  readonly dataPlane?: 'sidecar' | 'ambient';
  /** The external hosts it sends through the stack's egress gateway (`EgressGateway.istio()`); none when absent. */
  readonly egressHosts?: readonly string[];
}

/** A local kind cluster, created and deleted with the kind CLI. */
export interface KindClusterConfig {
  readonly type: 'kind';
  /** kind cluster name (`kind get clusters`). */
  readonly name: string;
  /** Node image, by tag and digest. */
  readonly nodeImage: string;
  /** Worker nodes besides the control plane. */
  readonly workers: number;
  /** Host port that reaches the ingress gateway's HTTP NodePort. */
  readonly httpHostPort: number;
  /** Host port that reaches the ingress gateway's HTTPS NodePort. */
  readonly httpsHostPort: number;
}

/** A managed EKS cluster with a default node group in the default VPC. */
export interface EksClusterConfig {
  readonly type: 'eks';
  readonly kubernetesVersion: string;
  readonly instanceType: string;
  readonly desiredCapacity: number;
  readonly minSize: number;
  readonly maxSize: number;
  /** IAM roles given cluster-admin through EKS access entries (AmazonEKSClusterAdminPolicy). */
  readonly adminRoleArns: readonly string[];
  /** IAM roles given read-only access through EKS access entries (AmazonEKSViewPolicy), e.g. the preview role. */
  readonly viewerRoleArns: readonly string[];
}

/** A cluster that already exists, reached through a kubeconfig kept as a Pulumi secret. */
export interface ExistingClusterConfig {
  readonly type: 'existing';
  /** The kubeconfig (secret `mesh-kit:kubeconfig`). */
  readonly kubeconfig: pulumi.Output<string>;
  /** Context of the kubeconfig to use; its current context when unset. */
  readonly context?: string;
  /** Gateway Service type: LoadBalancer where the cluster has a load balancer controller. */
  readonly gatewayServiceType: 'LoadBalancer' | 'NodePort';
}

export type ClusterConfig = KindClusterConfig | EksClusterConfig | ExistingClusterConfig;

/** Where the built images go: kind nodes directly, ECR, or another registry with a secret password. */
export type RegistryConfig =
  | { readonly type: 'kind' }
  | { readonly type: 'ecr' }
  | {
      readonly type: 'generic';
      /** Registry host and path the images are pushed under, e.g. registry.example.com/team. */
      readonly server: string;
      readonly username: string;
      /** Secret `mesh-kit:registryPassword`. */
      readonly password: pulumi.Output<string>;
    };

/** A `kubernetes.io/tls` Secret an app's Gateway reads. */
export interface TlsCredential {
  readonly name: string;
  /** istio-system for an Istio Gateway (the gateway pods read it), the Gateway's own for the Gateway API. */
  readonly namespace: string;
}

/**
 * The certificate of the apps' HTTPS servers, for stacks whose apps' Gateways name one
 * (`credentialName` of an Istio Gateway server, `certificateRefs` of a Gateway API listener).
 */
export type TlsConfig =
  /** The stack creates the Secret from the secret config `tlsCertificate` and `tlsKey` (PEM). */
  | {
      readonly mode: 'config';
      /** Name of the Secret (what the app's Gateway names). */
      readonly credentialName: string;
      /** Namespace of the Secret (where the Gateway's pods read it). */
      readonly namespace: string;
      /** The PEM certificate chain (secret `mesh-kit:tlsCertificate`). */
      readonly certificate: pulumi.Output<string>;
      /** The PEM private key (secret `mesh-kit:tlsKey`). */
      readonly key: pulumi.Output<string>;
    }
  /** Someone else manages the Secrets (e.g. cert-manager); the stack only expects them to exist. */
  | { readonly mode: 'existing'; readonly credentials: readonly TlsCredential[] };

export interface AddonsConfig {
  /** Prometheus (server only), which Kiali reads. */
  readonly prometheus: boolean;
  /** The OpenTelemetry collector of the "otel-tracing" provider, exporting to Jaeger. */
  readonly tracing: boolean;
  /** Kiali (needs Prometheus). */
  readonly kiali: boolean;
}

export interface StackConfig {
  readonly environment: EnvironmentName;
  /** The apps the stack deploys, in the order of `mesh-kit:apps`. */
  readonly apps: readonly StackApp[];
  /** Share of requests the mesh traces, in percent (the environment's unless set). */
  readonly tracingSamplingPercentage: number;
  readonly cluster: ClusterConfig;
  /** `ambient` installs istio-cni and ztunnel (ambient profile) besides istiod and the gateway. */
  readonly dataPlane: 'sidecar' | 'ambient';
  readonly addons: AddonsConfig;
  readonly registry: RegistryConfig;
  /** Platform the images are built for, e.g. linux/amd64; the Docker host's own when unset. */
  readonly imagePlatform?: string;
  /** Replicas of the ingress gateway (its HPA's minimum). */
  readonly gatewayReplicas: number;
  /** The apps' certificate; undefined where no app serves HTTPS. */
  readonly tls?: TlsConfig;
  /** Mesh-wide `meshConfig.outboundTrafficPolicy.mode` (`mesh-kit:outboundTrafficPolicy`); Istio's ALLOW_ANY when unset. */
  readonly outboundTrafficPolicy?: 'ALLOW_ANY' | 'REGISTRY_ONLY';
  /**
   * Install the egress gateway `istio-egressgateway` (`mesh-kit:egressGateway`).
   * @default whether an app routes external calls through `EgressGateway.istio()`
   */
  readonly egressGateway: boolean;
}

/** Bad or missing stack configuration: every problem, one per line. */
export class StackConfigError extends Error {
  constructor(
    public readonly stack: string,
    public readonly problems: readonly string[],
  ) {
    super(
      `stack "${stack}" has ${problems.length} configuration problem${problems.length === 1 ? '' : 's'}:\n  ${problems.join('\n  ')}`,
    );
    this.name = 'StackConfigError';
  }
}

type Json = Record<string, unknown>;

const key = (k: string) => `${PROJECT}:${k}`;

/** Every setting readStackConfig reads (README's "Stack configuration" documents each). */
const STACK_SETTINGS = [
  'environment',
  'cluster',
  'apps',
  'addons',
  'dataPlane',
  'registry',
  'registryPassword',
  'kubeconfig',
  'outboundTrafficPolicy',
  'egressGateway',
  'gatewayReplicas',
  'imagePlatform',
  'tracingSamplingPercentage',
  'tls',
  'tlsCertificate',
  'tlsKey',
];

/**
 * Reads and checks the configuration of the current stack (or of `config`, for tests). Throws a
 * StackConfigError listing every problem.
 * @param appRegistry the apps `mesh-kit:apps` may name; the project's (charts/apps.ts) by default
 */
export function readStackConfig(
  config: pulumi.Config = new pulumi.Config(PROJECT),
  stack: string = pulumi.getStack(),
  appRegistry: AppRegistry = APPS,
): StackConfig {
  const problems: string[] = [];
  const problem = (k: string, what: string, fix: string) => problems.push(`${key(k)}: ${what}; ${fix}`);

  const object = (k: string): Json | undefined => {
    const raw = config.get(k);
    if (raw === undefined) return undefined;
    try {
      const v: unknown = JSON.parse(raw);
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Json;
    } catch {
      // reported below
    }
    problem(
      k,
      `must be an object, got ${JSON.stringify(raw)}`,
      `set its fields with \`pulumi config set --path ${k}.<field> <value>\``,
    );
    return undefined;
  };
  const str = (obj: Json, k: string, field: string, fallback?: string): string | undefined => {
    const v = obj[field];
    if (v === undefined) {
      if (fallback === undefined)
        problem(
          `${k}.${field}`,
          'is missing',
          `set it with \`pulumi config set --path ${k}.${field} <value>\``,
        );
      return fallback;
    }
    if (typeof v !== 'string' || v === '') {
      problem(
        `${k}.${field}`,
        `must be a non-empty string, got ${JSON.stringify(v)}`,
        `set it with \`pulumi config set --path ${k}.${field} <value>\``,
      );
      return fallback;
    }
    return v;
  };
  const int = (obj: Json, k: string, field: string, fallback: number, min: number, max: number): number => {
    const v = obj[field];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      problem(
        `${k}.${field}`,
        `must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`,
        `set it with \`pulumi config set --path ${k}.${field} ${fallback}\``,
      );
      return fallback;
    }
    return v;
  };
  const bool = (obj: Json, k: string, field: string, fallback: boolean): boolean => {
    const v = obj[field];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') {
      problem(
        `${k}.${field}`,
        `must be true or false, got ${JSON.stringify(v)}`,
        `set it with \`pulumi config set --path ${k}.${field} ${fallback}\``,
      );
      return fallback;
    }
    return v;
  };
  const oneOf = <T extends string>(
    k: string,
    v: unknown,
    allowed: readonly T[],
    fix: string,
  ): T | undefined => {
    if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
    problem(
      k,
      `${v === undefined ? 'is missing' : `${JSON.stringify(v)} is not supported`}; use one of ${allowed.join(', ')}`,
      fix,
    );
    return undefined;
  };
  const unknownFields = (obj: Json, k: string, known: readonly string[]) => {
    for (const f of Object.keys(obj))
      if (!known.includes(f))
        problem(
          `${k}.${f}`,
          `is not a known field (known: ${known.join(', ')})`,
          `remove it with \`pulumi config rm --path ${k}.${f}\``,
        );
  };

  // environment
  const environments = [...ENVIRONMENT_NAMES];
  const environment = oneOf(
    'environment',
    config.get('environment'),
    environments,
    `set it with \`pulumi config set environment ${environments.includes(stack as EnvironmentName) ? stack : 'dev'}\``,
  );

  // cluster
  let cluster: ClusterConfig | undefined;
  const c = object('cluster');
  if (c === undefined && config.get('cluster') === undefined) {
    problem(
      'cluster',
      'is missing',
      'set it with `pulumi config set --path cluster.type kind` (or eks, existing)',
    );
  } else if (c !== undefined) {
    const type = oneOf(
      'cluster.type',
      c.type,
      ['kind', 'eks', 'existing'] as const,
      'set it with `pulumi config set --path cluster.type kind` (or eks, existing)',
    );
    if (type === 'kind') {
      unknownFields(c, 'cluster', ['type', 'name', 'nodeImage', 'workers', 'httpHostPort', 'httpsHostPort']);
      const name = str(c, 'cluster', 'name', 'meshkit') ?? 'meshkit';
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name))
        problem(
          'cluster.name',
          `"${name}" is not a valid kind cluster name`,
          'use lower-case letters, digits and dashes, e.g. `pulumi config set --path cluster.name meshkit`',
        );
      const nodeImage = str(c, 'cluster', 'nodeImage', PLATFORM.kind.nodeImage) ?? PLATFORM.kind.nodeImage;
      if (!/@sha256:[0-9a-f]{64}$/.test(nodeImage))
        problem(
          'cluster.nodeImage',
          `"${nodeImage}" is not pinned by digest`,
          `use an image from kind's release notes as tag@sha256:digest, e.g. ${PLATFORM.kind.nodeImage}`,
        );
      const httpHostPort = int(c, 'cluster', 'httpHostPort', 8080, 1, 65535);
      const httpsHostPort = int(c, 'cluster', 'httpsHostPort', 8443, 1, 65535);
      if (httpHostPort === httpsHostPort)
        problem(
          'cluster.httpsHostPort',
          `is the same port as cluster.httpHostPort (${httpHostPort})`,
          'give HTTP and HTTPS different host ports, e.g. 8080 and 8443',
        );
      cluster = {
        type,
        name,
        nodeImage,
        workers: int(c, 'cluster', 'workers', 0, 0, 10),
        httpHostPort,
        httpsHostPort,
      };
    } else if (type === 'eks') {
      unknownFields(c, 'cluster', [
        'type',
        'kubernetesVersion',
        'instanceType',
        'desiredCapacity',
        'minSize',
        'maxSize',
        'adminRoleArns',
        'viewerRoleArns',
      ]);
      // IAM role ARNs (docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html): partition,
      // 12-digit account, role/ with an optional path.
      const roleArns = (field: string): string[] => {
        const v = c[field];
        if (v === undefined) return [];
        const ok = (x: unknown) =>
          typeof x === 'string' && /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(x);
        if (Array.isArray(v) && v.every(ok)) return v as string[];
        problem(
          `cluster.${field}`,
          `must be a list of IAM role ARNs, got ${JSON.stringify(v)}`,
          `set each with \`pulumi config set --path 'cluster.${field}[0]' arn:aws:iam::<account>:role/<name>\``,
        );
        return [];
      };
      const desiredCapacity = int(c, 'cluster', 'desiredCapacity', 3, 1, 100);
      const minSize = int(c, 'cluster', 'minSize', Math.min(desiredCapacity, 2), 1, 100);
      const maxSize = int(c, 'cluster', 'maxSize', Math.max(desiredCapacity, 6), 1, 100);
      if (!(minSize <= desiredCapacity && desiredCapacity <= maxSize))
        problem(
          'cluster.desiredCapacity',
          `must lie between cluster.minSize (${minSize}) and cluster.maxSize (${maxSize}), got ${desiredCapacity}`,
          'adjust minSize, desiredCapacity and maxSize so that minSize <= desiredCapacity <= maxSize',
        );
      cluster = {
        type,
        kubernetesVersion:
          str(c, 'cluster', 'kubernetesVersion', PLATFORM.eks.kubernetesVersion) ??
          PLATFORM.eks.kubernetesVersion,
        instanceType: str(c, 'cluster', 'instanceType', 't3.large') ?? 't3.large',
        desiredCapacity,
        minSize,
        maxSize,
        adminRoleArns: roleArns('adminRoleArns'),
        viewerRoleArns: roleArns('viewerRoleArns'),
      };
    } else if (type === 'existing') {
      unknownFields(c, 'cluster', ['type', 'context', 'gatewayServiceType']);
      const kubeconfig = config.getSecret('kubeconfig');
      if (kubeconfig === undefined)
        problem(
          'kubeconfig',
          'is missing (cluster.type is existing)',
          'store it as a secret with `pulumi config set --secret kubeconfig < ~/.kube/config`',
        );
      const context = c.context === undefined ? undefined : str(c, 'cluster', 'context');
      const gatewayServiceType = oneOf(
        'cluster.gatewayServiceType',
        c.gatewayServiceType ?? 'LoadBalancer',
        ['LoadBalancer', 'NodePort'] as const,
        'set it with `pulumi config set --path cluster.gatewayServiceType LoadBalancer`',
      );
      if (kubeconfig !== undefined)
        cluster = { type, kubeconfig, context, gatewayServiceType: gatewayServiceType ?? 'LoadBalancer' };
    }
  }

  // dataPlane
  const dataPlane =
    oneOf(
      'dataPlane',
      config.get('dataPlane') ?? 'sidecar',
      ['sidecar', 'ambient'] as const,
      'set it with `pulumi config set dataPlane sidecar`',
    ) ?? 'sidecar';

  // apps: which registered apps the stack deploys, in which variant and data plane
  const apps = readApps(config, appRegistry, environment, dataPlane, problem);

  // addons
  const a = object('addons') ?? {};
  unknownFields(a, 'addons', ['prometheus', 'tracing', 'kiali']);
  const addons: AddonsConfig = {
    prometheus: bool(a, 'addons', 'prometheus', true),
    tracing: bool(a, 'addons', 'tracing', true),
    kiali: bool(a, 'addons', 'kiali', true),
  };
  if (addons.kiali && !addons.prometheus)
    problem(
      'addons.kiali',
      'is true but addons.prometheus is false, and Kiali reads its graph from Prometheus',
      'turn Prometheus on (`pulumi config set --path addons.prometheus true`) or Kiali off',
    );

  // registry
  let registry: RegistryConfig | undefined;
  const r = object('registry');
  const onKind = cluster?.type === 'kind';
  const defaultRegistry = onKind ? 'kind' : 'ecr';
  const rtype = oneOf(
    'registry.type',
    r?.type ?? defaultRegistry,
    ['kind', 'ecr', 'generic'] as const,
    `set it with \`pulumi config set --path registry.type ${defaultRegistry}\``,
  );
  if (rtype === 'kind') {
    if (cluster !== undefined && !onKind)
      problem(
        'registry.type',
        'is kind, but the cluster is not a kind cluster',
        'use ecr or generic (`pulumi config set --path registry.type ecr`)',
      );
    registry = { type: 'kind' };
  } else if (rtype === 'ecr') {
    if (onKind)
      problem(
        'registry.type',
        'is ecr, but kind clusters load the images into their nodes',
        'remove it with `pulumi config rm registry`',
      );
    registry = { type: 'ecr' };
  } else if (rtype === 'generic' && r !== undefined) {
    unknownFields(r, 'registry', ['type', 'server', 'username']);
    const server = str(r, 'registry', 'server');
    const username = str(r, 'registry', 'username');
    const password = config.getSecret('registryPassword');
    if (password === undefined)
      problem(
        'registryPassword',
        'is missing (registry.type is generic)',
        'store it as a secret with `pulumi config set --secret registryPassword <password or token>`',
      );
    if (server !== undefined && username !== undefined && password !== undefined)
      registry = { type: 'generic', server, username, password };
  }
  if (r !== undefined && rtype !== 'generic') unknownFields(r, 'registry', ['type']);

  // Egress: the mesh-wide outbound traffic policy, and the egress gateway the apps route through.
  const rawOutbound = config.get('outboundTrafficPolicy');
  const outboundTrafficPolicy =
    rawOutbound === undefined
      ? undefined
      : oneOf(
          'outboundTrafficPolicy',
          rawOutbound,
          ['ALLOW_ANY', 'REGISTRY_ONLY'] as const,
          "set it with `pulumi config set outboundTrafficPolicy REGISTRY_ONLY`, or remove it for Istio's ALLOW_ANY",
        );
  const egressApps = (apps ?? []).filter((a) => (a.egressHosts ?? []).length > 0);
  const rawEgress = config.get('egressGateway');
  let egressGateway = egressApps.length > 0;
  if (rawEgress !== undefined) {
    if (rawEgress !== 'true' && rawEgress !== 'false') {
      problem(
        'egressGateway',
        `must be true or false, got ${JSON.stringify(rawEgress)}`,
        'set it with `pulumi config set egressGateway true`',
      );
    } else {
      egressGateway = rawEgress === 'true';
      for (const a of egressApps.filter(() => !egressGateway))
        problem(
          'egressGateway',
          `is false, but app ${a.app.name} sends ${a.egressHosts?.join(', ')} through the egress gateway (EgressGateway.istio()), whose pods the stack would not install, so those calls fail`,
          'remove it with `pulumi config rm egressGateway` (the stack installs the gateway such apps need)',
        );
    }
  }

  const gatewayReplicas = (() => {
    const raw = config.get('gatewayReplicas');
    if (raw === undefined) return STACK_ENVIRONMENTS[environment ?? 'dev'].gatewayReplicas;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 20) {
      problem(
        'gatewayReplicas',
        `must be a whole number from 1 to 20, got ${JSON.stringify(raw)}`,
        'set it with `pulumi config set gatewayReplicas 2`',
      );
      return 1;
    }
    return n;
  })();

  const imagePlatform = config.get('imagePlatform') ?? (onKind ? undefined : 'linux/amd64');
  if (imagePlatform !== undefined && !/^[a-z0-9]+\/[a-z0-9]+(\/[a-z0-9]+)?$/.test(imagePlatform))
    problem(
      'imagePlatform',
      `"${imagePlatform}" is not an OS/architecture pair`,
      'set it like `pulumi config set imagePlatform linux/amd64`',
    );

  const tracingSamplingPercentage = (() => {
    const fallback = STACK_ENVIRONMENTS[environment ?? 'dev'].tracingSamplingPercentage;
    const raw = config.get('tracingSamplingPercentage');
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || n > 100) {
      problem(
        'tracingSamplingPercentage',
        `must be a percentage from 0 to 100, got ${JSON.stringify(raw)}`,
        `set it with \`pulumi config set tracingSamplingPercentage ${fallback}\` (or remove it for the environment's ${fallback})`,
      );
      return fallback;
    }
    return n;
  })();

  // tls: the Secrets the apps' HTTPS servers read (Istio Gateway credentialName, Gateway API certificateRefs)
  let tls: TlsConfig | undefined;
  const credentials: (TlsCredential & { readonly app: string })[] = [];
  for (const a of apps ?? [])
    for (const g of a.gateways)
      for (const c of g.credentials)
        if (!credentials.some((x) => x.name === c.name && x.namespace === c.namespace))
          credentials.push({ ...c, app: a.app.name });
  if (apps !== undefined && credentials.length === 0) {
    const names = apps.map((a) => `${a.app.name} (${a.variant})`).join(', ');
    const plain = `no app of the stack serves HTTPS (no Gateway of ${names} names a certificate)`;
    for (const k of ['tls', 'tlsCertificate', 'tlsKey'])
      if (config.get(k) !== undefined)
        problem(k, `is set, but ${plain}`, `remove it with \`pulumi config rm ${k}\``);
  } else if (credentials.length > 0) {
    const t = object('tls') ?? {};
    unknownFields(t, 'tls', ['mode']);
    const mode = oneOf(
      'tls.mode',
      t.mode ?? 'config',
      ['config', 'existing'] as const,
      'set it with `pulumi config set --path tls.mode config` (the stack creates the Secret) or `existing` (you manage it)',
    );
    const secrets = credentials.map((c) => `${c.name} in ${c.namespace} (app ${c.app})`).join(', ');
    if (mode === 'existing') {
      tls = { mode, credentials: credentials.map(({ name, namespace }) => ({ name, namespace })) };
    } else if (mode === 'config' && credentials.length > 1) {
      problem(
        'tls.mode',
        `is config, but the apps read ${credentials.length} certificate Secrets (${secrets}) and tlsCertificate and tlsKey make one`,
        'manage the Secrets yourself with `pulumi config set --path tls.mode existing` (e.g. cert-manager), or deploy the apps in separate stacks',
      );
    } else if (mode === 'config') {
      const credential = credentials[0]!;
      // The stack creates the Secret where the Gateway reads it: in istio-system (which the Istio
      // install creates) or in a namespace an app of the stack creates; anywhere else the namespace
      // does not exist when the Secret is created, and the first `pulumi up` fails there.
      if (
        credential.namespace !== ISTIO_NAMESPACE &&
        !(apps ?? []).some((a) => a.namespaces.includes(credential.namespace))
      ) {
        problem(
          'tls.mode',
          `is config, but app ${credential.app} reads its certificate Secret ${credential.name} from namespace ${credential.namespace}, which neither Istio (${ISTIO_NAMESPACE}) nor any app of the stack creates, so the stack has nowhere to create it`,
          "point the Gateway's certificateRef at a namespace the app creates, or manage the Secret yourself with `pulumi config set --path tls.mode existing`",
        );
      }
      const pem = (k: string, what: string, file: string, begin: string, re: RegExp) => {
        const fix =
          `store the ${what} as a secret with \`pulumi config set --secret ${k} < ${file}\`, ` +
          'or manage the Secret yourself with `pulumi config set --path tls.mode existing`';
        // The plain value only to check its shape; the stack uses it as a secret.
        const raw = config.get(k);
        if (raw === undefined)
          problem(
            k,
            `is missing (app ${credential.app} serves HTTPS with the Secret ${credential.name} in ${credential.namespace})`,
            fix,
          );
        else if (!re.test(raw)) problem(k, `is not a PEM ${what} (no "${begin}" line)`, fix);
        else return config.requireSecret(k);
        return undefined;
      };
      const certificate = pem(
        'tlsCertificate',
        'certificate chain',
        'cert.pem',
        '-----BEGIN CERTIFICATE-----',
        /-----BEGIN CERTIFICATE-----/,
      );
      const key = pem(
        'tlsKey',
        'private key',
        'key.pem',
        '-----BEGIN …PRIVATE KEY-----',
        /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
      );
      if (certificate !== undefined && key !== undefined)
        tls = { mode, credentialName: credential.name, namespace: credential.namespace, certificate, key };
    }
  }

  // Pulumi stores any key it is given; a misspelt setting would be ignored here and the stack
  // deployed without it (`mesh-kit:gatewayReplica: 3` would leave the gateway at one replica).
  for (const full of Object.keys(pulumi.runtime.allConfig())) {
    if (!full.startsWith(`${config.name}:`)) continue;
    const k = full.slice(config.name.length + 1);
    if (STACK_SETTINGS.includes(k)) continue;
    const near = closestKey(k, STACK_SETTINGS);
    problem(
      k,
      near
        ? `is not a setting of this project; did you mean ${key(near)}?`
        : 'is not a setting of this project',
      `remove it with \`pulumi config rm ${k}\`` +
        (near ? ` and set ${near} instead` : ` (the settings: ${STACK_SETTINGS.join(', ')})`),
    );
  }

  if (
    problems.length > 0 ||
    environment === undefined ||
    cluster === undefined ||
    registry === undefined ||
    apps === undefined
  )
    throw new StackConfigError(stack, problems);
  return {
    environment,
    apps,
    tracingSamplingPercentage,
    cluster,
    dataPlane,
    addons,
    registry,
    imagePlatform,
    gatewayReplicas,
    tls,
    ...(outboundTrafficPolicy !== undefined && { outboundTrafficPolicy }),
    egressGateway,
  };
}

type Problem = (k: string, what: string, fix: string) => void;

/** The API group and kind of an object, its namespace and name: what identifies it in a cluster. */
const identity = (o: KubeObject) =>
  `${o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : 'core'}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/**
 * `mesh-kit:apps`: a list of `{ name, variant }`, each a registered app (and one of its variants),
 * each listed once, no two creating the same namespace, object or gateway host. Each app is rendered
 * once here (with its chart's own images) for its namespaces and Gateways. Undefined when anything
 * is wrong: the problems say what.
 */
function readApps(
  config: pulumi.Config,
  registry: AppRegistry,
  environment: EnvironmentName | undefined,
  meshDataPlane: 'sidecar' | 'ambient',
  problem: Problem,
): StackApp[] | undefined {
  const registered = registry.apps.map((a) => a.name);
  const known = `registered apps: ${registered.join(', ') || 'none'} (charts/apps.ts)`;
  const setName = (i: number) =>
    `set it with \`pulumi config set --path 'apps[${i}].name' <app>\` (${known})`;
  const raw = config.get('apps');
  let entries: unknown[];
  if (raw === undefined) {
    // The registry's first app (charts/apps.ts lists the project's own app first).
    const first = registry.apps[0];
    if (first === undefined) {
      problem('apps', 'is missing and no app is registered', 'register an app in charts/apps.ts');
      return undefined;
    }
    entries = [{ name: first.name }];
  } else {
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      v = raw;
    }
    if (!Array.isArray(v) || v.length === 0) {
      problem(
        'apps',
        Array.isArray(v) ? 'is empty' : `must be a list of { name, variant }, got ${JSON.stringify(v)}`,
        `set its entries with \`pulumi config set --path 'apps[0].name' <app>\` (${known})`,
      );
      return undefined;
    }
    entries = v;
  }

  const chosen: { i: number; app: MeshAppDefinition; variant: string; dataPlane?: 'sidecar' | 'ambient' }[] =
    [];
  let ok = true;
  entries.forEach((entry, i) => {
    const k = `apps[${i}]`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      problem(k, `must be an object { name, variant }, got ${JSON.stringify(entry)}`, setName(i));
      ok = false;
      return;
    }
    const e = entry as Json;
    for (const f of Object.keys(e))
      if (f !== 'name' && f !== 'variant' && f !== 'dataPlane') {
        problem(
          `${k}.${f}`,
          'is not a known field (known: name, variant, dataPlane)',
          `remove it with \`pulumi config rm --path '${k}.${f}'\``,
        );
        ok = false;
      }
    const name = e.name;
    if (typeof name !== 'string' || name === '') {
      problem(
        `${k}.name`,
        name === undefined ? 'is missing' : `must be a non-empty string, got ${JSON.stringify(name)}`,
        setName(i),
      );
      ok = false;
      return;
    }
    const app = registry.find(name);
    if (app === undefined) {
      problem(`${k}.name`, `"${name}" is not a registered app`, setName(i));
      ok = false;
      return;
    }
    const twin = chosen.find((c) => c.app.name === name);
    if (twin !== undefined) {
      problem(
        `${k}.name`,
        `"${name}" is listed twice (apps[${twin.i}] too)`,
        'list each app once: remove one of the two from mesh-kit:apps in the stack file',
      );
      ok = false;
      return;
    }
    let variant: string;
    if (e.variant === undefined) {
      variant =
        environment !== undefined && app.variants.includes(environment) ? environment : app.defaultVariant;
    } else if (typeof e.variant !== 'string' || !app.variants.includes(e.variant)) {
      problem(
        `${k}.variant`,
        `${JSON.stringify(e.variant)} is not a variant of app ${name}; use one of ${app.variants.join(', ')}`,
        `set it with \`pulumi config set --path '${k}.variant' ${app.defaultVariant}\`, or remove it for the default`,
      );
      ok = false;
      return;
    } else {
      variant = e.variant;
    }
    const dataPlane = e.dataPlane;
    if (dataPlane !== undefined && dataPlane !== 'sidecar' && dataPlane !== 'ambient') {
      problem(
        `${k}.dataPlane`,
        `${JSON.stringify(dataPlane)} is not supported; use one of sidecar, ambient`,
        `set it with \`pulumi config set --path '${k}.dataPlane' sidecar\`, or remove it for the app's own choice`,
      );
      ok = false;
      return;
    }
    if (dataPlane === 'ambient' && meshDataPlane !== 'ambient') {
      problem(
        `${k}.dataPlane`,
        'is ambient, but the mesh is installed without ztunnel (mesh-kit:dataPlane is sidecar)',
        'install the ambient data plane with `pulumi config set dataPlane ambient`, or run the app with sidecars',
      );
      ok = false;
      return;
    }
    chosen.push({ i, app, variant, dataPlane });
  });
  if (!ok) return undefined;

  const rendered: (StackApp & { readonly i: number; readonly objects: KubeObject[] })[] = [];
  for (const { i, app, variant, dataPlane } of chosen) {
    let objects: KubeObject[];
    try {
      objects = appManifests(app, variant, {}, dataPlane);
    } catch (e) {
      problem(
        `apps[${i}]`,
        `app ${app.name} (${app.variantFlag} ${variant}) does not render: ${(e as Error).message}`,
        dataPlane === undefined
          ? `fix its chart; \`npm run synth -- --app ${app.name} --${app.variantFlag} ${variant}\` shows the same`
          : `fix its chart, or remove apps[${i}].dataPlane for the app's own choice`,
      );
      ok = false;
      continue;
    }
    // An app may run some namespaces in ambient mode by its own choice; without ztunnel their pods
    // join no mesh at all (no mTLS, and the namespaces' authorization is never enforced).
    const ambient = objects
      .filter(
        (o) =>
          o.apiVersion === 'v1' &&
          o.kind === 'Namespace' &&
          (o.metadata as { labels?: Record<string, string> }).labels?.['istio.io/dataplane-mode'] ===
            'ambient',
      )
      .map((o) => o.metadata.name);
    if (ambient.length > 0 && meshDataPlane !== 'ambient' && dataPlane === undefined) {
      problem(
        `apps[${i}]`,
        `app ${app.name} (${app.variantFlag} ${variant}) runs the namespace${ambient.length > 1 ? 's' : ''} ${ambient.join(', ')} in ambient mode, but the mesh is installed without ztunnel (mesh-kit:dataPlane is sidecar)`,
        'install the ambient data plane with `pulumi config set dataPlane ambient`',
      );
      ok = false;
      continue;
    }
    rendered.push({
      i,
      app,
      variant,
      dataPlane,
      objects,
      gateways: appGateways(objects),
      egressHosts: egressGatewayHosts(objects),
      namespaces: objects
        .filter((o) => o.apiVersion === 'v1' && o.kind === 'Namespace')
        .map((o) => o.metadata.name),
    });
  }
  if (!ok) return undefined;

  // Two apps must not create the same object (a namespace above all: deleting one app would take
  // the other's objects with it) nor claim the same host on the stack's ingress gateway pods.
  for (const [n, b] of rendered.entries()) {
    for (const a of rendered.slice(0, n)) {
      const k = `apps[${b.i}]`;
      const shared = b.namespaces.filter((ns) => a.namespaces.includes(ns));
      if (shared.length + clashes(a, b, shared).length + sharedHosts(a, b).length > 0) ok = false;
      for (const ns of shared)
        problem(
          k,
          `app ${b.app.name} creates the namespace ${ns}, as app ${a.app.name} (apps[${a.i}]) does`,
          'two apps cannot share a namespace: give one a namespace of its own in its chart, or deploy them in separate stacks',
        );
      const objects = clashes(a, b, shared);
      if (objects.length > 0)
        problem(
          k,
          `app ${b.app.name} declares ${objects.join(', ')}, as app ${a.app.name} (apps[${a.i}]) does`,
          'rename them in one of the charts, or deploy the apps in separate stacks',
        );
      const hosts = sharedHosts(a, b);
      if (hosts.length > 0)
        problem(
          k,
          `app ${b.app.name}'s Gateway answers ${hosts.join(', ')} on the stack's ingress gateway, as app ${a.app.name} (apps[${a.i}]) does, and Istio applies only one of the two`,
          'give the apps different hosts in their charts (their variants), or deploy them in separate stacks',
        );
    }
  }
  if (!ok) return undefined;
  return rendered.map(({ app, variant, gateways, namespaces, dataPlane, egressHosts }) => ({
    app,
    variant,
    gateways,
    namespaces,
    ...(dataPlane !== undefined && { dataPlane }),
    ...(egressHosts !== undefined && egressHosts.length > 0 && { egressHosts }),
  }));
}

/** Objects `b` declares that `a` declares too, outside the namespaces both create (reported as such). */
function clashes(
  a: { readonly objects: readonly KubeObject[] },
  b: { readonly objects: readonly KubeObject[] },
  shared: readonly string[],
): string[] {
  const theirs = new Set(a.objects.map(identity));
  return b.objects
    .filter(
      (o) =>
        !shared.includes(o.metadata.namespace ?? '') &&
        !(o.kind === 'Namespace' && shared.includes(o.metadata.name)),
    )
    .filter((o) => theirs.has(identity(o)))
    .map((o) => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`);
}

/** Hosts the Istio Gateways of both apps answer: both on the stack's ingress gateway pods. */
function sharedHosts(a: StackApp, b: StackApp): string[] {
  const hostsOf = (s: StackApp) =>
    new Set(s.gateways.filter((g) => g.kind === 'istio').flatMap((g) => g.hosts));
  const theirs = hostsOf(a);
  return [...hostsOf(b)].filter((h) => theirs.has(h));
}
