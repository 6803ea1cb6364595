/**
 * The matchers of Istio's configuration, each as its reference page defines it.
 */
import { get, isRecord, str } from './objects.js';

/**
 * A StringMatch of a VirtualService (exact, prefix or regex; regex is RE2 and must match the whole
 * value): https://istio.io/latest/docs/reference/config/networking/virtual-service/#StringMatch.
 * An empty match `{}` checks presence only (HTTPMatchRequest.headers on the same page).
 */
export function stringMatch(m: unknown, value: string | undefined, ignoreCase = false): boolean {
  if (value === undefined) return false;
  if (!isRecord(m)) return false;
  const fold = (s: string) => (ignoreCase ? s.toLowerCase() : s);
  const exact = str(m.exact);
  if (exact !== undefined) return fold(value) === fold(exact);
  const prefix = str(m.prefix);
  if (prefix !== undefined) return fold(value).startsWith(fold(prefix));
  const regex = str(m.regex);
  if (regex !== undefined) return fullMatch(regex, value, ignoreCase);
  return true;
}

/** RE2 full match (the regexes were checked for RE2 at synth time; the common syntax agrees). */
export function fullMatch(regex: string, value: string, ignoreCase = false): boolean {
  return new RegExp(`^(?:${regex})$`, ignoreCase ? 'i' : '').test(value);
}

/** A StringMatch for the text of an explanation: `exact "jason"`, `prefix "/api"`, `regex "v\d"`. */
export function describeStringMatch(m: unknown): string {
  for (const k of ['exact', 'prefix', 'regex']) {
    const v = str(get(m, k));
    if (v !== undefined) return `${k} ${JSON.stringify(v)}`;
  }
  return 'present';
}

/**
 * A value of an AuthorizationPolicy field: exact, prefix "abc*", suffix "*abc", or "*" for any
 * non-empty value (https://istio.io/latest/docs/reference/config/security/authorization-policy/,
 * "Source" and "Operation"), and for paths the templates "{*}" (one segment) and "{**}" (the rest).
 */
export function authzValueMatch(pattern: string, value: string | undefined): boolean {
  if (value === undefined || value === '') return false;
  if (pattern === '*') return true;
  if (pattern.includes('{')) {
    const re = pattern
      .split('/')
      .map((seg) =>
        seg === '{**}' ? '.*' : seg === '{*}' ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('/');
    return new RegExp(`^${re}$`).test(value);
  }
  if (pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return value.endsWith(pattern.slice(1));
  return value === pattern;
}

/**
 * Whether a host of a VirtualService, DestinationRule or Sidecar covers a service host: an exact
 * name, "*", or "*.suffix". Short names are read in the config's own namespace
 * (https://istio.io/latest/docs/reference/config/networking/virtual-service/#VirtualService, hosts).
 */
export function hostMatches(pattern: string, host: string, configNamespace: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
  const full = pattern.includes('.') ? pattern : `${pattern}.${configNamespace}.svc.cluster.local`;
  if (full === host) return true;
  // "<name>.<ns>" is how Kubernetes DNS completes a name with a namespace.
  return /^[^.]+\.[^.]+$/.test(pattern) && `${pattern}.svc.cluster.local` === host;
}

/** The path without its query string, and the query parameters. */
export function splitPath(path: string): { path: string; query: Map<string, string> } {
  const q = path.indexOf('?');
  const query = new Map<string, string>();
  if (q < 0) return { path, query };
  for (const part of path.slice(q + 1).split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
    if (!query.has(key)) query.set(key, eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1)));
  }
  return { path: path.slice(0, q), query };
}

/**
 * The path as Envoy sees it after Istio's default normalization, BASE: Envoy's normalize_path
 * (RFC 3986: dot segments removed, percent-encoded unreserved characters decoded) and backslashes
 * turned into slashes, before routing and authorization
 * (https://istio.io/latest/docs/ops/best-practices/security/#customize-your-system-on-path-normalization,
 * https://istio.io/latest/docs/reference/config/security/normalization/). The query string is kept.
 */
export function normalizePath(full: string): string {
  const q = full.indexOf('?');
  const path = q < 0 ? full : full.slice(0, q);
  const decoded = path.replaceAll('\\', '/').replace(/%([0-9A-Fa-f]{2})/g, (m, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(c) ? c : m;
  });
  const out: string[] = [];
  const segments = decoded.split('/').slice(1);
  segments.forEach((seg, i) => {
    const last = i === segments.length - 1;
    if (seg === '.') {
      if (last) out.push('');
    } else if (seg === '..') {
      out.pop();
      if (last) out.push('');
    } else out.push(seg);
  });
  return `/${out.join('/')}${q < 0 ? '' : full.slice(q)}`;
}
