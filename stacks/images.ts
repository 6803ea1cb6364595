/**
 * The shop's images: one @pulumi/docker image per service, built from services/<name>/Dockerfile with
 * services/ as the build context and tagged by the content of what its Dockerfile copies. On kind the
 * images stay local and `kind load docker-image` copies them into the nodes whenever the image ID
 * changes or the cluster is created anew; elsewhere they are pushed (ECR, one repository per
 * environment and service, or a registry whose password is a Pulumi secret) and referenced by digest.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as aws from '@pulumi/aws';
import * as command from '@pulumi/command';
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import type { ShopService } from '../charts/shop.js';
import { shellQuote } from './cluster.js';
import { PROJECT, type EnvironmentName } from './config.js';

export type ImageRegistry =
  /** Local images loaded into the nodes of a kind cluster; `repository` prefixes the image names. */
  | {
      readonly type: 'kind';
      readonly clusterName: pulumi.Input<string>;
      readonly repository: string;
      /**
       * The kind cluster's create command: images are loaded after it, and loaded again whenever it
       * is replaced (a new cluster has empty nodes).
       */
      readonly cluster: command.local.Command;
    }
  /**
   * One ECR repository per environment and service (`mesh-kit-<environment>/shop-<service>`), with
   * the account's short-lived token (a secret) to push.
   */
  | { readonly type: 'ecr' }
  /** A registry of your own: images go to `<server>/shop-<service>`. */
  | {
      readonly type: 'generic';
      readonly server: pulumi.Input<string>;
      readonly username: pulumi.Input<string>;
      readonly password: pulumi.Input<string>;
    };

export interface ServiceImagesArgs {
  /**
   * The stack's environment. ECR repository names are unique per account and region, and staging
   * and prod may share both, so each environment gets its own repositories.
   */
  readonly environment: EnvironmentName;
  readonly services: readonly ShopService[];
  /** The build context, services/ (its <service>/Dockerfile is built). */
  readonly context: string;
  readonly registry: ImageRegistry;
  /** Build platform, e.g. linux/amd64. @default the Docker host's */
  readonly platform?: string;
}

/**
 * A short content hash of one service's build inputs: the context's top-level files (package.json,
 * package-lock.json, tsconfig.json, ...), shared/ and the service's own folder; node_modules and
 * build output are left out. Equal sources give equal tags; any change gives a new tag.
 */
export function contentTag(context: string, service: string): string {
  const hash = createHash('sha256');
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      if (entry.name === 'node_modules' || entry.name === 'dist') continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) files.push(path);
    }
  };
  for (const entry of readdirSync(context).sort()) {
    const path = join(context, entry);
    if (statSync(path).isFile()) files.push(path);
  }
  for (const dir of ['shared', service]) walk(join(context, dir));
  for (const file of files) {
    hash.update(relative(context, file).split('\\').join('/'));
    hash.update('\0');
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 12);
}

/** The ECR repository of a service in an environment: `mesh-kit-<environment>/shop-<service>`. */
export function ecrRepositoryName(environment: EnvironmentName, service: string): string {
  return `${PROJECT}-${environment}/shop-${service}`;
}

/** Builds, tags and ships every service image; `refs` are what the Deployments should run. */
export class ServiceImages extends pulumi.ComponentResource {
  public readonly images: Readonly<Record<string, docker.Image>>;
  /** Content tag of each service. */
  public readonly tags: Readonly<Record<string, string>>;
  /** Image reference per service: `<repo>:<tag>` on kind, `<repo>@sha256:<digest>` when pushed. */
  public readonly refs: pulumi.Output<Record<string, string>>;
  /** The `kind load docker-image` commands (kind only). */
  public readonly loads: Readonly<Record<string, command.local.Command>>;
  public readonly repositories: Readonly<Record<string, aws.ecr.Repository>>;

  constructor(name: string, args: ServiceImagesArgs, opts?: pulumi.ComponentResourceOptions) {
    super('meshkit:images:ServiceImages', name, {}, opts);
    const child = { parent: this };
    const images: Record<string, docker.Image> = {};
    const tags: Record<string, string> = {};
    const loads: Record<string, command.local.Command> = {};
    const repositories: Record<string, aws.ecr.Repository> = {};
    const refs: Record<string, pulumi.Output<string>> = {};
    const reg = args.registry;
    // Paths relative to the working directory (the project root under Pulumi), so the state is the
    // same on every machine.
    const context = relative(process.cwd(), args.context) || '.';

    for (const service of args.services) {
      const tag = contentTag(args.context, service);
      tags[service] = tag;
      const image = `shop-${service}`;
      let repository: pulumi.Input<string>;
      let registry: docker.types.input.Registry | undefined;
      if (reg.type === 'kind') {
        repository = `${reg.repository}/${image}`;
      } else if (reg.type === 'ecr') {
        const repo = new aws.ecr.Repository(
          `${name}-${service}`,
          {
            name: ecrRepositoryName(args.environment, service),
            // MUTABLE on purpose: @pulumi/docker builds and pushes again whenever anything in the
            // build context (all of services/) changes, and on every fresh CI runner, under the same
            // content tag; an IMMUTABLE repository rejects that push and fails the deploy. Nothing
            // is lost: the Deployments run the image by digest (`refs`), not by tag.
            imageTagMutability: 'MUTABLE',
            // Only this environment's repository: another stack's images are never deleted with it.
            forceDelete: true,
            imageScanningConfiguration: { scanOnPush: true },
          },
          child,
        );
        repositories[service] = repo;
        const token = aws.ecr.getAuthorizationTokenOutput({ registryId: repo.registryId }, child);
        repository = repo.repositoryUrl;
        registry = {
          server: repo.repositoryUrl,
          username: token.userName,
          password: pulumi.secret(token.password),
        };
      } else {
        repository = pulumi.interpolate`${reg.server}/${image}`;
        registry = { server: reg.server, username: reg.username, password: pulumi.secret(reg.password) };
      }
      const built = new docker.Image(
        `${name}-${service}`,
        {
          imageName: pulumi.interpolate`${repository}:${tag}`,
          build: {
            context,
            dockerfile: join(context, service, 'Dockerfile'),
            platform: args.platform,
          },
          skipPush: reg.type === 'kind',
          registry,
        },
        child,
      );
      images[service] = built;
      if (reg.type === 'kind') {
        // The node's containerd gets the image under the same name; IfNotPresent pods then use it.
        // Loaded again when the image changes (its digest) and when the cluster is replaced (the
        // create command's ID is new), since a new kind node starts without the images.
        loads[service] = new command.local.Command(
          `${name}-${service}-load`,
          {
            create: pulumi.interpolate`kind load docker-image ${built.imageName} --name ${pulumi.output(reg.clusterName).apply(shellQuote)}`,
            triggers: [built.repoDigest, reg.cluster.id],
          },
          { ...child, dependsOn: [reg.cluster, built] },
        );
        refs[service] = built.imageName;
      } else {
        refs[service] = built.repoDigest;
      }
    }
    this.images = images;
    this.tags = tags;
    this.loads = loads;
    this.repositories = repositories;
    this.refs = pulumi.output(refs);
    this.registerOutputs({ refs: this.refs, tags: this.tags });
  }
}
