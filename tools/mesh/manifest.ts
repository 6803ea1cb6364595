/**
 * Plain Kubernetes objects as the tools read them back from synthesized YAML, and small typed
 * accessors for walking them without `any`.
 */
import { parseAllDocuments } from 'yaml';

/** One Kubernetes object: whatever the YAML holds, with the fields every object has. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

// The plain-object readers the library's explain evaluator uses; the tools read manifests alike.
import { arr, get, isRecord, rec, str } from '../../constructs/explain/objects.js';

export { arr, get, isRecord, rec, str };

export function num(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  return undefined;
}

export function strings(v: unknown): string[] {
  return arr(v).flatMap((x) => (typeof x === 'string' ? [x] : typeof x === 'number' ? [String(x)] : []));
}

/** Deep equality of JSON values, insensitive to key order. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    if (ka.length !== kb.length) return false;
    return ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/** The API group of an apiVersion: "" for the core group ("v1"), "apps" for "apps/v1". */
export function apiGroup(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/**
 * What makes two objects "the same object" across versions of the manifests: the API group (not
 * its version: v1beta1 → v1 is a change of the object, not a new one), kind, namespace and name.
 */
export function objectId(m: Manifest): string {
  return `${apiGroup(m.apiVersion)}/${m.kind}/${m.metadata.namespace ?? ''}/${m.metadata.name}`;
}

export function is(m: Manifest, group: string, kind: string): boolean {
  return m.kind === kind && apiGroup(m.apiVersion) === group;
}

export const ISTIO_NETWORKING = 'networking.istio.io';
export const ISTIO_SECURITY = 'security.istio.io';
export const GATEWAY_API = 'gateway.networking.k8s.io';

/** The objects of YAML text (several documents), skipping empty documents. */
export function parseManifests(yamlText: string, source = 'YAML'): Manifest[] {
  const out: Manifest[] = [];
  for (const doc of parseAllDocuments(yamlText)) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors[0].message}`);
    const v: unknown = doc.toJS();
    if (v === null || v === undefined) continue;
    if (!isRecord(v) || typeof v.apiVersion !== 'string' || typeof v.kind !== 'string') {
      throw new Error(`${source}: a document is not a Kubernetes object (no apiVersion or kind)`);
    }
    if (!isRecord(v.metadata) || typeof v.metadata.name !== 'string') {
      throw new Error(`${source}: ${v.kind} without metadata.name`);
    }
    out.push(v as unknown as Manifest);
  }
  return out;
}

/** The short name of a service host: "reviews" for "reviews.shop.svc.cluster.local" or "reviews". */
export function shortHost(host: string): string {
  return host.endsWith('.svc.cluster.local') || /^[^.]+\.[^.]+$/.test(host) || !host.includes('.')
    ? host.split('.')[0]
    : host;
}

/** The namespace of a service host "<name>.<ns>[.svc.cluster.local]", or `fallback`. */
export function hostNamespace(host: string, fallback: string): string {
  const parts = host.split('.');
  if (parts.length >= 2 && (parts.length === 2 || host.endsWith('.svc.cluster.local'))) return parts[1];
  return fallback;
}

/** Durations as Istio and Envoy write them ("1.5s", "100ms", "1m", "1h"), in milliseconds. */
export function durationMs(v: unknown): number | undefined {
  if (typeof v === 'number') return v * 1000;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}
