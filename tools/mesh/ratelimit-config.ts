/**
 * The configuration of Envoy's rate limit service, as a ConfigMap carries it (a YAML file with a
 * domain and nested descriptors), flattened: what the diff compares and what the graph draws.
 */
import { parse as parseYaml } from 'yaml';
import { arr, get, isRecord, type Manifest, num, rec, str } from './manifest.js';

/** One descriptor, with the entries that lead to it. */
export interface DescriptorLimit {
  /** "PATH=/api › user": the descriptor's entries from the top of the domain. */
  readonly path: string;
  /** The top-level entry it is nested under (itself, at the top). */
  readonly top: { readonly key: string; readonly value?: string };
  readonly unlimited: boolean;
  /** The descriptor's own `rate_limit`, when it has one. */
  readonly limit?: { readonly requestsPerUnit?: number; readonly unit?: string };
  readonly shadowMode: boolean;
}

export interface RateLimitConfig {
  readonly domain: string;
  /** The ConfigMap key the file is under. */
  readonly file: string;
  /** Every descriptor, parents before their children. */
  readonly descriptors: readonly DescriptorLimit[];
}

/** The rate limit service configurations among a ConfigMap's files; none for any other object. */
export function rateLimitConfigs(m: Manifest | undefined): RateLimitConfig[] {
  const out: RateLimitConfig[] = [];
  for (const [file, text] of Object.entries(rec(get(m, 'data')))) {
    if (typeof text !== 'string') continue;
    let config: unknown;
    try {
      config = parseYaml(text);
    } catch {
      continue;
    }
    if (!isRecord(config) || typeof config.domain !== 'string' || !Array.isArray(config.descriptors))
      continue;
    const descriptors: DescriptorLimit[] = [];
    const visit = (list: unknown, prefix: string, top?: DescriptorLimit['top']) => {
      for (const d of arr(list)) {
        const entry = {
          key: str(get(d, 'key')) ?? '?',
          value: get(d, 'value') === undefined ? undefined : String(get(d, 'value')),
        };
        const path = `${prefix}${entry.key}${entry.value !== undefined ? `=${entry.value}` : ''}`;
        const limit = get(d, 'rate_limit');
        descriptors.push({
          path,
          top: top ?? entry,
          unlimited: get(d, 'unlimited') === true,
          limit: isRecord(limit)
            ? { requestsPerUnit: num(limit.requests_per_unit), unit: str(limit.unit) }
            : undefined,
          shadowMode: get(d, 'shadow_mode') === true,
        });
        visit(get(d, 'descriptors'), `${path} › `, top ?? entry);
      }
    };
    visit(config.descriptors, '');
    out.push({ domain: config.domain, file, descriptors });
  }
  return out;
}
