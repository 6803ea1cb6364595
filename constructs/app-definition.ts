/**
 * What an app is to the tools and the stacks: a name, the variants it synthesizes in, how one
 * variant's charts are built, and the images its services run. `npm run synth`, `diff`, `graph`,
 * `cdk8s synth` and the Pulumi stacks all read apps through this one shape, so an app a team
 * writes is deployed exactly like the samples.
 */
import { isAbsolute } from 'node:path';
import type { App } from 'cdk8s';
import type { DataPlane } from './mesh-namespace.js';
import { Construct } from 'constructs';
import { closestKey, describe } from './input.js';
import { refuseArgument } from './describe-value.js';
import { isDnsLabel } from './k8s-names.js';

/**
 * Refuses an option the definition does not know: a JavaScript caller's or a JSON file's typo
 * (`defaultVarient`, `dockerFile`) would otherwise be dropped and the default silently used.
 */
function refuseUnknownOptions(where: string, props: object, known: readonly string[]): void {
  for (const key of Object.keys(props)) {
    if (known.includes(key)) continue;
    const closest = closestKey(key, known);
    throw new Error(
      `${where}: ${key} is not a known option; ${closest ? `did you mean ${closest}?` : `the options are ${known.join(', ')}`}`,
    );
  }
}

/** A value in a message: a string as written, anything else in words (never `"5"` for the number 5). */
function named(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : describe(value);
}

/** Where a service's image comes from: built from a Dockerfile, or a reference built elsewhere. */
export abstract class ImageSource {
  /**
   * An image the stacks build with Docker (and push, or load into kind).
   * @param props the build context and Dockerfile, relative to the project root (where
   * Pulumi.yaml is) unless absolute
   */
  public static fromDockerfile(props: DockerfileImageProps): DockerfileImage {
    return new DockerfileImage(props);
  }

  /** An image built elsewhere, used as given, e.g. `docker.io/istio/examples-bookinfo-ratings-v1:1.20.3`. */
  public static fromReference(reference: string): ReferenceImage {
    return new ReferenceImage(reference);
  }

  public abstract readonly kind: 'dockerfile' | 'reference';
}

export interface DockerfileImageProps {
  /** The build context, relative to the project root unless absolute, e.g. `services`. */
  readonly context: string;
  /**
   * The Dockerfile, relative to the context.
   * @default "Dockerfile"
   */
  readonly dockerfile?: string;
  /**
   * Files and folders of the context whose content tags the image (relative to the context): a
   * change to anything else does not rebuild it. Shared contexts list what each image copies.
   * @default the whole context, without node_modules, dist and .git
   */
  readonly inputs?: readonly string[];
  /**
   * Build arguments (`--build-arg`).
   * @default none
   */
  readonly args?: Readonly<Record<string, string>>;
  /**
   * The target stage of a multi-stage Dockerfile.
   * @default the last stage
   */
  readonly target?: string;
}

export class DockerfileImage extends ImageSource {
  public readonly kind = 'dockerfile' as const;
  public readonly context: string;
  public readonly dockerfile: string;
  public readonly inputs?: readonly string[];
  public readonly args: Readonly<Record<string, string>>;
  public readonly target?: string;

  constructor(props: DockerfileImageProps) {
    super();
    const where = 'ImageSource.fromDockerfile';
    if (typeof props !== 'object' || props === null || Array.isArray(props))
      refuseArgument(where, 'props', props, 'an object', 'pass e.g. { context: "services" }');
    refuseUnknownOptions(where, props, ['context', 'dockerfile', 'inputs', 'args', 'target']);
    if (typeof props.context !== 'string')
      refuseArgument(where, 'context', props.context, 'a string', 'give the build context, e.g. "services"');
    if (props.context.trim() === '') {
      throw new Error(`${where}: context is empty; give the build context, e.g. "services"`);
    }
    if (props.dockerfile !== undefined && typeof props.dockerfile !== 'string') {
      throw new Error(
        `${where}: dockerfile: expected a string, got ${describe(props.dockerfile)}; give the Dockerfile's path relative to the context, or leave it out for "Dockerfile"`,
      );
    }
    if (props.dockerfile !== undefined && props.dockerfile.trim() === '') {
      throw new Error(
        `${where}: dockerfile is empty; give the Dockerfile's path relative to the context, or leave it out for "Dockerfile"`,
      );
    }
    if (props.inputs !== undefined) {
      // An empty list would tag every build alike, so no change would ever rebuild the image.
      if (!Array.isArray(props.inputs) || props.inputs.length === 0) {
        throw new Error(
          `${where}: inputs is empty, so no change would rebuild the image; list what the Dockerfile copies, or leave it out for the whole context`,
        );
      }
      props.inputs.forEach((input: unknown, i) => {
        if (
          typeof input !== 'string' ||
          input.trim() === '' ||
          isAbsolute(input) ||
          input.split(/[\\/]/).includes('..')
        ) {
          throw new Error(
            `${where}: inputs[${i}] ${named(input)} is not a path inside the context; write it relative to the context, without ".."`,
          );
        }
      });
    }
    if (
      props.args !== undefined &&
      (typeof props.args !== 'object' || props.args === null || Array.isArray(props.args))
    ) {
      throw new Error(
        `${where}: args is not a map of build argument names to values; write e.g. { NODE_VERSION: "22" }`,
      );
    }
    for (const [name, value] of Object.entries(props.args ?? {})) {
      // `--build-arg NAME=value` reaches the build only through an `ARG NAME` line, whose name ends
      // at the first space or "=" (https://docs.docker.com/reference/dockerfile/#arg): a name with
      // either, or none, is never consumed, and the build runs with the default without a word.
      if (name === '' || /[\s=]/.test(name)) {
        throw new Error(
          `${where}: args key ${JSON.stringify(name)} is not a build argument name, so no ARG line can receive it; use letters, digits and "_", e.g. "NODE_VERSION"`,
        );
      }
      if (typeof value !== 'string') {
        throw new Error(
          `${where}: args.${name} is not a string; build arguments are strings, e.g. "${typeof value === 'number' || typeof value === 'boolean' ? value : '22'}"`,
        );
      }
    }
    // BuildKit's stage names: a letter, then letters, digits, "-", "_" and ".".
    if (
      props.target !== undefined &&
      (typeof props.target !== 'string' || !/^[a-zA-Z][a-zA-Z0-9_.-]*$/.test(props.target))
    ) {
      throw new Error(
        `${where}: target ${named(props.target)} is not a build stage name; give the name after AS in the Dockerfile's FROM line, e.g. "runtime"`,
      );
    }
    this.context = props.context;
    this.dockerfile = props.dockerfile ?? 'Dockerfile';
    this.inputs = props.inputs && Object.freeze([...props.inputs]);
    this.args = Object.freeze({ ...(props.args ?? {}) });
    this.target = props.target;
  }
}

/**
 * A reference as `docker pull` reads it: `[registry/]path[:tag][@sha256:<64 hex>]`, lower-case
 * path components (distribution/reference's grammar, simplified to what Kubernetes accepts).
 */
const IMAGE_REFERENCE =
  /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$/;

export class ReferenceImage extends ImageSource {
  public readonly kind = 'reference' as const;

  constructor(public readonly reference: string) {
    super();
    if (typeof reference !== 'string')
      refuseArgument(
        'ImageSource.fromReference',
        'reference',
        reference,
        'a string',
        'pass an image reference, e.g. "docker.io/istio/examples-bookinfo-ratings-v1:1.20.3"',
      );
    if (!IMAGE_REFERENCE.test(reference)) {
      throw new Error(
        `ImageSource.fromReference: "${String(reference)}" is not an image reference; write [registry/]name[:tag][@sha256:digest], e.g. docker.io/istio/examples-bookinfo-ratings-v1:1.20.3`,
      );
    }
  }
}

/** What a stack (or a tool) hands an app when it builds one variant. */
export interface AppBuildOptions {
  /**
   * Image reference per image key of the app's `images`, replacing the chart's own defaults (the
   * Pulumi stacks pass what they built, by digest).
   * @default the chart's own references
   */
  readonly images?: Readonly<Record<string, string>>;
  /**
   * The data plane the cluster runs, for apps that can run either.
   * @default the app's own choice
   */
  readonly dataPlane?: DataPlane;
}

export interface MeshAppProps {
  /** The app's name: `--app <name>` on the command line, a DNS label. */
  readonly name: string;
  /** One line for `--help` and the docs. @default none */
  readonly description?: string;
  /**
   * What a variant is called on the command line: `--env` (environments) or `--scenario`.
   * @default "env"
   */
  readonly variantFlag?: 'env' | 'scenario';
  /** Every variant the app synthesizes in, e.g. `["dev", "staging", "prod"]`. */
  readonly variants: readonly string[];
  /**
   * The variant `cdk8s synth` and a stack without one use.
   * @default the first variant
   */
  readonly defaultVariant?: string;
  /**
   * The images the app's services run, by key (the keys of `AppBuildOptions.images`). Images from
   * a Dockerfile are built by the stacks; references are used as given.
   * @default none
   */
  readonly images?: Readonly<Record<string, ImageSource>>;
  /** Adds the app's chart(s) for one variant to `app`. */
  build(app: App, variant: string, options: AppBuildOptions): void;
}

/** A registered app. Build one with `MeshAppDefinition.define({...})`. */
export class MeshAppDefinition {
  /**
   * Checks and freezes an app's definition: the name a DNS label, variants unique DNS labels,
   * the default one of them, image keys DNS labels.
   */
  public static define(props: MeshAppProps): MeshAppDefinition {
    return new MeshAppDefinition(props);
  }

  public readonly name: string;
  public readonly description?: string;
  public readonly variantFlag: 'env' | 'scenario';
  public readonly variants: readonly string[];
  public readonly defaultVariant: string;
  public readonly images: Readonly<Record<string, ImageSource>>;
  private readonly builder: MeshAppProps['build'];

  private constructor(props: MeshAppProps) {
    if (typeof props !== 'object' || props === null || Array.isArray(props))
      refuseArgument(
        'MeshAppDefinition.define',
        'props',
        props,
        'an object',
        'pass e.g. { name: "orders", variants: ["dev"], build: (app, variant) => new OrdersChart(app, "orders") }',
      );
    if (typeof props.name !== 'string')
      refuseArgument(
        'MeshAppDefinition.define',
        'name',
        props.name,
        'a string',
        'give a DNS label, e.g. "orders"',
      );
    const where = `app "${props.name}"`;
    if (!isDnsLabel(props.name)) {
      throw new Error(
        `${where}: name is not a DNS label; use at most 63 lower-case letters, digits and "-", e.g. "orders"`,
      );
    }
    refuseUnknownOptions(where, props, [
      'name',
      'description',
      'variantFlag',
      'variants',
      'defaultVariant',
      'images',
      'build',
    ]);
    if (props.description !== undefined && typeof props.description !== 'string') {
      throw new Error(`${where}: description is not a string; write one line for --help, or leave it out`);
    }
    // The tools offer exactly these two options (tools/mesh/variants.ts).
    if (props.variantFlag !== undefined && props.variantFlag !== 'env' && props.variantFlag !== 'scenario') {
      throw new Error(
        `${where}: variantFlag ${named(props.variantFlag)} is neither "env" nor "scenario"; use one of them, or leave it out for "env"`,
      );
    }
    if (props.variants === undefined) {
      throw new Error(
        `${where}: variants: is required but missing; list the variants it synthesizes in, e.g. ["dev", "prod"]`,
      );
    }
    if (!Array.isArray(props.variants) || props.variants.length === 0) {
      throw new Error(
        `${where}: variants is empty; list the variants it synthesizes in, e.g. ["dev", "prod"]`,
      );
    }
    const seen = new Set<string>();
    for (const v of props.variants) {
      if (typeof v !== 'string' || !isDnsLabel(v)) {
        throw new Error(
          `${where}: variant ${named(v)} is not a DNS label; use lower-case letters, digits and "-"`,
        );
      }
      if (seen.has(v)) throw new Error(`${where}: variant "${v}" is listed twice; list each variant once`);
      seen.add(v);
    }
    const defaultVariant = props.defaultVariant ?? props.variants[0]!;
    if (!seen.has(defaultVariant)) {
      throw new Error(
        `${where}: defaultVariant ${named(defaultVariant)} is not one of its variants; use one of ${props.variants.join(', ')}`,
      );
    }
    if (
      props.images !== undefined &&
      (typeof props.images !== 'object' || props.images === null || Array.isArray(props.images))
    ) {
      throw new Error(
        `${where}: images is not a map of image key to ImageSource; write e.g. { web: ImageSource.fromDockerfile({ context: "apps/web" }) }`,
      );
    }
    for (const [key, source] of Object.entries(props.images ?? {})) {
      if (!isDnsLabel(key)) {
        throw new Error(`${where}: image key "${key}" is not a DNS label; name images after their service`);
      }
      if (!(source instanceof ImageSource)) {
        throw new Error(
          `${where}: images.${key} is not an ImageSource; use ImageSource.fromDockerfile({...}) or ImageSource.fromReference("...")`,
        );
      }
    }
    if (typeof props.build !== 'function')
      refuseArgument(
        where,
        'build',
        props.build,
        'a function',
        'give (app, variant, options) => new YourChart(app, ...)',
      );
    this.name = props.name;
    this.description = props.description;
    this.variantFlag = props.variantFlag ?? 'env';
    this.variants = Object.freeze([...props.variants]);
    this.defaultVariant = defaultVariant;
    this.images = Object.freeze({ ...(props.images ?? {}) });
    this.builder = props.build;
  }

  /** Adds one variant's chart(s) to `app`; refuses a variant the app does not have. */
  public build(app: App, variant: string = this.defaultVariant, options: AppBuildOptions = {}): void {
    if (typeof variant !== 'string') {
      throw new Error(
        `app "${this.name}": build: variant: expected a string, got ${describe(variant)}; pass one of ${this.variants.join(', ')}, or leave it out for ${this.defaultVariant}`,
      );
    }
    // The app's own build would fail inside its chart with a bare TypeError on anything else.
    if (!Construct.isConstruct(app) || app.node.scope !== undefined) {
      throw new Error(
        `app "${this.name}": build: expected a cdk8s App (new App()), got ${describe(app)}; pass the App the charts are added to`,
      );
    }
    if (!this.variants.includes(variant)) {
      throw new Error(
        `app "${this.name}": unknown ${this.variantFlag} "${variant}"; use one of ${this.variants.join(', ')}`,
      );
    }
    this.builder(app, variant, options);
  }
}

/** Refuses an app name that is not a string: a lookup by anything else finds nothing, for no reason the caller sees. */
function appName(method: string, name: unknown): void {
  if (typeof name !== 'string')
    refuseArgument(`AppRegistry.${method}`, 'name', name, 'a string', 'pass an app\'s name, e.g. "shop"');
}

/** The apps a project knows, by name; the tools and the stacks look apps up here. */
export class AppRegistry {
  private readonly byName = new Map<string, MeshAppDefinition>();

  constructor(apps: readonly MeshAppDefinition[] = []) {
    if (!Array.isArray(apps)) {
      throw new Error(
        'AppRegistry: apps is not a list; pass a list of apps, e.g. new AppRegistry([SHOP_APP])',
      );
    }
    for (const app of apps) this.register(app);
  }

  /** Adds an app; a second app of the same name is refused. */
  public register(app: MeshAppDefinition): this {
    if (!(app instanceof MeshAppDefinition)) {
      throw new Error('AppRegistry.register: not an app; build it with MeshAppDefinition.define({...})');
    }
    if (this.byName.has(app.name)) {
      throw new Error(`AppRegistry: app "${app.name}" is registered twice; give each app its own name`);
    }
    this.byName.set(app.name, app);
    return this;
  }

  public get apps(): readonly MeshAppDefinition[] {
    return [...this.byName.values()];
  }

  public find(name: string): MeshAppDefinition | undefined {
    appName('find', name);
    return this.byName.get(name);
  }

  /** The app of that name, or an error listing the registered ones. */
  public get(name: string): MeshAppDefinition {
    appName('get', name);
    const app = this.byName.get(name);
    if (!app) {
      throw new Error(
        `unknown app "${name}"; registered apps: ${[...this.byName.keys()].join(', ') || 'none'}`,
      );
    }
    return app;
  }
}
