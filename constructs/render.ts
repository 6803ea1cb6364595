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
import { isDeepStrictEqual } from 'node:util';
import {
  ApiObject,
  App,
  Chart,
  Lazy,
  LazyResolver,
  ImplicitTokenResolver,
  JsonPatch,
  NumberStringUnionResolver,
} from 'cdk8s';
import { Construct, type IConstruct } from 'constructs';
import { admit } from './admission/index.js';
import { describe } from './describe-value.js';
import { MANIFESTS } from './json-mappers/index.js';

export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
};

/**
 * A JavaScript caller can hand these functions anything: name what was expected instead of failing
 * on a property of undefined.
 */
function expectApp(fn: string, app: unknown): asserts app is App {
  // The root of a construct tree, not `instanceof App`: a second copy of cdk8s makes another class.
  if (!Construct.isConstruct(app) || app.node.scope !== undefined) {
    const fix = Construct.isConstruct(app)
      ? 'pass the App it belongs to (its `.node.root`)'
      : 'pass the `new App()` the charts were added to';
    throw new Error(
      `${fn}: expected the cdk8s App the charts were built in, got ${describeArg(app)}; ${fix}`,
    );
  }
}

/** A construct by its path (a Chart handed where its App belongs), anything else as input.ts says it. */
function describeArg(v: unknown): string {
  if (!Construct.isConstruct(v)) return describe(v);
  return v.node.scope ? `the ${v.constructor.name} "${v.node.path}"` : `the root ${v.constructor.name}`;
}

function expectChart(fn: string, chart: unknown): asserts chart is Chart {
  if (!Chart.isChart(chart)) {
    throw new Error(`${fn}: expected a cdk8s Chart, got ${describeArg(chart)}; pass one of the App's charts`);
  }
}

/** Validates the app as cdk8s does: every problem of every construct at once, with its path. */
export function validateApp(app: App): void {
  expectApp('validateApp', app);
  // A loop, not flatMap: tens of thousands of constructs, nearly all without a problem, need no
  // array each.
  const errors: string[] = [];
  for (const c of app.node.findAll()) {
    for (const e of c.node.validate()) errors.push(`[${c.node.path}] ${e}`);
  }
  if (errors.length > 0)
    throw new Error(`Validation failed with the following errors:\n  ${errors.join('\n  ')}`);
}

/**
 * The ApiObjects of a chart in dependency order (what an object depends on comes first), else in
 * the order they were defined.
 */
export function orderedApiObjects(chart: Chart): ApiObject[] {
  expectChart('orderedApiObjects', chart);
  const isApiObject = (c: IConstruct): c is ApiObject => ApiObject.isApiObject(c);
  // Many objects depend on the same few constructs (a namespace, a service): look each up once.
  const objectsOf = new Map<IConstruct, ApiObject[]>();
  const dependencyObjects = (dep: IConstruct): ApiObject[] => {
    let found = objectsOf.get(dep);
    if (!found) {
      const candidates = isApiObject(dep) ? [dep] : dep.node.findAll().filter(isApiObject);
      found = candidates.filter((d) => Chart.of(d) === chart);
      objectsOf.set(dep, found);
    }
    return found;
  };
  const done = new Set<IConstruct>();
  const ordered: ApiObject[] = [];
  const visit = (o: ApiObject) => {
    if (done.has(o)) return;
    done.add(o);
    for (const dep of o.node.dependencies) for (const d of dependencyObjects(dep)) visit(d);
    ordered.push(o);
  };
  chart.node.findAll().filter(isApiObject).forEach(visit);
  return ordered;
}

/**
 * The validated objects of every chart of the app, each chart's in dependency order, after the
 * admission pass (constructs/admission/): what the API server would refuse throws here.
 */
export function renderObjects(app: App): Manifest[] {
  expectApp('renderObjects', app);
  validateApp(app);
  return admit(
    charts(app).flatMap((chart) => orderedApiObjects(chart).map((o) => toManifest(o))),
  ) as Manifest[];
}

/** The app's charts, in the order they were added. */
export function charts(app: App): Chart[] {
  expectApp('charts', app);
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
  if ((!generated && !plain) || !fastPathApplies(o)) return patchedJson(o, plain);
  const { metadata: _ignored, ...data } = (o as unknown as { props: Record<string, unknown> }).props;
  const usual = usualMetadata(o);
  const metadata = metadataJson(o, usual);
  // The kinds the constructs create have a linear manifest() (constructs/json-mappers/, generated
  // from cdk8s's own mappers by tools/gen-json-mappers.ts); other generated classes keep theirs.
  const manifest = generated ? (MANIFESTS.get(ctor) ?? ctor.manifest!) : undefined;
  // Metadata beyond the usual fields (owner references, other attributes) goes through the
  // generated mapper as cdk8s does, which keeps only ObjectMeta's fields.
  if (manifest && !usual) {
    return manifest(resolveAndSanitize({ ...data, metadata })) as Manifest;
  }
  const resolved = resolveAndSanitize(data) as Record<string, unknown>;
  // ObjectMeta's generated mapper is the identity on the usual sanitized metadata (its fields keep
  // their names and are declared in alphabetical order), so metadata skips it and goes back in
  // place: after apiVersion and kind, before the rest, where both toJson() paths put it.
  const body = manifest ? (manifest(resolved) as Manifest) : resolved;
  const result: Record<string, unknown> = { apiVersion: body.apiVersion, kind: body.kind };
  if (metadata !== undefined) result.metadata = metadata;
  // for-in: body is a fresh plain object (no inherited keys), and this allocates no key list.
  for (const k in body) if (k !== 'apiVersion' && k !== 'kind') result[k] = body[k];
  return result as Manifest;
}

/**
 * `o.toJson()`, unless a JSON patch of `o` was lost on the way. A class that overrides toJson()
 * (cdk8s's generated Istio and Gateway API classes, and subclasses of theirs) maps the patched JSON
 * through its typed props, which keep only the fields they know: a misspelled field added by
 * `addJsonPatch` (`maxConnection` for `maxConnections`) would vanish from the output, and the
 * escape hatch would quietly do nothing. Here the patches are also applied to the class's own
 * unpatched output; where that differs from what cdk8s renders, the patched object as the user wrote
 * it is returned, so the admission pass refuses the unknown field by name.
 */
function patchedJson(o: ApiObject, plain: boolean): Manifest {
  const json = o.toJson() as Manifest;
  const patches = (o as unknown as { patches: JsonPatch[] }).patches;
  if (plain || patches.length === 0) return json;
  const saved = patches.splice(0);
  let unpatched: Manifest;
  try {
    unpatched = o.toJson() as Manifest;
  } finally {
    patches.push(...saved);
  }
  const intended = JsonPatch.apply(unpatched, ...saved) as Manifest;
  return isDeepStrictEqual(intended, json) ? json : intended;
}

const DEFAULT_RESOLVERS = [LazyResolver, ImplicitTokenResolver, NumberStringUnionResolver];

/**
 * Whether a chart's app renders as plain data: cdk8s's default resolvers, and key sorting on.
 * Kept per chart (each object knows its chart), so that no object walks up to its app.
 */
const defaultRendering = new WeakMap<Chart, boolean>();

function fastPathApplies(o: ApiObject): boolean {
  if ((o as unknown as { patches: unknown[] }).patches.length > 0) return false;
  let simple = defaultRendering.get(o.chart);
  if (simple === undefined) {
    const resolvers = App.of(o.chart).resolvers;
    simple =
      !process.env.CDK8S_DISABLE_SORT &&
      resolvers.length === DEFAULT_RESOLVERS.length &&
      resolvers.every((r, i) => r instanceof DEFAULT_RESOLVERS[i]);
    defaultRendering.set(o.chart, simple);
  }
  return simple;
}

/**
 * cdk8s's resolve() followed by sanitizeValue({ sortKeys: true }) in one walk: Lazy values are
 * produced, implicit tokens (objects with resolve()) resolved, IntOrString-like unions unwrapped to
 * { value }, keys sorted, null and undefined dropped from mappings.
 */
function resolveAndSanitize(v: unknown): unknown {
  if (typeof v !== 'object') return v;
  if (v === null) return undefined;
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = resolveAndSanitize(v[i]);
    return out;
  }
  if (v instanceof Lazy) return resolveAndSanitize(v.produce());
  const value = v as Record<string, unknown> & { resolve?: unknown; value?: unknown };
  if (typeof value.resolve === 'function') return resolveAndSanitize((value.resolve as () => unknown)());
  if (value.constructor !== Object) {
    if (typeof value.value === 'number' || typeof value.value === 'string') return { value: value.value };
    throw new Error(`can't render non-simple object of type '${value.constructor?.name}'`);
  }
  const out: Record<string, unknown> = {};
  // An own "__proto__" key (props parsed from JSON or YAML) would set the prototype of `out` on
  // assignment, and its fields would then be read as the object's own; cdk8s's output loses it
  // (JsonPatch.apply clones through JSON), so it is dropped here too.
  if (Object.getPrototypeOf(value) === Object.prototype && inSortedOrder(value)) {
    for (const key in value) {
      if (key === '__proto__') continue;
      const r = resolveAndSanitize(value[key]);
      if (r !== undefined && r !== null) out[key] = r;
    }
  } else {
    for (const key of Object.keys(value).sort()) {
      if (key === '__proto__') continue;
      const r = resolveAndSanitize(value[key]);
      if (r !== undefined && r !== null) out[key] = r;
    }
  }
  return out;
}

/**
 * Whether a plain object's keys are already in sort() order, as most are when built from
 * alphabetical schemas. for-in walks V8's cached key list, where Object.keys() allocates one; it
 * also walks inherited keys, so it serves only objects whose prototype is Object.prototype.
 */
function inSortedOrder(o: object): boolean {
  let previous: string | undefined;
  for (const key in o) {
    if (previous !== undefined && previous > key) return false;
    previous = key;
  }
  return true;
}

type MetadataDefinition = {
  _additionalAttributes: Record<string, unknown>;
  name?: string;
  namespace?: string;
  annotations: Record<string, string>;
  finalizers: string[];
  ownerReferences: unknown[];
  labels: Record<string, string>;
};

/**
 * ApiObjectMetadataDefinition.toJson(): like the above, and empty arrays and mappings dropped.
 * The common shape (no extra attributes, no owner references) is built directly, in key order.
 */
function metadataJson(o: ApiObject, usual: boolean): Record<string, unknown> | undefined {
  const m = o.metadata as unknown as MetadataDefinition;
  if (!usual) {
    return dropEmpty(
      resolveAndSanitize({
        ...m._additionalAttributes,
        name: m.name,
        namespace: m.namespace,
        annotations: m.annotations,
        finalizers: m.finalizers,
        ownerReferences: m.ownerReferences,
        labels: m.labels,
      }),
    ) as Record<string, unknown> | undefined;
  }
  // The usual fields alone, in the sorted order sanitizing gives them.
  const out: Record<string, unknown> = {};
  for (const key of USUAL_FIELDS) {
    const r = dropEmpty(resolveAndSanitize(m[key]));
    if (r !== undefined && r !== null) out[key] = r;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

const USUAL_FIELDS = ['annotations', 'finalizers', 'labels', 'name', 'namespace'] as const;

/** The fields ApiObjectMetadataDefinition keeps apart; its _additionalAttributes repeats them. */
const METADATA_FIELDS = new Set([
  'name',
  'namespace',
  'labels',
  'annotations',
  'finalizers',
  'ownerReferences',
]);

/** Metadata of only name, namespace, labels, annotations and finalizers, the common case. */
function usualMetadata(o: ApiObject): boolean {
  const m = o.metadata as unknown as MetadataDefinition;
  if (m.ownerReferences.length > 0) return false;
  for (const key of Object.keys(m._additionalAttributes)) if (!METADATA_FIELDS.has(key)) return false;
  return true;
}

/**
 * Empty arrays and mappings dropped, at every depth, from a sanitized value (a fresh tree, so a
 * mapping with nothing to drop, such as most label sets, is returned as it is instead of copied).
 */
function dropEmpty(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.length === 0 ? undefined : v.map(dropEmpty);
  const value = v as Record<string, unknown>;
  const keys = Object.keys(value);
  let out: Record<string, unknown> | undefined;
  let kept = 0;
  for (let i = 0; i < keys.length; i++) {
    const x = value[keys[i]];
    const r = dropEmpty(x);
    const dropped = r === undefined || r === null;
    if ((dropped || r !== x) && out === undefined) {
      // The first change: copy what came before it (all kept, unchanged), then go on copying.
      out = {};
      for (let j = 0; j < i; j++) out[keys[j]] = value[keys[j]];
    }
    if (dropped) continue;
    kept++;
    if (out !== undefined) out[keys[i]] = r;
  }
  if (kept === 0) return undefined;
  return out ?? value;
}
