import { MESH_ROOT_NAMESPACE } from '../mesh-namespace.js';
import { checkInput } from '../input.js';
import { isDnsLabel } from '../k8s-names.js';
import type { Problems } from '../validation.js';

export interface IstioEgressGatewayOptions {
  /**
   * The namespace the egress gateway's pods run in. Its Gateway, its DestinationRule and the
   * AuthorizationPolicy that admits the callers go there, where the policy's selector matches the
   * gateway's pods. In the mesh root namespace (istio-system) a selector also matches the pods so
   * labelled in every other namespace
   * (https://istio.io/latest/docs/reference/config/security/authorization-policy/): give a second
   * egress gateway elsewhere labels of its own. The first ExternalService through a gateway makes it
   * deny what no ALLOW policy admits.
   * @default "istio-system"
   */
  readonly namespace?: string;
  /**
   * The labels of the egress gateway's pods.
   * @default { istio: 'egressgateway' }, as Istio's egress gateway tasks select it
   */
  readonly selector?: Record<string, string>;
  /**
   * The name of the egress gateway's Service, which sidecars send the external traffic to.
   * @default "istio-egressgateway", the release name of Istio's egress gateway tasks
   */
  readonly serviceName?: string;
  /**
   * The ports the gateway's Service exposes: a sidecar can reach the gateway on these only.
   * @default [80, 443], the `gateway` Helm chart's default Service ports besides its status port
   */
  readonly ports?: readonly number[];
}

/**
 * An egress gateway already installed in the cluster (the `gateway` Helm chart, or the stacks'
 * `IstioMeshArgs.egressGateway`), through which an ExternalService routes its traffic
 * (https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway/).
 */
export class EgressGateway {
  /** The Istio egress gateway, by default `istio-egressgateway` in istio-system, pods labelled istio=egressgateway. */
  public static istio(options: IstioEgressGatewayOptions = {}): EgressGateway {
    checkInput.egressGateway('istio', options);
    return new EgressGateway(
      options.namespace ?? MESH_ROOT_NAMESPACE,
      { ...(options.selector ?? { istio: 'egressgateway' }) },
      options.serviceName ?? 'istio-egressgateway',
      [...(options.ports ?? [80, 443])],
    );
  }

  private constructor(
    /** The namespace of the gateway's pods, and of the objects that configure them. */
    public readonly namespace: string,
    /** The labels of the gateway's pods. */
    public readonly selector: Readonly<Record<string, string>>,
    /** The name of the gateway's Service. */
    public readonly serviceName: string,
    /** The ports of the gateway's Service. */
    public readonly ports: readonly number[],
  ) {}

  /** The fully qualified host of the gateway's Service, where sidecars send the traffic. */
  public get host(): string {
    return `${this.serviceName}.${this.namespace}.svc.cluster.local`;
  }

  /** @internal */
  public _validate(p: Problems, field: string): void {
    if (!isDnsLabel(this.namespace)) p.dnsLabel(`${field}.namespace`, this.namespace);
    p.dnsLabel(`${field}.serviceName`, this.serviceName);
    const entries = Object.entries(this.selector);
    if (entries.length === 0) {
      // A Gateway without a selector configures no gateway pods at all.
      p.add(
        `${field}.selector`,
        'is empty, so the Gateway selects no gateway pods and the AuthorizationPolicy would select every pod of the namespace',
        "give the gateway pods' labels, e.g. { istio: 'egressgateway' }",
      );
    }
    for (const [key, value] of entries) p.label(`${field}.selector`, key, value);
    if (this.ports.length === 0) {
      p.add(
        `${field}.ports`,
        'is empty, so no sidecar can reach the gateway',
        'leave ports out for [80, 443]',
      );
    }
    this.ports.forEach((port, i) => p.port(`${field}.ports[${i}]`, port));
  }
}
