/**
 * npm run diff -- --base <git-ref> [--head <git-ref>] [--app <app>] [--env <env> | --scenario <name>]
 *                 [--format text|markdown] [--color | --no-color] [--exit-code]
 *
 * What a change does to the synthesized manifests: every app and variant (or the chosen ones) is
 * synthesized at the base ref and at the head (the working tree by default, synthesized in-process
 * from this checkout; or another ref), and compared object by object, field by field. Risky changes
 * (replaced Deployments, removed Service ports, weaker mTLS or authorization, moved traffic, looser
 * circuit breakers and rate limits) are listed first. Each changed variant also gets a behaviour
 * section (mesh/behaviour.ts): the requests its objects define, explained on both refs, and what
 * changes for them in words; those that widen access or move traffic join the risky changes.
 * Refs are synthesized by their own
 * `npm run synth` in a temporary git worktree; the checkout is left untouched.
 *
 * Exit code: 0, or with --exit-code 1 when anything changed (like `git diff --exit-code`); 2 on errors.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
// Only light modules here: the command line is checked before the charts, cdk8s and the report are
// loaded (diff and main import them), so that --help or a wrong option answers at once (and the
// tests, which spawn diff many times, do not wait for the charts).
import type { DiffReport } from './mesh/diff-report.js';
import type { Manifest } from './mesh/manifest.js';
import {
  refuseRepeatedOptions,
  VARIANT_OPTIONS,
  UsageError,
  variantKey,
  variantLabel,
} from './mesh/options.js';

const USAGE =
  'usage: npm run diff -- --base <git-ref> [--head <git-ref>] [--app <app>] [--env <env> | --scenario <name>] [--format text|markdown] [--color | --no-color] [--exit-code]';

export interface DiffOptions {
  readonly base: string;
  readonly head?: string;
  readonly app?: string;
  readonly env?: string;
  readonly scenario?: string;
  /** The git checkout to take the refs from (default: the current directory's). */
  readonly cwd?: string;
}

/** Synthesizes both sides and compares them. */
export async function diff(options: DiffOptions): Promise<DiffReport> {
  const [{ compareSyntheses }, { GitSynthError, repoRoot, synthesizeRefs }, { select, synthesizeInProcess }] =
    await Promise.all([
      import('./mesh/diff-report.js'),
      import('./mesh/git-synth.js'),
      import('./mesh/variants.js'),
    ]);
  const selection = select(options);
  const root = repoRoot(options.cwd ?? process.cwd());
  // The working tree first: it is quick, and when it does not synthesize there is nothing to compare.
  let head: Map<string, Manifest[]> | undefined;
  if (options.head === undefined) {
    head = new Map();
    for (const v of selection.variants) {
      try {
        head.set(variantKey(v), synthesizeInProcess(v));
      } catch (e) {
        throw new GitSynthError(
          `the working tree does not synthesize ${variantLabel(v)}:\n${(e as Error).message}`,
        );
      }
    }
  }
  const refs = options.head === undefined ? [options.base] : [options.base, options.head];
  const synths = synthesizeRefs(root, refs, selection);
  const name = (i: number) =>
    synths[i].commit.startsWith(synths[i].ref)
      ? synths[i].ref
      : `${synths[i].ref} (${synths[i].commit.slice(0, 7)})`;
  return {
    base: name(0),
    head: head ? 'the working tree' : name(1),
    variants: compareSyntheses(synths[0].variants, head ?? synths[1].variants, selection.variants),
  };
}

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    const options = {
      base: { type: 'string' },
      head: { type: 'string' },
      ...VARIANT_OPTIONS,
      format: { type: 'string', default: 'text' },
      color: { type: 'boolean' },
      'no-color': { type: 'boolean' },
      'exit-code': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    } as const;
    let tokens;
    ({ values, tokens } = parseArgs({
      args: argv,
      options,
      strict: true,
      allowPositionals: false,
      tokens: true,
    }));
    refuseRepeatedOptions(tokens, options);
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (values.base === undefined) throw new UsageError('--base <git-ref> is required');
    if (values.format !== 'text' && values.format !== 'markdown') {
      throw new UsageError(`unknown format "${values.format}"; use text or markdown`);
    }
  } catch (e) {
    console.error(`diff: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  let report: DiffReport;
  try {
    report = await diff({ ...values, base: values.base });
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`diff: ${e.message}\n${USAGE}`);
      return 2;
    }
    const { GitSynthError } = await import('./mesh/git-synth.js');
    // Any other failure (a chart that does not synthesize, a bug) is an error too, never "changes
    // found": with --exit-code, 1 must only ever mean a difference.
    console.error(`diff: ${e instanceof GitSynthError ? e.message : ((e as Error).stack ?? String(e))}`);
    return 2;
  }
  const { hasChanges, renderMarkdown, renderText } = await import('./mesh/diff-report.js');
  const color = values['no-color']
    ? false
    : (values.color ?? (process.stdout.isTTY === true && !process.env.NO_COLOR));
  process.stdout.write(values.format === 'markdown' ? renderMarkdown(report) : renderText(report, color));
  return values['exit-code'] && hasChanges(report) ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
