import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from 'cdk8s-plus-27/lib/imports/k8s.js';
import {
  AuthorizationPolicy,
  PeerAuthentication,
  PeerAuthenticationSpecMtlsMode,
} from '../imports/security.istio.io.js';
import { Telemetry } from '../imports/telemetry.istio.io.js';
import { Gateway } from '../imports/gateway.networking.k8s.io.js';
import { DEFAULT_TRUST_DOMAIN } from './versions.js';
import { type Problems, validateWith } from './validation.js';
import { checkInput, constructId } from './input.js';
import { isDnsLabel } from './k8s-names.js';
import { MeshRegistry } from './registry.js';
import { Sidecar, type SidecarSpecOutboundTrafficPolicy } from '../imports/networking.istio.io.js';
import { OutboundTrafficPolicy, sidecarOutboundTrafficPolicy } from './egress/outbound-traffic-policy.js';
import { externalServicesByHost, hostCovered } from './egress/external-service.js';

/** The label Istio's sidecar injector and ambient mode read on a namespace. */
export enum DataPlaneMode {
  SIDECAR = 'sidecar',
  AMBIENT = 'ambient',
}

export interface AmbientOptions {
  /**
   * Deploy a waypoint proxy (a Gateway API Gateway of class `istio-waypoint`) for the namespace.
   * Routing, L7 authorization, fault injection, rate limits and JWT need one in ambient mode.
   * @default false
   */
  readonly waypoint?: boolean;
}

/** How workloads in a namespace join the mesh. */
export class DataPlane {
  /** Sidecar injection through the default revision: `istio-injection=enabled`. */
  public static sidecar(): DataPlane {
    return new DataPlane(DataPlaneMode.SIDECAR, { 'istio-injection': 'enabled' }, false);
  }
  /** Sidecar injection by a control plane revision (canary upgrades): `istio.io/rev=<revision>`. */
  public static revision(revision: string): DataPlane {
    checkInput.dataPlane('revision', { revision });
    return new DataPlane(DataPlaneMode.SIDECAR, { 'istio.io/rev': revision }, false);
  }
  /** Ambient mode (ztunnel for L4, an optional waypoint for L7): `istio.io/dataplane-mode=ambient`. */
  public static ambient(options: AmbientOptions = {}): DataPlane {
    checkInput.dataPlane('ambient', { options });
    return new DataPlane(
      DataPlaneMode.AMBIENT,
      { 'istio.io/dataplane-mode': 'ambient' },
      options.waypoint ?? false,
    );
  }
  private constructor(
    public readonly mode: DataPlaneMode,
    /** @internal */ public readonly _labels: Record<string, string>,
    public readonly waypoint: boolean,
  ) {}
}

/** Namespace-wide mutual TLS, as PeerAuthentication sets it. */
export enum MtlsMode {
  /** Only mTLS is accepted. */
  STRICT = 'STRICT',
  /** mTLS and plain text are accepted: for migrating workloads into the mesh. */
  PERMISSIVE = 'PERMISSIVE',
  /** Plain text only. */
  DISABLE = 'DISABLE',
}

export interface TracingOptions {
  /**
   * Name of a tracing provider declared in meshConfig.extensionProviders.
   * @default "otel-tracing"
   */
  readonly provider?: string;
  /** Percentage of requests that start a trace, 0 to 100. */
  readonly samplingPercentage: number;
  /**
   * The collector's Service, as a Sidecar egress host (`<namespace>/<fqdn>`). Every Sidecar of the
   * namespace gets it: a proxy whose egress leaves out its tracing backend drops every span silently.
   * @default "observability/opentelemetry-collector.observability.svc.cluster.local", the collector
   *   the Pulumi stacks install for the "otel-tracing" provider
   */
  readonly collector?: string;
}

export interface AccessLoggingOptions {
  /**
   * Name of an access log provider; "envoy" is built into Istio and logs to the proxy's stdout.
   * @default "envoy"
   */
  readonly provider?: string;
}

export interface MeshNamespaceProps {
  /**
   * The namespace's name.
   * @default the construct id
   */
  readonly name?: string;
  /**
   * How workloads join the mesh.
   * @default DataPlane.sidecar()
   */
  readonly dataPlane?: DataPlane;
  /**
   * Namespace-wide PeerAuthentication mode.
   * @default MtlsMode.STRICT
   */
  readonly mtls?: MtlsMode;
  /**
   * Add an allow-nothing AuthorizationPolicy, so only calls declared with `Microservice.calls`
   * (and ingress routes) are allowed.
   * @default true
   */
  readonly defaultDeny?: boolean;
  /**
   * Call-chain tracing for every workload in the namespace.
   * @default no Telemetry resource; the mesh-wide defaults apply
   */
  readonly tracing?: TracingOptions;
  /**
   * Access logs for every workload in the namespace.
   * @default no access logging beyond the mesh-wide default
   */
  readonly accessLogging?: AccessLoggingOptions;
  /**
   * The mesh trust domain, used in the SPIFFE principals of authorization policies.
   * @default "cluster.local"
   */
  readonly trustDomain?: string;
  /**
   * Extra labels on the Namespace.
   * @default none
   */
  readonly labels?: Record<string, string>;
  /**
   * What the sidecars of the namespace do with traffic to hosts outside their registry:
   * `OutboundTrafficPolicy.REGISTRY_ONLY` fails closed (only Services, and external hosts declared
   * by an ExternalService and called with `calls()`, are reachable), `ALLOW_ANY` lets it out.
   * Rendered into every Sidecar resource of the namespace. Sidecar mode only: ztunnel does not
   * enforce it, so an ambient namespace refuses REGISTRY_ONLY.
   * @default the mesh-wide `meshConfig.outboundTrafficPolicy.mode`, which is Istio's ALLOW_ANY unless
   *   the Istio install sets it (the stacks' `IstioMeshArgs.outboundTrafficPolicy`)
   */
  readonly outboundTrafficPolicy?: OutboundTrafficPolicy;
}

/** The OpenTelemetry collector of the "otel-tracing" provider, as a Sidecar egress host. */
export const DEFAULT_COLLECTOR = 'observability/opentelemetry-collector.observability.svc.cluster.local';

/**
 * Istio's mesh root namespace (meshConfig.rootNamespace, "istio-system" unless the mesh config says
 * otherwise): policies there apply to the whole mesh.
 */
export const MESH_ROOT_NAMESPACE = 'istio-system';

/** The namespace labels that choose how workloads join the mesh; DataPlane sets exactly one of them. */
const DATA_PLANE_LABELS = ['istio-injection', 'istio.io/rev', 'istio.io/dataplane-mode'];

/** The name of the waypoint Gateway a MeshNamespace deploys, as `istioctl waypoint apply` names it. */
export const WAYPOINT_NAME = 'waypoint';

/** The namespaces Kubernetes creates and runs its own components in. */
const KUBERNETES_NAMESPACES = new Set(['kube-system', 'kube-public', 'kube-node-lease']);

/**
 * A namespace in the mesh: its data-plane mode, namespace-wide mTLS, a default-deny authorization
 * baseline, tracing and access logging, and (in ambient mode) its waypoint proxy.
 */
export class MeshNamespace extends Construct {
  public readonly name: string;
  public readonly dataPlane: DataPlane;
  public readonly mtls: MtlsMode;
  public readonly trustDomain: string;
  public readonly defaultDeny: boolean;
  /** Hosts every workload of the namespace must reach besides what it calls (its tracing collector). */
  public readonly egressHosts: readonly string[];
  /** The namespace's outbound traffic policy; undefined when the mesh-wide one applies. */
  public readonly outboundTrafficPolicy?: OutboundTrafficPolicy;

  constructor(scope: Construct, id: string, props: MeshNamespaceProps = {}) {
    super(scope, constructId('MeshNamespace', scope, id));
    checkInput.meshNamespace(this, props);
    this.name = props.name ?? id;
    this.dataPlane = props.dataPlane ?? DataPlane.sidecar();
    this.mtls = props.mtls ?? MtlsMode.STRICT;
    this.trustDomain = props.trustDomain ?? DEFAULT_TRUST_DOMAIN;
    this.defaultDeny = props.defaultDeny ?? true;
    this.egressHosts = props.tracing ? [props.tracing.collector ?? DEFAULT_COLLECTOR] : [];
    this.outboundTrafficPolicy = props.outboundTrafficPolicy;
    const registry = MeshRegistry.of(this);
    registry.registerNamespace(this);

    validateWith(this, (p) => {
      p.dnsLabel('name', this.name);
      if (KUBERNETES_NAMESPACES.has(this.name)) {
        // Kubernetes' own namespaces (https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/#initial-namespaces),
        // which Istio's injector also leaves alone (the istiod chart's mutatingwebhook.yaml excludes
        // them by name): the namespace's injection label, mTLS mode and default deny would reach the
        // cluster's own components (coredns, kube-proxy) on their next restart. Other kube-* names
        // are only discouraged, and the API server takes them.
        p.add(
          'name',
          `"${this.name}" is a namespace of Kubernetes' own, and the mesh's labels and policies would reach the cluster's components there`,
          'give the app a namespace of its own, e.g. "shop"',
        );
      }
      if (props.tracing) p.percent('tracing.samplingPercentage', props.tracing.samplingPercentage);
      p.dnsSubdomain('trustDomain', this.trustDomain);
      for (const host of this.egressHosts) p.sidecarEgressHost('tracing.collector', host);
      if (this.name === MESH_ROOT_NAMESPACE && this.defaultDeny) {
        // A policy in the root namespace without a selector applies to every workload of the mesh
        // (https://istio.io/latest/docs/reference/config/security/authorization-policy/), so the
        // allow-nothing policy there denies every request everywhere.
        p.add(
          'defaultDeny',
          `"${this.name}" is Istio's mesh root namespace, where the allow-nothing policy applies to every workload of the mesh and denies every request everywhere`,
          'set defaultDeny: false for the root namespace, or use another namespace',
        );
      }
      const revision = this.dataPlane._labels['istio.io/rev'];
      if (revision !== undefined && !isDnsLabel(revision)) {
        // The injector's webhooks select namespaces by istio.io/rev = <revision>, and revisions
        // are DNS labels (they name istiod-<revision>): no injector selects any other value.
        p.add(
          'dataPlane',
          `revision ${JSON.stringify(revision)} is not the name of a control plane revision (an RFC 1123 label), so no injector selects the namespace and pods get no sidecar`,
          'give the revision of an installed control plane, e.g. DataPlane.revision("1-30-3"), or use DataPlane.sidecar()',
        );
      }
      for (const key of DATA_PLANE_LABELS) {
        const value = props.labels?.[key];
        if (value !== undefined && value !== this.dataPlane._labels[key]) {
          // istio-injection wins over istio.io/rev, and either turns sidecars on in an ambient
          // namespace: a second data-plane label overrides or contradicts dataPlane.
          p.add(
            `labels[${JSON.stringify(key)}]`,
            `${JSON.stringify(value)} contradicts dataPlane, which sets ${Object.entries(
              this.dataPlane._labels,
            )
              .map(([k, v]) => `${k}=${v}`)
              .join(', ')}`,
            'remove the label and choose the data plane with dataPlane',
          );
        }
      }
      this.validateOutboundTrafficPolicy(p);
      for (const other of registry.namespaceOwners(this.name)) {
        if (other !== this) {
          p.add(
            'name',
            `namespace "${this.name}" is also declared by ${other.node.path}`,
            'declare each namespace once and pass that MeshNamespace to all its services',
          );
        }
      }
    });

    const ns = new k8s.KubeNamespace(this, 'namespace', {
      metadata: { name: this.name, labels: { ...props.labels, ...this.dataPlane._labels } },
    });

    new PeerAuthentication(this, 'peer-authentication', {
      metadata: { name: 'default', namespace: this.name },
      spec: { mtls: { mode: PeerAuthenticationSpecMtlsMode[this.mtls] } },
    });

    if (this.defaultDeny) {
      // An ALLOW-action policy with no rules matches nothing, so it denies every request that no
      // other ALLOW policy allows: Istio's documented "allow-nothing" baseline.
      new AuthorizationPolicy(this, 'allow-nothing', {
        metadata: { name: 'allow-nothing', namespace: this.name },
        spec: {},
      });
    }

    if (props.tracing || props.accessLogging) {
      new Telemetry(this, 'telemetry', {
        metadata: { name: 'namespace-default', namespace: this.name },
        spec: {
          tracing: props.tracing
            ? [
                {
                  providers: [{ name: props.tracing.provider ?? 'otel-tracing' }],
                  randomSamplingPercentage: props.tracing.samplingPercentage,
                },
              ]
            : undefined,
          accessLogging: props.accessLogging
            ? [{ providers: [{ name: props.accessLogging.provider ?? 'envoy' }] }]
            : undefined,
        },
      });
    }

    if (this.hasWaypoint) {
      new Gateway(this, 'waypoint', {
        metadata: {
          name: WAYPOINT_NAME,
          namespace: this.name,
          labels: { 'istio.io/waypoint-for': 'service' },
        },
        spec: {
          gatewayClassName: 'istio-waypoint',
          listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }],
        },
      });
    }

    if (this.outboundTrafficPolicy !== undefined && !this.isAmbient) {
      // The services' Sidecars carry the mode, but only for the pods they select. A pod mesh-kit did
      // not create (a debug pod, a chart installed beside) gets the namespace's Sidecar without
      // workloadSelector, else the mesh-wide mode: this one carries the namespace's mode to them,
      // with Istio's default egress (every namespace's services)
      // (https://istio.io/latest/docs/reference/config/networking/sidecar/, workloadSelector).
      new Sidecar(this, 'default-sidecar', {
        metadata: { name: 'default', namespace: this.name },
        spec: { egress: [{ hosts: ['*/*'] }], outboundTrafficPolicy: this._sidecarOutboundTrafficPolicy() },
      });
    }

    // Every object of the namespace is applied after the Namespace itself.
    for (const child of this.node.children) {
      if (child !== ns) child.node.addDependency(ns);
    }
  }

  public get isAmbient(): boolean {
    return this.dataPlane.mode === DataPlaneMode.AMBIENT;
  }

  public get hasWaypoint(): boolean {
    return this.isAmbient && this.dataPlane.waypoint;
  }

  /**
   * The `spec.outboundTrafficPolicy` of the namespace's Sidecar resources: undefined (the mesh-wide
   * mode) unless the namespace sets one, since a Sidecar's mode overrides the mesh's.
   * @internal
   */
  public _sidecarOutboundTrafficPolicy(): SidecarSpecOutboundTrafficPolicy | undefined {
    return sidecarOutboundTrafficPolicy(this.outboundTrafficPolicy);
  }

  /**
   * REGISTRY_ONLY is enforced by sidecars only, and fails every call to a host outside the registry:
   * refused in ambient mode, and every external host a Sidecar of the namespace lists must be
   * declared by an ExternalService its namespace part imports.
   */
  private validateOutboundTrafficPolicy(p: Problems): void {
    if (this.outboundTrafficPolicy !== OutboundTrafficPolicy.REGISTRY_ONLY) return;
    if (this.isAmbient) {
      // ztunnel does not read meshConfig.outboundTrafficPolicy nor any per-namespace setting:
      // undeclared egress from ambient pods still leaves the mesh (istio/istio#54281); Istio's
      // ambient egress control goes through a waypoint for ServiceEntries instead
      // (https://istio.io/latest/docs/ambient/usage/).
      p.add(
        'outboundTrafficPolicy',
        `namespace "${this.name}" is ambient, where ztunnel does not enforce REGISTRY_ONLY (there is no Sidecar resource to carry it), so undeclared egress would still leave the mesh`,
        'use DataPlane.sidecar() for fail-closed egress, or leave outboundTrafficPolicy out and block egress with a NetworkPolicy',
      );
      return;
    }
    const byHost = externalServicesByHost(this);
    const declared = [...byHost.entries()];
    for (const sidecar of this.node.root.node.findAll()) {
      // By kind: the generated classes share ApiObject's instanceof check, which any object passes.
      if (
        !ApiObject.isApiObject(sidecar) ||
        sidecar.kind !== 'Sidecar' ||
        sidecar.apiGroup !== 'networking.istio.io'
      )
        continue;
      if (sidecar.metadata.namespace !== this.name) continue;
      const spec = (
        sidecar.toJson() as {
          spec?: { egress?: { hosts?: string[] }[]; outboundTrafficPolicy?: { mode?: string } };
        }
      ).spec;
      if (spec?.outboundTrafficPolicy?.mode !== OutboundTrafficPolicy.REGISTRY_ONLY) {
        // A Sidecar's own mode (or none: the mesh-wide one) decides for its workloads, whatever the
        // namespace says: without REGISTRY_ONLY they escape the namespace's fail-closed egress.
        p.add(
          'outboundTrafficPolicy',
          `REGISTRY_ONLY, but Sidecar "${sidecar.name}" ${spec?.outboundTrafficPolicy?.mode ? `sets ${spec.outboundTrafficPolicy.mode}` : 'sets no outboundTrafficPolicy (the mesh-wide mode applies)'}, so its workloads may reach hosts no ServiceEntry declares`,
          'set its spec.outboundTrafficPolicy to { mode: "REGISTRY_ONLY" } (what MeshNamespace._sidecarOutboundTrafficPolicy() returns)',
        );
      }
      for (const entry of spec?.egress?.flatMap((e) => e.hosts ?? []) ?? []) {
        const [nsPart, host] = entry.split('/');
        if (host === undefined || host === '*' || /\.cluster\.local\.?$/.test(host)) continue;
        const imported = nsPart === '.' ? this.name : nsPart;
        const owners = declared
          .filter(([h]) => hostCovered(host, h))
          .flatMap(([, os]) => os.filter((o) => imported === '*' || o.namespace.name === imported));
        if (owners.length === 0) {
          p.add(
            'outboundTrafficPolicy',
            `REGISTRY_ONLY, and Sidecar "${sidecar.name}" reaches "${entry}", which no ExternalService in ${imported === '*' ? 'any namespace' : `namespace "${imported}"`} declares, so its calls to ${host} fail`,
            `declare it with new ExternalService(scope, id, { namespace, hosts: ["${host}"] }) and call it with calls()`,
          );
        } else if (!owners.some((o) => o._exportedTo(this.name))) {
          p.add(
            'outboundTrafficPolicy',
            `REGISTRY_ONLY, and Sidecar "${sidecar.name}" reaches "${entry}", but ${owners[0].node.path} is exported only to its callers' namespaces, not "${this.name}", so its calls to ${host} fail`,
            `declare the call with calls(${owners[0].name}) instead of listing the host`,
          );
        }
      }
    }
  }

  /** The SPIFFE principal Istio gives a service account of this namespace. */
  public principal(serviceAccount: string): string {
    checkInput.strings(this, 'principal', { serviceAccount });
    return `${this.trustDomain}/ns/${this.name}/sa/${serviceAccount}`;
  }

  /** The fully qualified host name of a Service in this namespace. */
  public fqdn(service: string): string {
    checkInput.strings(this, 'fqdn', { service });
    return `${service}.${this.name}.svc.cluster.local`;
  }
}
