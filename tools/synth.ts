/**
 * npm run synth -- [--app <name>] [--env <env> | --scenario <name>] [--out <dir>] [--watch]
 *
 * Synthesizes sample apps to plain YAML. Each variant is written to a fresh temporary folder and
 * renamed into place only when the whole synth (and its validation) has succeeded, so a failed
 * synth never leaves a half-written or stale mix of files behind. With --watch it does so again on
 * every save under charts/, constructs/, imports/ and tools/, and says what changed.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  type FSWatcher,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  watch as watchFolder,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ApiObject, App } from 'cdk8s';
import { admit } from '../constructs/admission/index.js';
import { type Manifest, charts, orderedApiObjects, toManifest, validateApp } from '../constructs/render.js';
import { select, VARIANT_OPTIONS } from './mesh/variants.js';
import { refuseRepeatedOptions } from './mesh/options.js';
import { toYaml } from './yaml-writer.js';
import type { ObjectDiff } from './mesh/object-diff.js';
import type { Manifest as ParsedManifest } from './mesh/manifest.js';
import { APPS } from '../charts/index.js';
import type { MeshAppDefinition } from '../constructs/index.js';
import {
  checkOutputFolder,
  makeFolders,
  OUTPUT_MARKER,
  OutputFolderError,
  shownOut,
} from './output-folder.js';

export interface Target {
  readonly app: MeshAppDefinition;
  readonly variant: string;
  readonly out: string;
  /** Whether `out` is the default dist/<app>/<variant> rather than one given with --out. */
  readonly isDefault?: boolean;
  /**
   * `--out` as the user wrote it, for messages.
   * @default `out` relative to the working directory when inside it, else absolute
   */
  readonly given?: string;
}

/** The folder of package.json: never an output folder. */
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

function usageText(): string {
  const apps = APPS.apps.map((a) => `${a.name} (--${a.variantFlag} ${a.variants.join('|')})`).join('; ');
  return (
    'usage: npm run synth -- [--app <name>] [--env <env> | --scenario <name>] [--out <dir>] [--watch]\n' +
    `apps: ${apps}\n` +
    '--watch: synthesize again on every save under charts/, constructs/, imports/ and tools/'
  );
}

function usage(message: string): never {
  console.error(`synth: ${message}\n${usageText()}`);
  process.exit(2);
}

const SYNTH_OPTIONS = {
  ...VARIANT_OPTIONS,
  out: { type: 'string' },
  watch: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parse(argv: string[]) {
  const parsed = parseArgs({ args: argv, options: SYNTH_OPTIONS, strict: true, tokens: true });
  refuseRepeatedOptions(parsed.tokens, SYNTH_OPTIONS);
  return parsed;
}

function targets(argv: string[]): Target[] {
  try {
    const { values } = parse(argv);
    if (values.help) {
      console.log(usageText());
      process.exit(0);
    }
    const selection = select(values);
    if (values.out !== undefined && selection.variants.length !== 1) {
      usage('--out needs one app and one variant (--env or --scenario)');
    }
    if (values.out?.trim() === '') usage('--out needs a folder path, not an empty string');
    return selection.variants.map((v) => ({
      app: APPS.apps.find((a) => a.name === v.app)!,
      variant: v.variant,
      out: resolve(values.out ?? join('dist', v.app, v.variant)),
      isDefault: values.out === undefined,
      given: values.out,
    }));
  } catch (e) {
    usage((e as Error).message);
  }
}

/**
 * The objects of an app, validated, grouped into one file per top-level construct of each chart
 * (the namespace, each service, the ingress, ...). Files are numbered in dependency order, so
 * `kubectl apply -f <dir>` creates the Namespace before what lives in it.
 */
export function renderFiles(app: App): Map<string, string> {
  validateApp(app);
  const groups = new Map<string, unknown[]>();
  const all = charts(app);
  for (const chart of all) {
    const groupOf = new Map<string, string>();
    for (const c of chart.node.findAll()) {
      if (!ApiObject.isApiObject(c)) continue;
      const group = c.node.scopes[chart.node.scopes.length]?.node.id ?? chart.node.id;
      groupOf.set(
        identity(c.apiVersion, c.kind, c.metadata.namespace, c.name),
        all.length === 1 ? group : `${chart.node.id}-${group}`,
      );
    }
    for (const obj of orderedApiObjects(chart).map(toManifest)) {
      const group =
        groupOf.get(identity(obj.apiVersion, obj.kind, obj.metadata.namespace, obj.metadata.name)) ??
        chart.node.id;
      const list = groups.get(group) ?? [];
      list.push(obj);
      groups.set(group, list);
    }
  }
  // What the API server would refuse fails here, before any file is written.
  admit([...groups.values()].flat() as Manifest[]);
  const width = Math.max(2, String(groups.size - 1).length);
  const files = new Map<string, string>();
  [...groups].forEach(([group, objects], i) => {
    files.set(`${String(i).padStart(width, '0')}-${group}.k8s.yaml`, toYaml(objects));
  });
  return files;
}

function identity(apiVersion: string, kind: string, namespace: string | undefined, name: string): string {
  return `${apiVersion}/${kind}/${namespace ?? ''}/${name}`;
}

/** Throws an OutputFolderError when synth must not replace the target's folder. */
export function checkTarget(t: Target): void {
  checkOutputFolder({
    out: t.out,
    cwd: process.cwd(),
    projectRoot: PROJECT_ROOT,
    isDefault: t.isDefault ?? false,
    given: t.given,
  });
}

/**
 * Synthesizes one variant into a temporary sibling folder of `out`, then swaps it into place.
 * Refuses (OutputFolderError) before anything is built when `out` is not a folder synth may replace.
 */
export function synthTarget(t: Target): string[] {
  checkTarget(t);
  // mkdir, not mkdtemp: mkdtemp makes the folder 0700, and the rename below would hand that mode
  // to the output, which a GitOps agent or a CI step running as another user could not read.
  const staging = `${t.out}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    makeFolders(dirname(t.out));
    mkdirSync(staging);
  } catch (e) {
    throw new OutputFolderError(
      `--out ${shownOut(t.out, process.cwd(), t.given)}: a folder cannot be created there (${(e as Error).message}); name a folder you can write`,
    );
  }
  try {
    const app = new App({ outdir: staging });
    t.app.build(app, t.variant);
    for (const [file, yaml] of renderFiles(app)) writeFileSync(join(staging, file), yaml);
    writeFileSync(
      join(staging, OUTPUT_MARKER),
      `Written by mesh-kit's npm run synth (${t.app.name} ${t.app.variantFlag}=${t.variant}).\n` +
        'synth replaces this folder as a whole on its next run; keep nothing else here.\n',
    );
    const old = `${t.out}.old-${process.pid}`;
    const hadOld = exists(t.out);
    if (hadOld) renameSync(t.out, old);
    renameSync(staging, t.out);
    if (hadOld) rmSync(old, { recursive: true, force: true });
    return readdirSync(t.out)
      .filter((f) => f !== OUTPUT_MARKER)
      .map((f) => join(t.out, f));
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function main(): void {
  const argv = process.argv.slice(2);
  const all = targets(argv);
  // Every folder is checked before any is written: a refused one stops the whole run.
  const refused = all.flatMap((t) => {
    try {
      checkTarget(t);
      return [];
    } catch (e) {
      if (e instanceof OutputFolderError) return [e.message];
      throw e;
    }
  });
  if (refused.length > 0) {
    console.error(`synth: nothing written.\n${refused.join('\n')}`);
    process.exit(2);
  }
  if (parse(argv).values.watch) {
    watch(
      argv.filter((a) => a !== '--watch'),
      all,
    ).catch((e: unknown) => {
      console.error(`synth --watch: ${(e as Error).message}`);
      process.exit(2);
    });
    return;
  }
  let failed = 0;
  let refusedLater = 0;
  for (const t of all) {
    try {
      for (const file of synthTarget(t)) console.log(`wrote ${shownOut(file, process.cwd())}`);
    } catch (e) {
      if (e instanceof OutputFolderError) {
        refusedLater++;
        console.error(
          `synth ${t.app.name} ${t.app.variantFlag}=${t.variant}: nothing written.\n${e.message}`,
        );
        continue;
      }
      failed++;
      console.error(
        `synth ${t.app.name} ${t.app.variantFlag}=${t.variant} failed; ${shownOut(t.out, process.cwd(), t.given)} left as it was.\n${(e as Error).message}`,
      );
    }
  }
  if (refusedLater > 0) process.exit(2);
  if (failed > 0) process.exit(1);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();

// ---------------------------------------------------------------------------------------------
// Watch mode

/** The fast build (tools/build.mjs), loaded at run time: it is plain JavaScript outside lib/. */
interface FastBuild {
  build(options: { root: string }): Promise<{ transpiled: string[]; removed: string[]; ms: number }>;
  BuildError: new (...args: never[]) => Error;
}

/** The folders whose TypeScript the synthesized YAML depends on. */
const WATCHED = ['charts', 'constructs', 'imports', 'tools'];
/** Saves closer together than this are one change (editors write a file in several steps). */
const DEBOUNCE_MS = 100;

/**
 * Synthesizes `argv`'s targets now and after every save: the changed sources are transpiled (no
 * type check), then synth runs in a child process, so every run loads the charts afresh and writes
 * each folder atomically as a plain run does. After each run one line per target says what
 * changed in its objects; a failed run says why and leaves the output as it was.
 */
async function watch(argv: string[], all: Target[]): Promise<void> {
  const fast = (await import(pathToFileURL(join(PROJECT_ROOT, 'tools', 'build.mjs')).href)) as FastBuild;
  const changed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;

  const run = async (): Promise<void> => {
    running = true;
    const files = [...changed].sort();
    changed.clear();
    const started = performance.now();
    const stamp = new Date().toTimeString().slice(0, 8);
    const reason = files.length === 0 ? 'start' : files.length === 1 ? files[0] : `${files.length} files`;
    // Loaded here rather than at the top: a plain synth does not need the YAML parser or the diff.
    const { diffManifests } = await import('./mesh/object-diff.js');
    const { parseManifests } = await import('./mesh/manifest.js');
    const readOutput = (dir: string): ParsedManifest[] =>
      existsSync(dir)
        ? readdirSync(dir)
            .filter((f) => f.endsWith('.yaml'))
            .sort()
            .flatMap((f) => parseManifests(readFileSync(join(dir, f), 'utf8'), f))
        : [];
    const before = all.map((t) => readOutput(t.out));
    try {
      await fast.build({ root: PROJECT_ROOT });
      const r = await child(argv);
      const ms = Math.round(performance.now() - started);
      if (r.status !== 0) {
        console.error(`[${stamp}] ${reason}: synth failed (${ms} ms)\n${r.stderr.trimEnd()}`);
      } else {
        all.forEach((t, i) => {
          const what = summarize(diffManifests(before[i], readOutput(t.out)));
          console.log(
            `[${stamp}] ${reason}: ${t.app.name} ${t.app.variantFlag}=${t.variant} ${what} (${ms} ms)`,
          );
        });
      }
    } catch (e) {
      if (!(e instanceof fast.BuildError)) throw e;
      console.error(`[${stamp}] ${reason}: ${e.message}\noutput left as it was`);
    }
    running = false;
    if (again) {
      again = false;
      await run();
    }
  };

  const schedule = (file: string) => {
    changed.add(file);
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (running) again = true;
      else run().catch(fail);
    }, DEBOUNCE_MS);
  };
  const fail = (e: unknown) => {
    console.error(`synth --watch: ${(e as Error).stack ?? String(e)}`);
    process.exit(2);
  };

  const watchers: FSWatcher[] = [];
  for (const folder of WATCHED) {
    const dir = join(PROJECT_ROOT, folder);
    if (!existsSync(dir)) continue;
    watchers.push(
      watchFolder(dir, { recursive: true }, (_event, name) => {
        if (name && name.endsWith('.ts')) schedule(`${folder}/${name.split('\\').join('/')}`);
      }),
    );
  }
  await run();
  console.log(`watching ${WATCHED.map((f) => `${f}/`).join(', ')} (Ctrl-C to stop)`);
  process.once('SIGINT', () => {
    for (const w of watchers) w.close();
    clearTimeout(timer);
    process.exit(0);
  });
}

/** One synth in a fresh process, so that edited modules are loaded anew. */
function child(argv: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url), ...argv], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('error', reject);
    p.on('close', (status) => resolvePromise({ status, stderr }));
  });
}

/** "no change", or "2 changed, 1 added: ~ Deployment shop/ratings-v1 spec.replicas 1 → 2, ..." */
function summarize(diffs: readonly ObjectDiff[]): string {
  if (diffs.length === 0) return 'no change';
  const count = (s: ObjectDiff['status']) => diffs.filter((d) => d.status === s).length;
  const counts = (['changed', 'added', 'removed'] as const)
    .filter((s) => count(s) > 0)
    .map((s) => `${count(s)} ${s}`)
    .join(', ');
  const sign = { added: '+', removed: '-', changed: '~' } as const;
  const first = diffs.slice(0, 3).map((d) => {
    const c = d.changes[0];
    const field =
      c === undefined
        ? ''
        : ` ${c.path} ${JSON.stringify(c.old) ?? '(none)'} → ${JSON.stringify(c.new) ?? '(none)'}` +
          (d.changes.length > 1 ? ` (+${d.changes.length - 1} more)` : '');
    return `${sign[d.status]} ${d.label}${field}`;
  });
  return `${counts}: ${first.join('; ')}${diffs.length > 3 ? '; ...' : ''}`;
}
