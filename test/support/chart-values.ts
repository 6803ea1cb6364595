/**
 * Values keys a chart neither defaults nor reads. Helm merges any values it is given and renders
 * the templates with them; a key no template reads changes nothing and is not reported (only a
 * chart with a values.schema.json that forbids additional properties refuses it). So a leaf of our
 * values is accepted when one of these holds, and reported otherwise:
 * - the chart's values.yaml has that path, or a prefix of it that defaults to `{}` or null (a
 *   free-form map such as `annotations: {}`);
 * - a template (or helper) reads that path or a prefix of it as a whole: `.Values.a.b`, `$.Values.a.b`,
 *   `.root.Values.a.b`, `($.Values).a.b`, `index .Values "a" "b"`, `index .Values.a "b"`;
 * - it is a dependency's `condition` in Chart.yaml (Helm reads those itself);
 * - it lies under a subchart's name or alias and that subchart accepts the rest of the path; `global`
 *   is accepted where the chart or any subchart accepts it.
 * Istio's charts keep their defaults under `_internal_defaults_do_not_set` and merge them into
 * `.Values` in templates/zzz_profile.yaml: those count as top-level defaults. A bare `.Values`
 * (passed whole to a helper or merged) says nothing about a key and is not counted as a read.
 */
import { parse } from 'yaml';
import { untgz } from './helm.js';

type Json = Record<string, unknown>;
const isMap = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

interface Chart {
  readonly defaults: Json;
  /** Paths (dot-joined) the templates read as a whole. */
  readonly reads: ReadonlySet<string>;
  readonly conditions: ReadonlySet<string>;
  readonly subcharts: ReadonlyMap<string, Chart>;
}

/** The paths the template sources read: `.Values.a.b`, `($.Values).a.b` and `index .Values[.a] "b" "c"`. */
export function templateReads(source: string): Set<string> {
  const reads = new Set<string>();
  const index = /index\s+[$\w.]*?\.Values((?:\.[A-Za-z_]\w*)*)((?:\s+"[^"]*")+)/g;
  for (const m of source.matchAll(index)) {
    const keys = [...m[2].matchAll(/"([^"]*)"/g)].map((k) => k[1]);
    reads.add([...(m[1] ? m[1].slice(1).split('.') : []), ...keys].join('.'));
  }
  // `index .Values.k "l"` reads k.l, not all of k.
  const rest = source.replace(index, '');
  for (const m of rest.matchAll(/\.Values\)?((?:\.[A-Za-z_]\w*)+)/g)) reads.add(m[1].slice(1));
  return reads;
}

function loadChart(files: ReadonlyMap<string, Buffer>, root: string): Chart {
  const text = (p: string) => files.get(`${root}${p}`)?.toString('utf8');
  const values = (parse(text('values.yaml') ?? '{}') ?? {}) as Json;
  const internal = values._internal_defaults_do_not_set;
  const defaults = isMap(internal) ? { ...internal, ...values } : values;
  const reads = new Set<string>();
  for (const [path, body] of files)
    if (path.startsWith(`${root}templates/`))
      for (const r of templateReads(body.toString('utf8'))) reads.add(r);
  const meta = (parse(text('Chart.yaml') ?? '{}') ?? {}) as {
    dependencies?: { name: string; alias?: string; condition?: string }[];
  };
  const conditions = new Set<string>();
  const subcharts = new Map<string, Chart>();
  for (const dep of meta.dependencies ?? []) {
    for (const c of (dep.condition ?? '').split(',').filter(Boolean)) conditions.add(c.trim());
    const dir = `${root}charts/${dep.name}/`;
    let sub: Chart | undefined;
    if ([...files.keys()].some((p) => p.startsWith(dir))) sub = loadChart(files, dir);
    else {
      const tgz = [...files.keys()].find(
        (p) =>
          p.startsWith(`${root}charts/${dep.name}-`) &&
          p.endsWith('.tgz') &&
          !p.slice(root.length + 7).includes('/'),
      );
      if (tgz) {
        const inner = untgz(files.get(tgz)!);
        sub = loadChart(inner, `${[...inner.keys()][0].split('/')[0]}/`);
      }
    }
    if (sub) subcharts.set(dep.alias ?? dep.name, sub);
  }
  return { defaults, reads, conditions, subcharts };
}

/** The chart of a chart archive (.tgz), with its subcharts. */
export function readChart(tgz: Buffer): Chart {
  const files = untgz(tgz);
  const top = [...files.keys()][0].split('/')[0];
  return loadChart(files, `${top}/`);
}

function accepts(chart: Chart, path: readonly string[]): boolean {
  // Defaults: the path itself, or a free-form map on the way.
  let node: unknown = chart.defaults;
  let inDefaults = true;
  for (const key of path) {
    // A key under a value the chart defaults to a scalar or list: whatever reads it, it is no map.
    if (!isMap(node)) return false;
    if (!(key in node)) {
      inDefaults = false;
      break;
    }
    node = node[key];
    if (node === null || (isMap(node) && Object.keys(node).length === 0)) break;
  }
  if (inDefaults) return true;
  for (let i = 1; i <= path.length; i++) {
    const prefix = path.slice(0, i).join('.');
    if (chart.reads.has(prefix) || chart.conditions.has(prefix)) return true;
  }
  const sub = chart.subcharts.get(path[0]);
  if (sub && path.length > 1 && accepts(sub, path.slice(1))) return true;
  if (path[0] === 'global') for (const s of chart.subcharts.values()) if (accepts(s, path)) return true;
  return false;
}

/** Every leaf path of the values (arrays and empty maps are leaves). */
export function leafPaths(values: unknown, prefix: readonly string[] = []): string[][] {
  if (!isMap(values) || Object.keys(values).length === 0) return prefix.length ? [[...prefix]] : [];
  return Object.entries(values).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
}

/** The leaf paths of `values` that the chart neither defaults nor reads, dot-joined. */
export function unknownValueKeys(chart: Chart, values: unknown): string[] {
  return leafPaths(values)
    .filter((p) => !accepts(chart, p))
    .map((p) => p.join('.'));
}
