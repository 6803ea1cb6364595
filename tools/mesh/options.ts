/**
 * The --app, --env and --scenario options every tool takes, and the error a tool answers with its
 * usage. Kept apart from variants.ts, which loads the chart registry (and with it cdk8s, the Istio
 * classes and the admission schemas): a tool parses and checks its command line with this module
 * alone, so that --help, a mistyped option or a refused --out answer at once instead of after half
 * a second of loading charts (and the tests, which spawn the tools many times, do not pay for it).
 */

export interface Variant {
  readonly app: string;
  /** "env" or "scenario" (or "variant" for an app this checkout does not know). */
  readonly flag: string;
  readonly variant: string;
}

/** "shop/dev": how variants are keyed. */
export function variantKey(v: { app: string; variant: string }): string {
  return `${v.app}/${v.variant}`;
}

/** "shop env=dev", for people. */
export function variantLabel(v: Variant): string {
  return `${v.app} ${v.flag}=${v.variant}`;
}

export class UsageError extends Error {}

export interface VariantOptions {
  app?: string;
  env?: string;
  scenario?: string;
}

/** The command-line options behind VariantOptions, for parseArgs, in every tool that takes them. */
export const VARIANT_OPTIONS = {
  app: { type: 'string' },
  env: { type: 'string' },
  scenario: { type: 'string' },
} as const;

/**
 * parseArgs keeps only the last of a repeated option, silently: `--to reviews --to ratings` would
 * explain ratings and `--out a.svg --out b.svg` write b.svg alone. A tool passes `tokens: true` and
 * hands the tokens here, which refuses a string option (one that is not `multiple`) given twice.
 */
export function refuseRepeatedOptions(
  tokens: readonly { kind: string; name?: string }[] | undefined,
  options: Readonly<Record<string, { readonly type: string; readonly multiple?: boolean }>>,
): void {
  const seen = new Set<string>();
  for (const t of tokens ?? []) {
    if (t.kind !== 'option' || t.name === undefined) continue;
    const option = options[t.name];
    if (option?.type !== 'string' || option.multiple) continue;
    if (seen.has(t.name)) throw new UsageError(`--${t.name} is given more than once; give it once`);
    seen.add(t.name);
  }
}
