import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App, Chart, Testing } from 'cdk8s';
import { admissionProblems } from '../constructs/admission/index.js';
import {
  DataPlane,
  EgressGateway,
  ExternalPort,
  ExternalService,
  type ExternalServiceProps,
  ExternalTls,
  MeshNamespace,
  Microservice,
  OutboundTrafficPolicy,
} from '../constructs/index.js';
import { renderObjects } from '../constructs/render.js';
import { Sidecar, SidecarSpecOutboundTrafficPolicyMode } from '../imports/networking.istio.io.js';
import { synthErrors } from './support/synth.js';

const H = 'api.payments-provider.example';

/** The validation errors of one ExternalService "p" in namespace "payments". */
function errorsOf(props: Partial<ExternalServiceProps>): string[] {
  const chart = Testing.chart();
  const ns = new MeshNamespace(chart, 'payments');
  new ExternalService(chart, 'p', { namespace: ns, hosts: [H], ...props });
  try {
    Testing.synth(chart);
    return [];
  } catch {
    return synthErrors(chart);
  }
}

/** What `fn` throws. */
function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected it to throw');
}

describe('ExternalService validation', () => {
  it('takes hosts only as ServiceEntry does: fully qualified DNS names or "*." wildcards, never the cluster\'s', () => {
    assert.deepEqual(
      errorsOf({
        hosts: ['*', 'api', '10.0.0.1', 'API.example.com', 'x.payments.svc.cluster.local'],
      }),
      [
        '[test/p] hosts[0]: "*" would send every host to this service; list the hosts, or "*.example.com" for a domain',
        '[test/p] hosts[1]: "api" is not fully qualified; give the full host name, e.g. "api.example.com"',
        '[test/p] hosts[2]: "10.0.0.1" is an IP address, not a host name; give the host name, and the address as endpoints with resolution "STATIC"',
        '[test/p] hosts[3]: "API.example.com" is not a DNS name (or a "*." wildcard of one); use lower-case letters, digits, "-" and ".", e.g. "api.example.com" or "*.example.com"',
        '[test/p] hosts[4]: "x.payments.svc.cluster.local" is a Service of the cluster, not an external host; call the Microservice itself with calls()',
      ],
    );
    assert.deepEqual(errorsOf({ hosts: [] }), [
      '[test/p] hosts: is empty; give the host names callers address, e.g. ["api.example.com"]',
    ]);
  });

  it('refuses resolution DNS for a wildcard host, which has no name to look up', () => {
    assert.deepEqual(errorsOf({ hosts: ['*.example.com'] }), [
      '[test/p] resolution: DNS cannot resolve the wildcard host "*.example.com": there is no single name to look up, and istiod refuses it; use resolution "NONE" (the proxy sends to the address the application connected to), or list the hosts one by one',
    ]);
    assert.deepEqual(errorsOf({ hosts: ['*.example.com'], resolution: 'NONE' }), []);
    assert.deepEqual(
      errorsOf({ hosts: ['*.example.com'], resolution: 'STATIC', endpoints: ['203.0.113.10'] }),
      [],
    );
  });

  it('checks port names against their protocol, and unique ports', () => {
    assert.deepEqual(
      errorsOf({
        ports: [
          ExternalPort.tcp(443, { name: 'https' }),
          ExternalPort.http(80, { name: 'Http' }),
          ExternalPort.https(80),
        ],
      }),
      [
        '[test/p] ports[0].name: "https" names the protocol "https", but the port is TCP; name it "tcp-443", or use the factory of the protocol it speaks',
        '[test/p] ports[1].name: "Http" is not a valid RFC 1123 label; use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit',
        '[test/p] ports[2].port: 80 is already used by ports[1]; give each port a unique port',
      ],
    );
    assert.deepEqual(errorsOf({ ports: [], tls: ExternalTls.originate() }), [
      '[test/p] ports: is empty; leave ports out for [ExternalPort.https()]',
      '[test/p] tls: originates TLS, but the service has no HTTPS port to originate it to; add ExternalPort.https() to ports',
    ]);
    assert.deepEqual(errorsOf({ ports: [ExternalPort.http()], tls: ExternalTls.passthrough() }), [
      '[test/p] tls: is passthrough, but the service has no HTTPS port; leave tls out, or add ExternalPort.https()',
    ]);
  });

  it("refuses every protocol prefix Istio reads from a port name but the port's own, and takes names without one", () => {
    // Istio's protocol selection by port name (https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/):
    // "<protocol>[-<suffix>]". Each of its prefixes, on a TCP port (so "tcp" is its own).
    const prefixes = ['http', 'https', 'http2', 'grpc', 'grpc-web', 'tls', 'mongo', 'mysql', 'redis', 'udp'];
    assert.deepEqual(
      errorsOf({ ports: prefixes.map((prefix, i) => ExternalPort.tcp(5000 + i, { name: `${prefix}-db` })) }),
      prefixes.map(
        (prefix, i) =>
          `[test/p] ports[${i}].name: "${prefix}-db" names the protocol "${prefix.split('-')[0]}", but the port is TCP; name it "tcp-${5000 + i}", or use the factory of the protocol it speaks`,
      ),
    );
    assert.deepEqual(
      errorsOf({
        ports: [
          ExternalPort.tcp(5432, { name: 'tcp-postgres' }),
          ExternalPort.tcp(5433, { name: 'postgres' }),
          ExternalPort.http(8080, { name: 'http-api' }),
          ExternalPort.https(8443, { name: 'https-api' }),
        ],
      }),
      [],
    );
  });

  it("refuses an egress gateway's names, labels and ports the API server or Istio refuse (survivors of the mutation run)", () => {
    const errors = errorsOf({
      ports: [ExternalPort.http()],
      egressGateway: EgressGateway.istio({
        namespace: 'Egress_NS',
        serviceName: 'Egress.Gateway',
        selector: { 'bad key!': 'egress' },
        ports: [0, 70000],
      }),
    });
    assert.deepEqual(errors, [
      '[test/p] egressGateway.namespace: "Egress_NS" is not a valid RFC 1123 label; use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit',
      '[test/p] egressGateway.serviceName: "Egress.Gateway" is not a valid RFC 1123 label; use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit',
      '[test/p] egressGateway.selector: "bad key!" is not a label key, so no workload carries it; use [prefix/]name with a name of at most 63 letters, digits, "-", "_" and "."',
      '[test/p] egressGateway.ports[0]: 0 is not a valid port; use a whole number from 1 to 65535',
      '[test/p] egressGateway.ports[1]: 70000 is not a valid port; use a whole number from 1 to 65535',
      "[test/p] egressGateway: sidecars reach the gateway on port 80, which its Service does not expose (it exposes 0, 70000); expose 80 on the gateway's Service and list it in EgressGateway.istio({ ports })",
    ]);
    assert.deepEqual(
      errorsOf({ ports: [ExternalPort.http()], egressGateway: EgressGateway.istio({ ports: [] }) }),
      [
        '[test/p] egressGateway.ports: is empty, so no sidecar can reach the gateway; leave ports out for [80, 443]',
      ],
    );
  });

  it('originates TLS only to one DNS host, on a port of its own, with a DNS SNI and an absolute CA path', () => {
    assert.deepEqual(
      errorsOf({ hosts: ['*.example.com'], resolution: 'NONE', tls: ExternalTls.originate() }),
      [
        '[test/p] tls: originating TLS needs exactly one DNS host (one SNI name, one certificate to verify), but the service has the wildcard "*.example.com"; declare one ExternalService per host, each with its DNS name',
      ],
    );
    assert.deepEqual(
      errorsOf({
        hosts: [H, 'b.example.com'],
        tls: ExternalTls.originate({ sni: 'Bad_', caCertificates: 'ca.pem', port: 443 }),
      }),
      [
        "[test/p] tls.port: 443 is also one of the service's ports, where the application would speak TLS itself; choose another plain-HTTP port for the application, e.g. 80",
        '[test/p] tls: originating TLS needs exactly one DNS host (one SNI name, one certificate to verify), but the service has 2 hosts; declare one ExternalService per host, each with its DNS name',
        '[test/p] tls.sni: "Bad_" is not a DNS name; give the server name of the certificate, e.g. "api.example.com"',
        '[test/p] tls.caCertificates: "ca.pem" is not an absolute path in the proxy; give the file the proxy reads, e.g. "/etc/certs/ca.pem"',
      ],
    );
  });

  it('originates TLS to resolved or static endpoints, never with resolution NONE', () => {
    assert.deepEqual(errorsOf({ resolution: 'NONE', tls: ExternalTls.originate() }), [
      '[test/p] tls: originating TLS needs endpoints the proxy connects to, and resolution NONE has none (the proxy would forward to whatever address the application dialled); use resolution "DNS", or "STATIC" with endpoints',
    ]);
    assert.deepEqual(
      errorsOf({ resolution: 'STATIC', endpoints: ['203.0.113.10'], tls: ExternalTls.originate() }),
      [],
    );
  });

  it('needs endpoints exactly for resolution STATIC, as IP addresses', () => {
    assert.deepEqual(errorsOf({ resolution: 'STATIC' }), [
      '[test/p] endpoints: is empty, and resolution STATIC sends only to the listed endpoints, so every call fails; list the IP addresses, or use resolution "DNS"',
    ]);
    assert.deepEqual(errorsOf({ endpoints: ['203.0.113.10'] }), [
      '[test/p] endpoints: is set, but resolution DNS ignores endpoints; use resolution "STATIC", or leave endpoints out',
    ]);
    assert.deepEqual(
      errorsOf({ resolution: 'STATIC', endpoints: ['host.example', '999.1.1.1', '::::', '2001:db8::1'] }),
      [
        '[test/p] endpoints[0]: "host.example" is not an IP address; give an IPv4 or IPv6 address, e.g. "203.0.113.10"',
        '[test/p] endpoints[1]: "999.1.1.1" is not an IP address; give an IPv4 or IPv6 address, e.g. "203.0.113.10"',
        '[test/p] endpoints[2]: "::::" is not an IP address; give an IPv4 or IPv6 address, e.g. "203.0.113.10"',
      ],
    );
  });

  it('refuses what an egress gateway cannot do: NONE (a loop), TCP, a port its Service lacks, no selector', () => {
    assert.deepEqual(errorsOf({ resolution: 'NONE', egressGateway: EgressGateway.istio() }), [
      '[test/p] resolution: NONE through an egress gateway sends the traffic back to the gateway itself in an infinite loop; use resolution "DNS" (Istio\'s egress gateway task requires it)',
    ]);
    assert.deepEqual(errorsOf({ ports: [ExternalPort.tcp(5432)], egressGateway: EgressGateway.istio() }), [
      '[test/p] egressGateway: port 5432 is TCP, which carries no host name (SNI or Host) for the gateway to route and authorize by; call TCP services straight from the sidecar (no egressGateway)',
    ]);
    assert.deepEqual(
      errorsOf({
        tls: ExternalTls.originate(),
        egressGateway: EgressGateway.istio({ ports: [443], selector: {} }),
      }),
      [
        "[test/p] egressGateway.selector: is empty, so the Gateway selects no gateway pods and the AuthorizationPolicy would select every pod of the namespace; give the gateway pods' labels, e.g. { istio: 'egressgateway' }",
        "[test/p] egressGateway: sidecars reach the gateway on port 80, which its Service does not expose (it exposes 443); expose 80 on the gateway's Service and list it in EgressGateway.istio({ ports })",
      ],
    );
    assert.deepEqual(errorsOf({ hosts: [H, 'b.example.com'], egressGateway: EgressGateway.istio() }), [
      '[test/p] egressGateway: the gateway forwards what it receives to one host, but the service has 2; declare one ExternalService per host',
    ]);
  });

  it('refuses a host declared by two ExternalServices, on both', () => {
    const chart = Testing.chart();
    const ns = new MeshNamespace(chart, 'payments');
    new ExternalService(chart, 'p', { namespace: ns, hosts: [H] });
    new ExternalService(chart, 'q', { namespace: new MeshNamespace(chart, 'other'), hosts: [H] });
    assert.deepEqual(synthErrors(chart), [
      '[test/p] hosts: "api.payments-provider.example" is also declared by test/q, and Istio merges two ServiceEntries for one host unpredictably; declare each external host in one ExternalService',
      '[test/q] hosts: "api.payments-provider.example" is also declared by test/p, and Istio merges two ServiceEntries for one host unpredictably; declare each external host in one ExternalService',
    ]);
  });

  it('refuses methods and paths where no proxy sees plain HTTP on the way out', () => {
    const chart = Testing.chart();
    const ns = new MeshNamespace(chart, 'payments');
    const p = new ExternalService(chart, 'p', { namespace: ns, hosts: [H] });
    const q = new ExternalService(chart, 'q', {
      namespace: ns,
      hosts: ['q.example.com'],
      egressGateway: EgressGateway.istio(),
    });
    const api = new Microservice(chart, 'api', { namespace: ns, image: 'a:1', versions: { v1: {} } });
    api.calls(p, { methods: ['GET'] });
    api.calls(q, { paths: ['/x'] });
    assert.deepEqual(synthErrors(chart), [
      '[test/p] callers[0] (api): methods and paths need a proxy that sees the plain HTTP requests, and p has none: without an egress gateway nothing enforces authorization on the way out; leave methods and paths out, or route through an egressGateway with ExternalTls.originate()',
      '[test/q] callers[0] (api): methods and paths need a proxy that sees the plain HTTP requests, and q has none: its gateway passes TLS through; leave methods and paths out, or route through an egressGateway with ExternalTls.originate()',
    ]);
  });

  it('validates the methods and paths a gateway enforces', () => {
    const chart = Testing.chart();
    const ns = new MeshNamespace(chart, 'payments');
    const p = new ExternalService(chart, 'p', {
      namespace: ns,
      hosts: [H],
      tls: ExternalTls.originate(),
      egressGateway: EgressGateway.istio(),
    });
    new Microservice(chart, 'api', { namespace: ns, image: 'a:1', versions: { v1: {} } }).calls(p, {
      methods: ['post'],
    });
    assert.deepEqual(synthErrors(chart), [
      '[test/p] callers[0] (api).methods: "post" is not an HTTP method; use upper-case methods: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, CONNECT, TRACE',
    ]);
  });

  it('refuses a gateway or TLS origination for ambient callers, which have no sidecar, and allows plain passthrough', () => {
    const chart = Testing.chart();
    const ns = new MeshNamespace(chart, 'payments');
    const ambient = new MeshNamespace(chart, 'amb', { dataPlane: DataPlane.ambient() });
    const p = new ExternalService(chart, 'p', {
      namespace: ns,
      hosts: [H],
      egressGateway: EgressGateway.istio(),
    });
    const q = new ExternalService(chart, 'q', {
      namespace: ns,
      hosts: ['q.example.com'],
      tls: ExternalTls.originate(),
    });
    const r = new ExternalService(chart, 'r', { namespace: ns, hosts: ['r.example.com'] });
    const w = new Microservice(chart, 'w', { namespace: ambient, image: 'a:1', versions: { v1: {} } });
    w.calls(p).calls(q).calls(r);
    assert.deepEqual(synthErrors(chart), [
      '[test/p] callers[0] (amb/w): namespace "amb" is ambient, and ztunnel neither routes to an egress gateway nor originates TLS (egressGateway); call it from a sidecar namespace, or use TLS passthrough without egressGateway',
      '[test/q] callers[0] (amb/w): namespace "amb" is ambient, and ztunnel neither routes to an egress gateway nor originates TLS (ExternalTls.originate()); call it from a sidecar namespace, or use TLS passthrough without egressGateway',
    ]);
  });
});

describe('REGISTRY_ONLY validation', () => {
  it('refuses egress hosts that no ExternalService visible from that namespace part declares', () => {
    const chart = Testing.chart();
    const ns = new MeshNamespace(chart, 'payments', {
      outboundTrafficPolicy: OutboundTrafficPolicy.REGISTRY_ONLY,
    });
    new ExternalService(chart, 'p', { namespace: ns, hosts: [H] });
    const wiki = new ExternalService(chart, 'wiki', {
      namespace: new MeshNamespace(chart, 'other'),
      hosts: ['*.wiki.example'],
      resolution: 'NONE',
    });
    const api = new Microservice(chart, 'api', {
      namespace: ns,
      image: 'a:1',
      versions: { v1: {} },
      extraEgressHosts: [
        './api.stripe.com',
        `./${H}`,
        'other/en.wiki.example',
        './de.wiki.example',
        '*/fr.wiki.example',
        'other/x.other.svc.cluster.local',
      ],
    });
    // The call exports the wildcard to api's namespace, where the hosts it covers are then reachable.
    api.calls(wiki);
    assert.deepEqual(synthErrors(chart), [
      '[test/payments] outboundTrafficPolicy: REGISTRY_ONLY, and Sidecar "api" reaches "./api.stripe.com", which no ExternalService in namespace "payments" declares, so its calls to api.stripe.com fail; declare it with new ExternalService(scope, id, { namespace, hosts: ["api.stripe.com"] }) and call it with calls()',
      '[test/payments] outboundTrafficPolicy: REGISTRY_ONLY, and Sidecar "api" reaches "./de.wiki.example", which no ExternalService in namespace "payments" declares, so its calls to de.wiki.example fail; declare it with new ExternalService(scope, id, { namespace, hosts: ["de.wiki.example"] }) and call it with calls()',
    ]);
  });

  it("refuses a host listed by hand that the ExternalService exports only to its callers' namespaces", () => {
    const chart = Testing.chart();
    const ns = new MeshNamespace(chart, 'shop', {
      outboundTrafficPolicy: OutboundTrafficPolicy.REGISTRY_ONLY,
    });
    new ExternalService(chart, 'p', { namespace: new MeshNamespace(chart, 'payments'), hosts: [H] });
    const front = new Microservice(chart, 'front', {
      namespace: ns,
      image: 'a:1',
      versions: { v1: {} },
      extraEgressHosts: [`payments/${H}`],
    });
    assert.deepEqual(synthErrors(chart), [
      `[test/shop] outboundTrafficPolicy: REGISTRY_ONLY, and Sidecar "front" reaches "payments/${H}", but test/p is exported only to its callers' namespaces, not "shop", so its calls to ${H} fail; declare the call with calls(p) instead of listing the host`,
    ]);
    front.calls(chart.node.findChild('p') as ExternalService);
    assert.doesNotThrow(() => Testing.synth(chart));
  });

  it('refuses a Sidecar of the namespace that does not fail closed itself', () => {
    const chart = Testing.chart();
    const ns = new MeshNamespace(chart, 'payments', {
      outboundTrafficPolicy: OutboundTrafficPolicy.REGISTRY_ONLY,
    });
    new Microservice(chart, 'api', { namespace: ns, image: 'a:1', versions: { v1: {} } });
    new Sidecar(chart, 'hand-written', {
      metadata: { name: 'batch', namespace: 'payments' },
      spec: { workloadSelector: { labels: { app: 'batch' } }, egress: [{ hosts: ['./*'] }] },
    });
    new Sidecar(chart, 'opened', {
      metadata: { name: 'open', namespace: 'payments' },
      spec: {
        workloadSelector: { labels: { app: 'open' } },
        egress: [{ hosts: ['istio-system/*'] }],
        outboundTrafficPolicy: { mode: SidecarSpecOutboundTrafficPolicyMode.ALLOW_UNDERSCORE_ANY },
      },
    });
    assert.deepEqual(synthErrors(chart), [
      '[test/payments] outboundTrafficPolicy: REGISTRY_ONLY, but Sidecar "batch" sets no outboundTrafficPolicy (the mesh-wide mode applies), so its workloads may reach hosts no ServiceEntry declares; set its spec.outboundTrafficPolicy to { mode: "REGISTRY_ONLY" } (what MeshNamespace._sidecarOutboundTrafficPolicy() returns)',
      '[test/payments] outboundTrafficPolicy: REGISTRY_ONLY, but Sidecar "open" sets ALLOW_ANY, so its workloads may reach hosts no ServiceEntry declares; set its spec.outboundTrafficPolicy to { mode: "REGISTRY_ONLY" } (what MeshNamespace._sidecarOutboundTrafficPolicy() returns)',
    ]);
  });

  it('is refused in an ambient namespace, where ztunnel does not enforce it', () => {
    const chart = Testing.chart();
    new MeshNamespace(chart, 'amb', {
      dataPlane: DataPlane.ambient(),
      outboundTrafficPolicy: OutboundTrafficPolicy.REGISTRY_ONLY,
    });
    assert.deepEqual(synthErrors(chart), [
      '[test/amb] outboundTrafficPolicy: namespace "amb" is ambient, where ztunnel does not enforce REGISTRY_ONLY (there is no Sidecar resource to carry it), so undeclared egress would still leave the mesh; use DataPlane.sidecar() for fail-closed egress, or leave outboundTrafficPolicy out and block egress with a NetworkPolicy',
    ]);
  });
});

describe('ExternalService input checks', () => {
  it('refuses unknown props and values of the wrong type', () => {
    const chart = Testing.chart();
    const ns = new MeshNamespace(chart, 'payments');
    assert.equal(
      thrown(
        () =>
          new ExternalService(chart, 'p', {
            namespace: ns,
            hosts: [H],
            prots: [],
            tls: 'originate',
            egressGateway: { namespace: 'x' },
          } as never),
      ),
      [
        '[test/p] prots: is not a known option; did you mean ports?',
        '[test/p] tls: expected an ExternalTls (e.g. ExternalTls.originate()), got the string "originate"; create it with ExternalTls.passthrough() or ExternalTls.originate(options), or leave it out',
        '[test/p] egressGateway: expected an EgressGateway (e.g. EgressGateway.istio()), got a plain object; create it with EgressGateway.istio(options), or leave it out',
      ].join('\n'),
    );
    assert.equal(
      thrown(() => ExternalTls.originate({ snii: 'x' } as never)),
      'ExternalTls.originate: options.snii: is not a known option; did you mean sni?',
    );
    assert.equal(
      thrown(() => EgressGateway.istio({ namespace: 3 } as never)),
      'EgressGateway.istio: options.namespace: expected a string, got the number 3; pass a string, e.g. "istio-system", or leave it out',
    );
    assert.equal(
      thrown(() => ExternalPort.https('443' as never)),
      'ExternalPort.https: port: expected a number, got the string "443"; pass a number, e.g. 8080',
    );
    assert.equal(
      thrown(() => new MeshNamespace(chart, 'x', { outboundTrafficPolicy: 'registry_only' as never })),
      '[test/x] outboundTrafficPolicy: expected one of "REGISTRY_ONLY", "ALLOW_ANY", got the string "registry_only"; use OutboundTrafficPolicy.REGISTRY_ONLY or OutboundTrafficPolicy.ALLOW_ANY, or leave it out',
    );
  });
});

describe('Egress objects in the admission pass', () => {
  it('passes every variant through the Istio CRD schemas and CEL rules', () => {
    const app = new App({ outdir: '/tmp' });
    const chart = new Chart(app, 'payments');
    const ns = new MeshNamespace(chart, 'payments', {
      outboundTrafficPolicy: OutboundTrafficPolicy.REGISTRY_ONLY,
    });
    const api = new Microservice(chart, 'api', { namespace: ns, image: 'api:1', versions: { v1: {} } });
    const variants = [
      new ExternalService(chart, 'passthrough', { namespace: ns, hosts: ['a.example.com'] }),
      new ExternalService(chart, 'originate', {
        namespace: ns,
        hosts: ['b.example.com'],
        tls: ExternalTls.originate(),
      }),
      new ExternalService(chart, 'gw-originate', {
        namespace: ns,
        hosts: ['c.example.com'],
        tls: ExternalTls.originate({ caCertificates: '/etc/ca.pem' }),
        egressGateway: EgressGateway.istio(),
      }),
      new ExternalService(chart, 'gw-passthrough', {
        namespace: ns,
        hosts: ['d.example.com'],
        ports: [ExternalPort.https(), ExternalPort.http()],
        egressGateway: EgressGateway.istio(),
      }),
      new ExternalService(chart, 'wildcard', {
        namespace: ns,
        hosts: ['*.e.example.com'],
        resolution: 'NONE',
      }),
      new ExternalService(chart, 'static', {
        namespace: ns,
        hosts: ['f.example.com'],
        ports: [ExternalPort.tcp(5432)],
        resolution: 'STATIC',
        endpoints: ['203.0.113.10'],
      }),
    ];
    for (const v of variants) api.calls(v);
    const objects = renderObjects(app);
    assert.deepEqual(admissionProblems(objects), []);
    assert.equal(objects.filter((o) => o.kind === 'ServiceEntry').length, 6);
    assert.equal(objects.filter((o) => o.kind === 'Gateway').length, 2);
  });
});
