// A temporary folder for one test run, removed when the run ends.
//
// cdk8s's Testing.app() and App() make a fresh `cdk8s.outdir.*` folder in os.tmpdir() for every
// chart a test builds and never remove it, and the tool suites make folders of their own: one
// `npm test` left about 4,000 folders in /tmp, and a mutation run one set per mutant. Pointing
// TMPDIR (which os.tmpdir() reads on every call, and child processes inherit) at a folder of the
// run's own keeps all of them in one place that goes away with the run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Creates the run's folder below the current temporary folder; returns it and its remover. */
export function scratchTmpdir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The environment of processes that should use `dir` as their temporary folder. */
export function withTmpdir(env: NodeJS.ProcessEnv, dir: string): NodeJS.ProcessEnv {
  return { ...env, TMPDIR: dir, TMP: dir, TEMP: dir };
}
