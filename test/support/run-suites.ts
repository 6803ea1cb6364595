// npm test's suites: `node --test` over every suite, after lint and the type check.
//
//   node lib/test/support/run-suites.js [node --test options, e.g. --test-name-pattern=<re>]
//
// Three things keep the run short on a machine with few cores, none of which skips a suite:
// - the suites that only construct and synthesize run in one process (test/support/one-process.ts),
//   which loads cdk8s, the Istio classes and the admission schemas once instead of 30 times;
// - the longest suites start first, so no long one is left running alone at the end while the
//   other cores idle (the rest follow in name order);
// - one suite more than the cores runs at a time, since several spend seconds waiting on the
//   processes they start; Node's compile cache serves the suites and the tools they start.
// Only suites whose source is still in test/ run: a suite deleted or renamed there leaves its
// compiled file in lib/test/, which would otherwise go on running, and failing, locally.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { availableParallelism, constants, tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { oneProcessSuites } from './one-process.js';
import { scratchTmpdir, withTmpdir } from './scratch-tmpdir.js';

/** The one-process suite's file, relative to lib/test/. */
export const ONE_PROCESS = 'support/one-process.js';

/**
 * The longest suites, longest first (CPU seconds alone on a 2-core machine, late 2026): the
 * package's offline install and TypeDoc, new-app's scaffolded project, the Helm render, the CLI
 * safety checks, the one-process suites, then the tool suites that run git worktrees and servers.
 */
export const LONGEST_FIRST = [
  'package.test.js',
  'new-app.test.js',
  'stacks/helm-render.test.js',
  'cli-safety.test.js',
  ONE_PROCESS,
  'tools/bench-side-by-side.test.js',
  'tools/diff-cli-refs.test.js',
  'tools/synth-watch.test.js',
  'tools/diff-base-build.test.js',
  'services/payments.test.js',
];

/**
 * The files `node --test` runs, relative to the compiled test folder: every suite that has its
 * source in the source test folder, the one-process suites as one file, longest first.
 */
export function suiteFiles(libTestDir: string, sourceTestDir: string): string[] {
  const inOne = new Set(oneProcessSuites(libTestDir, sourceTestDir).map((n) => `${n}.test.js`));
  const own = readdirSync(libTestDir, { recursive: true, encoding: 'utf8' })
    .map((f) => f.split(sep).join('/'))
    .filter((f) => f.endsWith('.test.js') && !inOne.has(f))
    .filter((f) => existsSync(join(sourceTestDir, f.replace(/\.js$/, '.ts'))));
  const files = [...own, ONE_PROCESS];
  const unknown = LONGEST_FIRST.filter((f) => !files.includes(f));
  if (unknown.length > 0) {
    throw new Error(
      `run-suites: LONGEST_FIRST names ${unknown.join(', ')}, which ${unknown.length === 1 ? 'is' : 'are'} not a suite; update the list in test/support/run-suites.ts`,
    );
  }
  return [...LONGEST_FIRST, ...files.filter((f) => !LONGEST_FIRST.includes(f)).sort()];
}

// realpath: run through a symbolic link, argv[1] is the link's path, and comparing it as given
// would run nothing and exit 0, a false pass.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const libTestDir = join(dirname(fileURLToPath(import.meta.url)), '..');
  const sourceTestDir = join(libTestDir, '..', '..', 'test');
  const files = suiteFiles(libTestDir, sourceTestDir).map((f) => join(libTestDir, f));
  const args = [
    '--test',
    `--test-concurrency=${availableParallelism() + 1}`,
    '--test-reporter=spec',
    ...process.argv.slice(2),
    ...files,
  ];
  // The compile cache outlives the run; everything else the suites put in the temporary folder
  // goes with it (test/support/scratch-tmpdir.ts).
  const compileCache = process.env.NODE_COMPILE_CACHE ?? join(tmpdir(), 'mesh-kit-node-compile-cache');
  const scratch = scratchTmpdir('mesh-kit-test-');
  const env = withTmpdir({ ...process.env, NODE_COMPILE_CACHE: compileCache }, scratch.dir);
  const child = spawn(process.execPath, args, { stdio: 'inherit', env });
  // Ctrl-C reaches the child too (same process group); a signal sent to this process alone (npm,
  // CI, `timeout`) is passed on, so no suite is left running. Either way, wait for it to exit.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => child.kill(signal));
  }
  child.on('exit', (code, signal) => {
    scratch.remove();
    process.exitCode = code ?? 128 + (signal ? constants.signals[signal] : 0);
  });
}
