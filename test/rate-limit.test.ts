import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Testing } from 'cdk8s';
import { Duration, MeshNamespace, Microservice, ServicePort } from '../constructs/index.js';
import { find, synth, synthErrors } from './support/synth.js';

const TYPED_STRUCT = 'type.googleapis.com/udpa.type.v1.TypedStruct';
const LOCAL = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';

function storefront(localRateLimit: ConstructorParameters<typeof Microservice>[2]['localRateLimit']) {
  const chart = Testing.chart();
  const ns = new MeshNamespace(chart, 'shop');
  new Microservice(chart, 'storefront', {
    namespace: ns,
    image: 'storefront:1',
    ports: [ServicePort.http(80, { targetPort: 8080 })],
    versions: { v1: {} },
    localRateLimit,
  });
  return find(synth(chart), 'EnvoyFilter', 'storefront-local-ratelimit');
}

describe('Local rate limiting (EnvoyFilter)', () => {
  it('inserts the token bucket into the inbound HTTP chain of the workload, as Istio documents', () => {
    const ef = storefront({
      bucket: { maxTokens: 20, tokensPerFill: 10, fillInterval: Duration.millis(500) },
    });
    assert.equal(ef.apiVersion, 'networking.istio.io/v1alpha3');
    assert.equal(ef.metadata.namespace, 'shop');
    assert.deepEqual(ef.spec.workloadSelector, { labels: { app: 'storefront' } });
    assert.equal(ef.spec.configPatches.length, 1);
    const [patch] = ef.spec.configPatches;
    assert.equal(patch.applyTo, 'HTTP_FILTER');
    assert.deepEqual(patch.match, {
      context: 'SIDECAR_INBOUND',
      listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager' } } },
    });
    assert.equal(patch.patch.operation, 'INSERT_BEFORE');
    const filter = patch.patch.value;
    assert.equal(filter.name, 'envoy.filters.http.local_ratelimit');
    assert.equal(filter.typed_config['@type'], TYPED_STRUCT);
    assert.equal(filter.typed_config.type_url, LOCAL);
    const cfg = filter.typed_config.value;
    // Envoy's typed config takes protobuf JSON durations: "0.5s", never "500ms".
    assert.deepEqual(cfg.token_bucket, { max_tokens: 20, tokens_per_fill: 10, fill_interval: '0.5s' });
    assert.deepEqual(cfg.filter_enforced.default_value, { numerator: 100, denominator: 'HUNDRED' });
    assert.deepEqual(cfg.response_headers_to_add, [
      { append_action: 'OVERWRITE_IF_EXISTS_OR_ADD', header: { key: 'x-local-rate-limit', value: 'true' } },
    ]);
  });

  it('gives paths their own buckets through descriptors on the inbound virtual host', () => {
    const ef = storefront({
      bucket: { maxTokens: 100, fillInterval: Duration.seconds(1) },
      paths: [{ prefix: '/api/search', bucket: { maxTokens: 5, fillInterval: Duration.minutes(1) } }],
    });
    const route = ef.spec.configPatches[1];
    assert.equal(route.applyTo, 'HTTP_ROUTE');
    // The Service port (80), not the container port (8080), names the inbound virtual host.
    assert.deepEqual(route.match, {
      context: 'SIDECAR_INBOUND',
      routeConfiguration: { vhost: { name: 'inbound|http|80', route: { action: 'ANY' } } },
    });
    assert.deepEqual(route.patch.value.route.rate_limits, [
      {
        stage: 1,
        actions: [
          {
            header_value_match: {
              descriptor_key: 'path-prefix',
              descriptor_value: '/api/search',
              headers: [{ name: ':path', string_match: { prefix: '/api/search' } }],
            },
          },
        ],
      },
    ]);
    const perRoute = route.patch.value.typed_per_filter_config['envoy.filters.http.local_ratelimit'].value;
    assert.deepEqual(perRoute.descriptors, [
      {
        entries: [{ key: 'path-prefix', value: '/api/search' }],
        token_bucket: { max_tokens: 5, tokens_per_fill: 5, fill_interval: '60s' },
      },
    ]);
    assert.deepEqual(perRoute.token_bucket, { max_tokens: 100, tokens_per_fill: 100, fill_interval: '1s' });
    assert.equal(perRoute.stage, 1, 'the stage of the route actions');
  });
});

describe('Local rate limit filter config, field by field', () => {
  // The whole typed_config, as Istio's "Enabling Rate Limits using Envoy" task writes it: Envoy's
  // LocalRateLimit needs a stat_prefix, and filter_enabled / filter_enforced left out default to
  // 0 % of requests (extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto), so a
  // filter without them limits nothing while looking configured.
  const enabled = {
    runtime_key: 'local_rate_limit_enabled',
    default_value: { numerator: 100, denominator: 'HUNDRED' },
  };
  const enforced = {
    runtime_key: 'local_rate_limit_enforced',
    default_value: { numerator: 100, denominator: 'HUNDRED' },
  };
  const header = [
    { append_action: 'OVERWRITE_IF_EXISTS_OR_ADD', header: { key: 'x-local-rate-limit', value: 'true' } },
  ];

  it('renders the workload bucket with no descriptors when no path has its own bucket', () => {
    const ef = storefront({ bucket: { maxTokens: 7, fillInterval: Duration.seconds(2) } });
    assert.deepEqual(ef.spec.configPatches[0].patch.value.typed_config.value, {
      stat_prefix: 'http_local_rate_limiter',
      token_bucket: { max_tokens: 7, tokens_per_fill: 7, fill_interval: '2s' },
      filter_enabled: enabled,
      filter_enforced: enforced,
      response_headers_to_add: header,
    });
  });

  it('keeps descriptors out of the listener filter and puts them, with their stage, in the route config', () => {
    const ef = storefront({
      bucket: { maxTokens: 50, tokensPerFill: 25, fillInterval: Duration.seconds(1) },
      paths: [
        { prefix: '/api', bucket: { maxTokens: 3, fillInterval: Duration.millis(1500) } },
        { prefix: '/login', bucket: { maxTokens: 2, tokensPerFill: 1, fillInterval: Duration.minutes(1) } },
      ],
    });
    const bucket = { max_tokens: 50, tokens_per_fill: 25, fill_interval: '1s' };
    assert.deepEqual(ef.spec.configPatches[0].patch.value.typed_config.value, {
      stat_prefix: 'http_local_rate_limiter',
      token_bucket: bucket,
      filter_enabled: enabled,
      filter_enforced: enforced,
      response_headers_to_add: header,
    });
    assert.deepEqual(ef.spec.configPatches[1].patch.value.typed_per_filter_config, {
      'envoy.filters.http.local_ratelimit': {
        '@type': TYPED_STRUCT,
        type_url: LOCAL,
        value: {
          stat_prefix: 'http_local_rate_limiter',
          token_bucket: bucket,
          filter_enabled: enabled,
          filter_enforced: enforced,
          response_headers_to_add: header,
          stage: 1,
          descriptors: [
            {
              entries: [{ key: 'path-prefix', value: '/api' }],
              token_bucket: { max_tokens: 3, tokens_per_fill: 3, fill_interval: '1.5s' },
            },
            {
              entries: [{ key: 'path-prefix', value: '/login' }],
              token_bucket: { max_tokens: 2, tokens_per_fill: 1, fill_interval: '60s' },
            },
          ],
        },
      },
    });
  });
});

describe('local rate limit inputs refused (survivors of the mutation run over rate-limit.ts)', () => {
  const build = (ports: ServicePort[], paths: { prefix: string }[] = []) => {
    const chart = Testing.chart();
    const bucket = { maxTokens: 10, tokensPerFill: 10, fillInterval: Duration.seconds(1) };
    new Microservice(chart, 'storefront', {
      namespace: new MeshNamespace(chart, 'shop'),
      image: 'storefront:1',
      ports,
      versions: { v1: {} },
      localRateLimit: { bucket, paths: paths.map((p) => ({ ...p, bucket })) },
    });
    return synthErrors(chart);
  };

  it('refuses a path prefix that does not start at the root', () => {
    assert.deepEqual(build([ServicePort.http(80)], [{ prefix: 'api' }]), [
      '[test/storefront/local-rate-limit] paths[0].prefix: "api" does not start with "/"; write the path prefix from the root, e.g. "/api"',
    ]);
  });

  it('refuses a service with no HTTP port, where there is no HTTP chain to insert the filter into', () => {
    assert.deepEqual(build([ServicePort.tcp(5432)]), [
      '[test/storefront/local-rate-limit] service: storefront has no HTTP port; rate limit an HTTP service',
    ]);
  });
});
