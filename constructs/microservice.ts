import { ApiObject, type Duration, Lazy } from 'cdk8s';
import * as k8s from 'cdk8s-plus-27/lib/imports/k8s.js';
import { Construct, type IConstruct } from 'constructs';
import {
  DestinationRule,
  Sidecar,
  VirtualService,
  type VirtualServiceSpecHttp,
} from '../imports/networking.istio.io.js';
import {
  AuthorizationPolicy,
  AuthorizationPolicySpecAction,
  RequestAuthentication,
} from '../imports/security.istio.io.js';
import { MESH_ROOT_NAMESPACE, type MeshNamespace, MtlsMode, WAYPOINT_NAME } from './mesh-namespace.js';
import { callerLabel, checkInput, constructId } from './input.js';
import { MeshRegistry } from './registry.js';
import { LOCAL_RATE_LIMIT_ID, LocalRateLimit, type LocalRateLimitOptions } from './rate-limit.js';
import { renderTrafficPolicy, type TrafficPolicy, validateTrafficPolicy } from './resilience.js';
import {
  type HttpRoute,
  type RenderContext,
  renderRoute,
  renderRoutes,
  type RouteContext,
  type ServiceVersion,
  validateRoute,
} from './routing.js';
import {
  type AllowedCaller,
  type CallOptions,
  type JwtOptions,
  renderAllowRules,
  validateCallOptions,
  validateJwt,
} from './security.js';
import { GO_DURATION_MAX_SECONDS, type Problems, validateWith } from './validation.js';
import {
  prune,
  validateResources,
  validateSidecarResources,
  renderServicePort,
  type Resources,
  ServicePort,
  validatePorts,
} from './values.js';
import {
  type Autoscaling,
  renderBehavior,
  renderMetrics,
  validateAutoscaling,
} from './workload/autoscaling.js';
import { type EnvFrom, type EnvMap, validateEnv } from './workload/env.js';
import {
  DEFAULT_UID,
  type InitContainer,
  type Probes,
  renderPodTemplate,
  type SidecarProxyOptions,
  validatePodTemplate,
  validateRunAsUser,
} from './workload/pod.js';
import type { Scheduling } from './workload/scheduling.js';
import type { Mount } from './workload/volume.js';
import { storageQuantity, Workload } from './workload/workload.js';

/** The ports the Istio sidecar listens on in the pod (application-requirements#ports-used-by-istio). */
const SIDECAR_POD_PORTS: readonly number[] = [
  15000, 15001, 15004, 15006, 15008, 15009, 15020, 15021, 15053, 15090,
];
/** The ports ztunnel listens on inside an ambient pod's network namespace. */
const AMBIENT_POD_PORTS: readonly number[] = [15001, 15006, 15008];

export interface VersionProps {
  /**
   * The container image of this version.
   * @default the service's `image`
   */
  readonly image?: string;
  /**
   * Fixed replica count (not with autoscaling).
   * @default the service's `replicas`
   */
  readonly replicas?: number;
  /**
   * Environment variables (strings or EnvValues), merged over the service's.
   * @default the service's
   */
  readonly env?: EnvMap;
  /**
   * Container resources.
   * @default the service's
   */
  readonly resources?: Resources;
}

/** At most one of the two; numbers or percentages ("25%"). */
export interface DisruptionBudget {
  /** @default none */
  readonly minAvailable?: number | string;
  /** @default none */
  readonly maxUnavailable?: number | string;
}

export interface MicroserviceProps<V extends string> {
  /** The mesh namespace the service runs in. */
  readonly namespace: MeshNamespace;
  /**
   * The Service's name (and the `app` label).
   * @default the construct id
   */
  readonly name?: string;
  /**
   * The container image, for versions that do not set their own.
   * @default none: every version must set `image`
   */
  readonly image?: string;
  /** The versions to deploy, one Deployment (or StatefulSet) each, named `<name>-<version>`. */
  readonly versions: Record<V, VersionProps>;
  /**
   * The Service's ports.
   * @default [ServicePort.http(8080)]
   */
  readonly ports?: readonly ServicePort[];
  /**
   * Environment variables of every version: literal strings, or values from Secrets, ConfigMaps
   * and pod fields (`EnvValue.fromSecret(...)`).
   * @default none
   */
  readonly env?: EnvMap;
  /**
   * Whole Secrets and ConfigMaps as environment variables.
   * @default none
   */
  readonly envFrom?: readonly EnvFrom[];
  /**
   * Volumes mounted into the app container (Secrets and ConfigMaps read-only unless `readOnly: false`).
   * @default none besides /tmp and `writablePaths`
   */
  readonly mounts?: readonly Mount[];
  /**
   * Containers that run to completion before the app starts. In sidecar namespaces the proxy is
   * then injected as a native sidecar, which starts first, so they can reach the network.
   * @default none
   */
  readonly initContainers?: readonly InitContainer[];
  /**
   * Node selection, tolerations, affinity and topology spread.
   * @default with more than one replica (or autoscaling), each version's pods spread across zones and nodes
   */
  readonly scheduling?: Scheduling;
  /**
   * The workload kind of every version.
   * @default Workload.deployment()
   */
  readonly workload?: Workload;
  /**
   * Container resources of every version.
   * @default requests 50m CPU and 64Mi memory, limits 500m and 256Mi
   */
  readonly resources?: Resources;
  /**
   * Replicas of each version (not with autoscaling).
   * @default 1
   */
  readonly replicas?: number;
  /**
   * A HorizontalPodAutoscaler per version, on the app container's CPU (and memory, custom and
   * external metrics).
   * @default none
   */
  readonly autoscaling?: Autoscaling;
  /**
   * A PodDisruptionBudget across all versions.
   * @default none
   */
  readonly disruptionBudget?: DisruptionBudget;
  /** @default none */
  readonly probes?: Probes;
  /**
   * The ServiceAccount's name, which is the service's identity in the mesh.
   * @default the service's name
   */
  readonly serviceAccountName?: string;
  /**
   * Mount a Kubernetes API token into the pods.
   * @default false
   */
  readonly mountServiceAccountToken?: boolean;
  /**
   * The UID (and GID) the application runs as. Never 1337, which is the proxy's.
   * @default 10001
   */
  readonly runAsUser?: number;
  /**
   * Writable directories besides /tmp (the root filesystem is read-only), each an emptyDir.
   * @default none
   */
  readonly writablePaths?: readonly string[];
  /**
   * Time the pod gets to finish in-flight requests after SIGTERM.
   * @default Duration.seconds(30)
   */
  readonly terminationGracePeriod?: Duration;
  /**
   * `imagePullPolicy` of the application container.
   * @default "IfNotPresent"
   */
  readonly imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /**
   * Sidecar proxy settings (sidecar mode only).
   * @default the injector's defaults, holding the application until the proxy starts
   */
  readonly sidecar?: SidecarProxyOptions;
  /**
   * Connection pool, circuit breaking and load balancing, in the service's DestinationRule.
   * @default none beyond mTLS
   */
  readonly trafficPolicy?: TrafficPolicy;
  /**
   * Token-bucket rate limiting in the service's own proxy.
   * @default none
   */
  readonly localRateLimit?: LocalRateLimitOptions;
  /**
   * Extra egress hosts for the Sidecar resource, in its `namespace/host` syntax (e.g. external
   * services declared by ServiceEntries).
   * @default only the services it calls, and istio-system
   */
  readonly extraEgressHosts?: readonly string[];
}

/**
 * Something a Microservice can call besides another Microservice, e.g. a service outside the mesh
 * declared by a ServiceEntry. `Microservice.calls(target)` hands it the caller, so the target can
 * admit the caller's identity where it enforces authorization (an egress gateway, say), and asks it
 * which hosts the caller's Sidecar must reach.
 */
export interface CallTarget extends IConstruct {
  /** A short name for messages, e.g. "payments-provider". */
  readonly name: string;
  /** The host callers address, e.g. "api.payments-provider.example". */
  readonly host: string;
  /** @internal Records that `caller` calls this target, narrowed by `options`. */
  _addCaller(caller: MeshCaller, options: CallOptions): void;
  /**
   * @internal The Sidecar egress entries (`<namespace>/<host>`, or `./<host>` for the caller's own
   * namespace) that `caller` needs to reach this target.
   */
  _egressFor(caller: MeshCaller): readonly string[];
}

/** A workload that calls others in the mesh (a Microservice, a Job): its name and its identity. */
export interface MeshCaller extends IConstruct {
  readonly name: string;
  readonly namespace: MeshNamespace;
  /** Its identity in the mesh: `namespace.principal(serviceAccountName)`. */
  readonly serviceAccountName: string;
}

/** Whether `v` is a `CallTarget` (other than a Microservice), for untyped callers. */
export function isCallTarget(v: unknown): v is CallTarget {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Partial<CallTarget>)._addCaller === 'function' &&
    typeof (v as Partial<CallTarget>)._egressFor === 'function'
  );
}

/** The two objects of one `Microservice.requireJwt` call. */
export interface MicroserviceJwtPolicies {
  /** Validates tokens from the issuer (`<name>-jwt[-n]`). */
  readonly requestAuthentication: RequestAuthentication;
  /** Denies requests without a valid token on the paths (`<name>-require-jwt[-n]`). */
  readonly requireJwt: AuthorizationPolicy;
}

/** Per construct tree, the service that declares each ServiceAccount ("<namespace>/<name>"). */
const SERVICE_ACCOUNTS = new WeakMap<IConstruct, Map<string, ServiceAccountOwner>>();

/** @internal A construct that declares a ServiceAccount, and whether it mounts the API token. */
export interface ServiceAccountOwner {
  readonly construct: IConstruct;
  readonly mountsToken: boolean;
}

/**
 * @internal Claims the ServiceAccount `<namespace>/<name>` for `owner` (a Microservice, a MeshJob):
 * workloads that share an identity share one ServiceAccount, which the first declares, since a
 * second copy would overwrite it on apply. Returns the one that declared it first, if another did.
 */
export function claimServiceAccount(
  owner: IConstruct,
  namespace: string,
  name: string,
  mountsToken: boolean,
): ServiceAccountOwner | undefined {
  const accounts = SERVICE_ACCOUNTS.get(owner.node.root) ?? new Map<string, ServiceAccountOwner>();
  SERVICE_ACCOUNTS.set(owner.node.root, accounts);
  const first = accounts.get(`${namespace}/${name}`);
  if (!first) accounts.set(`${namespace}/${name}`, { construct: owner, mountsToken });
  return first;
}

/**
 * A microservice in the mesh: a Deployment (or StatefulSet) per version, its Service, ServiceAccount,
 * autoscaling and disruption budget, and the Istio resources that govern its traffic: DestinationRule
 * (subsets, circuit breaking), VirtualService (routes), authorization from the call graph, Sidecar
 * egress scoping, JWT, rate limits. The pod template is constructs/workload/'s.
 */
export class Microservice<V extends string = string> extends Construct {
  public readonly name: string;
  public readonly namespace: MeshNamespace;
  /** The fully qualified host of the Service. */
  public readonly host: string;
  public readonly serviceAccountName: string;
  public readonly ports: readonly ServicePort[];
  public readonly versionNames: readonly V[];
  /** The workload kind of its versions. */
  public readonly workload: Workload;

  private readonly routes: HttpRoute[] = [];
  private readonly allowed: AllowedCaller[] = [];
  private readonly dependencies: Microservice<string>[] = [];
  private readonly externalTargets: CallTarget[] = [];
  private readonly egress = new Set<string>();
  private readonly versionServices = new Map<string, k8s.KubeService>();
  private readonly deployments = new Map<string, k8s.KubeDeployment>();
  private readonly statefulSets = new Map<string, k8s.KubeStatefulSet>();
  private readonly autoscalers = new Map<string, k8s.KubeHorizontalPodAutoscalerV2>();
  private readonly jwtRules: JwtOptions[] = [];
  private readonly jwtObjects: MicroserviceJwtPolicies[] = [];
  private routesObject?: VirtualService;
  private l7Policy?: AuthorizationPolicy;
  private waypointPolicy?: AuthorizationPolicy;
  private readonly props: MicroserviceProps<V>;
  /** The service that declares the ServiceAccount this one shares, if another does. */
  private readonly serviceAccountOwner?: ServiceAccountOwner;

  // Escape hatches: the objects the service synthesizes, for `ApiObject.addJsonPatch` and
  // `metadata.addAnnotation` without reaching for construct ids. A patch still goes through the
  // construct validation and the admission pass (constructs/render.ts) like everything else; a
  // misspelled field patched into an Istio object, which cdk8s's generated class would drop, is
  // refused there as an unknown field.

  /** The Service `<name>` that selects every version. */
  public readonly service: k8s.KubeService;
  /**
   * The ServiceAccount `<serviceAccountName>`, the service's identity in the mesh. Undefined when
   * another Microservice with the same `serviceAccountName` in the same namespace was declared
   * first: that one declares the shared ServiceAccount (see its `serviceAccount`), since a second
   * copy would overwrite it on apply.
   */
  public readonly serviceAccount?: k8s.KubeServiceAccount;
  /** The DestinationRule `<name>`: the version subsets, mTLS and the traffic policy. */
  public readonly destinationRule: DestinationRule;
  /**
   * The Sidecar `<name>` that scopes the proxy's egress. Undefined in an ambient namespace, where
   * pods have no sidecar proxy. (Not to be confused with the `sidecar` prop, the proxy's settings.)
   */
  public readonly sidecar?: Sidecar;
  /** The PodDisruptionBudget `<name>`; undefined without the `disruptionBudget` prop. */
  public readonly disruptionBudget?: k8s.KubePodDisruptionBudget;
  /**
   * For a StatefulSet service, the headless Service `<name>-headless` (the StatefulSets'
   * `serviceName`), which gives each pod its DNS name; undefined for Deployments.
   */
  public readonly headlessService?: k8s.KubeService;
  /**
   * For a StatefulSet service in a sidecar namespace, the DestinationRule `<name>-headless` that
   * sets the mesh's TLS mode for traffic to the pods' own hostnames; undefined otherwise.
   */
  public readonly headlessDestinationRule?: DestinationRule;

  constructor(scope: Construct, id: string, props: MicroserviceProps<V>) {
    super(scope, constructId('Microservice', scope, id));
    checkInput.microservice(this, props);
    this.props = props;
    this.name = props.name ?? id;
    this.namespace = props.namespace;
    this.host = this.namespace.fqdn(this.name);
    this.serviceAccountName = props.serviceAccountName ?? this.name;
    this.ports = props.ports ?? [ServicePort.http(8080)];
    this.versionNames = Object.keys(props.versions) as V[];
    this.workload = props.workload ?? Workload.deployment();
    const registry = MeshRegistry.of(this);
    registry.registerService(this.host, this);

    validateWith(this, (p) => this.validate(p, registry));

    const ns = this.namespace.name;
    const labels = { app: this.name };

    // Services that share an identity (serviceAccountName) share one ServiceAccount: the first
    // declares it; a second copy would overwrite it on apply.
    this.serviceAccountOwner = claimServiceAccount(
      this,
      ns,
      this.serviceAccountName,
      props.mountServiceAccountToken ?? false,
    );
    if (!this.serviceAccountOwner) {
      this.serviceAccount = new k8s.KubeServiceAccount(this, 'service-account', {
        metadata: { name: this.serviceAccountName, namespace: ns, labels },
        automountServiceAccountToken: props.mountServiceAccountToken ?? false,
      });
    }

    this.service = new k8s.KubeService(this, 'service', {
      metadata: {
        name: this.name,
        namespace: ns,
        // Through the waypoint for mesh clients and (ingress-use-waypoint) for ingress gateways
        // too: the waypoint enforces the L7 policy, and ztunnel admits only the waypoint.
        labels: { ...labels, service: this.name, ...this.waypointLabels() },
      },
      spec: { selector: labels, ports: this.ports.map(renderServicePort) },
    });

    if (this.isStatefulSet) {
      // A StatefulSet's governing Service must be headless (clusterIP None) for the per-pod DNS
      // names (https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#stable-network-id).
      // Istio needs its ports named with their protocol like any Service's (named ports and
      // appProtocol, https://istio.io/latest/docs/ops/deployment/application-requirements/), and
      // programs each endpoint of a headless Service as a destination of its own, which is how a
      // caller reaches one pod by hostname.
      this.headlessService = new k8s.KubeService(this, 'service-headless', {
        metadata: {
          name: this.headlessName,
          namespace: ns,
          labels: { ...labels, service: this.headlessName, ...this.waypointLabels() },
        },
        spec: {
          clusterIp: 'None',
          // Peers of a clustered store find each other before they are ready.
          publishNotReadyAddresses: true,
          selector: labels,
          ports: this.ports.map(renderServicePort),
        },
      });
    }

    for (const version of this.versionNames) {
      this.createVersion(version, props.versions[version]);
    }

    if (props.disruptionBudget) {
      this.disruptionBudget = new k8s.KubePodDisruptionBudget(this, 'disruption-budget', {
        metadata: { name: this.name, namespace: ns, labels },
        spec: {
          selector: { matchLabels: labels },
          minAvailable: intOrString(props.disruptionBudget.minAvailable),
          maxUnavailable: intOrString(props.disruptionBudget.maxUnavailable),
        },
      });
    }

    this.destinationRule = new DestinationRule(this, 'destination-rule', {
      metadata: { name: this.name, namespace: ns, labels },
      spec: {
        host: this.host,
        trafficPolicy: renderTrafficPolicy(props.trafficPolicy ?? {}, this.tlsMode()),
        subsets: this.versionNames.map((v) => ({ name: v, labels: { version: v } })),
      },
    });

    const tls = this.tlsMode();
    if (this.isStatefulSet && tls) {
      // Traffic to a pod's own hostname goes to the headless Service's host, which the
      // DestinationRule above does not cover: this one sets the same TLS mode there, so per-pod
      // connections are mutual TLS like the rest (https://istio.io/latest/docs/ops/configuration/traffic-management/tls-configuration/).
      this.headlessDestinationRule = new DestinationRule(this, 'destination-rule-headless', {
        metadata: { name: this.headlessName, namespace: ns, labels },
        spec: { host: this.namespace.fqdn(this.headlessName), trafficPolicy: renderTrafficPolicy({}, tls) },
      });
    }

    if (!this.namespace.isAmbient) {
      this.sidecar = scopedSidecar(this, labels, () => this.egressHosts());
    }

    if (this.hasPeers) {
      // A StatefulSet's pods talk to each other by their own hostnames (replication, leader
      // election). Under the namespace's default deny that is a call like any other: the service
      // admits its own identity, and its Sidecar reaches its own headless Service, else peer traffic
      // leaves through the passthrough cluster in plaintext and STRICT mTLS refuses it.
      const headless = this.namespace.fqdn(this.headlessName);
      this.egress.add(`./${headless}`);
      this.egress.add(`./*.${headless}`);
      this.allowFrom({ principal: this.namespace.principal(this.serviceAccountName) });
    }

    if (props.localRateLimit) {
      new LocalRateLimit(this, LOCAL_RATE_LIMIT_ID, { service: this, ...props.localRateLimit });
    }

    for (const child of this.node.children) {
      if (child instanceof ApiObject) child.node.addDependency(this.namespace);
    }
  }

  /** The typed handle of a declared version, for routes and mirrors. */
  public version(name: V): ServiceVersion {
    checkInput.strings(this, 'version', { name });
    return { serviceName: this.name, host: this.host, name, declared: this.versionNames.includes(name) };
  }

  /**
   * Adds an HTTP route to the service's VirtualService. Routes are tried in the order added, so
   * specific matches come first and the catch-all last.
   */
  public addRoute(route: HttpRoute): this {
    checkInput.route(this, this.routes.length, route);
    this.routes.push(route);
    if (!this.routesObject) {
      this.routesObject = new VirtualService(this, 'virtual-service', {
        metadata: { name: this.name, namespace: this.namespace.name, labels: { app: this.name } },
        spec: {
          hosts: [this.host],
          http: Lazy.any({ produce: () => renderRoutes(this.routes, this.routeContext()) }),
        },
      });
      this.routesObject.node.addDependency(this.namespace);
      MeshRegistry.of(this).claimHost(this.host, 'mesh', this);
    }
    return this;
  }

  /**
   * Declares that this service calls `target`: the target allows this service's identity (and only
   * what `options` narrows it to), and this service's Sidecar can reach the target.
   */
  public calls(target: Microservice<string> | CallTarget, options: CallOptions = {}): this {
    checkInput.calls(this, this.dependencies.length + this.externalTargets.length, target, options);
    if (target instanceof Microservice) {
      this.dependencies.push(target);
      target.allowFrom({ principal: this.namespace.principal(this.serviceAccountName), ...options });
    } else {
      this.externalTargets.push(target);
      target._addCaller(this, options);
    }
    return this;
  }

  /** The targets this service calls that are not Microservices (e.g. external services), in order. */
  public get callTargets(): readonly CallTarget[] {
    return [...this.externalTargets];
  }

  /**
   * Lets this service's proxy reach a host outside the declared calls (a rate limit service, a
   * ServiceEntry): adds it to the Sidecar's egress hosts.
   */
  public addEgressHost(namespace: string, host: string): this {
    checkInput.strings(this, 'addEgressHost', { namespace, host });
    this.egress.add(`${namespace === this.namespace.name ? '.' : namespace}/${host}`);
    return this;
  }

  /**
   * Allows an identity to call this service (on top of the namespace's default deny).
   * `Microservice.calls` and the ingress constructs call this for you.
   */
  public allowFrom(caller: AllowedCaller): this {
    checkInput.allowFrom(this, this.allowed.length, this.namespace.name, caller);
    this.allowed.push(caller);
    this.ensureAllowPolicy();
    return this;
  }

  /**
   * Requires a valid JWT from `issuer` on `paths` (RequestAuthentication plus a DENY policy for
   * requests without a token on those paths); tokens on other paths are still validated when present.
   */
  public requireJwt(options: JwtOptions): this {
    checkInput.jwt(this, this.jwtRules.length, options);
    const index = this.jwtRules.length;
    this.jwtRules.push(options);
    const ns = this.namespace.name;
    const suffix = index === 0 ? '' : `-${index + 1}`;
    const requestAuthentication = new JwksUriRequestAuthentication(this, `request-authentication${suffix}`, {
      metadata: { name: `${this.name}-jwt${suffix}`, namespace: ns },
      spec: {
        ...this.policyTarget(),
        jwtRules: [
          prune({
            issuer: options.issuer,
            jwksUri: options.jwksUri,
            audiences: options.audiences && [...options.audiences],
            forwardOriginalToken: options.forwardOriginalToken,
          }),
        ],
      },
    });
    requestAuthentication.node.addDependency(this.namespace);
    const requireJwt = new AuthorizationPolicy(this, `require-jwt${suffix}`, {
      metadata: { name: `${this.name}-require-jwt${suffix}`, namespace: ns },
      spec: {
        ...this.policyTarget(),
        action: AuthorizationPolicySpecAction.DENY,
        rules: [
          {
            from: [{ source: { notRequestPrincipals: ['*'] } }],
            to: [{ operation: { paths: [...options.paths] } }],
          },
        ],
      },
    });
    requireJwt.node.addDependency(this.namespace);
    this.jwtObjects.push({ requestAuthentication, requireJwt });
    return this;
  }

  /**
   * A Service that selects one version only (`<name>-<version>`), for Gateway API routes, which
   * split traffic between Services rather than subsets.
   */
  public versionService(version: V): string {
    checkInput.strings(this, 'versionService', { version });
    // A Service selecting a version no pod carries would have no endpoints: every request to it fails.
    if (!this.versionNames.includes(version))
      this.declared(version, new Map<string, never>(), 'versionService');
    const existing = this.versionServices.get(version);
    if (existing) return existing.name;
    const svc = new k8s.KubeService(this, `service-${version}`, {
      metadata: {
        name: `${this.name}-${version}`,
        namespace: this.namespace.name,
        labels: { app: this.name, version, service: `${this.name}-${version}`, ...this.waypointLabels() },
      },
      spec: { selector: { app: this.name, version }, ports: this.ports.map(renderServicePort) },
    });
    svc.node.addDependency(this.namespace);
    this.versionServices.set(version, svc);
    return svc.name;
  }

  /** The Deployment `<name>-<version>` of a declared version (not for a StatefulSet service). */
  public deployment(version: V): k8s.KubeDeployment {
    checkInput.strings(this, 'deployment', { version });
    if (this.isStatefulSet) {
      // Suggest statefulSet() only for a version that has one.
      this.declared(version, this.statefulSets, 'deployment');
      throw new Error(
        `${this.node.path}: deployment("${String(version)}"): ${this.name} runs as StatefulSets (Workload.statefulSet()); use statefulSet("${String(version)}")`,
      );
    }
    return this.declared(version, this.deployments, 'deployment');
  }

  /** The StatefulSet `<name>-<version>` of a declared version of a StatefulSet service. */
  public statefulSet(version: V): k8s.KubeStatefulSet {
    checkInput.strings(this, 'statefulSet', { version });
    if (!this.isStatefulSet) {
      // Suggest deployment() only for a version that has one.
      this.declared(version, this.deployments, 'statefulSet');
      throw new Error(
        `${this.node.path}: statefulSet("${String(version)}"): ${this.name} runs as Deployments; use deployment("${String(version)}"), or workload: Workload.statefulSet()`,
      );
    }
    return this.declared(version, this.statefulSets, 'statefulSet');
  }

  /** Whether the versions run as StatefulSets. */
  public get isStatefulSet(): boolean {
    return this.workload.kind === 'StatefulSet';
  }

  /** Whether the StatefulSet's pods call each other (`Workload.statefulSet({ peers })`). */
  private get hasPeers(): boolean {
    const pods =
      this.props.autoscaling?.maxReplicas ??
      Math.max(...this.versionNames.map((v) => this.props.versions[v].replicas ?? this.props.replicas ?? 1));
    return this.workload.peersAt(pods);
  }

  /** The headless Service's name, `<name>-headless` (StatefulSet services only have one). */
  public get headlessName(): string {
    return `${this.name}-headless`;
  }

  /**
   * The HorizontalPodAutoscaler `<name>-<version>` of a declared version; undefined without the
   * `autoscaling` prop.
   */
  public autoscaler(version: V): k8s.KubeHorizontalPodAutoscalerV2 | undefined {
    checkInput.strings(this, 'autoscaler', { version });
    this.declared(version, this.workloadObjects, 'autoscaler');
    return this.autoscalers.get(version);
  }

  /**
   * The Service `<name>-<version>` that `versionService(version)` created (the Gateway API ingress
   * calls it for weighted routes); undefined until then.
   */
  public versionServiceObject(version: V): k8s.KubeService | undefined {
    checkInput.strings(this, 'versionServiceObject', { version });
    this.declared(version, this.workloadObjects, 'versionServiceObject');
    return this.versionServices.get(version);
  }

  /**
   * The VirtualService `<name>` that carries the routes. It is created by the first `addRoute`, so
   * it is undefined before that (and for a service that is never routed): patch it after the
   * chart has added its routes, e.g. at the end of the chart's constructor. The routes themselves
   * render lazily, so routes added after a patch still appear.
   */
  public get virtualService(): VirtualService | undefined {
    return this.routesObject;
  }

  /**
   * The AuthorizationPolicy `<name>-allow-callers` (ALLOW) that admits the identities of its callers.
   * Created by the first `allowFrom`, which `calls` on a caller and an ingress's `addRoute` do for
   * you; undefined while nothing may call the service (the namespace's default deny applies).
   */
  public get allowCallersPolicy(): AuthorizationPolicy | undefined {
    return this.l7Policy;
  }

  /**
   * With a waypoint, the AuthorizationPolicy `<name>-allow-waypoint` that lets ztunnel admit only the
   * waypoint's identity; created with `allowCallersPolicy`, and undefined without a waypoint.
   */
  public get allowWaypointPolicy(): AuthorizationPolicy | undefined {
    return this.waypointPolicy;
  }

  /**
   * Per `requireJwt` call, in order: the RequestAuthentication `<name>-jwt[-n]` and the DENY
   * AuthorizationPolicy `<name>-require-jwt[-n]`. Empty without `requireJwt`.
   */
  public get jwtPolicies(): readonly MicroserviceJwtPolicies[] {
    return [...this.jwtObjects];
  }

  /** The Deployments or StatefulSets by version. */
  private get workloadObjects(): ReadonlyMap<string, ApiObject> {
    return this.isStatefulSet ? this.statefulSets : this.deployments;
  }

  /** The object of a version, or an error naming the declared versions (for untyped callers). */
  private declared<T>(version: V, objects: ReadonlyMap<string, T>, accessor: string): T {
    const found = objects.get(version);
    if (found === undefined) {
      throw new Error(
        `${this.node.path}: ${accessor}("${String(version)}"): no such version; use one of ${this.versionNames.join(', ')}`,
      );
    }
    return found;
  }

  /**
   * The service's routes as an ingress gateway's VirtualService must carry them: a VirtualService
   * without `gateways` binds to the mesh only, so traffic entering through a gateway would skip the
   * canary weights, matches, retries and faults unless the gateway's own routes repeat them.
   * Undefined when the service has no routes.
   * @internal
   */
  public _gatewayRoutes(rc: RenderContext): VirtualServiceSpecHttp[] | undefined {
    if (this.routes.length === 0) return undefined;
    return this.routes.map((r) => renderRoute(r, { ...rc, destinationPort: this.httpPort?.port }));
  }

  /** @internal The routes added so far, in order. */
  public get _routes(): readonly HttpRoute[] {
    return this.routes;
  }

  /** The service's local rate limit, if it has one. */
  public get localRateLimit(): LocalRateLimitOptions | undefined {
    return this.props.localRateLimit;
  }

  /** Whether the service routes its traffic with a VirtualService. */
  public get hasRoutes(): boolean {
    return this.routes.length > 0;
  }

  /** The port routes address: the first HTTP port. */
  public get httpPort(): ServicePort | undefined {
    return this.ports.find((p) => p.isHttp);
  }

  /** The service's pod labels across all versions. */
  public get selectorLabels(): Record<string, string> {
    return { app: this.name };
  }

  private routeContext(): RouteContext {
    const httpPorts = this.ports.filter((p) => p.isHttp).map((p) => p.port);
    return {
      serviceName: this.name,
      host: this.host,
      // With one port the destination port is implied; with several, each port gets its own copy of
      // the routes, matched on and sent to that port (unmatched, a route would serve all ports).
      ports: this.ports.length > 1 ? httpPorts : [],
      ambient: this.namespace.isAmbient,
    };
  }

  /**
   * Where policies attach. With a waypoint, to the Services (the main one and every per-version
   * one), which only the waypoint enforces; otherwise to the pods, enforced by their sidecar or, in
   * ambient mode without a waypoint, by ztunnel (which honours selectors, never targetRefs).
   */
  private policyTarget() {
    if (!this.namespace.hasWaypoint) return { selector: { matchLabels: this.selectorLabels } };
    return {
      targetRefs: Lazy.any({
        produce: () =>
          [this.name, ...[...this.versionServices.values()].map((s) => s.name)].map((name) => ({
            kind: 'Service',
            group: '',
            name,
          })),
      }),
    };
  }

  /** Labels that send a Service's traffic, from the mesh and from ingress gateways, through the waypoint. */
  private waypointLabels(): Record<string, string> {
    return this.namespace.hasWaypoint
      ? { 'istio.io/use-waypoint': WAYPOINT_NAME, 'istio.io/ingress-use-waypoint': 'true' }
      : {};
  }

  private tlsMode(): 'ISTIO_MUTUAL' | 'DISABLE' | undefined {
    // Ambient carries mTLS in ztunnel's HBONE tunnel; a DestinationRule TLS setting does not apply.
    if (this.namespace.isAmbient) return undefined;
    return this.namespace.mtls === MtlsMode.DISABLE ? 'DISABLE' : 'ISTIO_MUTUAL';
  }

  private ensureAllowPolicy(): void {
    if (this.l7Policy) return;
    const ns = this.namespace.name;
    this.l7Policy = new AuthorizationPolicy(this, 'allow-callers', {
      metadata: { name: `${this.name}-allow-callers`, namespace: ns, labels: { app: this.name } },
      spec: {
        ...this.policyTarget(),
        action: AuthorizationPolicySpecAction.ALLOW,
        rules: Lazy.any({ produce: () => renderAllowRules(this.allowed) }),
      },
    });
    this.l7Policy.node.addDependency(this.namespace);
    if (this.namespace.hasWaypoint) {
      // With a waypoint, the callee's ztunnel sees the waypoint's identity, not the caller's: the
      // waypoint enforces the callers above, ztunnel lets only the waypoint through.
      this.waypointPolicy = new AuthorizationPolicy(this, 'allow-waypoint', {
        metadata: { name: `${this.name}-allow-waypoint`, namespace: ns, labels: { app: this.name } },
        spec: {
          selector: { matchLabels: this.selectorLabels },
          action: AuthorizationPolicySpecAction.ALLOW,
          rules: [
            {
              from: [
                {
                  source: {
                    principals: [
                      this.namespace.principal(WAYPOINT_NAME),
                      // A StatefulSet's peers reach each other by pod address, which a service
                      // waypoint does not serve (https://istio.io/latest/docs/ambient/usage/waypoint/),
                      // so ztunnel admits their own identity too.
                      ...(this.hasPeers ? [this.namespace.principal(this.serviceAccountName)] : []),
                    ],
                  },
                },
              ],
            },
          ],
        },
      });
      this.waypointPolicy.node.addDependency(this.namespace);
    }
  }

  private egressHosts(): string[] {
    return sidecarEgressHosts(
      this,
      [...this.egress],
      this.dependencies,
      this.externalTargets,
      this.props.extraEgressHosts,
    );
  }

  private createVersion(version: V, vp: VersionProps): void {
    const props = this.props;
    const ns = this.namespace.name;
    const labels = { app: this.name, version };
    const workloadName = `${this.name}-${version}`;
    const autoscaled = props.autoscaling !== undefined;
    const replicas = autoscaled ? undefined : (vp.replicas ?? props.replicas ?? 1);
    const claims = this.workload.volumeClaims;

    const template = renderPodTemplate({
      containerName: this.name,
      podLabels: labels,
      serviceLabels: this.selectorLabels,
      image: vp.image ?? props.image ?? '',
      imagePullPolicy: props.imagePullPolicy ?? 'IfNotPresent',
      ports: this.ports,
      env: { ...props.env, ...vp.env },
      envFrom: props.envFrom,
      resources: vp.resources ?? props.resources,
      probes: props.probes,
      runAsUser: props.runAsUser ?? DEFAULT_UID,
      writablePaths: props.writablePaths,
      mounts: props.mounts,
      namedMounts: claims.map((c) => ({ name: c.name, path: c.mountPath })),
      initContainers: props.initContainers,
      serviceAccountName: this.serviceAccountName,
      mountServiceAccountToken: props.mountServiceAccountToken ?? false,
      terminationGracePeriod: props.terminationGracePeriod,
      scheduling: props.scheduling,
      replicated: autoscaled ? (props.autoscaling?.maxReplicas ?? 1) > 1 : (replicas ?? 1) > 1,
      revisionLabel: this.isStatefulSet ? 'controller-revision-hash' : 'pod-template-hash',
      sidecarMode: !this.namespace.isAmbient,
      sidecar: props.sidecar,
    });

    if (this.isStatefulSet) {
      const statefulSet = new k8s.KubeStatefulSet(this, `statefulset-${version}`, {
        metadata: { name: workloadName, namespace: ns, labels },
        spec: {
          serviceName: this.headlessName,
          replicas,
          podManagementPolicy: this.workload.podManagementPolicy,
          selector: { matchLabels: labels },
          template,
          volumeClaimTemplates:
            claims.length > 0
              ? claims.map((c) => ({
                  metadata: { name: c.name, labels },
                  spec: {
                    accessModes: [...(c.accessModes ?? ['ReadWriteOnce'])],
                    storageClassName: c.storageClassName,
                    resources: { requests: { storage: k8s.Quantity.fromString(storageQuantity(c.storage)) } },
                  },
                }))
              : undefined,
        },
      });
      this.statefulSets.set(version, statefulSet);
    } else {
      const deployment = new k8s.KubeDeployment(this, `deployment-${version}`, {
        metadata: { name: workloadName, namespace: ns, labels },
        spec: { replicas, selector: { matchLabels: labels }, template },
      });
      this.deployments.set(version, deployment);
    }

    if (props.autoscaling) {
      const a = props.autoscaling;
      const autoscaler = new k8s.KubeHorizontalPodAutoscalerV2(this, `autoscaler-${version}`, {
        metadata: { name: workloadName, namespace: ns, labels },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: this.workload.kind, name: workloadName },
          minReplicas: a.minReplicas,
          maxReplicas: a.maxReplicas,
          metrics: renderMetrics(a, this.name, !this.namespace.isAmbient),
          behavior: renderBehavior(a.behavior),
        },
      });
      this.autoscalers.set(version, autoscaler);
    }
  }

  /** A budget that can never be met blocks every node drain; one that is malformed, the API server refuses. */
  private validateDisruptionBudget(db: DisruptionBudget, p: Problems): void {
    if ((db.minAvailable === undefined) === (db.maxUnavailable === undefined)) {
      p.add(
        'disruptionBudget',
        'needs exactly one of minAvailable and maxUnavailable',
        'set one of them, e.g. { maxUnavailable: 1 }',
      );
      return;
    }
    const field = db.minAvailable !== undefined ? 'minAvailable' : 'maxUnavailable';
    const value = (db.minAvailable ?? db.maxUnavailable) as number | string;
    const percent = typeof value === 'string' ? /^(\d+)%$/.exec(value) : null;
    if (
      typeof value === 'string' ? !percent || Number(percent[1]) > 100 : !Number.isInteger(value) || value < 0
    ) {
      p.add(
        `disruptionBudget.${field}`,
        `${JSON.stringify(value)} is neither a whole number nor a percentage like "25%"`,
        'use e.g. 1 or "25%"',
      );
      return;
    }
    const amount = percent ? Number(percent[1]) : (value as number);
    // The fewest pods of any version: a budget above it forbids evicting anything.
    const pods =
      this.props.autoscaling?.minReplicas ??
      Math.min(...this.versionNames.map((v) => this.props.versions[v].replicas ?? this.props.replicas ?? 1));
    const blocks =
      field === 'maxUnavailable'
        ? amount === 0
        : percent
          ? amount === 100
          : amount >= pods * this.versionNames.length;
    if (blocks) {
      p.add(
        `disruptionBudget.${field}`,
        `${JSON.stringify(value)} never allows a pod to be evicted, so node drains block`,
        field === 'maxUnavailable'
          ? 'allow at least 1'
          : percent
            ? 'use less than "100%"'
            : `keep fewer than all ${pods * this.versionNames.length} pods available, or add replicas`,
      );
    }
  }

  private validate(p: Problems, registry: MeshRegistry): void {
    const props = this.props;
    p.dnsLabel('name', this.name);
    // Service names are DNS-1035 labels, which start with a letter (ValidateServiceName in
    // k8s.io/kubernetes/pkg/apis/core/validation/validation.go).
    if (/^[0-9]/.test(this.name)) {
      p.add(
        'name',
        `"${this.name}" starts with a digit, and Kubernetes Service names (DNS-1035 labels) must start with a letter`,
        `start it with a letter, e.g. "svc-${this.name}"`,
      );
    }
    const owner = this.serviceAccountOwner;
    if (owner && owner.mountsToken !== (props.mountServiceAccountToken ?? false)) {
      p.add(
        'mountServiceAccountToken',
        `ServiceAccount "${this.serviceAccountName}" is shared with ${owner.construct.node.path}, which sets it to ${owner.mountsToken}`,
        'set the same mountServiceAccountToken on every service that shares a ServiceAccount',
      );
    }
    if (props.image) p.imageReference('image', props.image);
    [...this.egress].forEach((host, i) => p.sidecarEgressHost(`egressHosts[${i}]`, host));
    props.extraEgressHosts?.forEach((host, i) => p.sidecarEgressHost(`extraEgressHosts[${i}]`, host));
    p.serviceAccountName(
      'serviceAccountName',
      this.serviceAccountName,
      this.name,
      props.serviceAccountName === undefined,
    );
    if (this.versionNames.length === 0) {
      p.add('versions', 'declares no version', 'declare at least one, e.g. { v1: {} }');
    }
    for (const v of this.versionNames) {
      p.dnsLabel(`versions.${v}`, v);
      // "<name>-<version>" names the version's Deployment, its per-version Service (a DNS-1035
      // label) and that Service's `service` label value, all limited to 63 characters; Kubernetes'
      // Deployment docs ask for DNS labels "for best compatibility" with the Pods' hostnames
      // (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#writing-a-deployment-spec).
      const derived = `${this.name}-${v}`;
      if (derived.length > 63) {
        p.add(
          `versions.${v}`,
          `the ${this.workload.kind} name "${derived}" is ${derived.length} characters long, more than 63`,
          'shorten the service name or the version name',
        );
      } else if (this.isStatefulSet && derived.length > 52) {
        // A StatefulSet's pods carry the label controller-revision-hash=<name>-<10-character hash>,
        // which must fit in 63 characters, or the controller cannot create any pod
        // (https://github.com/kubernetes/kubernetes/issues/64023).
        p.add(
          `versions.${v}`,
          `the StatefulSet name "${derived}" is ${derived.length} characters long, more than 52, so its pods' controller-revision-hash label would exceed 63 characters and none could be created`,
          'shorten the service name or the version name',
        );
      }
      const vp = props.versions[v];
      if (!(vp.image ?? props.image)) {
        p.add(
          `versions.${v}.image`,
          'no image is set for this version',
          'set image on the version or on the service',
        );
      }
      if (vp.replicas !== undefined && props.autoscaling) {
        p.add(
          `versions.${v}.replicas`,
          'is set together with autoscaling',
          'remove replicas; the HorizontalPodAutoscaler sets them',
        );
      }
      if (vp.image) p.imageReference(`versions.${v}.image`, vp.image);
      p.nonNegativeInt(`versions.${v}.replicas`, vp.replicas);
      validateResources(vp.resources, `versions.${v}.resources`, p);
      validateEnv(vp.env, `versions.${v}.env`, p);
    }
    p.nonNegativeInt('replicas', props.replicas);
    if (props.replicas !== undefined && props.autoscaling) {
      p.add(
        'replicas',
        'is set together with autoscaling',
        'remove replicas; the HorizontalPodAutoscaler sets them',
      );
    }
    validateResources(props.resources, 'resources', p);
    validateEnv(props.env, 'env', p);
    if (props.sidecar) validateSidecarResources(props.sidecar, 'sidecar', p);
    if (props.autoscaling) validateAutoscaling(props.autoscaling, 'autoscaling', p);
    if (props.disruptionBudget) this.validateDisruptionBudget(props.disruptionBudget, p);
    if (this.ports.length === 0) p.add('ports', 'is empty', 'give the service at least one port');
    validatePorts(this.ports, p);
    // The ports the data plane itself listens on in the pod's network namespace ("Ports used by
    // Istio", https://istio.io/latest/docs/ops/deployment/application-requirements/#ports-used-by-istio):
    // an app container on one of them cannot bind it (or takes it from the proxy), so the pod
    // never becomes ready. Ambient's ztunnel listens in the pod on 15001, 15006 and 15008 only.
    const reserved = this.namespace.isAmbient ? AMBIENT_POD_PORTS : SIDECAR_POD_PORTS;
    this.ports.forEach((port, i) => {
      if (reserved.includes(port.targetPort)) {
        p.add(
          port.targetPort === port.port ? `ports[${i}].port` : `ports[${i}].targetPort`,
          `container port ${port.targetPort} is one the ${this.namespace.isAmbient ? 'ztunnel' : 'Istio proxy'} listens on in the pod, so the app cannot bind it`,
          'serve on another container port and point targetPort at it, e.g. ServicePort.http(80, { targetPort: 8080 })',
        );
      }
    });
    validateRunAsUser(props.runAsUser, p);
    // containerd's CRI plugin waits `time.Duration(timeout) * time.Second` before SIGKILL
    // (StopContainer, internal/cri/server/container_stop.go): a longer grace period wraps around
    // to a negative wait, and the container is killed at once instead of draining.
    p.wholeSeconds(
      'terminationGracePeriod',
      props.terminationGracePeriod,
      0,
      GO_DURATION_MAX_SECONDS,
      'the longest wait the container runtime can hold (a Go time.Duration): beyond it the wait wraps around and the container is killed at once',
    );
    (props.writablePaths ?? []).forEach((path, i) => {
      if (!path.startsWith('/'))
        p.add(`writablePaths[${i}]`, `"${path}" is not an absolute path`, 'start it with "/"');
    });
    this.workload._validate(p, 'workload');
    validatePodTemplate(
      {
        envFrom: props.envFrom,
        writablePaths: props.writablePaths,
        mounts: props.mounts,
        namedMounts: this.workload.volumeClaims.map((c, i) => ({
          field: `workload.volumeClaims[${i}]`,
          name: c.name,
          path: c.mountPath,
        })),
        initContainers: props.initContainers,
        scheduling: props.scheduling,
        sidecar: props.sidecar,
        sidecarMode: !this.namespace.isAmbient,
        containerName: this.name,
      },
      p,
    );
    this.workload.volumeClaims.forEach((c, i) => {
      // The pod's own volumes are named "tmp", "writable-<n>" and "<kind>-<object>"; a claim
      // template with one of those names would collide with them.
      if (c.name === 'tmp' || /^writable-\d+$/.test(c.name)) {
        p.add(
          `workload.volumeClaims[${i}].name`,
          `"${c.name}" is the name of a scratch volume of the pod`,
          'choose another name, e.g. "data"',
        );
      }
    });
    props.probes?.readiness?._validate(p, 'probes.readiness');
    props.probes?.liveness?._validate(p, 'probes.liveness');
    props.probes?.startup?._validate(p, 'probes.startup');
    if (props.trafficPolicy) validateTrafficPolicy(props.trafficPolicy, 'trafficPolicy', p);

    if (this.namespace.isAmbient && props.sidecar) {
      p.add(
        'sidecar',
        `namespace "${this.namespace.name}" is ambient, so pods get no sidecar to configure`,
        'remove sidecar, or use DataPlane.sidecar() for the namespace',
      );
    }

    // Routing.
    const ctx = this.routeContext();
    this.routes.forEach((r, i) => validateRoute(r, ctx, `routes[${i}]`, p));
    const catchAll = this.routes.findIndex((r) => r.match === undefined);
    if (this.routes.length > 0 && catchAll === -1) {
      p.add(
        'routes',
        'every route has a match, so requests that match none get a 404',
        'add a last route without match',
      );
    } else if (catchAll !== -1 && catchAll < this.routes.length - 1) {
      p.add(
        `routes[${catchAll + 1}]`,
        `can never match: routes[${catchAll}] has no match and catches every request`,
        `move routes[${catchAll}] to the end`,
      );
    }
    if (this.routes.length > 0 && !this.httpPort) {
      p.add('routes', 'the service has no HTTP port to route', 'give it a ServicePort.http(...) port');
    }
    for (const rival of registry.rivalsFor(this.host, 'mesh', this)) {
      if (this.routesObject) {
        p.add(
          'routes',
          `host ${this.host} is also routed by ${rival.node.path}, and Istio merges two VirtualServices for one host unpredictably`,
          'route the host from one place only',
        );
      }
    }
    registry.checkUniqueService(this.host, this, p);

    // Security.
    const needsL7 = (what: string, field: string) => {
      if (this.namespace.isAmbient && !this.namespace.hasWaypoint) {
        p.add(
          field,
          `${what} needs a waypoint proxy in ambient namespace "${this.namespace.name}"`,
          'use DataPlane.ambient({ waypoint: true }) for the namespace',
        );
      }
    };
    if (this.routes.length > 0) needsL7('routing', 'routes');
    // On a TCP port Istio enforces authorization without the HTTP-only fields: it drops an ALLOW
    // rule that has any (the caller is denied) and matches a DENY rule on what is left (every
    // connection is denied). https://istio.io/latest/docs/tasks/security/authorization/authz-tcp/
    const tcpPorts = this.ports.filter((port) => !port.isHttp);
    this.allowed.forEach((c, i) => {
      const field = `callers[${i}]${callerLabel(c.principal, this.namespace.name)}`;
      // istiod refuses an empty principal ("empty value not allowed, found in principals",
      // CheckEmptyValues in pkg/config/security/security.go). A peer identity is
      // "<trust domain>/ns/<namespace>/sa/<service account>" (`principals` in
      // https://istio.io/latest/docs/reference/config/security/authorization-policy/#Source), so a
      // value with no "/" and no "*" wildcard, such as a bare service account name, matches no caller.
      if (c.principal === '' || (!c.principal.includes('/') && !c.principal.includes('*'))) {
        p.add(
          `${field}.principal`,
          c.principal === ''
            ? 'is empty, and istiod refuses an empty principal'
            : `${JSON.stringify(c.principal)} is not a peer identity, so it matches no caller`,
          'use the namespace\'s principal(serviceAccount), e.g. "cluster.local/ns/shop/sa/storefront", or calls() from the caller',
        );
      }
      validateCallOptions(c, field, p);
      if (c.methods || c.paths) needsL7('authorization by method or path', field);
      if ((c.methods || c.paths) && this.ports.length > 0 && tcpPorts.length === this.ports.length) {
        p.add(
          field,
          `methods and paths are HTTP-only, and every port of ${this.name} is TCP, so Istio drops this ALLOW rule and the caller is denied`,
          'leave methods and paths out, or give the service an HTTP port',
        );
      }
    });
    this.jwtRules.forEach((j, i) => {
      validateJwt(j, `jwt[${i}]`, p);
      needsL7('JWT authentication', `jwt[${i}]`);
      for (const port of tcpPorts) {
        p.add(
          `jwt[${i}]`,
          `port ${port.port} of ${this.name} is TCP, where Istio ignores the HTTP-only fields (token, paths) of the DENY rule that requires the token, so it denies every connection to that port`,
          'require JWT on services whose ports are all HTTP; move the TCP port to a service of its own',
        );
      }
    });
    if (this.namespace.name === MESH_ROOT_NAMESPACE) {
      // "If the authorization policy is in the root namespace, the selector will additionally
      // match with workloads in all namespaces" (the `selector` field in
      // https://istio.io/latest/docs/reference/config/security/authorization-policy/; the same holds
      // for RequestAuthentication and EnvoyFilter's workloadSelector), so the policies below would
      // also govern every workload labelled app=<name> anywhere in the mesh.
      const spread = [
        ...(this.allowed.length > 0 ? ['the AuthorizationPolicy of its callers'] : []),
        // With a waypoint, JWT policies attach to the Service by targetRefs, not by selector.
        ...(this.jwtRules.length > 0 && !this.namespace.hasWaypoint ? ['its JWT policies'] : []),
        ...(props.localRateLimit ? ['its local rate limit'] : []),
      ];
      if (spread.length > 0) {
        p.add(
          'namespace',
          `"${MESH_ROOT_NAMESPACE}" is Istio's mesh root namespace, where ${spread.join(', ')} would select every workload labelled app=${this.name} in every namespace`,
          'run the service in a namespace of its own',
        );
      }
    }
    if (props.localRateLimit && this.namespace.isAmbient) {
      // The rate limit is an EnvoyFilter on the workload's sidecar; Istio's docs state that
      // EnvoyFilter is not supported on waypoint proxies, so there is nothing safe to attach it to.
      p.add(
        'localRateLimit',
        `namespace "${this.namespace.name}" is ambient, and Istio does not support the EnvoyFilter that local rate limiting needs on waypoint proxies`,
        'rate-limit at the ingress gateway, or use DataPlane.sidecar() for the namespace',
      );
    }
    this.dependencies.forEach((dep, i) => {
      const field = `calls[${i}] (${dep.name})`;
      const owners = registry.serviceOwners(dep.host);
      if (!owners.includes(dep)) {
        p.add(
          field,
          `service ${dep.host} is not in this app`,
          'declare the called Microservice in the same cdk8s App',
        );
      }
      if (dep === this)
        p.add(
          field,
          'the service calls itself',
          'remove the call; a service needs no policy to reach itself',
        );
    });
    if (this.namespace.mtls === MtlsMode.DISABLE && this.allowed.length > 0) {
      p.add(
        'callers',
        `namespace "${this.namespace.name}" has mTLS disabled, so callers have no verified identity and principal rules deny everything`,
        'use MtlsMode.STRICT or PERMISSIVE',
      );
    }
  }
}

/**
 * The CRD accepts both `jwks_uri` and `jwksUri`, and the generated class emits the former; Istio's
 * docs and `istioctl` write `jwksUri`, so diffs against hand-written policies stay quiet.
 */
class JwksUriRequestAuthentication extends RequestAuthentication {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the generated toJson() returns any
  public override toJson(): any {
    const json = super.toJson();
    for (const rule of json.spec?.jwtRules ?? []) {
      if (rule.jwks_uri !== undefined) {
        rule.jwksUri = rule.jwks_uri;
        delete rule.jwks_uri;
      }
    }
    return json;
  }
}

function intOrString(v: number | string | undefined): k8s.IntOrString | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'number' ? k8s.IntOrString.fromNumber(v) : k8s.IntOrString.fromString(v);
}

/**
 * @internal The Sidecar of a caller (a Microservice, a MeshJob) in a sidecar namespace: it scopes
 * the proxy's outbound config to what the caller calls (least privilege for egress inside the mesh,
 * and much smaller Envoy config in large meshes), with the hosts known only once the app is built.
 */
export function scopedSidecar(
  caller: MeshCaller,
  labels: Record<string, string>,
  hosts: () => string[],
): Sidecar {
  return new Sidecar(caller, 'sidecar', {
    metadata: { name: caller.name, namespace: caller.namespace.name, labels },
    spec: {
      workloadSelector: { labels },
      egress: [{ hosts: Lazy.any({ produce: hosts }) }],
      // Fail closed when the namespace says so (REGISTRY_ONLY, the egress work's
      // `outboundTrafficPolicy`); unset, the mesh-wide mode applies.
      outboundTrafficPolicy: caller.namespace._sidecarOutboundTrafficPolicy(),
    },
  });
}

/**
 * @internal The Sidecar egress hosts of a caller (a Microservice, a MeshJob): the hosts it was
 * given, its namespace's, every service it calls (with a waypoint's and a StatefulSet's per-pod
 * names), every other target's, then istio-system.
 */
export function sidecarEgressHosts(
  caller: MeshCaller,
  given: readonly string[],
  dependencies: readonly Microservice<string>[],
  targets: readonly CallTarget[],
  extra: readonly string[] | undefined,
): string[] {
  const hosts = new Set<string>([...given, ...caller.namespace.egressHosts]);
  for (const dep of dependencies) {
    const ns = dep.namespace.name === caller.namespace.name ? '.' : dep.namespace.name;
    hosts.add(`${ns}/${dep.host}`);
    if (dep.isStatefulSet) {
      // A StatefulSet's callers address its pods by their own names,
      // <pod>.<name>-headless.<namespace>.svc.cluster.local: the Sidecar must reach the headless
      // Service, whose endpoints Istio programs one by one, and the per-pod names under it
      // (a Sidecar egress host may have a wildcard first label,
      // https://istio.io/latest/docs/reference/config/networking/sidecar/#IstioEgressListener).
      const headless = dep.namespace.fqdn(dep.headlessName);
      hosts.add(`${ns}/${headless}`);
      hosts.add(`${ns}/*.${headless}`);
    }
    // A sidecar sends traffic for a Service labelled istio.io/use-waypoint to that waypoint, so its
    // Sidecar egress must include the waypoint's Service too, or the proxy has no route to it
    // (https://istio.io/latest/docs/ambient/usage/interop/ "Sidecar and waypoint interoperability").
    if (dep.namespace.hasWaypoint) hosts.add(`${ns}/${dep.namespace.fqdn(WAYPOINT_NAME)}`);
  }
  for (const target of targets) for (const h of target._egressFor(caller)) hosts.add(h);
  for (const h of extra ?? []) hosts.add(h);
  return [...[...hosts].sort(), 'istio-system/*'];
}
