import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Testing } from 'cdk8s';
import {
  DataPlane,
  EgressGateway,
  ExternalPort,
  ExternalService,
  ExternalTls,
  GlobalRateLimitService,
  MeshNamespace,
  Microservice,
  OutboundTrafficPolicy,
  RateLimitUnit,
} from '../constructs/index.js';
import { all, find, synth } from './support/synth.js';

const HOST = 'api.payments-provider.example';

/** A payments namespace with an api service, and an external provider declared by `props`. */
function setup(
  props: Partial<ConstructorParameters<typeof ExternalService>[2]> = {},
  nsProps: ConstructorParameters<typeof MeshNamespace>[2] = {},
) {
  const chart = Testing.chart();
  const ns = new MeshNamespace(chart, 'payments', nsProps);
  const api = new Microservice(chart, 'api', { namespace: ns, image: 'api:1', versions: { v1: {} } });
  const provider = new ExternalService(chart, 'payments-provider', {
    namespace: ns,
    hosts: [HOST],
    ...props,
  });
  return { chart, ns, api, provider };
}

describe('ExternalService straight from the sidecar', () => {
  it('declares the host MESH_EXTERNAL with HTTPS passed through, and the caller reaches it', () => {
    const { chart, api, provider } = setup();
    api.calls(provider);
    const objs = synth(chart);
    assert.deepEqual(find(objs, 'ServiceEntry', 'payments-provider').spec, {
      hosts: [HOST],
      exportTo: ['.'],
      location: 'MESH_EXTERNAL',
      resolution: 'DNS',
      ports: [{ number: 443, name: 'https-443', protocol: 'HTTPS' }],
    });
    assert.equal(find(objs, 'ServiceEntry', 'payments-provider').metadata.namespace, 'payments');
    // Passthrough needs no DestinationRule for the host, and without a gateway nothing else.
    assert.deepEqual(
      all(objs, 'DestinationRule').map((d) => d.metadata.name),
      ['api'],
    );
    assert.equal(all(objs, 'Gateway').length, 0);
    assert.equal(all(objs, 'VirtualService').length, 0);
    assert.deepEqual(find(objs, 'Sidecar', 'api').spec.egress, [{ hosts: [`./${HOST}`, 'istio-system/*'] }]);
    assert.equal(provider.destinationRule, undefined);
    assert.equal(provider.gateway, undefined);
  });

  it('lets a caller in another namespace reach it: its Sidecar egress imports it, and the ServiceEntry is exported there', () => {
    const { chart, provider } = setup();
    const shop = new MeshNamespace(chart, 'shop');
    const checkout = new Microservice(chart, 'checkout', {
      namespace: shop,
      image: 'c:1',
      versions: { v1: {} },
    });
    checkout.calls(provider);
    const objs = synth(chart);
    assert.deepEqual(find(objs, 'Sidecar', 'checkout').spec.egress[0].hosts, [
      `payments/${HOST}`,
      'istio-system/*',
    ]);
    // Only the callers' namespaces see the host: exported everywhere, any namespace without Sidecar
    // scoping could reach it.
    assert.deepEqual(find(objs, 'ServiceEntry', 'payments-provider').spec.exportTo, ['.', 'shop']);
  });

  it('originates TLS in the sidecar: plain HTTP on 80 sent to 443, DestinationRule SIMPLE with SNI', () => {
    const { chart, api, provider } = setup({ tls: ExternalTls.originate() });
    api.calls(provider);
    const objs = synth(chart);
    // As "TLS Origination for Egress Traffic": port 80 targets 443, where the DestinationRule opens TLS.
    assert.deepEqual(find(objs, 'ServiceEntry', 'payments-provider').spec.ports, [
      { number: 80, name: 'http-80', protocol: 'HTTP', targetPort: 443 },
      { number: 443, name: 'https-443', protocol: 'HTTPS' },
    ]);
    assert.deepEqual(find(objs, 'DestinationRule', 'payments-provider').spec, {
      host: HOST,
      exportTo: ['.'],
      trafficPolicy: { portLevelSettings: [{ port: { number: 80 }, tls: { mode: 'SIMPLE', sni: HOST } }] },
    });
    assert.equal(provider.destinationRule?.name, 'payments-provider');
  });

  it('takes the SNI, the CA file and the application port from originate()', () => {
    const { chart } = setup({
      tls: ExternalTls.originate({
        sni: 'edge.payments-provider.example',
        caCertificates: '/etc/ca/ca.pem',
        port: 8080,
      }),
    });
    const objs = synth(chart);
    assert.deepEqual(find(objs, 'ServiceEntry', 'payments-provider').spec.ports[0], {
      number: 8080,
      name: 'http-8080',
      protocol: 'HTTP',
      targetPort: 443,
    });
    assert.deepEqual(
      find(objs, 'DestinationRule', 'payments-provider').spec.trafficPolicy.portLevelSettings,
      [
        {
          port: { number: 8080 },
          tls: { mode: 'SIMPLE', sni: 'edge.payments-provider.example', caCertificates: '/etc/ca/ca.pem' },
        },
      ],
    );
  });

  it('declares wildcard hosts with resolution NONE, and static endpoints', () => {
    const chart = Testing.chart();
    const ns = new MeshNamespace(chart, 'payments');
    new ExternalService(chart, 'wiki', { namespace: ns, hosts: ['*.wikipedia.org'], resolution: 'NONE' });
    new ExternalService(chart, 'db', {
      namespace: ns,
      hosts: ['db.partner.example'],
      ports: [ExternalPort.tcp(5432)],
      resolution: 'STATIC',
      endpoints: ['203.0.113.10'],
    });
    const objs = synth(chart);
    assert.equal(find(objs, 'ServiceEntry', 'wiki').spec.resolution, 'NONE');
    assert.deepEqual(find(objs, 'ServiceEntry', 'db').spec, {
      hosts: ['db.partner.example'],
      exportTo: ['.'],
      location: 'MESH_EXTERNAL',
      resolution: 'STATIC',
      ports: [{ number: 5432, name: 'tcp-5432', protocol: 'TCP' }],
      endpoints: [{ address: '203.0.113.10' }],
    });
  });
});

describe('ExternalService through an egress gateway', () => {
  it('originates TLS at the gateway as "Egress Gateways with TLS Origination" does, with mTLS from the sidecar', () => {
    const { chart, api, provider } = setup({
      tls: ExternalTls.originate(),
      egressGateway: EgressGateway.istio(),
    });
    api.calls(provider, { methods: ['POST'], paths: ['/v1/charges'] });
    const objs = synth(chart);
    const gwHost = 'istio-egressgateway.istio-system.svc.cluster.local';
    assert.deepEqual(find(objs, 'ServiceEntry', 'payments-provider').spec.ports, [
      { number: 80, name: 'http-80', protocol: 'HTTP' },
      { number: 443, name: 'https-443', protocol: 'HTTPS' },
    ]);
    const gateway = find(objs, 'Gateway', 'payments-payments-provider');
    assert.equal(gateway.metadata.namespace, 'istio-system');
    assert.deepEqual(gateway.spec, {
      selector: { istio: 'egressgateway' },
      servers: [
        {
          port: { number: 80, name: 'https-port-for-tls-origination', protocol: 'HTTPS' },
          hosts: [`payments/${HOST}`],
          tls: { mode: 'ISTIO_MUTUAL' },
        },
      ],
    });
    const toGateway = find(objs, 'DestinationRule', 'payments-payments-provider');
    assert.equal(toGateway.metadata.namespace, 'istio-system');
    assert.deepEqual(toGateway.spec, {
      host: gwHost,
      subsets: [
        {
          name: 'payments-payments-provider',
          trafficPolicy: {
            loadBalancer: { simple: 'ROUND_ROBIN' },
            portLevelSettings: [{ port: { number: 80 }, tls: { mode: 'ISTIO_MUTUAL', sni: HOST } }],
          },
        },
      ],
    });
    assert.deepEqual(find(objs, 'VirtualService', 'payments-provider').spec, {
      hosts: [HOST],
      exportTo: ['.', 'istio-system'],
      gateways: ['istio-system/payments-payments-provider', 'mesh'],
      http: [
        {
          match: [{ gateways: ['mesh'], port: 80 }],
          route: [
            {
              destination: { host: gwHost, subset: 'payments-payments-provider', port: { number: 80 } },
              weight: 100,
            },
          ],
        },
        {
          match: [{ gateways: ['istio-system/payments-payments-provider'], port: 80 }],
          route: [{ destination: { host: HOST, port: { number: 443 } }, weight: 100 }],
        },
      ],
    });
    assert.deepEqual(find(objs, 'DestinationRule', 'payments-provider').spec, {
      host: HOST,
      exportTo: ['.', 'istio-system'],
      trafficPolicy: {
        loadBalancer: { simple: 'ROUND_ROBIN' },
        portLevelSettings: [{ port: { number: 443 }, tls: { mode: 'SIMPLE', sni: HOST } }],
      },
    });
    // The gateway admits only the caller's identity, only to this host, only what it declared.
    const authz = find(objs, 'AuthorizationPolicy', 'payments-payments-provider');
    assert.equal(authz.metadata.namespace, 'istio-system');
    assert.deepEqual(authz.spec, {
      selector: { matchLabels: { istio: 'egressgateway' } },
      action: 'ALLOW',
      rules: [
        {
          from: [{ source: { principals: ['cluster.local/ns/payments/sa/api'] } }],
          to: [{ operation: { hosts: [HOST], methods: ['POST'], paths: ['/v1/charges'] } }],
        },
      ],
    });
    // The caller reaches the host and the gateway's Service.
    assert.deepEqual(find(objs, 'Sidecar', 'api').spec.egress[0].hosts, [
      `./${HOST}`,
      `istio-system/${gwHost}`,
      'istio-system/*',
    ]);
  });

  it('passes TLS through the gateway with mTLS from the sidecar, authorizing each caller by SNI', () => {
    const { chart, api, provider, ns } = setup({ egressGateway: EgressGateway.istio() });
    const worker = new Microservice(chart, 'worker', { namespace: ns, image: 'w:1', versions: { v1: {} } });
    api.calls(provider);
    worker.calls(provider);
    const objs = synth(chart);
    assert.deepEqual(find(objs, 'Gateway', 'payments-payments-provider').spec.servers, [
      {
        port: { number: 443, name: 'tls-443', protocol: 'TLS' },
        hosts: [`payments/${HOST}`],
        tls: { mode: 'ISTIO_MUTUAL' },
      },
    ]);
    const vs = find(objs, 'VirtualService', 'payments-provider').spec;
    assert.deepEqual(vs.tls, [
      {
        match: [{ gateways: ['mesh'], port: 443, sniHosts: [HOST] }],
        route: [
          {
            destination: {
              host: 'istio-egressgateway.istio-system.svc.cluster.local',
              subset: 'payments-payments-provider',
              port: { number: 443 },
            },
            weight: 100,
          },
        ],
      },
    ]);
    assert.deepEqual(vs.tcp, [
      {
        match: [{ gateways: ['istio-system/payments-payments-provider'], port: 443 }],
        route: [{ destination: { host: HOST, port: { number: 443 } }, weight: 100 }],
      },
    ]);
    assert.equal(vs.http, undefined);
    assert.deepEqual(find(objs, 'AuthorizationPolicy', 'payments-payments-provider').spec.rules, [
      {
        from: [
          {
            source: {
              principals: ['cluster.local/ns/payments/sa/api', 'cluster.local/ns/payments/sa/worker'],
            },
          },
        ],
        when: [{ key: 'connection.sni', values: [HOST] }],
      },
    ]);
    // No DestinationRule for the host itself: the application's TLS goes through untouched.
    assert.equal(provider.destinationRule, undefined);
  });

  it('routes plain HTTP through the gateway, where methods and paths are enforced', () => {
    const { chart, api, provider } = setup({
      ports: [ExternalPort.http()],
      egressGateway: EgressGateway.istio(),
    });
    api.calls(provider, { paths: ['/status'] });
    const objs = synth(chart);
    assert.deepEqual(find(objs, 'Gateway', 'payments-payments-provider').spec.servers[0].port, {
      number: 80,
      name: 'https-80',
      protocol: 'HTTPS',
    });
    assert.deepEqual(find(objs, 'VirtualService', 'payments-provider').spec.http[1].route, [
      { destination: { host: HOST, port: { number: 80 } }, weight: 100 },
    ]);
    assert.deepEqual(find(objs, 'AuthorizationPolicy', 'payments-payments-provider').spec.rules[0].to, [
      { operation: { hosts: [HOST], paths: ['/status'] } },
    ]);
    // No TLS toward the service: no DestinationRule for its host.
    assert.equal(provider.destinationRule, undefined);
  });

  it('matches the Host header with its port when the application calls another port than 80', () => {
    const { chart, api, provider } = setup({
      tls: ExternalTls.originate({ port: 8080 }),
      egressGateway: EgressGateway.istio({ ports: [8080, 443] }),
    });
    api.calls(provider);
    const objs = synth(chart);
    assert.deepEqual(find(objs, 'AuthorizationPolicy', 'payments-payments-provider').spec.rules[0].to, [
      { operation: { hosts: [HOST, `${HOST}:8080`] } },
    ]);
    assert.equal(find(objs, 'Gateway', 'payments-payments-provider').spec.servers[0].port.number, 8080);
  });

  it('admits nobody at the gateway until a caller is declared', () => {
    const { chart } = setup({ egressGateway: EgressGateway.istio() });
    assert.deepEqual(find(synth(chart), 'AuthorizationPolicy', 'payments-payments-provider').spec, {
      selector: { matchLabels: { istio: 'egressgateway' } },
      action: 'ALLOW',
    });
  });

  it('uses the gateway namespace, selector and Service given to EgressGateway.istio()', () => {
    const { chart, api, provider } = setup({
      tls: ExternalTls.originate(),
      egressGateway: EgressGateway.istio({
        namespace: 'egress',
        selector: { app: 'egress' },
        serviceName: 'egress-gw',
      }),
    });
    api.calls(provider);
    const objs = synth(chart);
    for (const kind of ['Gateway', 'DestinationRule', 'AuthorizationPolicy']) {
      assert.equal(find(objs, kind, 'payments-payments-provider').metadata.namespace, 'egress');
    }
    assert.deepEqual(find(objs, 'Gateway', 'payments-payments-provider').spec.selector, { app: 'egress' });
    assert.equal(
      find(objs, 'DestinationRule', 'payments-payments-provider').spec.host,
      'egress-gw.egress.svc.cluster.local',
    );
    assert.deepEqual(find(objs, 'Sidecar', 'api').spec.egress[0].hosts, [
      `./${HOST}`,
      'egress/egress-gw.egress.svc.cluster.local',
      'istio-system/*',
    ]);
  });
});

describe('outboundTrafficPolicy', () => {
  it('renders REGISTRY_ONLY into every Sidecar of the namespace', () => {
    const { chart, api, provider } = setup(
      {},
      { outboundTrafficPolicy: OutboundTrafficPolicy.REGISTRY_ONLY },
    );
    api.calls(provider);
    assert.deepEqual(find(synth(chart), 'Sidecar', 'api').spec.outboundTrafficPolicy, {
      mode: 'REGISTRY_ONLY',
    });
  });

  it("renders it into the rate limit service's Sidecar too", () => {
    const chart = Testing.chart();
    const ns = new MeshNamespace(chart, 'shop', {
      outboundTrafficPolicy: OutboundTrafficPolicy.REGISTRY_ONLY,
    });
    new GlobalRateLimitService(chart, 'ratelimit', {
      namespace: ns,
      domain: 'shop',
      descriptors: [{ key: 'remote_address', limit: { requestsPerUnit: 10, unit: RateLimitUnit.MINUTE } }],
    });
    const sidecar = find(synth(chart), 'Sidecar', 'ratelimit');
    assert.deepEqual(sidecar.spec.outboundTrafficPolicy, { mode: 'REGISTRY_ONLY' });
  });

  it('leaves the mesh-wide mode alone unless the namespace sets one, and renders an explicit ALLOW_ANY', () => {
    assert.equal(find(synth(setup().chart), 'Sidecar', 'api').spec.outboundTrafficPolicy, undefined);
    const { chart } = setup({}, { outboundTrafficPolicy: OutboundTrafficPolicy.ALLOW_ANY });
    assert.deepEqual(find(synth(chart), 'Sidecar', 'api').spec.outboundTrafficPolicy, { mode: 'ALLOW_ANY' });
  });

  it('is exposed on the namespace', () => {
    const chart = Testing.chart();
    const ns = new MeshNamespace(chart, 'a', { outboundTrafficPolicy: OutboundTrafficPolicy.REGISTRY_ONLY });
    assert.equal(ns.outboundTrafficPolicy, OutboundTrafficPolicy.REGISTRY_ONLY);
    assert.equal(
      new MeshNamespace(chart, 'b', { dataPlane: DataPlane.sidecar() }).outboundTrafficPolicy,
      undefined,
    );
  });
});
