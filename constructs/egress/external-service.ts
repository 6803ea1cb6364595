import { isIP } from 'node:net';
import { ApiObject, Lazy } from 'cdk8s';
import { Construct, type IConstruct } from 'constructs';
import {
  DestinationRule,
  DestinationRuleSpecTrafficPolicyLoadBalancerSimple,
  DestinationRuleSpecTrafficPolicyPortLevelSettingsTlsMode,
  DestinationRuleSpecSubsetsTrafficPolicyLoadBalancerSimple,
  DestinationRuleSpecSubsetsTrafficPolicyPortLevelSettingsTlsMode,
  Gateway,
  GatewaySpecServersTlsMode,
  ServiceEntry,
  ServiceEntrySpecLocation,
  ServiceEntrySpecResolution,
  VirtualService,
} from '../../imports/networking.istio.io.js';
import {
  AuthorizationPolicy,
  AuthorizationPolicySpecAction,
  type AuthorizationPolicySpecRules,
} from '../../imports/security.istio.io.js';
import { checkInput, constructId } from '../input.js';
import { isDnsName } from '../k8s-names.js';
import type { MeshNamespace } from '../mesh-namespace.js';
import type { CallTarget, MeshCaller } from '../microservice.js';
import { type CallOptions, renderAllowRules, validateCallOptions } from '../security.js';
import { type Problems, validateWith } from '../validation.js';
import { validatePorts } from '../values.js';
import type { EgressGateway } from './egress-gateway.js';
import { ExternalPort, ExternalProtocol, ExternalTls } from './values.js';

export type ExternalResolution = 'DNS' | 'STATIC' | 'NONE';

export interface ExternalServiceProps {
  /** The namespace of its ServiceEntry, VirtualService and DestinationRule. */
  readonly namespace: MeshNamespace;
  /**
   * The name of its objects.
   * @default the construct id
   */
  readonly name?: string;
  /** The host names callers address, e.g. ["api.payments-provider.example"]; "*.example.com" with resolution NONE or STATIC. */
  readonly hosts: readonly string[];
  /**
   * The service's ports.
   * @default [ExternalPort.https()]
   */
  readonly ports?: readonly ExternalPort[];
  /**
   * How the proxies find the service's endpoints: DNS (the host names), STATIC (the `endpoints`
   * addresses), or NONE (the address the application connected to).
   * @default "DNS"
   */
  readonly resolution?: ExternalResolution;
  /**
   * The IP addresses of the service's endpoints, for resolution STATIC.
   * @default none
   */
  readonly endpoints?: readonly string[];
  /**
   * TLS passthrough or origination.
   * @default ExternalTls.passthrough() for HTTPS ports
   */
  readonly tls?: ExternalTls;
  /**
   * Route the traffic through this egress gateway, which admits only the declared callers.
   * @default none: straight from the caller's sidecar
   */
  readonly egressGateway?: EgressGateway;
}

interface Caller {
  readonly caller: MeshCaller;
  readonly options: CallOptions;
}

/** Per construct tree, the ExternalServices that declare each host. */
const HOSTS = new WeakMap<IConstruct, Map<string, ExternalService[]>>();

/** The ExternalServices of the app that `scope` is in, by each host they declare. */
export function externalServicesByHost(scope: IConstruct): ReadonlyMap<string, readonly ExternalService[]> {
  return HOSTS.get(scope.node.root) ?? new Map();
}

/** Whether a host (or wildcard) is declared by one of `hosts`, itself exact or "*.suffix". */
export function hostCovered(host: string, declared: string): boolean {
  if (declared === host) return true;
  return declared.startsWith('*.') && host.endsWith(declared.slice(1)) && host.length > declared.length - 1;
}

/**
 * A service outside the mesh that workloads call, under the mesh's control: a ServiceEntry that
 * puts it in the service registry (so it stays reachable under REGISTRY_ONLY), TLS origination or
 * passthrough, and optionally an egress gateway that is the only way out and admits only the
 * declared callers. `microservice.calls(external)` lets a caller reach it: its Sidecar's egress
 * lists the hosts (and the gateway), and the gateway's AuthorizationPolicy admits its identity.
 */
export class ExternalService extends Construct implements CallTarget {
  public readonly name: string;
  public readonly namespace: MeshNamespace;
  public readonly hosts: readonly string[];
  public readonly ports: readonly ExternalPort[];
  public readonly resolution: ExternalResolution;
  public readonly tls: ExternalTls;
  public readonly egressGateway?: EgressGateway;

  /** The ServiceEntry `<name>` that adds the hosts to the mesh's registry, MESH_EXTERNAL. */
  public readonly serviceEntry: ServiceEntry;
  /** With TLS origination, the DestinationRule `<name>` that originates TLS (mode SIMPLE, with SNI). */
  public readonly destinationRule?: DestinationRule;
  /** With an egress gateway, the VirtualService `<name>` that sends the traffic from the sidecars to the gateway and from there out. */
  public readonly virtualService?: VirtualService;
  /** With an egress gateway, its Gateway `<namespace>-<name>` in the gateway's namespace. */
  public readonly gateway?: Gateway;
  /** With an egress gateway, the DestinationRule `<namespace>-<name>` (in the gateway's namespace) for the sidecars' mTLS to the gateway. */
  public readonly gatewayDestinationRule?: DestinationRule;
  /** With an egress gateway, the AuthorizationPolicy `<namespace>-<name>` (in the gateway's namespace) that admits only the callers. */
  public readonly gatewayAuthorization?: AuthorizationPolicy;

  private readonly callers: Caller[] = [];
  private readonly props: ExternalServiceProps;

  constructor(scope: Construct, id: string, props: ExternalServiceProps) {
    super(scope, constructId('ExternalService', scope, id));
    checkInput.externalService(this, props);
    this.props = props;
    this.name = props.name ?? id;
    this.namespace = props.namespace;
    this.hosts = [...props.hosts];
    this.ports = [...(props.ports ?? [ExternalPort.https()])];
    this.resolution = props.resolution ?? 'DNS';
    this.tls = props.tls ?? ExternalTls.passthrough();
    this.egressGateway = props.egressGateway;

    const byHost = HOSTS.get(this.node.root) ?? new Map<string, ExternalService[]>();
    HOSTS.set(this.node.root, byHost);
    for (const host of new Set(this.hosts)) byHost.set(host, [...(byHost.get(host) ?? []), this]);

    validateWith(this, (p) => this.validate(p));

    const ns = this.namespace.name;
    const labels = { app: this.name };
    const originate = this.tls.mode === 'originate';
    const gw = this.egressGateway;
    const tlsPort = this.ports.find((port) => port.protocol === ExternalProtocol.HTTPS);
    const appPort = this.tls.originationPort;

    this.serviceEntry = new ServiceEntry(this, 'service-entry', {
      metadata: { name: this.name, namespace: ns, labels },
      spec: {
        hosts: [...this.hosts],
        exportTo: this.exportTo(),
        location: ServiceEntrySpecLocation.MESH_UNDERSCORE_EXTERNAL,
        resolution: ServiceEntrySpecResolution[this.resolution],
        ports: [
          // TLS origination: the application's plain-HTTP port. From the sidecar it goes straight
          // to the HTTPS port (targetPort), as the TLS origination task's ServiceEntry does; through
          // a gateway, the gateway's route sends it there, as the egress gateway task's does.
          ...(appPort !== undefined
            ? [
                {
                  number: appPort,
                  name: `http-${appPort}`,
                  protocol: 'HTTP',
                  ...(gw ? {} : { targetPort: tlsPort?.port ?? 443 }),
                },
              ]
            : []),
          ...this.ports.map((port) => ({ number: port.port, name: port.name, protocol: port.protocol })),
        ],
        endpoints: props.endpoints?.map((address) => ({ address })),
      },
    });

    if (originate) {
      // "Egress Gateways with TLS Origination" and "TLS Origination for Egress Traffic"
      // (https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway-tls-origination/):
      // the proxy that sends to the service (the gateway, else the caller's sidecar) opens TLS on
      // the port it sends to, verifying the server's certificate for the SNI name.
      this.destinationRule = new DestinationRule(this, 'destination-rule', {
        metadata: { name: this.name, namespace: ns, labels },
        spec: {
          host: this.hosts[0],
          exportTo: this.exportTo(),
          trafficPolicy: {
            ...(gw
              ? {
                  loadBalancer: {
                    simple: DestinationRuleSpecTrafficPolicyLoadBalancerSimple.ROUND_UNDERSCORE_ROBIN,
                  },
                }
              : {}),
            portLevelSettings: [
              {
                port: { number: gw ? (tlsPort?.port ?? 443) : (appPort ?? 80) },
                tls: {
                  mode: DestinationRuleSpecTrafficPolicyPortLevelSettingsTlsMode.SIMPLE,
                  sni: this.tls._options.sni ?? this.hosts[0],
                  caCertificates: this.tls._options.caCertificates,
                },
              },
            ],
          },
        },
      });
    }

    if (gw) {
      const gwName = this.gatewayObjectName;
      const gwRef = `${gw.namespace}/${gwName}`;
      const host = this.hosts[0];
      // What the sidecar sends to the gateway: the application's plain HTTP (TLS origination, HTTP
      // ports), or its TLS (HTTPS ports). Either way wrapped in Istio mTLS, so the gateway knows the
      // caller's identity and can authorize it: with the plain PASSTHROUGH server of the HTTPS task
      // the gateway would see no principal, and an ALLOW policy by principal would deny everything.
      const legs = this.gatewayLegs();

      // The Gateway lives with the gateway pods: Istio's docs recommend the gateway's namespace, and
      // its hosts admit only VirtualServices of this service's namespace ("<namespace>/<host>",
      // https://istio.io/latest/docs/reference/config/networking/gateway/#Server).
      this.gateway = new Gateway(this, 'gateway', {
        metadata: { name: gwName, namespace: gw.namespace, labels },
        spec: {
          selector: { ...gw.selector },
          servers: legs.map((leg) => ({
            port: {
              number: leg.port,
              // The origination server's name is the task's; the others say what the sidecars send.
              name: !leg.http
                ? `tls-${leg.port}`
                : originate
                  ? 'https-port-for-tls-origination'
                  : `https-${leg.port}`,
              protocol: leg.http ? 'HTTPS' : 'TLS',
            },
            hosts: [`${ns}/${host}`],
            tls: { mode: GatewaySpecServersTlsMode.ISTIO_UNDERSCORE_MUTUAL },
          })),
        },
      });

      // The sidecars' leg to the gateway: Istio mTLS with the external host as SNI, which picks the
      // Gateway server above, as "Egress Gateways with TLS Origination" does. It lives in the
      // gateway's namespace, on every caller's lookup path (the task warns that a DestinationRule
      // in another namespace than the client's is not found:
      // https://istio.io/latest/docs/ops/best-practices/traffic-management/#cross-namespace-configuration),
      // one subset per external service; Istio merges the subsets of several DestinationRules of
      // one host in one namespace.
      this.gatewayDestinationRule = new DestinationRule(this, 'gateway-destination-rule', {
        metadata: { name: gwName, namespace: gw.namespace, labels },
        spec: {
          host: gw.host,
          subsets: [
            {
              name: gwName,
              trafficPolicy: {
                loadBalancer: {
                  simple: DestinationRuleSpecSubsetsTrafficPolicyLoadBalancerSimple.ROUND_UNDERSCORE_ROBIN,
                },
                portLevelSettings: legs.map((leg) => ({
                  port: { number: leg.port },
                  tls: {
                    mode: DestinationRuleSpecSubsetsTrafficPolicyPortLevelSettingsTlsMode.ISTIO_UNDERSCORE_MUTUAL,
                    sni: host,
                  },
                })),
              },
            },
          ],
        },
      });

      // "Egress Gateways" (https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway/):
      // one VirtualService bound to the mesh (sidecars → gateway) and to the gateway (→ the service).
      const toGateway = (port: number) => ({
        destination: { host: gw.host, subset: gwName, port: { number: port } },
        weight: 100,
      });
      const httpLegs = legs.filter((leg) => leg.http);
      const tlsLegs = legs.filter((leg) => !leg.http);
      this.virtualService = new VirtualService(this, 'virtual-service', {
        metadata: { name: this.name, namespace: ns, labels },
        spec: {
          hosts: [host],
          exportTo: this.exportTo(),
          gateways: [gwRef, 'mesh'],
          http:
            httpLegs.length > 0
              ? httpLegs.flatMap((leg) => [
                  { match: [{ gateways: ['mesh'], port: leg.port }], route: [toGateway(leg.port)] },
                  {
                    match: [{ gateways: [gwRef], port: leg.port }],
                    route: [{ destination: { host, port: { number: leg.to } }, weight: 100 }],
                  },
                ])
              : undefined,
          tls:
            tlsLegs.length > 0
              ? tlsLegs.map((leg) => ({
                  match: [{ gateways: ['mesh'], port: leg.port, sniHosts: [host] }],
                  route: [toGateway(leg.port)],
                }))
              : undefined,
          // At the gateway the mesh's mTLS is terminated and the application's TLS is opaque TCP.
          tcp:
            tlsLegs.length > 0
              ? tlsLegs.map((leg) => ({
                  match: [{ gateways: [gwRef], port: leg.port }],
                  route: [{ destination: { host, port: { number: leg.to } }, weight: 100 }],
                }))
              : undefined,
        },
      });

      // Only the declared callers leave through the gateway, and only to this host. An ALLOW policy
      // with no rule (before any caller) allows nothing: the gateway fails closed, and from the first
      // such policy on, so does everything else that would leave through these gateway pods without
      // an ALLOW policy of its own. The policy is in the gateway's namespace, where its selector
      // matches the gateway's pods; in the mesh root namespace (istio-system, the default) the
      // selector "will additionally match with workloads in all namespaces", i.e. every pod labelled
      // like the gateway anywhere (https://istio.io/latest/docs/reference/config/security/authorization-policy/); the
      // callers' principals come from the mTLS leg above. Plain HTTP at the gateway is matched by
      // Host; TLS by the SNI of the mTLS leg (the `connection.sni` condition,
      // https://istio.io/latest/docs/reference/config/security/conditions/).
      this.gatewayAuthorization = new AuthorizationPolicy(this, 'gateway-authorization', {
        metadata: { name: gwName, namespace: gw.namespace, labels },
        spec: {
          selector: { matchLabels: { ...gw.selector } },
          action: AuthorizationPolicySpecAction.ALLOW,
          rules: Lazy.any({ produce: () => this.gatewayRules() }),
        },
      });
    }

    for (const child of this.node.children) {
      if (child instanceof ApiObject && child.metadata.namespace === ns)
        child.node.addDependency(this.namespace);
    }
  }

  /** @internal Whether sidecars of `namespace` see the host (the ServiceEntry's exportTo). */
  public _exportedTo(namespace: string): boolean {
    return (
      namespace === this.namespace.name ||
      namespace === this.egressGateway?.namespace ||
      this.callers.some((c) => c.caller.namespace.name === namespace)
    );
  }

  /**
   * The namespaces that see the host, its routing and its TLS origination: its own, its callers'
   * and the egress gateway's. Exported everywhere (Istio's default), a ServiceEntry would let any
   * namespace without Sidecar scoping reach the host even under a mesh-wide REGISTRY_ONLY
   * (https://istio.io/latest/docs/reference/config/networking/service-entry/#ServiceEntry-export_to);
   * this way only the declared callers get it in their registry.
   */
  private exportTo(): string[] {
    return Lazy.any({
      produce: () => {
        const others = new Set<string>(this.callers.map((c) => c.caller.namespace.name));
        if (this.egressGateway) others.add(this.egressGateway.namespace);
        others.delete(this.namespace.name);
        return ['.', ...[...others].sort()];
      },
    }) as unknown as string[];
  }

  /** The first host, which callers address. */
  public get host(): string {
    return this.hosts[0];
  }

  /** The callers declared with `calls`, in order. */
  public get callerNames(): readonly string[] {
    return this.callers.map((c) => `${c.caller.namespace.name}/${c.caller.name}`);
  }

  /** The name of the objects in the egress gateway's namespace, unique across app namespaces. */
  private get gatewayObjectName(): string {
    return `${this.namespace.name}-${this.name}`;
  }

  /** @internal */
  public _addCaller(caller: MeshCaller, options: CallOptions): void {
    this.callers.push({ caller, options });
  }

  /** @internal */
  public _egressFor(caller: MeshCaller): readonly string[] {
    const ns = this.namespace.name === caller.namespace.name ? '.' : this.namespace.name;
    const hosts = this.hosts.map((h) => `${ns}/${h}`);
    const gw = this.egressGateway;
    if (gw) hosts.push(`${gw.namespace === caller.namespace.name ? '.' : gw.namespace}/${gw.host}`);
    return hosts;
  }

  /** Whether some proxy on the way sees the plain HTTP requests, so rules by method and path hold. */
  private get hasL7EnforcementPoint(): boolean {
    return this.egressGateway !== undefined && this.gatewayLegs().every((leg) => leg.http);
  }

  /**
   * What goes through the gateway: per port the sidecar sends to, whether it is plain HTTP, and
   * the service's port it leaves on.
   */
  private gatewayLegs(): { port: number; http: boolean; to: number }[] {
    const tlsPort = this.ports.find((port) => port.protocol === ExternalProtocol.HTTPS)?.port ?? 443;
    const appPort = this.tls.originationPort;
    if (appPort !== undefined) return [{ port: appPort, http: true, to: tlsPort }];
    return this.ports
      .filter((port) => port.protocol !== ExternalProtocol.TCP)
      .map((port) => ({ port: port.port, http: port.protocol === ExternalProtocol.HTTP, to: port.port }));
  }

  /**
   * The Host headers of the plain-HTTP requests at the gateway: the host, and with another port
   * than 80 also "host:port", as clients write it (RFC 9110 section 7.2), since the gateway's
   * `hosts` match compares the header as sent.
   */
  private requestHosts(): string[] {
    return this.gatewayLegs()
      .filter((leg) => leg.http)
      .flatMap((leg) => this.hosts.map((h) => (leg.port === 80 ? h : `${h}:${leg.port}`)))
      .flatMap((h) => (h.includes(':') ? [h.split(':')[0], h] : [h]))
      .filter((h, i, all) => all.indexOf(h) === i);
  }

  private gatewayRules(): AuthorizationPolicySpecRules[] | undefined {
    if (this.callers.length === 0) return undefined;
    const allowed = this.callers.map((c) => ({
      principal: c.caller.namespace.principal(c.caller.serviceAccountName),
      ...c.options,
    }));
    const rules = renderAllowRules(allowed);
    if (this.hasL7EnforcementPoint) {
      return rules.map((r) => ({
        ...r,
        to: [{ operation: { hosts: this.requestHosts(), ...(r.to?.[0]?.operation ?? {}) } }],
      }));
    }
    return rules.map((r) => ({ ...r, when: [{ key: 'connection.sni', values: [...this.hosts] }] }));
  }

  private validate(p: Problems): void {
    const props = this.props;
    p.dnsLabel('name', this.name);
    const gw = this.egressGateway;
    const originate = this.tls.mode === 'originate';

    if (this.hosts.length === 0)
      p.add('hosts', 'is empty', 'give the host names callers address, e.g. ["api.example.com"]');
    this.hosts.forEach((host, i) => {
      validateHost(host, `hosts[${i}]`, p);
      // A repeat adds nothing to the ServiceEntry, and where the host list feeds a VirtualService
      // istiod refuses it ("duplicate hosts in virtual service", validateVirtualService in istio/istio
      // pkg/config/validation); the ingress refuses a repeated host the same way.
      const first = this.hosts.indexOf(host);
      if (first < i) p.add(`hosts[${i}]`, `"${host}" is already hosts[${first}]`, 'list each host once');
    });
    const wildcards = this.hosts.filter((h) => h.startsWith('*.'));
    // istiod refuses resolution DNS without endpoints unless every host is fully qualified: the
    // proxy has to look the name up ("hosts must be FQDN if no endpoints are provided", ValidateServiceEntry
    // in istio/istio pkg/config/validation; https://istio.io/latest/docs/reference/config/networking/service-entry/#ServiceEntry-Resolution).
    if (wildcards.length > 0 && this.resolution === 'DNS') {
      p.add(
        'resolution',
        `DNS cannot resolve the wildcard host "${wildcards[0]}": there is no single name to look up, and istiod refuses it`,
        'use resolution "NONE" (the proxy sends to the address the application connected to), or list the hosts one by one',
      );
    }
    if (this.resolution === 'STATIC' && (props.endpoints ?? []).length === 0) {
      p.add(
        'endpoints',
        'is empty, and resolution STATIC sends only to the listed endpoints, so every call fails',
        'list the IP addresses, or use resolution "DNS"',
      );
    }
    if (this.resolution !== 'STATIC' && props.endpoints !== undefined) {
      p.add(
        'endpoints',
        `is set, but resolution ${this.resolution} ignores endpoints`,
        'use resolution "STATIC", or leave endpoints out',
      );
    }
    props.endpoints?.forEach((address, i) => {
      if (!isIpAddress(address))
        p.add(
          `endpoints[${i}]`,
          `"${address}" is not an IP address`,
          'give an IPv4 or IPv6 address, e.g. "203.0.113.10"',
        );
    });

    if (this.ports.length === 0) p.add('ports', 'is empty', 'leave ports out for [ExternalPort.https()]');
    validatePorts(this.ports, p);

    if (originate) {
      const o = this.tls._options;
      const appPort = this.tls.originationPort!;
      p.port('tls.port', appPort);
      if (!this.ports.some((port) => port.protocol === ExternalProtocol.HTTPS)) {
        p.add(
          'tls',
          'originates TLS, but the service has no HTTPS port to originate it to',
          'add ExternalPort.https() to ports',
        );
      }
      if (this.ports.some((port) => port.port === appPort)) {
        p.add(
          'tls.port',
          `${appPort} is also one of the service's ports, where the application would speak TLS itself`,
          'choose another plain-HTTP port for the application, e.g. 80',
        );
      }
      // TLS origination needs one DNS name (the SNI and the certificate check are for a name) and
      // endpoints the proxy connects to itself: with NONE it would open TLS to whatever address the
      // application dialled (https://istio.io/latest/docs/tasks/traffic-management/egress/egress-tls-origination/).
      if (this.hosts.length !== 1 || wildcards.length > 0) {
        p.add(
          'tls',
          `originating TLS needs exactly one DNS host (one SNI name, one certificate to verify), but the service has ${this.hosts.length === 1 ? `the wildcard "${this.hosts[0]}"` : `${this.hosts.length} hosts`}`,
          'declare one ExternalService per host, each with its DNS name',
        );
      } else if (this.resolution === 'NONE') {
        p.add(
          'tls',
          'originating TLS needs endpoints the proxy connects to, and resolution NONE has none (the proxy would forward to whatever address the application dialled)',
          'use resolution "DNS", or "STATIC" with endpoints',
        );
      }
      if (o.sni !== undefined && !isDnsName(o.sni))
        p.add(
          'tls.sni',
          `"${o.sni}" is not a DNS name`,
          'give the server name of the certificate, e.g. "api.example.com"',
        );
      if (o.caCertificates !== undefined && !o.caCertificates.startsWith('/')) {
        p.add(
          'tls.caCertificates',
          `"${o.caCertificates}" is not an absolute path in the proxy`,
          'give the file the proxy reads, e.g. "/etc/certs/ca.pem"',
        );
      }
    } else if (props.tls && !this.ports.some((port) => port.protocol === ExternalProtocol.HTTPS)) {
      p.add(
        'tls',
        'is passthrough, but the service has no HTTPS port',
        'leave tls out, or add ExternalPort.https()',
      );
    }

    if (gw) {
      gw._validate(p, 'egressGateway');
      const objectName = this.gatewayObjectName;
      if (objectName.length > 63) {
        p.add(
          'name',
          `the gateway's objects are named "${objectName}" (${objectName.length} characters, more than 63)`,
          'shorten the service or namespace name',
        );
      }
      // "If the resolution is NONE, the gateway will direct the traffic to itself in an infinite
      // loop" (https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway/).
      if (this.resolution === 'NONE') {
        p.add(
          'resolution',
          'NONE through an egress gateway sends the traffic back to the gateway itself in an infinite loop',
          'use resolution "DNS" (Istio\'s egress gateway task requires it)',
        );
      }
      if (this.hosts.length !== 1) {
        p.add(
          'egressGateway',
          `the gateway forwards what it receives to one host, but the service has ${this.hosts.length}`,
          'declare one ExternalService per host',
        );
      }
      const tcp = this.ports.filter((port) => port.protocol === ExternalProtocol.TCP);
      if (tcp.length > 0) {
        p.add(
          'egressGateway',
          `port ${tcp[0].port} is TCP, which carries no host name (SNI or Host) for the gateway to route and authorize by`,
          'call TCP services straight from the sidecar (no egressGateway)',
        );
      }
      // With no ports at all, the gateway's own check says so once.
      for (const leg of gw.ports.length === 0 ? [] : this.gatewayLegs()) {
        if (!gw.ports.includes(leg.port)) {
          p.add(
            'egressGateway',
            `sidecars reach the gateway on port ${leg.port}, which its Service does not expose (it exposes ${gw.ports.join(', ')})`,
            `expose ${leg.port} on the gateway's Service and list it in EgressGateway.istio({ ports })`,
          );
        }
      }
    }

    // Callers.
    this.callers.forEach(({ caller, options }, i) => {
      const field = `callers[${i}] (${caller.namespace.name === this.namespace.name ? caller.name : `${caller.namespace.name}/${caller.name}`})`;
      validateCallOptions(options, field, p);
      if ((options.methods || options.paths) && !this.hasL7EnforcementPoint) {
        p.add(
          field,
          `methods and paths need a proxy that sees the plain HTTP requests, and ${this.name} has none: ${gw ? 'its gateway passes TLS through' : 'without an egress gateway nothing enforces authorization on the way out'}`,
          'leave methods and paths out, or route through an egressGateway with ExternalTls.originate()',
        );
      }
      if (caller.namespace.isAmbient && (gw || originate)) {
        // Ambient pods have no sidecar to apply the mesh-bound VirtualService or the originating
        // DestinationRule; ztunnel only forwards TCP (https://istio.io/latest/docs/ambient/overview/).
        p.add(
          field,
          `namespace "${caller.namespace.name}" is ambient, and ztunnel neither routes to an egress gateway nor originates TLS (${gw ? 'egressGateway' : 'ExternalTls.originate()'})`,
          'call it from a sidecar namespace, or use TLS passthrough without egressGateway',
        );
      }
    });

    // Two ServiceEntries for one host are merged unpredictably
    // (https://istio.io/latest/docs/ops/best-practices/traffic-management/): one owner per host.
    for (const host of new Set(this.hosts)) {
      for (const other of externalServicesByHost(this).get(host) ?? []) {
        if (other !== this) {
          p.add(
            'hosts',
            `"${host}" is also declared by ${other.node.path}, and Istio merges two ServiceEntries for one host unpredictably`,
            'declare each external host in one ExternalService',
          );
        }
      }
    }
  }
}

/**
 * A ServiceEntry host: a fully qualified DNS name, optionally with a "*." wildcard prefix
 * (https://istio.io/latest/docs/reference/config/networking/service-entry/#ServiceEntry): not "*",
 * not a short name (which would mean a different host in each namespace), not a cluster Service.
 */
function validateHost(host: string, field: string, p: Problems): void {
  const name = host.startsWith('*.') ? host.slice(2) : host;
  if (host === '*') {
    p.add(
      field,
      '"*" would send every host to this service',
      'list the hosts, or "*.example.com" for a domain',
    );
  } else if (isIpAddress(host)) {
    p.add(
      field,
      `"${host}" is an IP address, not a host name`,
      'give the host name, and the address as endpoints with resolution "STATIC"',
    );
  } else if (!isDnsName(name) || host.length > 253) {
    p.add(
      field,
      `"${host}" is not a DNS name (or a "*." wildcard of one)`,
      'use lower-case letters, digits, "-" and ".", e.g. "api.example.com" or "*.example.com"',
    );
  } else if (!name.includes('.')) {
    p.add(field, `"${host}" is not fully qualified`, 'give the full host name, e.g. "api.example.com"');
  } else if (/\.svc(\.cluster\.local)?$/.test(name) || name.endsWith('.cluster.local')) {
    p.add(
      field,
      `"${host}" is a Service of the cluster, not an external host`,
      'call the Microservice itself with calls()',
    );
  }
}

/** An IPv4 or IPv6 address as istiod parses one (no `999.1.1.1`, no `::::`). */
function isIpAddress(value: string): boolean {
  return isIP(value) !== 0;
}
