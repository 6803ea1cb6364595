// The suites that only construct, synthesize and evaluate, loaded into one Node process. Each of
// them alone spends most of its time loading cdk8s, the generated Istio classes and the admission
// schemas (about 0.6 s of CPU before its first test); in one process that happens once. `npm test`
// runs this file as one of its suites (test/support/run-suites.ts), and `npm run mutation` runs it
// for every mutant (Stryker's tap runner starts a process per mutant and test file).
//
// The focused, fast suites come first, so that most mutants fail early (the mutation run stops at
// the first failing test); every other suite of test/ follows, so a new suite is run without being
// listed here. Not a *.test file itself, so that the suites it loads do not run twice.
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scratchTmpdir, withTmpdir } from './scratch-tmpdir.js';

export const FIRST = [
  'yaml-writer-exact',
  'boundaries',
  'validation',
  'modes',
  'routing',
  'microservice',
  'security',
  'ambient',
  'egress',
  'egress-validation',
  'workload',
  'rate-limit',
  'global-rate-limit',
  'ingress',
  'input-checks',
  'istio-rules',
  'yaml-writer',
  'shop',
  'bookinfo',
  'payments',
];

/**
 * Suites that keep a process of their own: those that run the CLIs or npm in child processes
 * (seconds per mutant, and they test the tools, not the constructs), the README and samples
 * checks, and the Pulumi suites, whose mocks are global to a process. Suites in the folders below
 * test/ (services, stacks, tools) always run on their own.
 */
export const OWN_PROCESS = new Set([
  'cli-safety',
  'explain-cli',
  'new-app',
  'package',
  'synth-tool',
  'readme',
  'samples',
  'egress-stacks',
]);

/**
 * The suites of test/ (top level) that share one process, in the order it loads them: those
 * compiled into `libTestDir` whose source is still in `sourceTestDir` (a suite deleted or renamed
 * in test/ leaves its compiled file behind, which would otherwise go on running locally).
 */
export function oneProcessSuites(
  libTestDir: string,
  sourceTestDir = join(libTestDir, '..', '..', 'test'),
): string[] {
  const all = readdirSync(libTestDir)
    .filter((f) => f.endsWith('.test.js'))
    .map((f) => f.slice(0, -'.test.js'.length))
    .filter((n) => existsSync(join(sourceTestDir, `${n}.test.ts`)));
  const rest = all.filter((n) => !FIRST.includes(n) && !OWN_PROCESS.has(n)).sort();
  return [...FIRST.filter((n) => all.includes(n)), ...rest];
}

const testDir = join(dirname(fileURLToPath(import.meta.url)), '..');
// realpath: run through a symbolic link, comparing argv[1] as given would load no suite at all.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // Run alone (by the mutation run, once per mutant), it cleans up after itself as npm test does.
  const scratch = scratchTmpdir('mesh-kit-suites-');
  Object.assign(process.env, withTmpdir({}, scratch.dir));
  process.on('exit', scratch.remove);
  for (const name of oneProcessSuites(testDir)) await import(join(testDir, `${name}.test.js`));
}
