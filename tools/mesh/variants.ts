/**
 * Which sample apps and variants a tool works on (the --app, --env and --scenario options of
 * `npm run synth`), and synthesizing them in-process from this checkout's charts.
 */
import { App } from 'cdk8s';
import { APPS } from '../../charts/index.js';
import type { MeshAppDefinition } from '../../constructs/index.js';
import { renderObjects } from '../../constructs/render.js';
import type { Manifest } from './manifest.js';
import { UsageError, type Variant, type VariantOptions } from './options.js';

// The light part, for the tools' existing imports; a tool's command-line front imports options.js.
export {
  UsageError,
  VARIANT_OPTIONS,
  type Variant,
  type VariantOptions,
  variantKey,
  variantLabel,
} from './options.js';

/** What was asked for: everything, one app with all its variants, or one app and one variant. */
export interface Selection {
  readonly app?: MeshAppDefinition;
  readonly variant?: string;
  /** The chosen variants as this checkout knows them. */
  readonly variants: readonly Variant[];
}

export function select(options: VariantOptions, requireApp = false): Selection {
  if (options.app === undefined) {
    if (requireApp) throw new UsageError('--app is required');
    if (options.env !== undefined || options.scenario !== undefined) {
      throw new UsageError('--env and --scenario need --app');
    }
    return { variants: APPS.apps.flatMap((a) => variantsOf(a)) };
  }
  const app = APPS.apps.find((a) => a.name === options.app);
  if (!app) {
    throw new UsageError(
      `unknown app "${options.app}"; use one of ${APPS.apps.map((a) => a.name).join(', ')}`,
    );
  }
  const other = app.variantFlag === 'env' ? 'scenario' : 'env';
  if (options[other] !== undefined) {
    throw new UsageError(`app "${app.name}" takes --${app.variantFlag}, not --${other}`);
  }
  const chosen = options[app.variantFlag];
  if (chosen === undefined) return { app, variants: variantsOf(app) };
  if (!app.variants.includes(chosen)) {
    throw new UsageError(
      `unknown ${app.variantFlag} "${chosen}" for app "${app.name}"; use one of ${app.variants.join(', ')}`,
    );
  }
  return { app, variant: chosen, variants: [{ app: app.name, flag: app.variantFlag, variant: chosen }] };
}

function variantsOf(app: MeshAppDefinition): Variant[] {
  return app.variants.map((variant) => ({ app: app.name, flag: app.variantFlag, variant }));
}

/** The flag of an app's variants as this checkout knows it ("variant" for unknown apps). */
export function variantFlag(app: string): string {
  return APPS.apps.find((a) => a.name === app)?.variantFlag ?? 'variant';
}

/** Synthesizes one variant of this checkout's charts in-process, as `npm run synth` writes it. */
export function synthesizeInProcess(v: { app: string; variant: string }): Manifest[] {
  const sample = APPS.apps.find((a) => a.name === v.app);
  if (!sample) throw new UsageError(`unknown app "${v.app}"`);
  const app = new App();
  sample.build(app, v.variant);
  // The same validated objects `npm run synth` serializes; no need to write and re-read the YAML.
  return renderObjects(app) as Manifest[];
}
