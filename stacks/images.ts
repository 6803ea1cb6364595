/**
 * The images of the stack's apps. Each image an app builds from a Dockerfile
 * (`ImageSource.fromDockerfile`) becomes one @pulumi/docker image `<app>-<key>`, tagged by the
 * content of its inputs; images given by reference (`ImageSource.fromReference`) are used as given
 * and never built. On kind the built images stay local and `kind load docker-image` copies them into
 * the nodes whenever the image ID changes or the cluster is created anew; elsewhere they are pushed
 * (ECR, one repository per environment and image, or a registry whose password is a Pulumi secret)
 * and referenced by digest.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type * as aws from '@pulumi/aws';
import type * as command from '@pulumi/command';
import type * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { DockerfileImage, ReferenceImage, type ImageSource } from '../constructs/index.js';
import { shellQuote } from './cluster.js';
import { type EnvironmentName, PROJECT } from './environments.js';
import { optionalPeer } from './peers.js';

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
   * One ECR repository per environment and image (`mesh-kit-<environment>/<app>-<key>`), with the
   * account's short-lived token (a secret) to push.
   */
  | { readonly type: 'ecr' }
  /** A registry of your own: images go to `<server>/<app>-<key>`. */
  | {
      readonly type: 'generic';
      readonly server: pulumi.Input<string>;
      readonly username: pulumi.Input<string>;
      readonly password: pulumi.Input<string>;
    };

/** One app's images, by key (its definition's `images`). */
export interface AppImageSources {
  /** The app's name, the prefix of its image names. */
  readonly app: string;
  readonly images: Readonly<Record<string, ImageSource>>;
}

export interface ServiceImagesArgs {
  /**
   * The stack's environment. ECR repository names are unique per account and region, and staging
   * and prod may share both, so each environment gets its own repositories.
   */
  readonly environment: EnvironmentName;
  /** The apps whose images the stack runs. */
  readonly apps: readonly AppImageSources[];
  /** The project root (Pulumi.yaml's folder): image contexts are relative to it. */
  readonly root: string;
  readonly registry: ImageRegistry;
  /** Build platform, e.g. linux/amd64. @default the Docker host's */
  readonly platform?: string;
}

/** Folders no build input includes: dependencies, build output, git's own. */
const SKIPPED = new Set(['node_modules', 'dist', '.git']);

/**
 * A short content hash of one image's build: its inputs (files and folders of the context; the whole
 * context when it lists none), without node_modules, dist and .git, plus its Dockerfile, build
 * arguments and target. Equal sources give equal tags; any change gives a new tag.
 * @param root the project root the image's context is relative to
 * @param where who asks, for errors: e.g. `app "orders" image "api"`
 */
export function contentTag(root: string, image: DockerfileImage, where = 'image'): string {
  const context = resolve(root, image.context);
  if (!existsSync(context) || !statSync(context).isDirectory())
    throw new Error(
      `${where}: build context ${image.context} is not a folder under ${root}; give ImageSource.fromDockerfile a context relative to the project root (where Pulumi.yaml is)`,
    );
  const files = new Set<string>();
  const walk = (path: string) => {
    if (statSync(path).isDirectory()) {
      for (const entry of readdirSync(path, { withFileTypes: true })) {
        if (SKIPPED.has(entry.name)) continue;
        if (entry.isDirectory() || entry.isFile()) walk(join(path, entry.name));
      }
    } else files.add(path);
  };
  for (const input of image.inputs ?? ['.']) {
    const path = resolve(context, input);
    if (!existsSync(path))
      throw new Error(
        `${where}: input ${input} does not exist in the build context ${image.context}; list the files and folders its Dockerfile copies, relative to the context`,
      );
    walk(path);
  }
  const dockerfile = resolve(context, image.dockerfile);
  if (!existsSync(dockerfile))
    throw new Error(
      `${where}: Dockerfile ${image.dockerfile} does not exist in the build context ${image.context}; give its path relative to the context`,
    );
  files.add(dockerfile);
  const hash = createHash('sha256');
  const rel = (file: string) => relative(context, file).split('\\').join('/');
  for (const file of [...files].sort((a, b) => rel(a).localeCompare(rel(b)))) {
    hash.update(rel(file));
    hash.update('\0');
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  hash.update(JSON.stringify({ args: Object.entries(image.args).sort(), target: image.target ?? null }));
  return hash.digest('hex').slice(0, 12);
}

/** An image's name in its registry: `<app>-<key>`. */
export function imageName(app: string, key: string): string {
  return `${app}-${key}`;
}

/** The ECR repository of an image in an environment: `mesh-kit-<environment>/<app>-<key>`. */
export function ecrRepositoryName(environment: EnvironmentName, app: string, key: string): string {
  return `${PROJECT}-${environment}/${imageName(app, key)}`;
}

/**
 * Builds, tags and ships every Dockerfile image of the stack's apps; `refs` are what the
 * Deployments should run, references included.
 */
export class ServiceImages extends pulumi.ComponentResource {
  /** The built images, by app, then key. */
  public readonly images: Readonly<Record<string, Readonly<Record<string, docker.Image>>>>;
  /** Content tag of each built image, by app, then key. */
  public readonly tags: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /**
   * Image reference per app and key: `<repo>:<tag>` on kind, `<repo>@sha256:<digest>` when pushed,
   * the reference itself for images built elsewhere.
   */
  public readonly refs: pulumi.Output<Record<string, Record<string, string>>>;
  /** The `kind load docker-image` commands (kind only), by app, then key. */
  public readonly loads: Readonly<Record<string, Readonly<Record<string, command.local.Command>>>>;
  public readonly repositories: Readonly<Record<string, Readonly<Record<string, aws.ecr.Repository>>>>;

  constructor(name: string, args: ServiceImagesArgs, opts?: pulumi.ComponentResourceOptions) {
    super('meshkit:images:ServiceImages', name, {}, opts);
    const child = { parent: this };
    const images: Record<string, Record<string, docker.Image>> = {};
    const tags: Record<string, Record<string, string>> = {};
    const loads: Record<string, Record<string, command.local.Command>> = {};
    const repositories: Record<string, Record<string, aws.ecr.Repository>> = {};
    const refs: Record<string, Record<string, pulumi.Input<string>>> = {};
    const reg = args.registry;

    // Resources were named `<name>-<key>` while a stack ran one app: a key no other app of the
    // stack uses keeps that name as an alias, so its image and ECR repository stay in place.
    const keyCount = new Map<string, number>();
    for (const a of args.apps)
      for (const [key, source] of Object.entries(a.images))
        if (source instanceof DockerfileImage) keyCount.set(key, (keyCount.get(key) ?? 0) + 1);

    for (const a of args.apps) {
      refs[a.app] = {};
      for (const [key, source] of Object.entries(a.images)) {
        if (source instanceof ReferenceImage) {
          refs[a.app][key] = source.reference;
          continue;
        }
        if (!(source instanceof DockerfileImage)) continue;
        const where = `app "${a.app}" image "${key}"`;
        const resource = `${name}-${a.app}-${key}`;
        const aliased = (suffix = '') =>
          keyCount.get(key) === 1 ? { aliases: [{ name: `${name}-${key}${suffix}` }] } : {};
        const tag = contentTag(args.root, source, where);
        (tags[a.app] ??= {})[key] = tag;
        const image = imageName(a.app, key);
        let repository: pulumi.Input<string>;
        let registry: docker.types.input.Registry | undefined;
        if (reg.type === 'kind') {
          repository = `${reg.repository}/${image}`;
        } else if (reg.type === 'ecr') {
          const { ecr } = optionalPeer('@pulumi/aws', 'ServiceImages (registry "ecr")');
          const repo = new ecr.Repository(
            resource,
            {
              name: ecrRepositoryName(args.environment, a.app, key),
              // MUTABLE on purpose: @pulumi/docker builds and pushes again whenever its inputs
              // change, and on every fresh CI runner, under the same content tag; an IMMUTABLE
              // repository rejects that push and fails the deploy. Nothing is lost: the
              // Deployments run the image by digest (`refs`), not by tag.
              imageTagMutability: 'MUTABLE',
              // Only this environment's repository: another stack's images are never deleted with it.
              forceDelete: true,
              imageScanningConfiguration: { scanOnPush: true },
            },
            { ...child, ...aliased() },
          );
          (repositories[a.app] ??= {})[key] = repo;
          const token = ecr.getAuthorizationTokenOutput({ registryId: repo.registryId }, child);
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
        // Paths relative to the working directory (the project root under Pulumi), so the state is
        // the same on every machine.
        const contextPath = isAbsolute(source.context)
          ? source.context
          : relative(process.cwd(), resolve(args.root, source.context)) || '.';
        const { Image } = optionalPeer('@pulumi/docker', 'ServiceImages (images built from a Dockerfile)');
        const built = new Image(
          resource,
          {
            imageName: pulumi.interpolate`${repository}:${tag}`,
            build: {
              context: contextPath,
              dockerfile: join(contextPath, source.dockerfile),
              platform: args.platform,
              ...(Object.keys(source.args).length > 0 && { args: { ...source.args } }),
              ...(source.target !== undefined && { target: source.target }),
            },
            skipPush: reg.type === 'kind',
            registry,
          },
          { ...child, ...aliased() },
        );
        (images[a.app] ??= {})[key] = built;
        if (reg.type === 'kind') {
          // The node's containerd gets the image under the same name; IfNotPresent pods then use
          // it. Loaded again when the image changes (its digest) and when the cluster is replaced
          // (the create command's ID is new), since a new kind node starts without the images.
          const { local } = optionalPeer('@pulumi/command', 'ServiceImages (registry "kind")');
          (loads[a.app] ??= {})[key] = new local.Command(
            `${resource}-load`,
            {
              create: pulumi.interpolate`kind load docker-image ${built.imageName} --name ${pulumi.output(reg.clusterName).apply(shellQuote)}`,
              triggers: [built.repoDigest, reg.cluster.id],
            },
            { ...child, ...aliased('-load'), dependsOn: [reg.cluster, built] },
          );
          refs[a.app][key] = built.imageName;
        } else {
          refs[a.app][key] = built.repoDigest;
        }
      }
    }
    this.images = images;
    this.tags = tags;
    this.loads = loads;
    this.repositories = repositories;
    this.refs = pulumi.output(refs) as pulumi.Output<Record<string, Record<string, string>>>;
    this.registerOutputs({ refs: this.refs, tags: this.tags });
  }
}
