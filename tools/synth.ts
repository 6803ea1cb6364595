/**
 * npm run synth -- [--app <name>] [--env <env> | --scenario <name>] [--out <dir>]
 *
 * Synthesizes sample apps to plain YAML. Each variant is written to a fresh temporary folder and
 * renamed into place only when the whole synth (and its validation) has succeeded, so a failed
 * synth never leaves a half-written or stale mix of files behind.
 */
import { mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ApiObject, App } from 'cdk8s';
import { admit } from '../constructs/admission/index.js';
import { type Manifest, charts, orderedApiObjects, toManifest, validateApp } from '../constructs/render.js';
import { select, VARIANT_OPTIONS } from './mesh/variants.js';
import { toYaml } from './yaml-writer.js';
import { APPS } from '../charts/index.js';
import type { MeshAppDefinition } from '../constructs/index.js';
import { checkOutputFolder, makeFolders, OUTPUT_MARKER, OutputFolderError } from './output-folder.js';

export interface Target {
  readonly app: MeshAppDefinition;
  readonly variant: string;
  readonly out: string;
  /** Whether `out` is the default dist/<app>/<variant> rather than one given with --out. */
  readonly isDefault?: boolean;
}

/** The folder of package.json: never an output folder. */
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

function usageText(): string {
  const apps = APPS.apps.map((a) => `${a.name} (--${a.variantFlag} ${a.variants.join('|')})`).join('; ');
  return `usage: npm run synth -- [--app <name>] [--env <env> | --scenario <name>] [--out <dir>]\napps: ${apps}`;
}

function usage(message: string): never {
  console.error(`synth: ${message}\n${usageText()}`);
  process.exit(2);
}

function targets(argv: string[]): Target[] {
  try {
    const { values } = parseArgs({
      args: argv,
      options: { ...VARIANT_OPTIONS, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
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
  });
}

/**
 * Synthesizes one variant into a temporary sibling folder of `out`, then swaps it into place.
 * Refuses (OutputFolderError) before anything is built when `out` is not a folder synth may replace.
 */
export function synthTarget(t: Target): string[] {
  checkTarget(t);
  makeFolders(dirname(t.out));
  const staging = mkdtempSync(`${t.out}.tmp-`);
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
  const all = targets(process.argv.slice(2));
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
  let failed = 0;
  for (const t of all) {
    try {
      for (const file of synthTarget(t)) console.log(`wrote ${relative(process.cwd(), file)}`);
    } catch (e) {
      failed++;
      console.error(
        `synth ${t.app.name} ${t.app.variantFlag}=${t.variant} failed; ${relative(process.cwd(), t.out)} left as it was.\n${(e as Error).message}`,
      );
    }
  }
  if (failed > 0) process.exit(1);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
