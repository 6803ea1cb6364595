/**
 * Pulumi mocks for the stack tests: every resource registration is recorded (type, name, inputs,
 * parent and the engine-level dependencies Pulumi computed from dependsOn), and the providers' outputs
 * are faked: kind's kubeconfig, image digests, ECR repositories, the EKS kubeconfig, the gateway
 * load balancer.
 *
 * ESM: call `installMocks` (which imports @pulumi/pulumi and sets the mocks and the config) in a
 * `before` hook, and only then import the program with a dynamic `import()`.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as pulumi from '@pulumi/pulumi';
import { MockMonitor } from '@pulumi/pulumi/runtime/mocks.js';
import { parse } from 'yaml';

export const PROJECT = 'mesh-kit';
/** The repository (Pulumi.yaml's folder): up from this file (lib/test/stacks), else the working directory. */
export const REPO_ROOT = ((): string => {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dirname(dir) !== dir; dir = dirname(dir))
    if (existsSync(join(dir, 'Pulumi.yaml'))) return dir;
  return process.cwd();
})();

export interface Registered {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly parent: string;
  readonly custom: boolean;
  readonly read: boolean;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly inputs: any;
  /** URNs this resource depends on (dependsOn, expanded by Pulumi to components' custom children). */
  readonly dependencies: readonly string[];
  /** Outputs the engine is told to keep secret (additionalSecretOutputs). */
  readonly additionalSecretOutputs: readonly string[];
  /** Its aliases (former names or types it keeps the state of), as the engine receives them. */
  readonly aliases: readonly AliasSpec[];
  /** The ID the mock gave the resource (`<name>-id`), once created. */
  readonly id?: string;
}

export const KIND_KUBECONFIG =
  'apiVersion: v1\nkind: Config\nclusters: [{name: kind-meshkit}]\n# kind token\n';
export const EKS_KUBECONFIG = '{"apiVersion":"v1","kind":"Config","users":[{"name":"aws"}]}';
export const LB_HOSTNAME = 'a1b2c3-123.elb.eu-west-1.amazonaws.com';
const ACCOUNT_REGISTRY = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';

/** A certificate and key in PEM form, as `pulumi config set --secret tlsCertificate < cert.pem` stores them. */
export const TLS_PEM = {
  certificate: '-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n',
  key: '-----BEGIN PRIVATE KEY-----\nMIGHtest\n-----END PRIVATE KEY-----\n',
} as const;
/** The TLS secrets of a cloud stack (mesh-kit:tlsCertificate, mesh-kit:tlsKey) and their secret keys. */
export const TLS_SECRETS = {
  config: { 'mesh-kit:tlsCertificate': TLS_PEM.certificate, 'mesh-kit:tlsKey': TLS_PEM.key },
  secretKeys: ['mesh-kit:tlsCertificate', 'mesh-kit:tlsKey'],
} as const;

const digest = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

/** Reads a stack's config file (Pulumi.<stack>.yaml) into the flat key → string map Pulumi passes programs. */
export function stackConfigFile(stack: string): Record<string, string> {
  const file = parse(readFileSync(join(REPO_ROOT, `Pulumi.${stack}.yaml`), 'utf8')) as {
    config: Record<string, unknown>;
  };
  const encrypted = (v: unknown) => typeof v === 'object' && v !== null && 'secure' in v;
  return Object.fromEntries(
    Object.entries(file.config)
      // `pulumi config set --secret` values are encrypted with the stack's key: tests set their own.
      .filter(([, v]) => !encrypted(v))
      .map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
  );
}

/** Sets the mocks and config; returns the registrations as they happen. */
export async function installMocks(
  stack: string,
  config: Record<string, string>,
  secretKeys: readonly string[] = [],
): Promise<Registered[]> {
  const registered: Registered[] = [];
  const record = (req: MockRequest, read: boolean) => {
    const monitor = MockMonitor.prototype as unknown as { newUrn(p: string, t: string, n: string): string };
    registered.push({
      type: req.getType(),
      name: req.getName(),
      urn: monitor.newUrn(req.getParent(), req.getType(), req.getName()),
      parent: req.getParent(),
      custom: read || req.getCustom(),
      read,
      inputs: undefined,
      dependencies: read ? [] : req.getDependenciesList(),
      additionalSecretOutputs: read ? [] : req.getAdditionalsecretoutputsList(),
      aliases: read ? [] : req.getAliasesList().map((a) => a.toObject().spec ?? {}),
    });
  };
  const proto = MockMonitor.prototype as unknown as Record<
    string,
    (req: MockRequest, cb: unknown) => unknown
  >;
  const register = proto.registerResource;
  const readResource = proto.readResource;
  proto.registerResource = function (this: unknown, req: MockRequest, cb: unknown) {
    record(req, false);
    return register.call(this, req, cb);
  };
  proto.readResource = function (this: unknown, req: MockRequest, cb: unknown) {
    record(req, true);
    return readResource.call(this, req, cb);
  };

  pulumi.runtime.setAllConfig(config, [...secretKeys]);
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const entry = [...registered].reverse().find((r) => r.type === args.type && r.name === args.name);
        if (entry) (entry as { inputs: unknown }).inputs = args.inputs;
        const state: Record<string, unknown> = { ...args.inputs };
        switch (args.type) {
          case 'command:local:Command':
            state.stdout = String(args.inputs.create).startsWith('kind create cluster')
              ? KIND_KUBECONFIG
              : '';
            break;
          case 'docker:index/image:Image': {
            const name = String(args.inputs.imageName);
            state.repoDigest = args.inputs.skipPush
              ? digest(`local ${name}`)
              : `${name.replace(/:[^:/]+$/, '')}@${digest(name)}`;
            break;
          }
          case 'aws:ecr/repository:Repository':
            state.repositoryUrl = `${ACCOUNT_REGISTRY}/${args.inputs.name}`;
            state.registryId = '123456789012';
            break;
          case 'eks:index:Cluster':
            state.kubeconfigJson = EKS_KUBECONFIG;
            state.kubeconfig = JSON.parse(EKS_KUBECONFIG);
            break;
          case 'kubernetes:core/v1:Service':
            state.status = { loadBalancer: { ingress: [{ hostname: LB_HOSTNAME }] } };
            break;
        }
        const id = args.id || `${args.name}-id`;
        if (entry) (entry as { id?: string }).id = id;
        return { id, state };
      },
      call(args) {
        if (args.token === 'aws:ecr/getAuthorizationToken:getAuthorizationToken')
          return { userName: 'AWS', password: 'ecr-token-123', proxyEndpoint: `https://${ACCOUNT_REGISTRY}` };
        return {};
      },
    },
    PROJECT,
    stack,
    false,
  );
  return registered;
}

/** An alias as the engine receives it (only the fields the stacks set). */
export interface AliasSpec {
  readonly name?: string;
  readonly type?: string;
}

interface MockRequest {
  getAliasesList(): { toObject(): { spec?: AliasSpec } }[];
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getDependenciesList(): string[];
  getAdditionalsecretoutputsList(): string[];
}

/** Resolves an Output's value (mocks resolve everything). */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply((v) => resolve(v)));
}

/** The value inside a secret the mock monitor received; fails when the value was not a secret. */
export function secretValue<T = unknown>(v: unknown): T {
  const o = v as Record<string, unknown> | undefined;
  if (o?.[pulumi.runtime.specialSigKey] !== pulumi.runtime.specialSecretSig)
    throw new Error(`expected a secret, got ${JSON.stringify(v)}`);
  return o.value as T;
}

/** Lets pending registrations finish. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

export function byType(registered: readonly Registered[], type: string): Registered[] {
  return registered.filter((r) => r.type === type);
}

export function one(registered: readonly Registered[], type: string, name: string): Registered {
  const found = registered.filter((r) => r.type === type && r.name === name);
  if (found.length !== 1) {
    const have = registered.map((r) => `${r.type} ${r.name}`).join('\n  ');
    throw new Error(`expected one ${type} ${name}, found ${found.length} among:\n  ${have}`);
  }
  return found[0];
}

/** The Helm release of that Helm release name. */
export function release(registered: readonly Registered[], releaseName: string): Registered {
  const found = byType(registered, 'kubernetes:helm.sh/v3:Release').filter(
    (r) => r.inputs?.name === releaseName,
  );
  if (found.length !== 1) throw new Error(`expected one Helm release ${releaseName}, found ${found.length}`);
  return found[0];
}
