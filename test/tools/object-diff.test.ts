import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffManifests, diffValues, formatValue } from '../../tools/mesh/object-diff.js';
import { parseManifests } from '../../tools/mesh/manifest.js';
import { NET, obj } from './support.js';

const deployment = (env: { name: string; value: string }[], image = 'reviews:1') => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'reviews-v1', namespace: 'shop', labels: { app: 'reviews', version: 'v1' } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'reviews', version: 'v1' } },
    template: {
      metadata: { labels: { app: 'reviews', version: 'v1' } },
      spec: {
        containers: [
          { name: 'istio-init', image: 'proxy:1' },
          { name: 'reviews', image, env, ports: [{ containerPort: 8080, name: 'http' }] },
        ],
      },
    },
  },
});

describe('diffManifests', () => {
  it('finds added, removed and changed objects by group, kind, namespace and name', () => {
    const base = [
      obj(NET, 'VirtualService', 'reviews', { hosts: ['reviews'] }),
      obj('v1', 'Service', 'old', { ports: [{ port: 80 }] }),
      obj('v1', 'ConfigMap', 'same', { a: 1 }),
    ];
    const head = [
      obj(NET, 'VirtualService', 'reviews', { hosts: ['reviews', 'reviews.shop'] }),
      obj('v1', 'Service', 'new', { ports: [{ port: 80 }] }),
      obj('v1', 'ConfigMap', 'same', { a: 1 }),
      obj('v1', 'ConfigMap', 'same', { a: 1 }, 'other'),
    ];
    const diffs = diffManifests(base, head);
    assert.deepEqual(
      diffs.map((d) => `${d.status} ${d.label}`),
      [
        'added ConfigMap other/same',
        'added Service shop/new',
        'removed Service shop/old',
        'changed VirtualService shop/reviews',
      ],
    );
    assert.deepEqual(diffs[3].changes, [
      { path: 'spec.hosts', old: ['reviews'], new: ['reviews', 'reviews.shop'] },
    ]);
  });

  it('ignores key order and YAML formatting', () => {
    const a = parseManifests(
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: shop}\ndata: {b: "2", a: "1"}\n',
    );
    const b = parseManifests(
      '# a comment\nkind: ConfigMap\ndata:\n  a: \'1\'\n  b: "2"\nmetadata:\n  namespace: shop\n  name: x\napiVersion: v1\n',
    );
    assert.deepEqual(diffManifests(a, b), []);
  });

  it('treats a new API version of the same group as a change, not a new object', () => {
    const diffs = diffManifests(
      [obj('networking.istio.io/v1beta1', 'DestinationRule', 'r', { host: 'r' })],
      [obj('networking.istio.io/v1', 'DestinationRule', 'r', { host: 'r' })],
    );
    assert.equal(diffs.length, 1);
    assert.deepEqual(diffs[0].changes, [
      { path: 'apiVersion', old: 'networking.istio.io/v1beta1', new: 'networking.istio.io/v1' },
    ]);
  });

  it('tells apart the kinds two API groups share', () => {
    const diffs = diffManifests(
      [],
      [
        obj('networking.istio.io/v1', 'Gateway', 'edge', {}),
        obj('gateway.networking.k8s.io/v1', 'Gateway', 'edge', {}),
      ],
    );
    assert.deepEqual(
      diffs.map((d) => d.label),
      ['Gateway.gateway.networking.k8s.io shop/edge', 'Gateway.networking.istio.io shop/edge'],
    );
  });

  it('matches list items by name: containers, env, ports', () => {
    const base = [
      deployment([
        { name: 'A', value: '1' },
        { name: 'B', value: '2' },
      ]),
    ];
    const head = [
      deployment(
        [
          { name: 'NEW', value: '0' },
          { name: 'A', value: '1' },
          { name: 'B', value: '3' },
        ],
        'reviews:2',
      ),
    ];
    const [d] = diffManifests(base, head);
    assert.deepEqual(
      d.changes.map((c) => `${c.path}: ${formatValue(c.old)} → ${formatValue(c.new)}`),
      [
        'spec.template.spec.containers[reviews].env[B].value: "2" → "3"',
        'spec.template.spec.containers[reviews].env[NEW]: (none) → {name: NEW, value: "0"}',
        'spec.template.spec.containers[reviews].image: reviews:1 → reviews:2',
      ],
    );
  });

  it('matches route destinations by subset and names labels with dots', () => {
    const vs = (w1: number, w3: number) =>
      obj(NET, 'VirtualService', 'reviews', {
        http: [
          {
            name: 'canary',
            route: [
              { destination: { host: 'reviews', subset: 'v1' }, weight: w1 },
              { destination: { host: 'reviews', subset: 'v3' }, weight: w3 },
            ],
          },
        ],
      });
    const [d] = diffManifests([vs(80, 20)], [vs(90, 10)]);
    assert.deepEqual(
      d.changes.map((c) => c.path),
      ['spec.http[canary].route[v1].weight', 'spec.http[canary].route[v3].weight'],
    );
    assert.deepEqual(diffValues({ labels: { 'istio.io/rev': 'a' } }, { labels: { 'istio.io/rev': 'b' } }), [
      { path: 'labels["istio.io/rev"]', old: 'a', new: 'b' },
    ]);
  });

  it('looks inside YAML held in strings (a ConfigMap of the rate limit service)', () => {
    const config = (n: number) =>
      `domain: shop\ndescriptors:\n  - key: remote_address\n    rate_limit:\n      unit: minute\n      requests_per_unit: ${n}\n`;
    const changes = diffValues(
      { data: { 'config.yaml': config(600) } },
      { data: { 'config.yaml': config(900) } },
    );
    assert.deepEqual(changes, [
      {
        path: 'data["config.yaml"] ▸ descriptors[remote_address].rate_limit.requests_per_unit',
        old: 600,
        new: 900,
      },
    ]);
  });

  it('compares unnamed lists item by item', () => {
    assert.deepEqual(diffValues({ l: [{ a: 1 }, { a: 2 }] }, { l: [{ a: 1 }] }), [
      { path: 'l[1]', old: { a: 2 } },
    ]);
  });

  it('formats values for people', () => {
    assert.equal(formatValue('8080'), '"8080"');
    assert.equal(formatValue(8080), '8080');
    assert.equal(formatValue(undefined), '(none)');
    assert.equal(formatValue({ a: [1, 'x'] }), '{a: [1, x]}');
    assert.equal(formatValue('x'.repeat(300)).length, 160);
  });
});
