/**
 * npm run gen-schemas -- [<crd yaml file or URL> ...]
 *
 * Writes constructs/admission/generated/schemas.ts, what the admission pass (constructs/admission/)
 * validates emitted objects against:
 * - the CRD schemas of every served version of every CRD in the given files, by default the
 *   pinned sources of cdk8s.yaml (Istio's crd-all.gen.yaml and Gateway API's standard install),
 *   reduced to what validation needs (no descriptions), identical schemas stored once;
 * - the field tree of the Kubernetes kinds we may emit, read from kubernetes-models' type
 *   declarations (the version pinned in package.json) with the TypeScript compiler: which fields
 *   exist, which are maps, lists, quantities or int-or-strings. kubernetes-models' compiled
 *   validators check types, required fields, enums and formats at run time; this tree adds what
 *   they leave out, unknown fields.
 *
 * Local copies of the pinned files can be given instead of the URLs (same content, no network).
 * The output is deterministic: running it again on the same inputs changes nothing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseCel } from '@bufbuild/cel';
import { type Expr, ParsedExprSchema } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import { toBinary } from '@bufbuild/protobuf';
import ts from 'typescript';
import { parse, parseAllDocuments } from 'yaml';
import { type AjvError, validatorOf } from '../constructs/admission/builtin.js';
import type {
  KubeFieldTree,
  KubeShape,
  KubeShapes,
  KubeTypeShape,
  NativeCel,
} from '../constructs/admission/schema.js';

const OUT = 'constructs/admission/generated/schemas.ts';

/** The built-in kinds the admission pass knows, and the kubernetes-models module of each. */
export const KUBE_KINDS: readonly (readonly [apiVersion: string, kind: string, module: string])[] = [
  ['v1', 'Namespace', 'v1/Namespace'],
  ['v1', 'Service', 'v1/Service'],
  ['v1', 'ServiceAccount', 'v1/ServiceAccount'],
  ['v1', 'ConfigMap', 'v1/ConfigMap'],
  ['v1', 'Secret', 'v1/Secret'],
  ['v1', 'Pod', 'v1/Pod'],
  ['apps/v1', 'Deployment', 'apps/v1/Deployment'],
  ['apps/v1', 'StatefulSet', 'apps/v1/StatefulSet'],
  ['apps/v1', 'DaemonSet', 'apps/v1/DaemonSet'],
  ['batch/v1', 'Job', 'batch/v1/Job'],
  ['batch/v1', 'CronJob', 'batch/v1/CronJob'],
  ['autoscaling/v2', 'HorizontalPodAutoscaler', 'autoscaling/v2/HorizontalPodAutoscaler'],
  ['policy/v1', 'PodDisruptionBudget', 'policy/v1/PodDisruptionBudget'],
  ['rbac.authorization.k8s.io/v1', 'Role', 'rbac.authorization.k8s.io/v1/Role'],
  ['rbac.authorization.k8s.io/v1', 'RoleBinding', 'rbac.authorization.k8s.io/v1/RoleBinding'],
  ['networking.k8s.io/v1', 'NetworkPolicy', 'networking.k8s.io/v1/NetworkPolicy'],
];

/** The schema keywords validation uses; everything else (descriptions, examples) is dropped. */
const KEPT = new Set([
  'type',
  'format',
  'enum',
  'pattern',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'uniqueItems',
  'required',
  'nullable',
  'default',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
]);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function compact(schema: Record<string, Json>): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (KEPT.has(k)) out[k] = v;
    else if (k === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(v as Record<string, Record<string, Json>>).map(([p, s]) => [p, compact(s)]),
      );
    } else if (k === 'items' || k === 'additionalProperties' || k === 'not') {
      out[k] = typeof v === 'object' && v !== null ? compact(v as Record<string, Json>) : v;
    } else if (k === 'oneOf' || k === 'anyOf' || k === 'allOf') {
      out[k] = (v as Record<string, Json>[]).map(compact);
    } else if (k === 'x-kubernetes-validations') {
      out[k] = (v as Record<string, Json>[]).map((r) =>
        Object.fromEntries(
          ['rule', 'message', 'messageExpression', 'reason', 'fieldPath', 'optionalOldSelf']
            .filter((f) => r[f] !== undefined)
            .map((f) => [f, r[f]]),
        ),
      );
    }
  }
  return out;
}

async function readSource(source: string): Promise<string> {
  if (/^https?:\/\//.test(source)) {
    const res = await fetch(source);
    if (!res.ok) throw new Error(`gen-schemas: ${source}: HTTP ${res.status}`);
    return res.text();
  }
  return readFileSync(source, 'utf8');
}

/** Served versions of every CRD in the sources: "<group>/<version>/<Kind>" → schema. */
async function crdSchemas(sources: readonly string[]): Promise<Map<string, Record<string, Json>>> {
  const out = new Map<string, Record<string, Json>>();
  for (const source of sources) {
    for (const doc of parseAllDocuments(await readSource(source))) {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const crd = doc.toJS() as any;
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      for (const v of crd.spec.versions) {
        if (!v.served) continue;
        out.set(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`, compact(v.schema.openAPIV3Schema));
      }
    }
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * The field tree of the built-in kinds: per type a map of field → reference, where a reference is
 * a type name, "[]" + reference for a list, "{}" + reference for a map, or a leaf: "s" scalar,
 * "q" quantity, "i" int-or-string, "*" anything (raw JSON).
 */
function kubeFieldTree(): KubeFieldTree {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('kubernetes-models/package.json'));
  const files = KUBE_KINDS.map(([, , module]) => join(root, `${module}.d.ts`));
  const program = ts.createProgram(files, { strict: true, skipLibCheck: true, noEmit: true });
  const checker = program.getTypeChecker();
  const types: Record<string, Record<string, string>> = {};
  const names = new Map<ts.Type, string>();

  const ref = (type: ts.Type): string => {
    const t = checker.getNonNullableType(type);
    if (t.isUnion()) {
      const parts = t.types.filter((p) => !(p.flags & ts.TypeFlags.Undefined));
      if (
        parts.some((p) => p.flags & ts.TypeFlags.NumberLike) &&
        parts.some((p) => p.flags & ts.TypeFlags.StringLike)
      )
        return 'i';
      if (
        parts.every(
          (p) => p.flags & (ts.TypeFlags.StringLike | ts.TypeFlags.BooleanLike | ts.TypeFlags.NumberLike),
        )
      )
        return 's';
      return ref(parts[0]);
    }
    if (t.flags & (ts.TypeFlags.StringLike | ts.TypeFlags.NumberLike | ts.TypeFlags.BooleanLike)) return 's';
    if (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return '*';
    if (checker.isArrayType(t)) return `[]${ref(checker.getTypeArguments(t as ts.TypeReference)[0])}`;
    const props = checker.getPropertiesOfType(t);
    const index = checker.getIndexInfoOfType(t, ts.IndexKind.String);
    if (props.length === 0) return index ? `{}${ref(index.type)}` : '*';
    const existing = names.get(t);
    if (existing) return existing;
    const symbolName = (t.aliasSymbol ?? t.getSymbol())?.name ?? 'T';
    let name = symbolName.replace(/^I(IoK8s[A-Za-z]*?V\d\w*?(?=[A-Z][a-z]))?/, '').replace(/^(?=[a-z])/, 'T');
    while (types[name] !== undefined) name += '_';
    names.set(t, name);
    types[name] = {};
    const fields: Record<string, string> = {};
    for (const p of props) {
      // TypeScript interns \`number | string\`, so Quantity and IntOrString share one type: the
      // declaration's text tells them apart.
      const declared =
        p.valueDeclaration && ts.isPropertySignature(p.valueDeclaration)
          ? p.valueDeclaration.type?.getText()
          : '';
      const r = ref(checker.getTypeOfSymbol(p));
      fields[p.name] = /Quantity\b/.test(declared ?? '') ? r.replace(/i$/, 'q') : r;
    }
    types[name] = Object.fromEntries(Object.entries(fields).sort(([a], [b]) => (a < b ? -1 : 1)));
    return name;
  };

  const kinds: Record<string, string> = {};
  KUBE_KINDS.forEach(([apiVersion, kind], i) => {
    const source = program.getSourceFile(files[i])!;
    const iface = source.statements.find(
      (s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === `I${kind}`,
    );
    if (!iface) throw new Error(`gen-schemas: no interface I${kind} in ${files[i]}`);
    kinds[`${apiVersion}/${kind}`] = ref(checker.getTypeAtLocation(iface));
  });
  return { kinds, types: Object.fromEntries(Object.entries(types).sort(([a], [b]) => (a < b ? -1 : 1))) };
}

type Segment = string | number;
type Probe = (value: unknown, at: readonly Segment[]) => AjvError[];

/**
 * What kubernetes-models' compiled validators accept at each field of the field tree, found by
 * asking them: each type is probed once, at the first place a kind's validator reaches it, with
 * values of every wrong kind (a list where a scalar belongs, a string, null, an integer past
 * int32, a string no enum lists), and the errors at that place tell its type, nullability,
 * format, enum and required fields. Anything the probes do not explain stops the generation,
 * so that the fast path of the pass (builtin.ts) never accepts what the validators refuse.
 */
function kubeShapes(tree: KubeFieldTree): KubeShapes {
  const types: Record<string, KubeTypeShape> = {};
  const queue: [type: string, gvk: string, at: Segment[]][] = Object.entries(tree.kinds).map(
    ([gvk, type]) => [type, gvk, []],
  );
  while (queue.length > 0) {
    const [type, gvk, at] = queue.shift()!;
    if (types[type]) continue;
    const validate = validatorOf(gvk)!;
    const probe: Probe = (value, where) => {
      let data = value;
      for (let i = where.length - 1; i >= 0; i--) {
        const s = where[i];
        data = typeof s === 'number' ? [data] : { [s]: data };
      }
      validate(data);
      const pointer = where.map((s) => `/${s}`).join('');
      return (validate.errors ?? []).filter((e) => e.instancePath === pointer);
    };
    const empty = probe({}, at);
    const unexpected = empty.filter((e) => e.keyword !== 'required');
    if (unexpected.length > 0) fail(gvk, at, unexpected);
    const fields: Record<string, KubeShape> = {};
    for (const [field, ref] of Object.entries(tree.types[type] ?? {})) {
      fields[field] = shapeOf(ref, gvk, [...at, field], probe, (t, where) => queue.push([t, gvk, where]));
    }
    types[type] = { required: empty.map((e) => String(e.params.missingProperty)), fields };
  }
  return { types: Object.fromEntries(Object.entries(types).sort(([a], [b]) => (a < b ? -1 : 1))) };
}

function fail(gvk: string, at: readonly Segment[], errors: readonly AjvError[]): never {
  throw new Error(
    `gen-schemas: ${gvk} /${at.join('/')}: the validator says ${JSON.stringify(errors.map((e) => [e.keyword, e.params]))}, which the probes do not explain`,
  );
}

const INT32_PAST = 2 ** 31;

function shapeOf(
  ref: string,
  gvk: string,
  at: Segment[],
  probe: Probe,
  enqueue: (type: string, at: Segment[]) => void,
): KubeShape {
  const nullable = probe(null, at).length === 0 ? { n: true as const } : {};
  /** The one type error a value of the wrong kind gets, or none. */
  const wanted = (value: unknown): string | undefined => {
    const errors = probe(value, at);
    if (errors.length === 0) return undefined;
    // An enum or a format may refuse the value too; they are probed apart below.
    const types = errors.filter((e) => e.keyword === 'type');
    const others = errors.filter(
      (e) => e.keyword !== 'type' && e.keyword !== 'enum' && e.keyword !== 'format',
    );
    if (types.length === 1 && others.length === 0) return String(types[0].params.type);
    return fail(gvk, at, errors);
  };
  // Quantities are checked with the API server's own grammar, and the validator's word on a
  // quantity is not taken (builtin.ts), except on null, which the grammar does not see.
  if (ref === 'q') return { t: 'quantity', ...nullable };
  if (ref === '*') return { t: 'any', ...nullable };
  if (ref === 'i') {
    for (const ok of ['x', '', 1, -1, 0]) if (probe(ok, at).length > 0) fail(gvk, at, probe(ok, at));
    return { t: 'int-or-string', ...(probe(INT32_PAST, at).length > 0 && { f: 'int32' }), ...nullable };
  }
  if (ref.startsWith('[]')) {
    if (wanted('x') !== 'array' || probe([], at).length > 0) fail(gvk, at, probe('x', at));
    return { t: 'list', of: shapeOf(ref.slice(2), gvk, [...at, 0], probe, enqueue), ...nullable };
  }
  if (ref.startsWith('{}')) {
    if (wanted('x') !== 'object' || probe({}, at).length > 0) fail(gvk, at, probe('x', at));
    return { t: 'map', of: shapeOf(ref.slice(2), gvk, [...at, 'k'], probe, enqueue), ...nullable };
  }
  if (ref !== 's') {
    if (wanted('x') !== 'object') fail(gvk, at, probe('x', at));
    enqueue(ref, at);
    return { t: 'type', ref, ...nullable };
  }
  const t = wanted([]);
  if (t === undefined) return { t: 'any', ...nullable };
  if (t === 'string') {
    // A string no enum lists, in no format, and long: whatever refuses it is recorded or fails.
    const errors = probe(`\u0001${'x'.repeat(1000)}`, at);
    const e = errors.find((x) => x.keyword === 'enum')?.params.allowedValues as string[] | undefined;
    const f = errors.find((x) => x.keyword === 'format')?.params.format as string | undefined;
    if (errors.some((x) => x.keyword !== 'enum' && x.keyword !== 'format')) fail(gvk, at, errors);
    const blank = probe('', at);
    if (blank.some((x) => x.keyword !== 'enum' && x.keyword !== 'format')) fail(gvk, at, blank);
    return { t, ...(e && { e }), ...(f && { f }), ...nullable };
  }
  if (t === 'integer') {
    // No bounds but the format's: the fast path checks int32 on both sides.
    for (const ok of [1, 0, -1]) if (probe(ok, at).length > 0) fail(gvk, at, probe(ok, at));
    const past = probe(INT32_PAST, at);
    if (past.some((x) => x.keyword !== 'format' || x.params.format !== 'int32')) fail(gvk, at, past);
    return { t, ...(past.length > 0 && { f: 'int32' }), ...nullable };
  }
  if (t === 'number' || t === 'boolean') {
    for (const ok of t === 'number' ? [1.5, -1.5, 0] : [true, false])
      if (probe(ok, at).length > 0) fail(gvk, at, probe(ok, at));
    return { t, ...nullable };
  }
  if (t === 'object') {
    if (probe({ a: 1 }, at).length > 0) fail(gvk, at, probe({ a: 1 }, at));
    return { t: 'object', ...nullable };
  }
  return fail(gvk, at, probe([], at));
}

/** The CEL functions and operators cel.ts evaluates itself. */
const NATIVE_FUNCTIONS = new Set([
  '!_',
  '_&&_',
  '_||_',
  '_?_:_',
  '_==_',
  '_!=_',
  '_<_',
  '_<=_',
  '_>_',
  '_>=_',
  '_+_',
  '_-_',
  '@in',
  '_[_]',
  '@not_strictly_false',
  'size',
  'contains',
  'startsWith',
  'endsWith',
  'matches',
  'duration',
  'isURL',
  'url',
  'getScheme',
  'getHostname',
  'getEscapedPath',
]);

/**
 * Patterns whose meaning is the same in RE2 (CEL's matches) and in a JavaScript RegExp with the
 * u flag: literals, classes, groups, alternation, anchors and quantifiers, escapes of punctuation
 * and \d only (no "." outside a class, which JavaScript does not let match \r, no \s, \b, \p,
 * flags, named groups or backreferences).
 */
function sharedPattern(p: string): boolean {
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const ch = p[i];
    if (ch === '\\') {
      const next = p[++i];
      if (next === undefined || !/[\\^$.*+?()[\]{}|/\-d]/.test(next)) return false;
    } else if (inClass) {
      if (ch === ']') inClass = false;
      else if (ch === '[') return false;
    } else if (ch === '[') {
      inClass = true;
      if (p[i + 1] === ']' || (p[i + 1] === '^' && p[i + 2] === ']')) return false;
    } else if (ch === '.') return false;
    else if (ch === '(' && p[i + 1] === '?' && p[i + 2] !== ':') return false;
  }
  if (inClass) return false;
  try {
    new RegExp(p, 'u');
    return true;
  } catch {
    return false;
  }
}

/** A parsed CEL expression in cel.ts's compact form, or undefined when it uses anything else. */
function nativeForm(e: Expr | undefined): NativeCel | undefined {
  const k = e?.exprKind;
  switch (k?.case) {
    case 'constExpr': {
      const c = k.value.constantKind;
      if (c.case === 'stringValue') return ['s', c.value];
      if (c.case === 'boolValue') return ['b', c.value];
      if (c.case === 'int64Value' && c.value >= -(2n ** 53n) && c.value <= 2n ** 53n)
        return ['i', Number(c.value)];
      return undefined;
    }
    case 'identExpr':
      return ['id', k.value.name];
    case 'selectExpr': {
      const operand = nativeForm(k.value.operand);
      if (!operand) return undefined;
      return [k.value.testOnly ? 'has' : 'sel', operand, k.value.field];
    }
    case 'structExpr':
      // The empty map literal {}.
      return k.value.messageName === '' && k.value.entries.length === 0 ? ['map'] : undefined;
    case 'listExpr': {
      if (k.value.optionalIndices.length > 0) return undefined;
      const items = k.value.elements.map(nativeForm);
      return items.every((x) => x !== undefined) ? ['list', items as NativeCel[]] : undefined;
    }
    case 'callExpr': {
      if (!NATIVE_FUNCTIONS.has(k.value.function)) return undefined;
      // matches with a literal pattern both engines read alike, and duration of a literal or self.
      const first = k.value.args[0]?.exprKind;
      if (
        k.value.function === 'matches' &&
        (first?.case !== 'constExpr' ||
          first.value.constantKind.case !== 'stringValue' ||
          !sharedPattern(first.value.constantKind.value))
      )
        return undefined;
      const target = k.value.target ? nativeForm(k.value.target) : null;
      const args = k.value.args.map(nativeForm);
      if (target === undefined || args.some((x) => x === undefined)) return undefined;
      return ['call', k.value.function, target, args as NativeCel[]];
    }
    case 'comprehensionExpr': {
      const c = k.value;
      if (c.iterVar2 !== '') return undefined;
      const parts = [c.iterRange, c.accuInit, c.loopCondition, c.loopStep, c.result].map(nativeForm);
      if (parts.some((x) => x === undefined)) return undefined;
      const [range, init, condition, step, result] = parts as NativeCel[];
      return ['comp', c.iterVar, range, c.accuVar, init, condition, step, result];
    }
    default:
      return undefined;
  }
}

/** The pinned CRD sources: the imports of cdk8s.yaml. */
function pinnedSources(): string[] {
  return (parse(readFileSync('cdk8s.yaml', 'utf8')) as { imports: string[] }).imports;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const sources = args.length > 0 ? args : pinnedSources();
  const crds = await crdSchemas(sources);
  const bodies: string[] = [];
  const index: Record<string, number> = {};
  for (const [key, schema] of crds) {
    const body = JSON.stringify(schema);
    let i = bodies.indexOf(body);
    if (i === -1) i = bodies.push(body) - 1;
    index[key] = i;
  }
  // Every CEL rule, parsed here: parsing is most of the cost of a rule's first use at synth time.
  const rules = new Set<string>();
  const collect = (v: Json): void => {
    if (v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) return v.forEach(collect);
    for (const r of (v['x-kubernetes-validations'] as { rule: string }[] | undefined) ?? []) {
      if (!/\boldSelf\b/.test(r.rule)) rules.add(r.rule);
    }
    Object.values(v).forEach(collect);
  };
  for (const schema of crds.values()) collect(schema);
  const parsed = Object.fromEntries(
    [...rules]
      .sort()
      .map((r) => [r, Buffer.from(toBinary(ParsedExprSchema, parseCel(r))).toString('base64')]),
  );
  const native = Object.fromEntries(
    [...rules]
      .sort()
      .map((r) => [r, nativeForm(parseCel(r).expr)] as const)
      .filter(([, form]) => form !== undefined),
  );
  const kube = kubeFieldTree();
  const shapes = kubeShapes(kube);
  const modelsVersion = (
    JSON.parse(
      readFileSync(
        join(
          dirname(createRequire(import.meta.url).resolve('kubernetes-models/package.json')),
          'package.json',
        ),
        'utf8',
      ),
    ) as {
      version: string;
    }
  ).version;
  const text = `// generated by tools/gen-schemas.ts (npm run gen-schemas); do not edit.
// CRD schemas from the sources pinned in cdk8s.yaml; built-in field tree from kubernetes-models ${modelsVersion}.
import type { KubeFieldTree, KubeShapes, NativeCel, Schema } from '../schema.js';

/** "<group>/<version>/<Kind>" of every served CRD version → index into CRD_SCHEMA_BODIES. */
export const CRD_KINDS: Record<string, number> = ${JSON.stringify(index)};

/** The schemas, as JSON text: parsed on first use, and cheap for the compiler. */
export const CRD_SCHEMA_BODIES: readonly string[] = ${JSON.stringify(bodies)};

/** Parses a CRD schema body. */
export const parseSchema = (i: number): Schema => JSON.parse(CRD_SCHEMA_BODIES[i]) as Schema;

/** Each CEL rule of those schemas (transition rules aside), parsed: a binary cel.expr.ParsedExpr, base64. */
export const CEL_PARSED: Record<string, string> = ${JSON.stringify(parsed)};

/**
 * The rules that use only what cel.ts evaluates itself (NativeCel), in its compact form: no
 * program to decode and plan for them, and no trip through the library per value.
 */
export const CEL_NATIVE: Record<string, NativeCel> = ${JSON.stringify(native)};

export const KUBE_MODELS_VERSION = ${JSON.stringify(modelsVersion)};

export const KUBE_FIELDS: KubeFieldTree = JSON.parse(${JSON.stringify(JSON.stringify(kube))}) as KubeFieldTree;

/** What kubernetes-models' validators accept at each field of KUBE_FIELDS, found by probing them. */
export const KUBE_SHAPES: KubeShapes = JSON.parse(${JSON.stringify(JSON.stringify(shapes))}) as KubeShapes;
`;
  writeFileSync(OUT, text);
  console.log(
    `wrote ${OUT}: ${Object.keys(index).length} CRD versions (${bodies.length} distinct schemas, ${rules.size} CEL rules), ${Object.keys(kube.kinds).length} built-in kinds (${Object.keys(kube.types).length} types), ${(text.length / 1024).toFixed(0)} KiB`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e: unknown) => {
    console.error((e as Error).message);
    process.exit(1);
  });
}
