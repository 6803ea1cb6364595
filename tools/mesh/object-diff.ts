/**
 * Object-by-object, field-by-field comparison of two sets of Kubernetes objects, insensitive to
 * key order and formatting. Lists of named things (containers, ports, env, volumes, subsets,
 * servers, listeners, route destinations, ...) are matched by name, so inserting one item shows
 * as one added item rather than every later item changing.
 */
import { parse as parseYaml } from 'yaml';
import { apiGroup, deepEqual, isRecord, type Manifest, objectId } from './manifest.js';

export interface FieldChange {
  /** e.g. `spec.http[canary].route[v1].weight` or `metadata.labels["istio.io/rev"]`. */
  readonly path: string;
  /** Absent when the field was added. */
  readonly old?: unknown;
  /** Absent when the field was removed. */
  readonly new?: unknown;
}

export type ObjectStatus = 'added' | 'removed' | 'changed';

export interface ObjectDiff {
  readonly status: ObjectStatus;
  /** group/kind/namespace/name */
  readonly id: string;
  /** "VirtualService shop/reviews" for people. */
  readonly label: string;
  readonly kind: string;
  readonly base?: Manifest;
  readonly head?: Manifest;
  /** The changed fields of a changed object (empty for added and removed ones). */
  readonly changes: readonly FieldChange[];
}

/**
 * The objects added, removed and changed from `base` to `head`, sorted by kind, namespace and name.
 * Objects are the same object when their API group, kind, namespace and name agree.
 */
export function diffManifests(base: readonly Manifest[], head: readonly Manifest[]): ObjectDiff[] {
  const before = byId(base);
  const after = byId(head);
  const labels = labeller([...base, ...head]);
  const out: ObjectDiff[] = [];
  for (const [id, b] of before) {
    const h = after.get(id);
    if (h === undefined) {
      out.push({ status: 'removed', id, label: labels(b), kind: b.kind, base: b, changes: [] });
    } else if (!deepEqual(b, h)) {
      out.push({
        status: 'changed',
        id,
        label: labels(h),
        kind: h.kind,
        base: b,
        head: h,
        changes: diffValues(b, h),
      });
    }
  }
  for (const [id, h] of after) {
    if (!before.has(id))
      out.push({ status: 'added', id, label: labels(h), kind: h.kind, head: h, changes: [] });
  }
  return out.sort((x, y) => x.label.localeCompare(y.label) || x.id.localeCompare(y.id));
}

function byId(objects: readonly Manifest[]): Map<string, Manifest> {
  const map = new Map<string, Manifest>();
  for (const o of objects) {
    const id = objectId(o);
    if (map.has(id)) throw new Error(`two objects in one variant are ${id} (API group/kind/namespace/name)`);
    map.set(id, o);
  }
  return map;
}

/** "Kind namespace/name", with the API group when two groups share the kind (Istio's and Gateway API's Gateway). */
function labeller(objects: readonly Manifest[]): (m: Manifest) => string {
  const groups = new Map<string, Set<string>>();
  for (const o of objects) {
    const set = groups.get(o.kind) ?? new Set<string>();
    set.add(apiGroup(o.apiVersion));
    groups.set(o.kind, set);
  }
  return (m) => {
    const kind = (groups.get(m.kind)?.size ?? 0) > 1 ? `${m.kind}.${apiGroup(m.apiVersion)}` : m.kind;
    return `${kind} ${m.metadata.namespace ? `${m.metadata.namespace}/` : ''}${m.metadata.name}`;
  };
}

/** The changed fields from `a` to `b`, as paths with old and new values. */
export function diffValues(a: unknown, b: unknown, path = ''): FieldChange[] {
  const out: FieldChange[] = [];
  walk(a, b, path, out);
  return out;
}

/** Added or removed mappings longer than this (in flow style) are listed field by field. */
const EXPAND_OVER = 120;

function walk(a: unknown, b: unknown, path: string, out: FieldChange[]): void {
  if (deepEqual(a, b)) return;
  if (a === undefined || b === undefined) {
    const whole = a ?? b;
    if (isRecord(whole) && Object.keys(whole).length > 1 && flow(whole).length > EXPAND_OVER) {
      for (const k of Object.keys(whole).sort())
        walk(
          a === undefined ? undefined : whole[k],
          b === undefined ? undefined : whole[k],
          join(path, k),
          out,
        );
    } else {
      out.push(a === undefined ? { path, new: b } : { path, old: a });
    }
    return;
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) walk(a[k], b[k], join(path, k), out);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    walkArrays(a, b, path, out);
    return;
  }
  if (typeof a === 'string' && typeof b === 'string') {
    const pa = embedded(a);
    const pb = embedded(b);
    if (pa !== undefined && pb !== undefined) {
      walk(pa, pb, `${path} ▸ `, out);
      return;
    }
  }
  out.push({ path, old: a, new: b });
}

function walkArrays(a: unknown[], b: unknown[], path: string, out: FieldChange[]): void {
  if (a.every(isScalar) && b.every(isScalar)) {
    out.push({ path, old: a, new: b });
    return;
  }
  const keyOf = arrayKey(a, b);
  if (keyOf) {
    const before = new Map(a.map((x) => [keyOf(x), x]));
    const after = new Map(b.map((x) => [keyOf(x), x]));
    for (const [k, x] of before) walk(x, after.get(k), `${path}[${k}]`, out);
    for (const [k, x] of after) if (!before.has(k)) walk(undefined, x, `${path}[${k}]`, out);
    // Order can matter (the first matching route wins), so a reordering is a change of its own.
    const kept = [...before.keys()].filter((k) => after.has(k));
    const now = [...after.keys()].filter((k) => before.has(k));
    if (kept.join('\n') !== now.join('\n')) out.push({ path: `${path} (order)`, old: kept, new: now });
    return;
  }
  for (let i = 0; i < Math.max(a.length, b.length); i++) walk(a[i], b[i], `${path}[${i}]`, out);
}

function isScalar(v: unknown): boolean {
  return v === null || typeof v !== 'object';
}

type KeyFn = (item: unknown) => string | undefined;

/**
 * How the items of a list are told apart, in order of preference: their name; the subset, or host
 * and subset, of a route destination; the port name of a Gateway server; a port number; the key
 * (and value) of a rate limit descriptor; a mount path.
 */
const KEYS: KeyFn[] = [
  (x) => str(x, 'name'),
  (x) => str(x, 'destination', 'subset'),
  (x) => {
    const host = str(x, 'destination', 'host');
    return host === undefined ? undefined : [host, str(x, 'destination', 'subset')].filter(Boolean).join(':');
  },
  (x) => str(x, 'port', 'name'),
  (x) => str(x, 'containerPort') ?? str(x, 'port'),
  (x) => {
    const key = str(x, 'key');
    const value = str(x, 'value');
    return key === undefined ? undefined : value === undefined ? key : `${key}=${value}`;
  },
  (x) => str(x, 'mountPath'),
];

function str(v: unknown, ...path: string[]): string | undefined {
  let cur = v;
  for (const p of path) cur = isRecord(cur) ? cur[p] : undefined;
  return typeof cur === 'string' || typeof cur === 'number' ? String(cur) : undefined;
}

function arrayKey(a: unknown[], b: unknown[]): ((x: unknown) => string) | undefined {
  for (const key of KEYS) {
    if (unique(a, key) && unique(b, key)) return (x) => formatKey(key(x) ?? '');
  }
  return undefined;
}

function unique(items: unknown[], key: KeyFn): boolean {
  const seen = new Set<string>();
  for (const x of items) {
    const k = key(x);
    if (k === undefined || seen.has(k)) return false;
    seen.add(k);
  }
  return true;
}

function formatKey(k: string): string {
  return /^[\w./:*=@-]+$/.test(k) && !/^\d+$/.test(k) ? k : JSON.stringify(k);
}

function join(path: string, key: string): string {
  const k = /^[A-Za-z_$][\w$-]*$/.test(key) ? key : `[${JSON.stringify(key)}]`;
  if (path === '' || path.endsWith(' ')) return `${path}${k}`;
  return k.startsWith('[') ? `${path}${k}` : `${path}.${k}`;
}

/** YAML or JSON text inside a string (a ConfigMap's config file, an annotation), as data. */
function embedded(s: string): unknown {
  if (!s.includes('\n') && !/^\s*[[{]/.test(s)) return undefined;
  try {
    const v: unknown = parseYaml(s);
    return typeof v === 'object' && v !== null ? v : undefined;
  } catch {
    return undefined;
  }
}

/** A value for people: plain strings, numbers and flow-style lists and maps, shortened when long. */
export function formatValue(v: unknown, max = 160): string {
  if (v === undefined) return '(none)';
  const s = flow(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function flow(v: unknown): string {
  if (typeof v === 'string') {
    return v === '' || /^\s|\s$|[\n"{}[\],]|^(true|false|null|~|-?\d+(\.\d+)?)$/.test(v)
      ? JSON.stringify(v)
      : v;
  }
  if (Array.isArray(v)) return `[${v.map(flow).join(', ')}]`;
  if (isRecord(v)) {
    return `{${Object.entries(v)
      .map(([k, x]) => `${formatKey(k)}: ${flow(x)}`)
      .join(', ')}}`;
  }
  return String(v);
}
