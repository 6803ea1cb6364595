/**
 * The Kubernetes cluster a stack deploys to, as one of three components with the same outputs: a
 * local kind cluster (kind CLI through @pulumi/command), a managed EKS cluster (@pulumi/eks), or an
 * existing cluster reached through a kubeconfig kept as a Pulumi secret.
 */
import type * as command from '@pulumi/command';
import type * as eks from '@pulumi/eks';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { Yaml } from 'cdk8s';
import { PLATFORM } from '../constructs/versions.js';
import { optionalPeer } from './peers.js';

/** What every cluster component gives the rest of the stack. */
export interface Cluster extends pulumi.ComponentResource {
  /** The kubeconfig, always a secret. */
  readonly kubeconfig: pulumi.Output<string>;
  /** The provider every Kubernetes resource of the stack is created with. */
  readonly provider: k8s.Provider;
}

/** NodePorts of the ingress gateway that kind maps to host ports (range 30000–32767). */
export const GATEWAY_NODE_PORTS = { http: 30080, https: 30443 } as const;

export interface PortMapping {
  /** Port on the kind node (a NodePort of the cluster). */
  readonly containerPort: number;
  /** Port on the host. */
  readonly hostPort: number;
}

export interface KindClusterArgs {
  /** kind cluster name. */
  readonly name: string;
  /** Node image by tag@sha256 digest. @default PLATFORM.kind.nodeImage */
  readonly nodeImage?: string;
  /** Worker nodes besides the control plane. @default 0 */
  readonly workers?: number;
  /** Host ports mapped to NodePorts of the control-plane node, on 127.0.0.1 only. */
  readonly portMappings: readonly PortMapping[];
}

/**
 * The kind configuration file (kind.sigs.k8s.io/docs/user/configuration): the pinned node image on
 * every node, and `extraPortMappings` from host ports to NodePorts on the control plane, listening
 * on 127.0.0.1 only. Written as YAML to kind's stdin (`--config=-`).
 */
export function kindConfig(args: KindClusterArgs): string {
  const image = args.nodeImage ?? PLATFORM.kind.nodeImage;
  return Yaml.stringify({
    kind: 'Cluster',
    apiVersion: 'kind.x-k8s.io/v1alpha4',
    name: args.name,
    nodes: [
      {
        role: 'control-plane',
        image,
        extraPortMappings: args.portMappings.map((m) => ({
          containerPort: m.containerPort,
          hostPort: m.hostPort,
          listenAddress: '127.0.0.1',
          protocol: 'TCP',
        })),
      },
      ...Array.from({ length: args.workers ?? 0 }, () => ({ role: 'worker', image })),
    ],
  });
}

/**
 * A kind cluster: `kind create cluster` on create, `kind delete cluster` on delete; a change of the
 * generated config replaces the cluster. The create step prints only the kubeconfig (`kind get
 * kubeconfig`) to stdout, which becomes the secret `kubeconfig` output.
 */
export class KindCluster extends pulumi.ComponentResource implements Cluster {
  public readonly name: pulumi.Output<string>;
  public readonly config: pulumi.Output<string>;
  public readonly kubeconfig: pulumi.Output<string>;
  public readonly provider: k8s.Provider;
  /** The command resource that creates the cluster: depend on it to run kind commands later. */
  public readonly create: command.local.Command;

  constructor(name: string, args: KindClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super('meshkit:cluster:Kind', name, {}, opts);
    const config = kindConfig(args);
    const q = shellQuote(args.name);
    const { local } = optionalPeer('@pulumi/command', 'KindCluster');
    this.create = new local.Command(
      `${name}-create`,
      {
        // kind writes its progress to stderr; stdout carries only the kubeconfig.
        create: `kind create cluster --name ${q} --config=- --wait 5m >&2 && kind get kubeconfig --name ${q}`,
        delete: `kind delete cluster --name ${q}`,
        stdin: config,
        triggers: [config],
        logging: 'stderr',
      },
      { parent: this, additionalSecretOutputs: ['stdout'], deleteBeforeReplace: true },
    );
    this.name = pulumi.output(args.name);
    this.config = pulumi.output(config);
    this.kubeconfig = pulumi.secret(this.create.stdout);
    this.provider = new k8s.Provider(`${name}-k8s`, { kubeconfig: this.kubeconfig }, { parent: this });
    this.registerOutputs({ name: this.name, config: this.config, kubeconfig: this.kubeconfig });
  }
}

export interface EksClusterArgs {
  readonly kubernetesVersion: pulumi.Input<string>;
  readonly instanceType: pulumi.Input<string>;
  readonly desiredCapacity: pulumi.Input<number>;
  readonly minSize: pulumi.Input<number>;
  readonly maxSize: pulumi.Input<number>;
  readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** IAM roles with cluster-admin access (people, the deploy role of another account). @default [] */
  readonly adminRoleArns?: readonly string[];
  /** IAM roles with read-only access (the pull-request preview role). @default [] */
  readonly viewerRoleArns?: readonly string[];
}

/** EKS's managed access policies (docs.aws.amazon.com/eks/latest/userguide/access-policy-permissions.html). */
const EKS_POLICY = {
  admin: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy',
  view: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy',
} as const;

/**
 * Access entries for the roles besides the one that creates the cluster (which EKS makes admin on
 * its own, bootstrapClusterCreatorAdminPermissions): without them nobody else reaches the cluster
 * in authentication mode API. Keyed by role ARN, so adding a role changes no other entry.
 */
export function accessEntries(
  adminRoleArns: readonly string[] = [],
  viewerRoleArns: readonly string[] = [],
): Record<string, eks.types.input.AccessEntryArgs> {
  const entry = (principalArn: string, policyArn: string): eks.types.input.AccessEntryArgs => ({
    principalArn,
    accessPolicies: { policy: { policyArn, accessScope: { type: 'cluster' } } },
  });
  return Object.fromEntries([
    ...adminRoleArns.map((arn) => [arn, entry(arn, EKS_POLICY.admin)]),
    ...viewerRoleArns.map((arn) => [arn, entry(arn, EKS_POLICY.view)]),
  ]);
}

/**
 * A managed EKS cluster (@pulumi/eks) in the account's default VPC with a default node group; its
 * nodes' instance role may pull from ECR, where the cloud stacks push the images.
 */
export class EksCluster extends pulumi.ComponentResource implements Cluster {
  public readonly cluster: eks.Cluster;
  public readonly kubeconfig: pulumi.Output<string>;
  public readonly provider: k8s.Provider;

  constructor(name: string, args: EksClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super('meshkit:cluster:Eks', name, {}, opts);
    const { AuthenticationMode, Cluster } = optionalPeer('@pulumi/eks', 'EksCluster');
    this.cluster = new Cluster(
      name,
      {
        version: args.kubernetesVersion,
        instanceType: args.instanceType,
        desiredCapacity: args.desiredCapacity,
        minSize: args.minSize,
        maxSize: args.maxSize,
        authenticationMode: AuthenticationMode.Api,
        accessEntries: accessEntries(args.adminRoleArns, args.viewerRoleArns),
        tags: args.tags,
      },
      { parent: this },
    );
    this.kubeconfig = pulumi.secret(this.cluster.kubeconfigJson);
    this.provider = new k8s.Provider(`${name}-k8s`, { kubeconfig: this.kubeconfig }, { parent: this });
    this.registerOutputs({ kubeconfig: this.kubeconfig });
  }
}

export interface ExistingClusterArgs {
  /** The kubeconfig; made a secret if it is not one. */
  readonly kubeconfig: pulumi.Input<string>;
  /** Context to use. @default the kubeconfig's current context */
  readonly context?: pulumi.Input<string>;
}

/** A cluster someone else runs, reached through a kubeconfig kept as a Pulumi secret. */
export class ExistingCluster extends pulumi.ComponentResource implements Cluster {
  public readonly kubeconfig: pulumi.Output<string>;
  public readonly provider: k8s.Provider;

  constructor(name: string, args: ExistingClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super('meshkit:cluster:Existing', name, {}, opts);
    this.kubeconfig = pulumi.secret(args.kubeconfig);
    this.provider = new k8s.Provider(
      `${name}-k8s`,
      { kubeconfig: this.kubeconfig, context: args.context },
      { parent: this },
    );
    this.registerOutputs({ kubeconfig: this.kubeconfig });
  }
}

/** Single-quotes a word for sh. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
