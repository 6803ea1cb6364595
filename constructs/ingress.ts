import { type ApiObject, type Duration, Lazy } from 'cdk8s';
import { Construct, type IConstruct } from 'constructs';
import {
  Gateway as KubeGateway,
  GatewaySpecListenersAllowedRoutesNamespacesFrom,
  GatewaySpecListenersTlsMode,
  HttpRoute as KubeHttpRoute,
  type HttpRouteSpecParentRefs,
  type HttpRouteSpecRules,
  type HttpRouteSpecRulesBackendRefs,
  HttpRouteSpecRulesFiltersRequestRedirectScheme,
  HttpRouteSpecRulesFiltersRequestRedirectStatusCode,
  HttpRouteSpecRulesFiltersType,
  HttpRouteSpecRulesFiltersUrlRewritePathType,
  HttpRouteSpecRulesMatchesPathType,
  ReferenceGrant,
  type GatewaySpecListeners,
} from '../imports/gateway.networking.k8s.io.js';
import {
  Gateway as IstioGateway,
  type GatewaySpecServers,
  GatewaySpecServersTlsMode,
  VirtualService,
  type VirtualServiceSpecHttp,
} from '../imports/networking.istio.io.js';
import { AuthorizationPolicy, AuthorizationPolicySpecAction } from '../imports/security.istio.io.js';
import type { MeshNamespace } from './mesh-namespace.js';
import { Microservice } from './microservice.js';
import { checkInput, constructId } from './input.js';
import { MeshRegistry } from './registry.js';
import { retriesOutlast, type ServiceVersion, validateWeights, type WeightedVersion } from './routing.js';
import { MAX_DURATION_MILLIS, type Problems, validateWith } from './validation.js';
import { istioDuration, prune } from './values.js';

/** TLS termination at the gateway. */
export interface IngressTls {
  /**
   * The Secret with the certificate and key (`tls.crt`, `tls.key`). For `IstioIngress` it lives in
   * the namespace of the gateway pods (istio-system by default), because they read it, not the
   * Gateway resource; for `GatewayApiIngress` it lives in the ingress namespace, next to the Gateway.
   */
  readonly credentialName: string;
  /**
   * Answer plain HTTP on port 80 with a 301 redirect to HTTPS, so clients never send data in the clear.
   * @default true
   */
  readonly httpsRedirect?: boolean;
}

/** What both ingress flavours accept for one route. */
export interface IngressRouteOptions {
  /**
   * Route requests whose path starts with this. Istio's VirtualService compares characters
   * ("/api" also matches "/apiary"); the Gateway API compares whole path segments.
   * @default "/" when exactPath is not set
   */
  readonly pathPrefix?: string;
  /**
   * Route only this exact path (instead of a prefix).
   * @default none
   */
  readonly exactPath?: string;
  /**
   * Replace the matched prefix (or, with exactPath, the whole path) before forwarding, so the
   * service need not know where the edge mounts it.
   * @default the path is forwarded unchanged
   */
  readonly rewrite?: string;
  /**
   * Overall timeout of the request at the gateway.
   * @default none (the gateway waits as long as the service takes)
   */
  readonly timeout?: Duration;
}

export interface IstioIngressRoute extends IngressRouteOptions {
  /** The service that receives the requests, on its first HTTP port. */
  readonly to: Microservice;
}

export interface GatewayApiRoute extends IngressRouteOptions {
  /**
   * The service that receives the requests, or a weighted split across versions (each version gets
   * its own `<name>-<version>` Service, because HTTPRoutes split between Services, not subsets).
   */
  readonly to: Microservice | readonly WeightedVersion[];
}

export interface IstioIngressProps {
  /** The namespace of the Gateway and VirtualService objects (not of the gateway pods). */
  readonly namespace: MeshNamespace;
  /**
   * Name of the Gateway and the VirtualService.
   * @default the construct id
   */
  readonly name?: string;
  /** The external host names the gateway serves, e.g. "shop.example.com" or "*.example.com". */
  readonly hosts: readonly string[];
  /**
   * Labels of the gateway pods this Gateway configures.
   * @default { istio: 'ingressgateway' }, the pods of the Helm `gateway` chart installed as istio-ingressgateway
   */
  readonly selector?: Record<string, string>;
  /**
   * SPIFFE principal (without "spiffe://") of the gateway pods, which the routed services must allow
   * past their namespace's default deny.
   * @default "<trust domain>/ns/istio-system/sa/istio-ingressgateway"
   */
  readonly gatewayServiceAccount?: string;
  /**
   * Serve HTTPS on 443 with this certificate.
   * @default plain HTTP on port 80 only
   */
  readonly tls?: IngressTls;
}

export interface GatewayApiIngressProps {
  /** The namespace of the Gateway and its HTTPRoutes; Istio deploys the gateway pods there too. */
  readonly namespace: MeshNamespace;
  /**
   * Name of the Gateway (Istio names its Deployment and ServiceAccount `<name>-istio`) and HTTPRoute.
   * @default the construct id
   */
  readonly name?: string;
  /** The external host names the gateway serves, e.g. "shop.example.com" or "*.example.com". */
  readonly hosts: readonly string[];
  /**
   * Serve HTTPS on 443 with this certificate.
   * @default plain HTTP on port 80 only
   */
  readonly tls?: IngressTls;
}

/** The pod label Istio puts on the gateway it deploys for a Gateway API Gateway. */
const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';
/** Istio's Deployment for a Gateway API Gateway is `<name>-istio`, and must stay a 63-character name. */
const ISTIO_SUFFIX = '-istio';

/**
 * Exposes microservices at the edge with Istio's own API: a Gateway that configures existing gateway
 * pods (the Helm `gateway` chart) and a VirtualService bound to it. Routes are tried in the order
 * added, so add the specific ones first; each routed service allows the gateway's identity.
 */
export class IstioIngress extends Construct {
  public readonly name: string;
  public readonly namespace: MeshNamespace;
  public readonly hosts: readonly string[];
  /** The principal of the gateway pods, which every routed service allows. */
  public readonly gatewayPrincipal: string;
  /** How VirtualServices refer to this gateway: "<namespace>/<name>". */
  public readonly gatewayRef: string;

  private readonly routes: IstioIngressRoute[] = [];
  private readonly selector: Record<string, string>;

  constructor(scope: Construct, id: string, props: IstioIngressProps) {
    super(scope, constructId('IstioIngress', scope, id));
    checkInput.istioIngress(this, props);
    this.name = props.name ?? id;
    this.namespace = props.namespace;
    this.hosts = props.hosts;
    this.selector = props.selector ?? { istio: 'ingressgateway' };
    this.gatewayPrincipal =
      props.gatewayServiceAccount ?? `${this.namespace.trustDomain}/ns/istio-system/sa/istio-ingressgateway`;
    this.gatewayRef = `${this.namespace.name}/${this.name}`;
    const ns = this.namespace.name;
    const labels = { ingress: this.name };

    const registry = MeshRegistry.of(this);
    // Two Gateways whose servers select the same pods and claim the same host conflict just as
    // two VirtualServices on one gateway do, so the pods are claimed too.
    const podsKey = `pods ${selectorKey(this.selector)}`;
    for (const host of this.hosts) {
      registry.claimHost(host, this.gatewayRef, this);
      registry.claimHost(host, podsKey, this);
    }
    validateWith(this, (p) => this.validate(p, registry, props, podsKey));

    const hosts = [...this.hosts];
    const servers: GatewaySpecServers[] = [];
    const redirect = props.tls !== undefined && (props.tls.httpsRedirect ?? true);
    servers.push({
      port: { number: 80, name: 'http', protocol: 'HTTP' },
      hosts,
      ...(redirect && { tls: { httpsRedirect: true } }),
    });
    if (props.tls) {
      servers.push({
        port: { number: 443, name: 'https', protocol: 'HTTPS' },
        hosts,
        tls: { mode: GatewaySpecServersTlsMode.SIMPLE, credentialName: props.tls.credentialName },
      });
    }
    const objects: ApiObject[] = [
      new IstioGateway(this, 'gateway', {
        metadata: { name: this.name, namespace: ns, labels },
        spec: { selector: { ...this.selector }, servers },
      }),
      new VirtualService(this, 'virtual-service', {
        metadata: { name: this.name, namespace: ns, labels },
        spec: {
          hosts,
          gateways: [this.gatewayRef],
          http: Lazy.any({ produce: () => this.routes.flatMap((r) => this.renderRoute(r)) }),
        },
      }),
    ];
    if (this.namespace.defaultDeny && principalNamespace(this.gatewayPrincipal) === ns) {
      // Gateway pods in this namespace fall under its allow-nothing policy like any workload, and
      // would refuse every client; an ingress must accept requests from anyone.
      objects.push(allowEveryone(this, this.name, ns, this.selector));
    }
    for (const o of objects) o.node.addDependency(this.namespace);
  }

  /**
   * Routes requests for the hosts to a service, and lets the gateway's identity call it.
   * Routes are tried in the order added: add specific paths before the prefixes that contain them.
   */
  public addRoute(route: IstioIngressRoute): this {
    checkInput.ingressRoute(this, this.routes.length, route, false);
    this.routes.push(route);
    route.to.allowFrom({ principal: this.gatewayPrincipal });
    return this;
  }

  /** One route, or, when the service routes its own traffic, its routes within this path. */
  private renderRoute(r: IstioIngressRoute): VirtualServiceSpecHttp[] {
    const path = pathOf(r, 0);
    const within = { uri: path.kind === 'exact' ? { exact: path.value } : { prefix: path.value } };
    const rewrite = r.rewrite === undefined ? undefined : { uri: r.rewrite };
    const serviceRoutes = r.to._gatewayRoutes({ within, rewrite, timeout: r.timeout });
    if (serviceRoutes) return serviceRoutes;
    const port = r.to.httpPort?.port;
    return [
      prune({
        match: [within],
        rewrite,
        route: [
          {
            destination: prune({ host: r.to.host, port: port === undefined ? undefined : { number: port } }),
          },
        ],
        timeout: r.timeout && istioDuration(r.timeout),
      }),
    ];
  }

  private validate(p: Problems, registry: MeshRegistry, props: IstioIngressProps, podsKey: string): void {
    p.dnsSubdomain('name', this.name);
    validateHosts(this.hosts, p, true);
    if (props.tls) p.dnsSubdomain('tls.credentialName', props.tls.credentialName);
    if (Object.keys(this.selector).length === 0) {
      p.add(
        'selector',
        'is empty, so the Gateway would configure every gateway workload',
        'give the labels of the gateway pods, e.g. { istio: "ingressgateway" }',
      );
    }
    // istiod validates a Gateway's selector as labels (`labels.Instance(gateway.Selector).Validate()`
    // in validateGateway, pkg/config/validation), and a label no pod can carry selects no gateway.
    for (const [key, value] of Object.entries(this.selector)) p.label('selector', key, value);
    if (!PRINCIPAL.test(this.gatewayPrincipal)) {
      p.add(
        'gatewayServiceAccount',
        `"${this.gatewayPrincipal}" is not a principal of the form <trust domain>/ns/<namespace>/sa/<service account>`,
        'e.g. "cluster.local/ns/istio-system/sa/istio-ingressgateway"',
      );
    }
    validateRoutes(this.routes, p);
    // VirtualService routes are tried in order, so a prefix shadows every later route under it.
    const paths = this.routes.map(pathOf);
    paths.forEach((later, j) => {
      const i = paths.findIndex((earlier, k) => k < j && shadows(earlier, later));
      if (i === -1) return;
      const earlier = paths[i];
      if (earlier.kind === later.kind && earlier.value === later.value) {
        p.add(later.field, `duplicates routes[${i}], which always wins`, 'remove one of the two routes');
      } else {
        p.add(
          later.field,
          `can never match: routes[${i}] (${earlier.kind} "${earlier.value}") comes first and matches every path it would`,
          `move it before routes[${i}], so the more specific route is tried first`,
        );
      }
    });
    this.routes.forEach((r, i) => {
      checkTarget(r.to, `routes[${i}].to (${r.to.name})`, p);
      // The gateway's copy of the service's routes takes this timeout where they set none.
      r.to._routes.forEach((sr, j) => {
        const outlast = sr.retries && sr.timeout === undefined && retriesOutlast(sr.retries, r.timeout);
        if (outlast) {
          p.add(
            `routes[${i}].timeout`,
            `${istioDuration(r.timeout!)} is also the timeout of ${r.to.name}'s routes[${j}] at the gateway, and its ${outlast} is not less, so when tries time out the request ends before its last retry starts`,
            `make the timeout longer, or give ${r.to.name}'s routes[${j}] a timeout of its own`,
          );
        }
      });
    });
    this.hosts.forEach((host, i) => {
      const rivals = registry.rivalsFor(host, this.gatewayRef, this);
      for (const rival of rivals) {
        p.add(
          `hosts[${i}]`,
          `host ${host} is also routed through gateway ${this.gatewayRef} by ${rival.node.path}, and Istio merges two VirtualServices for one host unpredictably`,
          'route the host from one ingress only',
        );
      }
      for (const rival of registry.rivalsFor(host, podsKey, this)) {
        if (rivals.includes(rival)) continue;
        p.add(
          `hosts[${i}]`,
          `host ${host} is also served by ${rival.node.path} on the same gateway pods (${selectorKey(this.selector)}), and Istio applies only one of the conflicting Gateway servers`,
          'serve each host from one ingress, or give the ingresses different gateway pods',
        );
      }
    });
  }
}

/**
 * Exposes microservices at the edge with the Kubernetes Gateway API: a Gateway of class `istio`,
 * for which Istio deploys and runs the gateway pods in the ingress namespace, and one HTTPRoute with
 * a rule per route (as Istio's Bookinfo sample does). The Gateway API picks the most specific match,
 * so the order of routes does not matter; weighted splits go to per-version Services.
 */
export class GatewayApiIngress extends Construct {
  public readonly name: string;
  public readonly namespace: MeshNamespace;
  public readonly hosts: readonly string[];
  /** The principal of the gateway pods Istio deploys (`<name>-istio`), which every routed service allows. */
  public readonly gatewayPrincipal: string;

  private readonly routes: GatewayApiRoute[] = [];
  /** Per route, the services and versions it sends to, resolved when the route is added. */
  private readonly backends: Backend[][] = [];
  private readonly grants = new Map<string, Set<string>>();
  private readonly props: GatewayApiIngressProps;

  constructor(scope: Construct, id: string, props: GatewayApiIngressProps) {
    super(scope, constructId('GatewayApiIngress', scope, id));
    checkInput.gatewayApiIngress(this, props);
    this.props = props;
    this.name = props.name ?? id;
    this.namespace = props.namespace;
    this.hosts = props.hosts;
    this.gatewayPrincipal = this.namespace.principal(`${this.name}${ISTIO_SUFFIX}`);
    const ns = this.namespace.name;
    const labels = { ingress: this.name };

    const registry = MeshRegistry.of(this);
    const gatewayRef = `${ns}/${this.name}`;
    for (const host of this.hosts) registry.claimHost(host, gatewayRef, this);
    validateWith(this, (p) => this.validate(p, registry, gatewayRef));

    const tls = props.tls;
    const redirect = tls !== undefined && (tls.httpsRedirect ?? true);
    const http = this.listenerNames('http');
    const https = tls ? this.listenerNames('https') : [];
    const sameNamespace = { namespaces: { from: GatewaySpecListenersAllowedRoutesNamespacesFrom.SAME } };
    const listeners: GatewaySpecListeners[] = [
      ...this.hosts.map((hostname, i) => ({
        name: http[i],
        port: 80,
        protocol: 'HTTP',
        hostname,
        allowedRoutes: sameNamespace,
      })),
      ...(tls
        ? this.hosts.map((hostname, i) => ({
            name: https[i],
            port: 443,
            protocol: 'HTTPS',
            hostname,
            tls: {
              mode: GatewaySpecListenersTlsMode.TERMINATE,
              certificateRefs: [{ kind: 'Secret', name: tls.credentialName }],
            },
            allowedRoutes: sameNamespace,
          }))
        : []),
    ];
    const objects: ApiObject[] = [
      new KubeGateway(this, 'gateway', {
        metadata: { name: this.name, namespace: ns, labels },
        spec: { gatewayClassName: 'istio', listeners },
      }),
      new KubeHttpRoute(this, 'http-route', {
        metadata: { name: this.name, namespace: ns, labels },
        spec: {
          // With a redirect, the content is served on the HTTPS listeners only; the plain HTTP ones
          // belong to the redirect route.
          parentRefs: redirect ? this.parentRefs(https) : [{ name: this.name }],
          hostnames: [...this.hosts],
          rules: Lazy.any({ produce: () => this.routes.map((r, i) => this.renderRule(r, this.backends[i])) }),
        },
      }),
    ];
    if (redirect) {
      objects.push(
        new KubeHttpRoute(this, 'https-redirect', {
          metadata: { name: `${this.name}-https-redirect`, namespace: ns, labels },
          spec: {
            parentRefs: this.parentRefs(http),
            hostnames: [...this.hosts],
            rules: [
              {
                filters: [
                  {
                    type: HttpRouteSpecRulesFiltersType.REQUEST_REDIRECT,
                    requestRedirect: {
                      scheme: HttpRouteSpecRulesFiltersRequestRedirectScheme.HTTPS,
                      statusCode: HttpRouteSpecRulesFiltersRequestRedirectStatusCode.VALUE_301,
                    },
                  },
                ],
              },
            ],
          },
        }),
      );
    }
    if (this.namespace.defaultDeny) {
      // The gateway pods run in this namespace and fall under its allow-nothing policy like any
      // workload, so they would refuse every client; an ingress must accept requests from anyone.
      objects.push(allowEveryone(this, this.name, ns, { [GATEWAY_NAME_LABEL]: this.name }));
    }
    for (const o of objects) o.node.addDependency(this.namespace);
  }

  /**
   * Routes requests for the hosts to a service or a weighted split of its versions, and lets the
   * gateway's identity call each service it reaches.
   */
  public addRoute(route: GatewayApiRoute): this {
    checkInput.ingressRoute(this, this.routes.length, route, true);
    this.routes.push(route);
    const backends: Backend[] = isWeighted(route.to)
      ? route.to.map((w) => this.resolveVersion(w))
      : [{ service: route.to }];
    this.backends.push(backends);
    for (const b of backends) {
      if (!b.service) continue;
      b.service.allowFrom({ principal: this.gatewayPrincipal });
      if (b.service.namespace.name !== this.namespace.name) this.grant(b.service, b.serviceName);
    }
    return this;
  }

  private resolveVersion(w: WeightedVersion): Backend {
    const service = registeredService(this, w.version);
    if (!service) return { weight: w.weight };
    // An undeclared version gets no Service: validation reports it instead.
    if (!w.version.declared) return { service, weight: w.weight };
    return { service, weight: w.weight, serviceName: service.versionService(w.version.name) };
  }

  /**
   * A route may only reach a Service in another namespace when that namespace grants it (the
   * Gateway API's ReferenceGrant), or the gateway answers 500.
   */
  private grant(service: Microservice, serviceName = service.name): void {
    const target = service.namespace;
    let names = this.grants.get(target.name);
    if (!names) {
      names = new Set();
      this.grants.set(target.name, names);
      const granted = names;
      new ReferenceGrant(this, `reference-grant-${target.name}`, {
        metadata: {
          name: `${this.namespace.name}-${this.name}`,
          namespace: target.name,
          labels: { ingress: this.name },
        },
        spec: {
          from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: this.namespace.name }],
          to: Lazy.any({
            produce: () => [...granted].sort().map((name) => ({ group: '', kind: 'Service', name })),
          }),
        },
      }).node.addDependency(target);
    }
    names.add(serviceName);
  }

  private listenerNames(protocol: string): string[] {
    return this.hosts.length === 1 ? [protocol] : this.hosts.map((_, i) => `${protocol}-${i + 1}`);
  }

  private parentRefs(sections: readonly string[]): HttpRouteSpecParentRefs[] {
    return sections.map((sectionName) => ({ name: this.name, sectionName }));
  }

  private renderRule(r: GatewayApiRoute, backends: readonly Backend[]): HttpRouteSpecRules {
    const path = pathOf(r, 0);
    const exact = path.kind === 'exact';
    const backendRefs = backends.map((b): HttpRouteSpecRulesBackendRefs => {
      const svc = b.service;
      return prune({
        name: b.serviceName ?? svc?.name ?? '',
        namespace: svc && svc.namespace.name !== this.namespace.name ? svc.namespace.name : undefined,
        port: svc?.httpPort?.port,
        weight: b.weight,
      });
    });
    return prune({
      matches: [
        {
          path: {
            type: exact
              ? HttpRouteSpecRulesMatchesPathType.EXACT
              : HttpRouteSpecRulesMatchesPathType.PATH_PREFIX,
            value: path.value,
          },
        },
      ],
      filters:
        r.rewrite === undefined
          ? undefined
          : [
              {
                type: HttpRouteSpecRulesFiltersType.URL_REWRITE,
                urlRewrite: {
                  path: exact
                    ? {
                        type: HttpRouteSpecRulesFiltersUrlRewritePathType.REPLACE_FULL_PATH,
                        replaceFullPath: r.rewrite,
                      }
                    : {
                        type: HttpRouteSpecRulesFiltersUrlRewritePathType.REPLACE_PREFIX_MATCH,
                        replacePrefixMatch: r.rewrite,
                      },
                },
              },
            ],
      backendRefs,
      timeouts: r.timeout && { request: gatewayApiDuration(r.timeout) },
    });
  }

  private validate(p: Problems, registry: MeshRegistry, gatewayRef: string): void {
    p.dnsLabel('name', this.name);
    if (this.name.length + ISTIO_SUFFIX.length > 63) {
      p.add(
        'name',
        `"${this.name}" is longer than ${63 - ISTIO_SUFFIX.length} characters, and Istio names the gateway's Deployment "${this.name}${ISTIO_SUFFIX}"`,
        'shorten the name',
      );
    }
    validateHosts(this.hosts, p, false);
    if (this.props.tls) p.dnsSubdomain('tls.credentialName', this.props.tls.credentialName);
    validateRoutes(this.routes, p);
    validateGatewayApiTimeouts(this.routes, p);
    // The Gateway API orders rules by specificity, so only identical matches compete.
    const paths = this.routes.map(pathOf);
    paths.forEach((later, j) => {
      const i = paths.findIndex((e, k) => k < j && e.kind === later.kind && e.value === later.value);
      if (i !== -1) {
        p.add(later.field, `duplicates routes[${i}], which always wins`, 'remove one of the two routes');
      }
    });
    this.routes.forEach((r, i) => {
      const field = `routes[${i}].to`;
      if (!isWeighted(r.to)) {
        checkTarget(r.to, `${field} (${r.to.name})`, p);
        if (r.to.hasRoutes && !r.to.namespace.hasWaypoint) {
          // The Gateway API gateway sends straight to the Service's endpoints; only a waypoint
          // (through ingress-use-waypoint) would apply the service's VirtualService on the way.
          p.add(
            `${field} (${r.to.name})`,
            `${r.to.name} routes its traffic with a VirtualService, which this gateway does not apply, so its weights, matches and retries would be skipped`,
            'route to its versions here with weights, use IstioIngress, or an ambient namespace with a waypoint',
          );
        }
        return;
      }
      validateSplit(r.to, this.backends[i], field, p);
    });
    this.hosts.forEach((host, i) => {
      for (const rival of registry.rivalsFor(host, gatewayRef, this)) {
        p.add(
          `hosts[${i}]`,
          `host ${host} is also routed through Gateway ${gatewayRef} by ${rival.node.path}, and the two HTTPRoutes compete for the same paths`,
          'route the host from one ingress only',
        );
      }
    });
  }
}

/** Where one destination of a Gateway API route goes; `service` is missing when it is not in the app. */
interface Backend {
  readonly service?: Microservice;
  /** The per-version Service's name, once created. */
  readonly serviceName?: string;
  readonly weight?: number;
}

interface PathMatch {
  readonly kind: 'prefix' | 'exact';
  readonly value: string;
  /** The route's field that sets it, for problems. */
  readonly field: string;
}

function pathOf(r: IngressRouteOptions, i: number): PathMatch {
  if (r.exactPath !== undefined)
    return { kind: 'exact', value: r.exactPath, field: `routes[${i}].exactPath` };
  return { kind: 'prefix', value: r.pathPrefix ?? '/', field: `routes[${i}].pathPrefix` };
}

/** Whether a VirtualService route on `earlier` takes every request `later` would match. */
function shadows(earlier: PathMatch, later: PathMatch): boolean {
  return earlier.kind === 'prefix'
    ? later.value.startsWith(earlier.value)
    : later.kind === 'exact' && later.value === earlier.value;
}

function isWeighted(to: GatewayApiRoute['to']): to is readonly WeightedVersion[] {
  return Array.isArray(to);
}

/** The Microservice a version handle belongs to, found by its host, as the app declares it. */
function registeredService(scope: IConstruct, v: ServiceVersion): Microservice | undefined {
  return MeshRegistry.of(scope)
    .serviceOwners(v.host)
    .find((o): o is Microservice => o instanceof Microservice);
}

/** Gateway API hostnames: DNS names, optionally with one leading "*." label. */
const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const IPV4 = /^[0-9]+(\.[0-9]+){3}$/;
/** What a request line cannot carry in its path: controls, DEL and the space. */
// eslint-disable-next-line no-control-regex -- control characters are what this finds
const REQUEST_LINE_BREAKER = /[\x00-\x20\x7f]/;
const PRINCIPAL = /^[^/\s]+\/ns\/[^/\s]+\/sa\/[^/\s]+$/;

/**
 * `path` with only what a request line cannot carry percent-encoded (RFC 3986 section 2.1): the
 * existing escapes and every other character stay as written, and no input makes it throw, where
 * encodeURI would encode "%" again and throws on a lone surrogate.
 */
function encodeRequestLineBreakers(path: string): string {
  return path.replace(
    new RegExp(REQUEST_LINE_BREAKER.source, 'g'),
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

/**
 * `anyHost`: Istio's Gateway and VirtualService take "*" for every host (as Bookinfo's gateway
 * does); a Gateway API listener says that by leaving its hostname out, so there "*" is refused.
 */
function validateHosts(hosts: readonly string[], p: Problems, anyHost: boolean): void {
  if (hosts.length === 0) {
    p.add('hosts', 'is empty', 'give at least one host name, e.g. "shop.example.com"');
  }
  const seen = new Map<string, number>();
  hosts.forEach((host, i) => {
    const labelsOk = host.split('.').every((l) => l.length <= 63);
    if (anyHost && host === '*') {
      // every host
    } else if (IPV4.test(host)) {
      p.add(
        `hosts[${i}]`,
        `"${host}" is an IP address, not a host name`,
        'use the DNS name clients connect to',
      );
    } else if (!HOSTNAME.test(host) || host.length > 253 || !labelsOk) {
      p.add(
        `hosts[${i}]`,
        `"${host}" is not a DNS name or a "*.domain" wildcard`,
        'use lower-case letters, digits, "-" and ".", optionally starting with "*."',
      );
    }
    const first = seen.get(host);
    if (first !== undefined)
      p.add(`hosts[${i}]`, `"${host}" is already hosts[${first}]`, 'list each host once');
    else seen.set(host, i);
  });
}

function validateRoutes(routes: readonly IngressRouteOptions[], p: Problems): void {
  if (routes.length === 0) {
    p.add('routes', 'none are added, so the gateway answers every request with 404', 'call addRoute(...)');
  }
  routes.forEach((r, i) => {
    const f = `routes[${i}]`;
    if (r.pathPrefix !== undefined && r.exactPath !== undefined) {
      p.add(f, 'sets both pathPrefix and exactPath', 'set only one of them');
    }
    for (const [key, value] of [
      ['pathPrefix', r.pathPrefix],
      ['exactPath', r.exactPath],
      ['rewrite', r.rewrite],
    ] as const) {
      if (value !== undefined && !value.startsWith('/')) {
        p.add(
          `${f}.${key}`,
          `"${value}" does not start with "/"`,
          'write request paths from the root, e.g. "/api"',
        );
      }
      if (value !== undefined && key !== 'rewrite') p.requestPath(`${f}.${key}`, value);
      // The rewritten path goes out in the request line to the service: Envoy refuses CR, LF and
      // NUL there (RouteAction.prefix_rewrite is a well-known HTTP_HEADER_VALUE,
      // route_components.proto), rejecting the gateway's routes, and a space or another control
      // character makes a request line the service refuses (RFC 9112 section 3).
      const raw = key === 'rewrite' && value !== undefined ? REQUEST_LINE_BREAKER.exec(value) : null;
      if (raw) {
        const code = `\\x${raw[0].charCodeAt(0).toString(16).padStart(2, '0')}`;
        p.add(
          `${f}.rewrite`,
          `${JSON.stringify(value).replace(/\x7f/g, '\\u007f')} has the character ${code}, which cannot go into the request line the gateway sends`,
          `percent-encode it, e.g. ${JSON.stringify(encodeRequestLineBreakers(value!))}`,
        );
      }
    }
    p.duration(`${f}.timeout`, r.timeout);
  });
}

/**
 * The longest Gateway API Duration: at most four parts of at most five digits (GEP-2257,
 * `^([0-9]{1,5}(h|m|s|ms)){1,4}$`), which gatewayApiDuration renders as 99999h59m59s999ms.
 */
const MAX_GATEWAY_API_DURATION_MS = ((99999 * 60 + 59) * 60 + 59) * 1000 + 999;

function validateGatewayApiTimeouts(routes: readonly IngressRouteOptions[], p: Problems): void {
  routes.forEach((r, i) => {
    const ms = r.timeout?.toMilliseconds({ integral: false });
    // Longer than Envoy's limit too is reported once, by Problems.duration.
    if (ms !== undefined && ms > MAX_GATEWAY_API_DURATION_MS && ms <= MAX_DURATION_MILLIS) {
      p.add(
        `routes[${i}].timeout`,
        `${ms / 1000}s is above the Gateway API's longest duration, 99999h59m59s999ms`,
        'use a shorter timeout',
      );
    }
  });
}

function checkTarget(to: Microservice, field: string, p: Problems): void {
  if (!to.httpPort) {
    p.add(field, `service ${to.host} has no HTTP port to route to`, 'give it a ServicePort.http(...) port');
  }
}

function validateSplit(
  split: readonly WeightedVersion[],
  backends: readonly Backend[],
  field: string,
  p: Problems,
): void {
  if (split.length === 0) {
    p.add(field, 'has no destinations', 'route to a service, or to at least one version');
    return;
  }
  split.forEach((w, k) => {
    const f = `${field}[${k}] (${w.version.serviceName})`;
    const service = backends[k].service;
    if (!service) {
      p.add(
        f,
        `service ${w.version.host} is not in this app`,
        'declare the Microservice in the same cdk8s App',
      );
    } else if (!w.version.declared) {
      p.add(
        f,
        `version "${w.version.name}" is not declared`,
        `declare it in the versions of ${w.version.serviceName}, or route to a declared version`,
      );
    } else {
      checkTarget(service, f, p);
    }
  });
  validateWeights(split, field, p);
}

/** An ALLOW policy that lets any client reach the gateway pods with these labels. */
function allowEveryone(
  scope: Construct,
  name: string,
  namespace: string,
  podLabels: Record<string, string>,
): AuthorizationPolicy {
  return new AuthorizationPolicy(scope, 'allow-clients', {
    metadata: { name: `${name}-allow-clients`, namespace, labels: { ingress: name } },
    spec: {
      selector: { matchLabels: { ...podLabels } },
      action: AuthorizationPolicySpecAction.ALLOW,
      rules: [{}],
    },
  });
}

function principalNamespace(principal: string): string | undefined {
  return /\/ns\/([^/]+)\/sa\//.exec(principal)?.[1];
}

function selectorKey(selector: Record<string, string>): string {
  return Object.entries(selector)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Gateway API durations: up to four parts of at most five digits each, e.g. "1m30s", "1s500ms". */
function gatewayApiDuration(d: Duration): string {
  let ms = Math.round(d.toMilliseconds({ integral: false }));
  const parts: string[] = [];
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    const n = Math.floor(ms / size);
    if (n > 0) parts.push(`${n}${unit}`);
    ms -= n * size;
  }
  return parts.join('') || '0s';
}
