/**
 * One registered app (constructs/app-definition.ts, charts/apps.ts) in one variant, from the same
 * cdk8s chart(s) `npm run synth -- --app <name>` writes, synthesized in-process with the images the
 * stack built and handed to Pulumi as plain objects: its Namespaces first (their own ConfigGroup),
 * then everything in them, after the mesh (CRDs, webhooks, gateway) and the add-ons.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { App } from 'cdk8s';
import { DataPlane, type MeshAppDefinition } from '../constructs/index.js';
import { renderObjects } from '../constructs/render.js';
import { GATEWAY_RELEASE, ISTIO_NAMESPACE } from './istio.js';

export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [k: string]: unknown };
  readonly [k: string]: unknown;
}

/** The stack's data plane, as the apps' namespaces take it. */
export type StackDataPlane = 'sidecar' | 'ambient';

/**
 * An app's objects in one variant, validated and rendered by the same code as `npm run synth`
 * (constructs/render.ts: every problem of every construct at once; objects in dependency order), as
 * plain JSON objects.
 * @param images image reference per key of the app's `images`; the chart's own for the others
 * @param dataPlane the data plane of the app's namespaces (ambient with a waypoint); the app's own
 * choice when unset
 */
export function appManifests(
  app: MeshAppDefinition,
  variant: string,
  images: Readonly<Record<string, string>> = {},
  dataPlane?: StackDataPlane,
): KubeObject[] {
  const cdk8sApp = new App();
  app.build(cdk8sApp, variant, {
    images,
    // Ambient with a waypoint: routing, L7 authorization and JWT, which apps use, need one.
    dataPlane:
      dataPlane === undefined
        ? undefined
        : dataPlane === 'ambient'
          ? DataPlane.ambient({ waypoint: true })
          : DataPlane.sidecar(),
  });
  return renderObjects(cdk8sApp);
}

/**
 * The hosts an app sends through the stack's egress gateway: those of its Istio Gateways that select
 * the `istio: egressgateway` pods in istio-system (what `EgressGateway.istio()` renders), which the
 * stack must install (`IstioMeshArgs.egressGateway`) for those calls to leave at all.
 */
export function egressGatewayHosts(objects: readonly KubeObject[]): string[] {
  return objects
    .filter(
      (o) =>
        o.apiVersion.startsWith('networking.istio.io/') &&
        o.kind === 'Gateway' &&
        o.metadata.namespace === ISTIO_NAMESPACE &&
        (o.spec as { selector?: Record<string, string> } | undefined)?.selector?.istio === 'egressgateway',
    )
    .flatMap((o) =>
      ((o.spec as { servers?: { hosts?: string[] }[] }).servers ?? []).flatMap((srv) =>
        (srv.hosts ?? []).map((h) => h.replace(/^[^/]*\//, '')),
      ),
    );
}

/** One Gateway of an app, as the stack needs it for URLs and certificates. */
export interface AppGateway {
  /**
   * `istio`: a networking.istio.io Gateway, served by the stack's ingress gateway pods;
   * `gateway-api`: a gateway.networking.k8s.io Gateway, for which Istio deploys a gateway of its own.
   */
  readonly kind: 'istio' | 'gateway-api';
  readonly namespace: string;
  readonly name: string;
  /** Host names its servers (listeners) answer, in order; `*` for any. */
  readonly hosts: readonly string[];
  /** Whether it serves HTTPS (a server or listener with a certificate). */
  readonly https: boolean;
  /**
   * The `kubernetes.io/tls` Secrets it reads: for an Istio Gateway in the namespace of the gateway
   * pods (istio-system), for a Gateway API Gateway in its own namespace (or the reference's).
   */
  readonly credentials: readonly { readonly name: string; readonly namespace: string }[];
  /** The first path its routes serve, e.g. `/` or `/productpage`: where the app's URL points. */
  readonly path: string;
}

type Json = Record<string, unknown>;
const list = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const obj = (v: unknown): Json => (v !== null && typeof v === 'object' ? (v as Json) : {});
const isGroup = (o: KubeObject, group: string) => o.apiVersion.startsWith(`${group}/`);

/** The first path of the first route that has one, among `paths` (route, match → path). */
function firstPath(paths: (string | undefined)[]): string {
  return paths.find((p) => typeof p === 'string' && p.startsWith('/')) ?? '/';
}

/** The labels the gateway chart gives a release's pods: `app: <release>`, `istio: <release without "istio-">`. */
const gatewayPods = (release: string): Record<string, string> => ({
  app: release,
  istio: release.replace(/^istio-/, ''),
});

/** Whether an Istio Gateway's (non-empty) selector picks pods with these labels. */
function selects(gateway: KubeObject, pods: Record<string, string>): boolean {
  const selector = Object.entries(obj(obj(gateway.spec).selector));
  return selector.length > 0 && selector.every(([k, v]) => pods[k] === v);
}

/**
 * The ingress Gateways among an app's rendered objects: Istio Gateways (networking.istio.io) of the
 * stack's ingress gateway pods (not an egress gateway's) and Gateway API Gateways
 * (gateway.networking.k8s.io), with their hosts, certificates and the first path their
 * VirtualServices or HTTPRoutes route.
 */
export function appGateways(objects: readonly KubeObject[]): AppGateway[] {
  const gateways: AppGateway[] = [];
  for (const o of objects) {
    if (o.kind !== 'Gateway') continue;
    const namespace = o.metadata.namespace ?? 'default';
    const name = o.metadata.name;
    const spec = obj(o.spec);
    if (isGroup(o, 'networking.istio.io')) {
      // An egress gateway's Gateway configures other pods and answers no client of the stack.
      if (!selects(o, gatewayPods(GATEWAY_RELEASE))) continue;
      const servers = list(spec.servers);
      // Hosts may carry a namespace (`ns/host`): only the host is the URL's.
      const hosts = servers.flatMap((s) => list(s.hosts).map((h) => String(h).replace(/^[^/]*\//, '')));
      const credentials = servers
        .map((s) => obj(s.tls).credentialName)
        .filter((c): c is string => typeof c === 'string' && c !== '')
        .map((c) => ({ name: c, namespace: ISTIO_NAMESPACE }));
      const refs = new Set([`${namespace}/${name}`, name]);
      const routes = objects.filter(
        (v) =>
          v.kind === 'VirtualService' &&
          isGroup(v, 'networking.istio.io') &&
          list(obj(v.spec).gateways).some(
            (g) => refs.has(String(g)) && (v.metadata.namespace ?? 'default') === namespace,
          ),
      );
      const paths = routes.flatMap((v) =>
        list(obj(v.spec).http).flatMap((h) =>
          list(h.match).map((m) => {
            const uri = obj(m.uri);
            return (uri.exact ?? uri.prefix) as string | undefined;
          }),
        ),
      );
      gateways.push({
        kind: 'istio',
        namespace,
        name,
        hosts: [...new Set(hosts)],
        https: credentials.length > 0,
        credentials: dedupe(credentials),
        path: firstPath(paths),
      });
    } else if (isGroup(o, 'gateway.networking.k8s.io') && spec.gatewayClassName !== 'istio-waypoint') {
      // (A waypoint is a Gateway too, but of the mesh's east-west traffic: no ingress.)
      const listeners = list(spec.listeners);
      const hosts = listeners.map((l) => (typeof l.hostname === 'string' ? l.hostname : '*'));
      const credentials = listeners.flatMap((l) =>
        list(obj(l.tls).certificateRefs).map((r) => ({
          name: String(r.name),
          namespace: typeof r.namespace === 'string' ? r.namespace : namespace,
        })),
      );
      const routes = objects.filter(
        (r) =>
          r.kind === 'HTTPRoute' &&
          isGroup(r, 'gateway.networking.k8s.io') &&
          (r.metadata.namespace ?? 'default') === namespace &&
          list(obj(r.spec).parentRefs).some((p) => p.name === name),
      );
      const paths = routes.flatMap((r) =>
        list(obj(r.spec).rules).flatMap((rule) =>
          list(rule.matches).map((m) => obj(m.path).value as string | undefined),
        ),
      );
      gateways.push({
        kind: 'gateway-api',
        namespace,
        name,
        hosts: [...new Set(hosts)],
        https: listeners.some((l) => l.protocol === 'HTTPS'),
        credentials: dedupe(credentials),
        path: firstPath(paths),
      });
    }
  }
  return gateways;
}

function dedupe<T>(items: readonly T[]): T[] {
  const seen = new Set<string>();
  return items.filter((i) => {
    const k = JSON.stringify(i);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

const isNamespace = (o: KubeObject) => o.apiVersion === 'v1' && o.kind === 'Namespace';

/** The names of the Namespaces an app creates. */
export function appNamespaces(objects: readonly KubeObject[]): string[] {
  return objects.filter(isNamespace).map((o) => o.metadata.name);
}

export interface MeshAppArgs {
  /** The registered app (charts/apps.ts). */
  readonly app: MeshAppDefinition;
  /** One of the app's variants. */
  readonly variant: string;
  /**
   * Image reference per key of the app's `images` (what the stack built, by digest).
   * @default the chart's own references
   */
  readonly images?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /**
   * The data plane of the cluster, for the app's namespaces.
   * @default the app's own choice
   */
  readonly dataPlane?: StackDataPlane;
}

/** A registered app's Kubernetes objects as two ConfigGroups: its namespaces, then the rest. */
export class MeshApp extends pulumi.ComponentResource {
  /** All objects, as given to the ConfigGroups. */
  public readonly objects: pulumi.Output<KubeObject[]>;
  public readonly namespaces: k8s.yaml.v2.ConfigGroup;
  public readonly resources: k8s.yaml.v2.ConfigGroup;
  /** The namespaces the app creates. */
  public readonly namespaceNames: pulumi.Output<string[]>;
  /** Its Gateways: hosts, certificates, the path of its first route. */
  public readonly gateways: pulumi.Output<AppGateway[]>;
  /** Every host its Gateways answer. */
  public readonly hosts: pulumi.Output<string[]>;
  public readonly variant: string;

  constructor(name: string, args: MeshAppArgs, opts?: pulumi.ComponentResourceOptions) {
    // Before apps were generic the stack's one app had a component typed after it
    // (meshkit:app:<App>); the alias keeps its objects (and their URNs) in place, so they are not
    // created again and then deleted.
    const legacyType = `meshkit:app:${args.app.name.charAt(0).toUpperCase()}${args.app.name.slice(1)}`;
    super(
      'meshkit:app:MeshApp',
      name,
      {},
      { ...opts, aliases: [...(opts?.aliases ?? []), { type: legacyType }] },
    );
    this.variant = args.variant;
    const objects = pulumi
      .output(args.images ?? {})
      .apply((images) =>
        appManifests(args.app, args.variant, images as Record<string, string>, args.dataPlane),
      );
    this.objects = objects;
    this.namespaces = new k8s.yaml.v2.ConfigGroup(
      `${name}-namespaces`,
      { objs: objects.apply((all) => all.filter(isNamespace)) },
      // Children do not inherit the component's dependsOn: the mesh and add-ons come first.
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.resources = new k8s.yaml.v2.ConfigGroup(
      `${name}-resources`,
      { objs: objects.apply((all) => all.filter((o) => !isNamespace(o))) },
      { parent: this, dependsOn: [this.namespaces] },
    );
    this.namespaceNames = objects.apply(appNamespaces);
    this.gateways = objects.apply(appGateways);
    this.hosts = this.gateways.apply((gs) => [...new Set(gs.flatMap((g) => g.hosts))]);
    this.registerOutputs({
      namespaceNames: this.namespaceNames,
      gateways: this.gateways,
      hosts: this.hosts,
      variant: this.variant,
    });
  }
}
