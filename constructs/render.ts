/**
 * Synthesis of an app to plain objects, as cdk8s's `Chart.toJson()` does it, but linear.
 *
 * cdk8s resolves every value of every object through a chain of resolver objects (allocating a
 * context and a key path per value), then sanitizes the result in a second walk, and re-validates
 * and re-resolves the whole app once per chart. For the few shapes our objects take (plain data,
 * `Lazy` values, IntOrString/Quantity unions), one fused walk gives the same JSON several times
 * faster. Every object that could differ (JSON patches, custom resolvers, overridden `toJson`,
 * CDK8S_DISABLE_SORT) goes through cdk8s's own `toJson()`, and a test keeps the two equal on
 * every sample app and the benchmark app.
 */
import {
  ApiObject,
  App,
  Chart,
  Lazy,
  LazyResolver,
  ImplicitTokenResolver,
  NumberStringUnionResolver,
} from 'cdk8s';
import type { IConstruct } from 'constructs';

export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
};

/** Validates the app as cdk8s does: every problem of every construct at once, with its path. */
export function validateApp(app: App): void {
  const errors = app.node.findAll().flatMap((c) => c.node.validate().map((e) => `[${c.node.path}] ${e}`));
  if (errors.length > 0)
    throw new Error(`Validation failed with the following errors:\n  ${errors.join('\n  ')}`);
}

/**
 * The ApiObjects of a chart in dependency order (what an object depends on comes first), else in
 * the order they were defined.
 */
export function orderedApiObjects(chart: Chart): ApiObject[] {
  const isApiObject = (c: IConstruct): c is ApiObject => ApiObject.isApiObject(c);
  const done = new Set<IConstruct>();
  const ordered: ApiObject[] = [];
  const visit = (o: ApiObject) => {
    if (done.has(o)) return;
    done.add(o);
    for (const dep of o.node.dependencies) {
      for (const d of isApiObject(dep) ? [dep] : dep.node.findAll().filter(isApiObject)) {
        if (Chart.of(d) === chart) visit(d);
      }
    }
    ordered.push(o);
  };
  chart.node.findAll().filter(isApiObject).forEach(visit);
  return ordered;
}

/** The validated objects of every chart of the app, each chart's in dependency order. */
export function renderObjects(app: App): Manifest[] {
  validateApp(app);
  return charts(app).flatMap((chart) => orderedApiObjects(chart).map((o) => toManifest(o)));
}

/** The app's charts, in the order they were added. */
export function charts(app: App): Chart[] {
  return app.node.children.filter((c): c is Chart => Chart.isChart(c));
}

/** What cdk8s's generated classes add on top of ApiObject: a static manifest() mapping props to JSON. */
interface GeneratedClass {
  manifest(props: unknown): Manifest;
}

/** The JSON of one object: identical to `o.toJson()`. */
export function toManifest(o: ApiObject): Manifest {
  const proto = Object.getPrototypeOf(o) as object;
  const ctor = proto.constructor as Partial<GeneratedClass>;
  // Generated classes define toJson() as { ...GVK, ...toJson_Props(super.toJson()) }, and
  // manifest(props) as { ...GVK, ...toJson_Props(props) }; a subclass of theirs may do more.
  const generated =
    Object.getPrototypeOf(proto) === ApiObject.prototype && typeof ctor.manifest === 'function';
  const plain = proto === ApiObject.prototype;
  if ((!generated && !plain) || !fastPathApplies(o)) return o.toJson() as Manifest;
  const data = (o as unknown as { props: Record<string, unknown> }).props;
  const resolved = resolveAndSanitize({ ...data, metadata: metadataJson(o) }) as Record<string, unknown>;
  if (generated) return ctor.manifest!(resolved);
  const result: Record<string, unknown> = {};
  for (const k of ['apiVersion', 'kind', 'metadata', ...Object.keys(resolved)])
    if (k in resolved) result[k] = resolved[k];
  return result as Manifest;
}

const DEFAULT_RESOLVERS = [LazyResolver, ImplicitTokenResolver, NumberStringUnionResolver];

function fastPathApplies(o: ApiObject): boolean {
  if (process.env.CDK8S_DISABLE_SORT) return false;
  if ((o as unknown as { patches: unknown[] }).patches.length > 0) return false;
  const resolvers = App.of(o).resolvers;
  return (
    resolvers.length === DEFAULT_RESOLVERS.length &&
    resolvers.every((r, i) => r instanceof DEFAULT_RESOLVERS[i])
  );
}

/**
 * cdk8s's resolve() followed by sanitizeValue({ sortKeys: true }) in one walk: Lazy values are
 * produced, implicit tokens (objects with resolve()) resolved, IntOrString-like unions unwrapped to
 * { value }, keys sorted, null and undefined dropped from mappings.
 */
function resolveAndSanitize(v: unknown): unknown {
  if (v === null || v === undefined) return undefined;
  if (typeof v !== 'object') return v;
  if (v instanceof Lazy) return resolveAndSanitize(v.produce());
  const value = v as Record<string, unknown> & { resolve?: unknown; value?: unknown };
  if (typeof value.resolve === 'function') return resolveAndSanitize((value.resolve as () => unknown)());
  if (Array.isArray(v)) return v.map(resolveAndSanitize);
  if (value.constructor !== Object) {
    if (typeof value.value === 'number' || typeof value.value === 'string') return { value: value.value };
    throw new Error(`can't render non-simple object of type '${value.constructor?.name}'`);
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const r = resolveAndSanitize(value[key]);
    if (r !== undefined && r !== null) out[key] = r;
  }
  return out;
}

/** ApiObjectMetadataDefinition.toJson(): like the above, and empty arrays and mappings dropped. */
function metadataJson(o: ApiObject): Record<string, unknown> {
  const m = o.metadata as unknown as {
    _additionalAttributes: Record<string, unknown>;
    name?: string;
    namespace?: string;
    annotations: Record<string, string>;
    finalizers: string[];
    ownerReferences: unknown[];
    labels: Record<string, string>;
  };
  const raw = resolveAndSanitize({
    ...m._additionalAttributes,
    name: m.name,
    namespace: m.namespace,
    annotations: m.annotations,
    finalizers: m.finalizers,
    ownerReferences: m.ownerReferences,
    labels: m.labels,
  });
  return dropEmpty(raw) as Record<string, unknown>;
}

function dropEmpty(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.length === 0 ? undefined : v.map(dropEmpty);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const r = dropEmpty(x);
    if (r !== undefined && r !== null) out[k] = r;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}
