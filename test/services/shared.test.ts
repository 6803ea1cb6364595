import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, readCommonConfig, readUrlList } from '../../services/shared/config.js';
import { planFault } from '../../services/shared/faults.js';
import { TRACE_HEADERS, pickHeaders, redact } from '../../services/shared/propagation.js';

describe('bookshop services: shared code', () => {
  it('reads the documented defaults', () => {
    assert.deepEqual(readCommonConfig({}, { name: 'catalog', version: 'v1' }), {
      serviceName: 'catalog',
      serviceVersion: 'v1',
      host: '0.0.0.0',
      port: 8080,
      shutdownTimeoutMs: 20000,
      drainDelayMs: 0,
      upstreamTimeoutMs: 3000,
      failRate: 0,
      latencyMs: 0,
      latencyJitterMs: 0,
      logHeaders: false,
    });
  });

  it('rejects values that cannot work', () => {
    const defaults = { name: 'x', version: 'v1' };
    for (const env of [
      { PORT: '70000' },
      { PORT: '-1' },
      { FAIL_RATE: 'often' },
      { FAIL_RATE: '2' },
      { LATENCY_MS: '1.5' },
      { LOG_HEADERS: 'maybe' },
      { DRAIN_DELAY_MS: '5000', SHUTDOWN_TIMEOUT_MS: '5000' },
    ]) {
      assert.throws(() => readCommonConfig(env, defaults), ConfigError, JSON.stringify(env));
    }
    assert.equal(readCommonConfig({ FAIL_RATE: '.25' }, defaults).failRate, 0.25);
  });

  it('reads comma-separated upstream base URLs', () => {
    assert.deepEqual(readUrlList({ U: 'http://a:8080/, http://127.0.0.1:18083' }, 'U', 'http://x:1'), [
      'http://a:8080',
      'http://127.0.0.1:18083',
    ]);
    assert.deepEqual(readUrlList({}, 'U', 'http://catalog:8080'), ['http://catalog:8080']);
    assert.throws(() => readUrlList({ U: 'catalog:8080' }, 'U', ''), ConfigError);
    assert.throws(() => readUrlList({ U: 'http://a/?q=1' }, 'U', ''), ConfigError);
  });

  it('lists the headers the Istio docs ask applications to propagate', () => {
    assert.deepEqual([...TRACE_HEADERS].sort(), [
      'b3',
      'grpc-trace-bin',
      'sw8',
      'traceparent',
      'tracestate',
      'x-b3-flags',
      'x-b3-parentspanid',
      'x-b3-sampled',
      'x-b3-spanid',
      'x-b3-traceid',
      'x-cloud-trace-context',
      'x-ot-span-context',
      'x-request-id',
    ]);
    const picked = pickHeaders({ b3: '1', cookie: 'secret', authorization: 'Bearer t', 'x-b3-flags': '' }, [
      ...TRACE_HEADERS,
      'authorization',
    ]);
    assert.deepEqual(picked, { b3: '1', authorization: 'Bearer t' });
    assert.deepEqual(redact(picked), { b3: '1', authorization: '[redacted]' });
  });

  it('plans faults from FAIL_RATE, LATENCY_MS and LATENCY_JITTER_MS', () => {
    const none = { failRate: 0, latencyMs: 0, latencyJitterMs: 0 };
    assert.deepEqual(
      planFault(none, () => 0),
      { delayMs: 0, fail: false },
    );
    assert.deepEqual(
      planFault({ ...none, failRate: 1 }, () => 0.999),
      { delayMs: 0, fail: true },
    );
    assert.equal(planFault({ ...none, failRate: 0.3 }, () => 0.29).fail, true);
    assert.equal(planFault({ ...none, failRate: 0.3 }, () => 0.3).fail, false);
    assert.equal(planFault({ ...none, latencyMs: 100, latencyJitterMs: 50 }, () => 0.5).delayMs, 125);
  });
});
