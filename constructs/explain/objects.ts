/**
 * The synthesized objects as the evaluator reads them: small accessors over plain JSON, and an
 * index of the Services, workloads and Istio objects by namespace.
 */
import { createRequire } from 'node:module';
import { DEFAULT_TRUST_DOMAIN } from '../versions.js';
import { expectArgument, refuseArgument } from '../describe-value.js';

/** One Kubernetes object as rendered (or read back from YAML). */
export interface MeshObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
    readonly [k: string]: unknown;
  };
  readonly [k: string]: unknown;
}

/** A Service as `serviceOfHost` and `services` give it, for the methods that take one. */
function expectService(method: string, svc: unknown): void {
  // workloadsOf runs for every Service and workload pair: the message is built only for a report.
  if (isRecord(svc) && isRecord(svc.object) && isRecord(svc.selector) && typeof svc.namespace === 'string')
    return;
  refuseArgument(
    `MeshIndex.${method}`,
    'svc',
    svc,
    'a Service of the index',
    'pass one of index.services, or index.serviceOfHost("reviews.shop.svc.cluster.local")',
  );
}

/** The strings a lookup takes: anything else finds nothing, for no reason the caller would see. */
function expectStrings(method: string, values: Record<string, unknown>): void {
  for (const [arg, value] of Object.entries(values))
    expectArgument(
      typeof value === 'string',
      method === 'constructor' ? 'MeshIndex' : `MeshIndex.${method}`,
      arg,
      value,
      'a string',
      `pass a string, e.g. ${EXAMPLES[arg]}`,
    );
}

const EXAMPLES: Record<string, string> = {
  group: '"networking.istio.io" ("" for the core group)',
  kind: '"VirtualService"',
  namespace: '"shop"',
  serviceAccount: '"reviews"',
  host: '"reviews.shop.svc.cluster.local"',
  trustDomain: '"cluster.local", or leave it out',
};

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value at a path, or undefined when a step is missing. */
export function get(v: unknown, ...path: (string | number)[]): unknown {
  let cur = v;
  for (const step of path) {
    if (typeof step === 'number') {
      if (!Array.isArray(cur)) return undefined;
      cur = cur[step];
    } else {
      if (!isRecord(cur)) return undefined;
      cur = cur[step];
    }
  }
  return cur;
}

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function rec(v: unknown): Record<string, unknown> {
  return isRecord(v) ? v : {};
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function strings(v: unknown): string[] {
  return arr(v).flatMap((x) => (typeof x === 'string' ? [x] : typeof x === 'number' ? [String(x)] : []));
}

export function labelsOf(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(rec(v))) if (typeof x === 'string') out[k] = x;
  return out;
}

/** Whether every label of `selector` is on `labels` (an empty selector selects everything). */
export function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

export const NETWORKING = 'networking.istio.io';
export const SECURITY = 'security.istio.io';
export const GATEWAY_API = 'gateway.networking.k8s.io';

/** Istio's mesh root namespace as the stacks install it (meshConfig.rootNamespace's default). */
export const ROOT_NAMESPACE = 'istio-system';

/** "<ns>/<name>": how the explanation names an object. */
export function ref(o: MeshObject): string {
  return `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;
}

/** A pod template: a Deployment (StatefulSet, DaemonSet, Job, CronJob) with its pods' labels and identity. */
export interface Workload {
  readonly object: MeshObject;
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly serviceAccount: string;
  /** Whether its pods get a sidecar (injection on in the namespace and not turned off on the pod). */
  readonly sidecar: boolean;
}

export interface ServiceInfo {
  readonly object: MeshObject;
  readonly name: string;
  readonly namespace: string;
  readonly selector: Record<string, string>;
  readonly ports: readonly { name?: string; port: number; targetPort: number; protocol: string }[];
}

/** Everything the evaluator looks up, built once per set of objects. */
export class MeshIndex {
  public readonly objects: readonly MeshObject[];
  public readonly services: readonly ServiceInfo[];
  public readonly workloads: readonly Workload[];
  /**
   * Jobs and CronJobs (a migration, a report): callers with no Service in front of them, kept apart
   * from `workloads`, which are what Services select.
   */
  public readonly jobs: readonly Workload[];
  public readonly trustDomain: string;
  private readonly namespaceLabels = new Map<string, Record<string, string>>();
  private readonly byKind = new Map<string, MeshObject[]>();

  constructor(objects: readonly MeshObject[], trustDomain = DEFAULT_TRUST_DOMAIN) {
    expectArgument(
      Array.isArray(objects),
      'MeshIndex',
      'objects',
      objects,
      'an array',
      'pass the rendered objects, e.g. renderObjects(app), or use meshIndex(app)',
    );
    expectStrings('constructor', { trustDomain });
    this.objects = objects;
    this.trustDomain = trustDomain;
    for (const [i, o] of objects.entries()) {
      // Checked in the loop that reads them anyway: one test per object, no second pass.
      if (!isRecord(o) || !isRecord(o.metadata))
        refuseArgument(
          'MeshIndex',
          `objects[${i}]`,
          o,
          'a Kubernetes object with metadata',
          'pass rendered objects, e.g. renderObjects(app), or objects read from YAML',
        );
      if (o.kind === 'Namespace' && groupOf(o.apiVersion) === '')
        this.namespaceLabels.set(o.metadata.name, labelsOf(o.metadata.labels));
    }
    this.services = objects
      .filter((o) => o.kind === 'Service' && groupOf(o.apiVersion) === '')
      .map((o) => ({
        object: o,
        name: o.metadata.name,
        namespace: o.metadata.namespace ?? 'default',
        selector: labelsOf(get(o, 'spec', 'selector')),
        ports: arr(get(o, 'spec', 'ports')).map((p) => {
          const port = Number(get(p, 'port'));
          const target = get(p, 'targetPort');
          return {
            name: str(get(p, 'name')),
            port,
            targetPort: typeof target === 'number' ? target : port,
            protocol: str(get(p, 'appProtocol')) ?? str(get(p, 'name'))?.split('-')[0] ?? 'tcp',
          };
        }),
      }));
    const workload = (o: MeshObject, template: unknown): Workload => {
      const namespace = o.metadata.namespace ?? 'default';
      const labels = labelsOf(get(template, 'metadata', 'labels'));
      const inject =
        labelsOf(get(template, 'metadata', 'annotations'))['sidecar.istio.io/inject'] ??
        labels['sidecar.istio.io/inject'];
      return {
        object: o,
        name: o.metadata.name,
        namespace,
        labels,
        serviceAccount: str(get(template, 'spec', 'serviceAccountName')) ?? 'default',
        sidecar: inject !== 'false' && this.dataPlane(namespace) === 'sidecar',
      };
    };
    this.workloads = objects
      .filter(
        (o) =>
          ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind) && groupOf(o.apiVersion) === 'apps',
      )
      .map((o) => workload(o, get(o, 'spec', 'template')));
    // A CronJob's pods are its job template's.
    this.jobs = objects
      .filter((o) => ['Job', 'CronJob'].includes(o.kind) && groupOf(o.apiVersion) === 'batch')
      .map((o) =>
        workload(
          o,
          o.kind === 'CronJob'
            ? get(o, 'spec', 'jobTemplate', 'spec', 'template')
            : get(o, 'spec', 'template'),
        ),
      );
  }

  /** The objects of one API group and kind. */
  public of(group: string, kind: string): MeshObject[] {
    // Asked many times per request: the object of arguments is made only for a report.
    if (typeof group !== 'string' || typeof kind !== 'string') expectStrings('of', { group, kind });
    // Asked for every request many times over: each kind's list is built once (the objects never change).
    const key = `${group}/${kind}`;
    let found = this.byKind.get(key);
    if (!found) {
      found = this.objects.filter((o) => o.kind === kind && groupOf(o.apiVersion) === group);
      this.byKind.set(key, found);
    }
    return [...found];
  }

  /**
   * The namespace's data plane from its labels: ambient (istio.io/dataplane-mode=ambient), sidecar
   * (istio-injection=enabled or istio.io/rev), or none
   * (https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/,
   * https://istio.io/latest/docs/ambient/usage/add-workloads/).
   */
  public dataPlane(namespace: string): 'sidecar' | 'ambient' | 'none' {
    if (typeof namespace !== 'string') expectStrings('dataPlane', { namespace });
    const labels = this.namespaceLabels.get(namespace) ?? {};
    if (labels['istio-injection'] === 'enabled' || labels['istio.io/rev'] !== undefined) return 'sidecar';
    if (labels['istio.io/dataplane-mode'] === 'ambient') return 'ambient';
    return 'none';
  }

  /** The waypoint a Service's traffic goes through (istio.io/use-waypoint on it or its namespace). */
  public waypointOf(svc: ServiceInfo): MeshObject | undefined {
    expectService('waypointOf', svc);
    const name =
      labelsOf(svc.object.metadata.labels)['istio.io/use-waypoint'] ??
      this.namespaceLabels.get(svc.namespace)?.['istio.io/use-waypoint'];
    if (name === undefined || name === 'none') return undefined;
    return this.of(GATEWAY_API, 'Gateway').find(
      (g) => g.metadata.name === name && (g.metadata.namespace ?? 'default') === svc.namespace,
    );
  }

  /** Whether ingress gateways send a Service's traffic through its waypoint (istio.io/ingress-use-waypoint). */
  public ingressUsesWaypoint(svc: ServiceInfo): boolean {
    expectService('ingressUsesWaypoint', svc);
    const label = 'istio.io/ingress-use-waypoint';
    return (
      (labelsOf(svc.object.metadata.labels)[label] ?? this.namespaceLabels.get(svc.namespace)?.[label]) ===
      'true'
    );
  }

  /** The workloads a Service selects, optionally narrowed by more labels (a subset's). */
  public workloadsOf(svc: ServiceInfo, extra: Record<string, string> = {}): Workload[] {
    expectService('workloadsOf', svc);
    if (!isRecord(extra))
      refuseArgument(
        'MeshIndex.workloadsOf',
        'extra',
        extra,
        'an object of labels',
        'pass e.g. { version: "v2" }, or leave it out',
      );
    if (Object.keys(svc.selector).length === 0) return [];
    return this.workloads.filter(
      (w) => w.namespace === svc.namespace && selects(svc.selector, w.labels) && selects(extra, w.labels),
    );
  }

  /** The Service of a fully qualified host "<name>.<ns>.svc.cluster.local". */
  public serviceOfHost(host: string): ServiceInfo | undefined {
    if (typeof host !== 'string') expectStrings('serviceOfHost', { host });
    const m = /^([^.]+)\.([^.]+)\.svc\.cluster\.local$/.exec(host);
    return m ? this.services.find((s) => s.name === m[1] && s.namespace === m[2]) : undefined;
  }

  /** The SPIFFE identity (without "spiffe://") Istio gives a service account. */
  public principal(namespace: string, serviceAccount: string): string {
    if (typeof namespace !== 'string' || typeof serviceAccount !== 'string')
      expectStrings('principal', { namespace, serviceAccount });
    return `${this.trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
  }
}

/** The fully qualified host of a Service. */
export function fqdn(svc: { name: string; namespace: string }): string {
  return `${svc.name}.${svc.namespace}.svc.cluster.local`;
}

/**
 * Parses YAML text (the rate limit service's configuration inside a ConfigMap) with the YAML
 * library cdk8s itself bundles, so the library needs no parser of its own at run time.
 */
export function parseYaml(text: string): unknown {
  // The same ConfigMap is read for every request explained: parse each text once (read-only use).
  const cached = parsedYaml.get(text);
  if (cached !== undefined) return cached.value;
  const fromCdk8s = createRequire(createRequire(import.meta.url).resolve('cdk8s'));
  const yaml = fromCdk8s('yaml') as { parse(text: string): unknown };
  const value = yaml.parse(text);
  if (parsedYaml.size >= 64) parsedYaml.clear();
  parsedYaml.set(text, { value });
  return value;
}

const parsedYaml = new Map<string, { value: unknown }>();

/** Durations as Istio writes them ("1.5s", "100ms", "1m", "1h"), in milliseconds. */
export function durationMs(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v.trim());
  if (!m) return undefined;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}
