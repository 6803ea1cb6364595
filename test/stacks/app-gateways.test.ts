/**
 * What the stacks read from an app's rendered objects: its namespaces, and its Gateways (Istio's and
 * the Gateway API's) with hosts, certificates and the path of the first route, from apps written
 * with the constructs as a team would.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { appGateways, appManifests, appNamespaces } from '../../stacks/app.js';
import { ORDERS } from './team-app.js';

describe('appGateways', () => {
  it('reads an Istio Gateway: its hosts, its certificate in istio-system, the first path its VirtualService routes', () => {
    const objects = appManifests(ORDERS, 'istio');
    assert.deepEqual(appNamespaces(objects), ['orders']);
    const [gateway, ...others] = appGateways(objects);
    assert.deepEqual(others, []);
    assert.deepEqual(gateway, {
      kind: 'istio',
      namespace: 'orders',
      name: gateway.name,
      hosts: ['orders.example.com', 'api.example.com'],
      https: true,
      credentials: [{ name: 'orders-tls', namespace: 'istio-system' }],
      path: '/orders',
    });
  });

  it('reads a Gateway API Gateway: its listeners, its certificate in its own namespace, the first path its HTTPRoute routes', () => {
    const gateways = appGateways(appManifests(ORDERS, 'gateway-api'));
    assert.deepEqual(gateways, [
      {
        kind: 'gateway-api',
        namespace: 'orders',
        name: 'orders-gw',
        hosts: ['orders.example.com'],
        https: true,
        credentials: [{ name: 'orders-tls', namespace: 'orders' }],
        path: '/orders',
      },
    ]);
  });

  it('passes the images and the data plane to the app, and sees no ingress in an ambient waypoint', () => {
    const objects = appManifests(
      ORDERS,
      'istio',
      { api: 'registry.example.com/orders-api@sha256:' + 'a'.repeat(64) },
      'ambient',
    );
    const deployment = objects.find((o) => o.kind === 'Deployment') as unknown as {
      spec: { template: { spec: { containers: { image: string }[] } } };
    };
    assert.equal(
      deployment.spec.template.spec.containers[0].image,
      `registry.example.com/orders-api@sha256:${'a'.repeat(64)}`,
    );
    const ns = objects.find((o) => o.kind === 'Namespace') as unknown as {
      metadata: { labels: Record<string, string> };
    };
    assert.equal(ns.metadata.labels['istio.io/dataplane-mode'], 'ambient');
    assert.ok(
      objects.some(
        (o) =>
          o.kind === 'Gateway' &&
          (o.spec as { gatewayClassName?: string }).gatewayClassName === 'istio-waypoint',
      ),
    );
    assert.deepEqual(
      appGateways(objects).map((g) => g.kind),
      ['istio'],
    );
  });
});
