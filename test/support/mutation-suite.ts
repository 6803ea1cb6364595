// The construct suites in one process, for `npm run mutation`: Stryker's tap runner starts a
// process per test file and mutant, and loading cdk8s and the generated Istio classes once instead
// of once per suite is what makes a run over the constructs fit on two cores. The focused, fast
// suites come first, so that most mutants fail early (the runner stops at the first failing test);
// every other suite of test/ follows, so a new suite counts without being listed here. Not a *.test
// file itself: `npm test` runs each suite on its own.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
 * Suites left out: those that run the CLIs or npm in child processes (seconds per mutant, and they
 * test the tools, not the constructs), the README and samples checks, and the Pulumi suites, whose
 * mocks are global to a process.
 */
export const NOT_IN_MUTATION_SUITE = new Set([
  'cli-safety',
  'explain-cli',
  'new-app',
  'package',
  'synth-tool',
  'readme',
  'samples',
  'egress-stacks',
]);

/** The suites of test/ (top level) in the order the mutation run loads them. */
export function mutationSuites(testDir: string): string[] {
  const all = readdirSync(testDir)
    .filter((f) => f.endsWith('.test.js'))
    .map((f) => f.slice(0, -'.test.js'.length));
  const rest = all.filter((n) => !FIRST.includes(n) && !NOT_IN_MUTATION_SUITE.has(n)).sort();
  return [...FIRST.filter((n) => all.includes(n)), ...rest];
}

const testDir = join(dirname(fileURLToPath(import.meta.url)), '..');
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const name of mutationSuites(testDir)) await import(join(testDir, `${name}.test.js`));
}
