/**
 * The rate limits that count a request at the destination's proxy: Envoy's local rate limit filter
 * (token buckets) and the global rate limit filter with the rate limit service's descriptors, as
 * the EnvoyFilters and the service's ConfigMap set them.
 */
import {
  arr,
  get,
  isRecord,
  labelsOf,
  type MeshIndex,
  type MeshObject,
  NETWORKING,
  parseYaml,
  ref,
  selects,
  str,
  type Workload,
} from './objects.js';
import { splitPath } from './match.js';

export interface RateLimitOutcome {
  readonly kind: 'local' | 'global';
  /** The EnvoyFilter ("<ns>/<name>") that installs the filter. */
  readonly filter: string;
  /** What counts the request: "default bucket", "path-prefix=/api/search", "remote_address". */
  readonly counts: string;
  /** A local token bucket. */
  readonly bucket?: {
    readonly maxTokens: number;
    readonly tokensPerFill: number;
    readonly fillInterval: string;
  };
  /** A global limit: the rate limit service's domain and its limit for the descriptor. */
  readonly domain?: string;
  readonly limit?: { readonly requestsPerUnit: number; readonly unit: string } | 'unlimited' | null;
  readonly note?: string;
}

/** What the rate limit filters read of a request. */
export interface RateLimitedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** A header as Envoy's matchers see it, the pseudo-headers :path, :method and :authority included. */
function headerValue(request: RateLimitedRequest, name: string): string | undefined {
  if (name === ':path') return request.path;
  if (name === ':method') return request.method;
  if (name === ':authority') return request.headers.host;
  return request.headers[name];
}

function patchesOf(f: unknown): unknown[] {
  return arr(get(f, 'spec', 'configPatches'));
}

function inbound(p: unknown): boolean {
  return str(get(p, 'match', 'context')) === 'SIDECAR_INBOUND';
}

function bucketOf(b: unknown) {
  return {
    maxTokens: Number(get(b, 'max_tokens')),
    tokensPerFill: Number(get(b, 'tokens_per_fill') ?? get(b, 'max_tokens')),
    fillInterval: str(get(b, 'fill_interval')) ?? '',
  };
}

/** The rate limits of the destination workload's inbound sidecar for this request. */
export function rateLimitsFor(
  index: MeshIndex,
  workload: Workload | undefined,
  request: RateLimitedRequest,
): RateLimitOutcome[] {
  if (!workload) return [];
  const { path } = splitPath(request.path);
  const filters = index
    .of(NETWORKING, 'EnvoyFilter')
    .filter(
      (f) =>
        (f.metadata.namespace ?? 'default') === workload.namespace &&
        selects(labelsOf(get(f, 'spec', 'workloadSelector', 'labels')), workload.labels),
    );
  const out: RateLimitOutcome[] = [];
  for (const f of filters) {
    for (const p of patchesOf(f).filter(inbound)) {
      const value = get(p, 'patch', 'value');
      const name = str(get(value, 'name'));
      if (name === 'envoy.filters.http.local_ratelimit') {
        const config = get(value, 'typed_config', 'value') ?? get(value, 'typed_config');
        // Per-path descriptors come from the route's rate_limits actions (header_value_match on
        // :path); a request matching one consumes its bucket and, since
        // always_consume_default_token_bucket defaults to true, the default bucket too
        // (https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/local_rate_limit_filter).
        for (const rp of patchesOf(f).filter((x) => inbound(x) && str(get(x, 'applyTo')) === 'HTTP_ROUTE')) {
          const perRoute = get(rp, 'patch', 'value', 'typed_per_filter_config', name, 'value');
          const descriptors = arr(get(perRoute, 'descriptors'));
          for (const rl of arr(get(rp, 'patch', 'value', 'route', 'rate_limits'))) {
            for (const action of arr(get(rl, 'actions'))) {
              const hvm = get(action, 'header_value_match');
              if (!isRecord(hvm)) continue;
              const matches = arr(hvm.headers).every((h) => {
                const prefix = str(get(h, 'string_match', 'prefix'));
                const exact = str(get(h, 'string_match', 'exact'));
                const name = (str(get(h, 'name')) ?? '').toLowerCase();
                const value = name === ':path' ? path : headerValue(request, name);
                return (
                  value !== undefined && (prefix !== undefined ? value.startsWith(prefix) : value === exact)
                );
              });
              if (!matches) continue;
              const key = str(hvm.descriptor_key) ?? 'header_match';
              const val = str(hvm.descriptor_value) ?? '';
              const d = descriptors.find((x) =>
                arr(get(x, 'entries')).some((e) => get(e, 'key') === key && get(e, 'value') === val),
              );
              if (d)
                out.push({
                  kind: 'local',
                  filter: ref(f),
                  counts: `${key}=${val}`,
                  bucket: bucketOf(get(d, 'token_bucket')),
                });
            }
          }
        }
        out.push({
          kind: 'local',
          filter: ref(f),
          counts: 'default bucket',
          bucket: bucketOf(get(config, 'token_bucket')),
        });
      }
      if (name === 'envoy.filters.http.ratelimit') {
        const domain = str(get(value, 'typed_config', 'domain')) ?? '';
        out.push(
          ...globalLimits(
            index,
            workload,
            filters.map((x) => x),
            domain,
            ref(f),
            request,
          ),
        );
      }
    }
  }
  return out;
}

/**
 * The descriptors the route's rate_limits actions make of the request, looked up in the rate limit
 * service's configuration for the domain: remote_address (the client address), request_headers
 * (no descriptor when the header is absent), generic_key
 * (https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto#config-route-v3-ratelimit-action,
 * https://github.com/envoyproxy/ratelimit#configuration: a descriptor without a value gives each
 * value its own limit).
 */
function globalLimits(
  index: MeshIndex,
  workload: Workload,
  filters: readonly MeshObject[],
  domain: string,
  filterName: string,
  request: RateLimitedRequest,
): RateLimitOutcome[] {
  const config = index.objects
    .filter((o) => o.kind === 'ConfigMap' && (o.metadata.namespace ?? 'default') === workload.namespace)
    .flatMap((o) => Object.values(labelsOf(get(o, 'data'))))
    .map((text) => {
      try {
        return parseYaml(text);
      } catch {
        return undefined;
      }
    })
    .find((c) => get(c, 'domain') === domain);
  const out: RateLimitOutcome[] = [];
  for (const f of filters) {
    for (const p of patchesOf(f).filter((x) => inbound(x) && str(get(x, 'applyTo')) === 'VIRTUAL_HOST')) {
      for (const rl of arr(get(p, 'patch', 'value', 'rate_limits'))) {
        const entries: { key: string; value: string | undefined }[] = [];
        let produced = true;
        for (const a of arr(get(rl, 'actions'))) {
          if (isRecord(get(a, 'remote_address'))) entries.push({ key: 'remote_address', value: undefined });
          else if (isRecord(get(a, 'generic_key')))
            entries.push({
              key: str(get(a, 'generic_key', 'descriptor_key')) ?? 'generic_key',
              value: str(get(a, 'generic_key', 'descriptor_value')),
            });
          else if (isRecord(get(a, 'request_headers'))) {
            const header = (str(get(a, 'request_headers', 'header_name')) ?? '').toLowerCase();
            const value = headerValue(request, header);
            if (value === undefined) {
              // skip_if_absent leaves out this entry only; otherwise the whole descriptor is not sent.
              if (get(a, 'request_headers', 'skip_if_absent') === true) continue;
              produced = false;
            }
            entries.push({
              key: str(get(a, 'request_headers', 'descriptor_key')) ?? header,
              value,
            });
          }
        }
        const counts = entries
          .map((e) => (e.value === undefined ? e.key : `${e.key}=${e.value}`))
          .join(' › ');
        if (!produced) {
          out.push({
            kind: 'global',
            filter: filterName,
            counts,
            domain,
            limit: null,
            note: 'a header the descriptor needs is absent, so this request sends no descriptor and is not counted',
          });
          continue;
        }
        let level: unknown[] = arr(get(config, 'descriptors'));
        let found: unknown;
        for (const e of entries) {
          found =
            level.find(
              (d) => get(d, 'key') === e.key && e.value !== undefined && String(get(d, 'value')) === e.value,
            ) ?? level.find((d) => get(d, 'key') === e.key && get(d, 'value') === undefined);
          if (!found) break;
          level = arr(get(found, 'descriptors'));
        }
        const limit = get(found, 'rate_limit');
        out.push({
          kind: 'global',
          filter: filterName,
          counts,
          domain,
          limit:
            get(found, 'unlimited') === true
              ? 'unlimited'
              : isRecord(limit)
                ? { requestsPerUnit: Number(limit.requests_per_unit), unit: str(limit.unit) ?? '' }
                : null,
          ...(config === undefined
            ? { note: `no configuration of domain ${domain} among the objects` }
            : found === undefined
              ? { note: 'no descriptor of the configuration matches, so the request is not limited' }
              : entries.some((e) => e.value === undefined)
                ? { note: 'counted per value (each client address has its own budget)' }
                : {}),
        });
      }
    }
  }
  return out;
}
