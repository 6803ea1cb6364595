import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Testing } from 'cdk8s';
import {
  EgressGateway,
  ExternalService,
  ExternalTls,
  MeshNamespace,
  type MeshNamespaceProps,
  Microservice,
} from '../constructs/index.js';
import { OutboundTrafficPolicy } from '../constructs/index.js';
import { toMermaid } from '../tools/mesh/graph-render.js';
import type { Manifest } from '../tools/mesh/manifest.js';
import { buildMeshGraph } from '../tools/mesh/mesh-model.js';
import { diffManifests } from '../tools/mesh/object-diff.js';
import { findRisks } from '../tools/mesh/risks.js';

const HOST = 'api.payments-provider.example';

/** The payments app: api calls the provider (through the gateway when asked), worker calls nothing. */
function objects(
  options: { gateway?: boolean; namespace?: MeshNamespaceProps; hosts?: string[] } = {},
): Manifest[] {
  const chart = Testing.chart();
  const ns = new MeshNamespace(chart, 'payments', options.namespace ?? {});
  const api = new Microservice(chart, 'api', { namespace: ns, image: 'api:1', versions: { v1: {} } });
  new Microservice(chart, 'worker', { namespace: ns, image: 'worker:1', versions: { v1: {} } });
  const provider = new ExternalService(chart, 'payments-provider', {
    namespace: ns,
    hosts: options.hosts ?? [HOST],
    ...(options.gateway ? { tls: ExternalTls.originate(), egressGateway: EgressGateway.istio() } : {}),
  });
  api.calls(provider, options.gateway ? { methods: ['POST'] } : {});
  return Testing.synth(chart) as Manifest[];
}

describe('npm run graph: external services', () => {
  it('draws an external service as a node, with an edge from each caller', () => {
    const graph = buildMeshGraph(objects(), 'payments');
    const node = graph.nodes.find((n) => n.id === 'egress:payments/payments-provider');
    assert.deepEqual(node, {
      id: 'egress:payments/payments-provider',
      kind: 'external',
      name: HOST,
      details: [':443 HTTPS'],
      versions: [],
    });
    const edges = graph.edges.filter((e) => e.to === node.id);
    assert.deepEqual(
      edges.map((e) => [e.from, e.sources]),
      [['svc:payments/api', ['sidecar']]],
    );
    assert.match(toMermaid(graph), /api\.payments-provider\.example/);
  });

  it('notes a namespace whose egress fails closed', () => {
    const closed = buildMeshGraph(
      objects({ namespace: { outboundTrafficPolicy: OutboundTrafficPolicy.REGISTRY_ONLY } }),
      'payments',
    );
    assert.deepEqual(closed.namespaces, [
      {
        name: 'payments',
        notes: ['sidecar injection', 'mTLS STRICT', 'default deny', 'egress REGISTRY_ONLY'],
      },
    ]);
    assert.deepEqual(buildMeshGraph(objects(), 'payments').namespaces[0].notes, [
      'sidecar injection',
      'mTLS STRICT',
      'default deny',
    ]);
  });

  it('shows the egress gateway, TLS origination and what the gateway allows the caller', () => {
    const graph = buildMeshGraph(objects({ gateway: true }), 'payments');
    const node = graph.nodes.find((n) => n.id === 'egress:payments/payments-provider');
    assert.deepEqual(node?.details, [
      ':80 HTTP  :443 HTTPS',
      'via egress gateway istio-system/payments-payments-provider',
      'TLS originated',
    ]);
    const edge = graph.edges.find((e) => e.to === 'egress:payments/payments-provider');
    assert.deepEqual(edge?.from, 'svc:payments/api');
    assert.deepEqual(edge?.sources, ['sidecar', 'authorization']);
    assert.deepEqual(edge?.markers, [{ kind: 'authz', text: 'allow POST at the egress gateway' }]);
    // The gateway's policy admits no workload of the app as a callee of its own.
    assert.equal(
      graph.edges.some((e) => e.from === 'svc:payments/worker'),
      false,
    );
  });
});

describe('npm run diff: egress risks', () => {
  const risks = (base: Manifest[], head: Manifest[]) =>
    findRisks(diffManifests(base, head), head).map((r) => `${r.rule}: ${r.object}: ${r.message}`);

  it('flags a namespace switching from REGISTRY_ONLY to ALLOW_ANY or to the mesh-wide mode, on each Sidecar', () => {
    const closed = objects({ namespace: { outboundTrafficPolicy: OutboundTrafficPolicy.REGISTRY_ONLY } });
    const open = objects({ namespace: { outboundTrafficPolicy: OutboundTrafficPolicy.ALLOW_ANY } });
    assert.deepEqual(risks(closed, open), [
      'egress-widened: Sidecar payments/api: outboundTrafficPolicy REGISTRY_ONLY → ALLOW_ANY: the proxies of workloads app=api no longer fail closed, and may reach hosts no ServiceEntry declares',
      'egress-widened: Sidecar payments/default: outboundTrafficPolicy REGISTRY_ONLY → ALLOW_ANY: the proxies of every workload of namespace payments no longer fail closed, and may reach hosts no ServiceEntry declares',
      'egress-widened: Sidecar payments/worker: outboundTrafficPolicy REGISTRY_ONLY → ALLOW_ANY: the proxies of workloads app=worker no longer fail closed, and may reach hosts no ServiceEntry declares',
    ]);
    assert.deepEqual(risks(closed, objects()).slice(0, 1), [
      "egress-widened: Sidecar payments/api: outboundTrafficPolicy REGISTRY_ONLY → unset (the mesh-wide mode, Istio's ALLOW_ANY unless the install sets REGISTRY_ONLY): the proxies of workloads app=api no longer fail closed, and may reach hosts no ServiceEntry declares",
    ]);
    // Closing is no risk.
    assert.deepEqual(risks(open, closed), []);
  });

  it('flags a new external host, added or in a new ServiceEntry', () => {
    const before = objects();
    const after = objects({ hosts: [HOST, 'api2.payments-provider.example'] });
    assert.deepEqual(risks(before, after), [
      'egress-widened: ServiceEntry payments/payments-provider: new external host api2.payments-provider.example (443/HTTPS): workloads that reach it can now leave the mesh, even under REGISTRY_ONLY',
    ]);
    const withoutProvider = before.filter((m) => m.kind !== 'ServiceEntry');
    assert.deepEqual(risks(withoutProvider, before), [
      'egress-widened: ServiceEntry payments/payments-provider: new external host api.payments-provider.example (443/HTTPS): workloads that reach it can now leave the mesh, even under REGISTRY_ONLY',
    ]);
    assert.deepEqual(risks(after, before), []);
  });
});
