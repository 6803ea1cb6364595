/**
 * Synthesizing the sample apps as they were at a git ref: a temporary `git worktree add --detach`
 * of the ref, with this checkout's node_modules linked in (no install), running that ref's own
 * synth (transpiled by this checkout's fast build, without a type check, when the ref has the
 * standard synth script; otherwise its `npm run synth`). The user's checkout is never touched, and
 * the worktree is removed afterwards, also when the synth fails or the process is interrupted.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Manifest, parseManifests } from './manifest.js';
import { variantKey } from './options.js';
import type { Selection } from './variants.js';

export class GitSynthError extends Error {}

/** The synthesized objects of one ref, by "app/variant"; apps the ref does not have are absent. */
export interface RefSynth {
  readonly ref: string;
  readonly commit: string;
  readonly variants: Map<string, Manifest[]>;
}

function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (r.error) throw new GitSynthError(`git ${args[0]}: ${r.error.message}`);
  if (r.status !== 0) throw new GitSynthError(`git ${args.join(' ')} failed: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** The top folder of the git checkout that contains `cwd`. */
export function repoRoot(cwd: string): string {
  return git(cwd, 'rev-parse', '--show-toplevel');
}

/** The commit a ref names, or a clear error (a shallow CI clone may need `git fetch`). */
export function resolveCommit(root: string, ref: string): string {
  const r = spawnSync('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
    cwd: root,
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    throw new GitSynthError(
      `unknown git ref "${ref}" (in a shallow clone, fetch it first: git fetch origin ${ref})`,
    );
  }
  return r.stdout.trim();
}

/**
 * Synthesizes `selection` at each ref, in one temporary worktree (checked out ref after ref, so the
 * second build is incremental). Refs naming the same commit are synthesized once.
 */
export function synthesizeRefs(root: string, refs: readonly string[], selection: Selection): RefSynth[] {
  const commits = refs.map((ref) => resolveCommit(root, ref));
  const tmp = mkdtempSync(join(tmpdir(), 'mesh-diff-'));
  const tree = join(tmp, 'tree');
  let added = false;
  const cleanup = () => {
    if (added) {
      spawnSync('git', ['worktree', 'remove', '--force', '--force', tree], { cwd: root, stdio: 'ignore' });
      added = false;
    }
    rmSync(tmp, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    cleanup();
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    git(root, 'worktree', 'add', '--detach', '--quiet', tree, commits[0]);
    added = true;
    symlinkSync(nodeModules(root), join(tree, 'node_modules'), 'dir');
    const done = new Map<string, Map<string, Manifest[]>>();
    return refs.map((ref, i) => {
      const commit = commits[i];
      let variants = done.get(commit);
      if (!variants) {
        if (done.size > 0) git(tree, 'checkout', '--detach', '--quiet', '--force', commit);
        variants = synthesizeIn(tree, tmp, ref, selection);
        done.set(commit, variants);
      }
      return { ref, commit, variants };
    });
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    cleanup();
  }
}

/** The checkout's node_modules, or the one this tool runs from. */
function nodeModules(root: string): string {
  const own = join(root, 'node_modules');
  if (existsSync(own)) return own;
  return fileURLToPath(new URL('../../../node_modules', import.meta.url));
}

function synthesizeIn(tree: string, tmp: string, ref: string, selection: Selection): Map<string, Manifest[]> {
  const manifest = join(tree, 'package.json');
  const pkg = existsSync(manifest)
    ? (JSON.parse(readFileSync(manifest, 'utf8')) as { scripts?: Record<string, string> })
    : {};
  const script = pkg.scripts?.synth;
  if (!script) {
    throw new GitSynthError(
      `${ref} has no synth command (no "synth" script in its package.json), so there is nothing to compare with`,
    );
  }
  // `npm run synth` writes every variant under dist/<app>/<variant>; a single variant goes to --out.
  rmSync(join(tree, 'dist'), { recursive: true, force: true });
  const out = join(tmp, 'out');
  rmSync(out, { recursive: true, force: true });
  const args: string[] = [];
  if (selection.app) args.push('--app', selection.app.name);
  if (selection.app && selection.variant)
    args.push(`--${selection.app.variantFlag}`, selection.variant, '--out', out);
  const r = runSynth(tree, script, args);
  if (r.signal) throw new GitSynthError(`npm run synth at ${ref} was stopped by ${r.signal}`);
  if (r.status !== 0) {
    // The ref does not have the app or variant yet: everything of it is new.
    if (r.status === 2 && /unknown (app|env|scenario)/.test(r.stderr)) return new Map();
    const tail = `${r.stderr}\n${r.stdout}`.trim().split('\n').slice(-30).join('\n');
    throw new GitSynthError(`npm run synth failed at ${ref} (exit code ${String(r.status)}):\n${tail}`);
  }
  const variants = new Map<string, Manifest[]>();
  if (selection.app && selection.variant) {
    variants.set(variantKey({ app: selection.app.name, variant: selection.variant }), readFolder(out));
    return variants;
  }
  const dist = join(tree, 'dist');
  const apps = existsSync(dist)
    ? readdirSync(dist, { withFileTypes: true }).filter((d) => d.isDirectory())
    : [];
  for (const app of apps) {
    if (app.name === 'cdk8s' || (selection.app && app.name !== selection.app.name)) continue;
    for (const v of readdirSync(join(dist, app.name), { withFileTypes: true })) {
      if (v.isDirectory())
        variants.set(
          variantKey({ app: app.name, variant: v.name }),
          readFolder(join(dist, app.name, v.name)),
        );
    }
  }
  return variants;
}

function readFolder(dir: string): Manifest[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .flatMap((f) => parseManifests(readFileSync(join(dir, f), 'utf8'), f));
}

/** This checkout's fast build (tools/build.mjs), which transpiles a tree without type-checking it. */
const FAST_BUILD = fileURLToPath(new URL('../../../tools/build.mjs', import.meta.url));

/**
 * A synth script that builds and then runs lib/tools/synth.js: every mesh-kit ref's, both those
 * that type-checked the whole repository first (`npm run --silent build && ...`) and those with
 * the fast build.
 */
const STANDARD_SYNTH = /(^|&&)\s*node lib\/tools\/synth\.js\s*$/;

/**
 * Runs the ref's synth in `tree`. A ref with the standard synth script is transpiled by this
 * checkout's fast build (no type check: the ref's types were checked when it was committed, and the
 * diff only needs its output; what the ref shares with this checkout is copied from its lib/) and
 * its lib/tools/synth.js run directly; any other script runs as `npm run synth`.
 */
function runSynth(tree: string, script: string, args: string[]) {
  if (STANDARD_SYNTH.test(script) && existsSync(FAST_BUILD) && existsSync(join(tree, 'tools', 'synth.ts'))) {
    // Sources the ref shares with this checkout are copied from its lib/ rather than transpiled again.
    const checkout = dirname(dirname(FAST_BUILD));
    const built = spawnSync(process.execPath, [FAST_BUILD, '--root', tree, '--reuse', checkout, '--quiet'], {
      cwd: tree,
      env: withoutNpmVariables(),
      encoding: 'utf8',
    });
    if (built.error) throw new GitSynthError(`could not run the build: ${built.error.message}`);
    if (built.status !== 0) return built;
    const r = spawnSync(process.execPath, [join('lib', 'tools', 'synth.js'), ...args], {
      cwd: tree,
      env: withoutNpmVariables(),
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.error) throw new GitSynthError(`could not run synth: ${r.error.message}`);
    return r;
  }
  return npm(tree, ['run', '--silent', 'synth', '--', ...args]);
}

/** The environment without the npm_* variables of an enclosing `npm run` (they describe this checkout). */
function withoutNpmVariables(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'INIT_CWD') env[k] = v;
  return env;
}

/** Runs npm in `cwd` without the npm_* variables of an enclosing `npm run`. */
function npm(cwd: string, args: string[]) {
  const env = withoutNpmVariables();
  const execpath = process.env.npm_execpath;
  const [cmd, argv] =
    execpath && /\.c?js$/.test(execpath) ? [process.execPath, [execpath, ...args]] : ['npm', args];
  const r = spawnSync(cmd, argv, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new GitSynthError(`could not run npm: ${r.error.message}`);
  return r;
}
