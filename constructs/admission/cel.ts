/**
 * The CEL rules of CRD schemas (x-kubernetes-validations), evaluated as the API server does on a
 * create: `self` is the value at the rule's node, typed by its schema (integers as CEL ints,
 * objects and maps as CEL maps), with the Kubernetes CEL libraries the pinned CRDs' rules use.
 *
 * https://kubernetes.io/docs/reference/using-api/cel/ lists the libraries; the pinned Istio and
 * Gateway API rules call has, size, all, exists, exists_one, filter, contains, startsWith,
 * endsWith, matches, duration, int (CEL's standard library), substring and split (the strings
 * extension, from @bufbuild/cel/ext), and isURL, url and getScheme (Kubernetes' URL library,
 * defined below). test/admission.test.ts parses every pinned rule and checks that each function it
 * calls is one of SUPPORTED_FUNCTIONS, so a CRD update that brings a new function fails a test
 * rather than a synth.
 */
import {
  celEnv,
  celFunc,
  celMethod,
  CelScalar,
  type CelEnv,
  type CelInput,
  isCelError,
  parse,
  plan,
} from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { ParsedExprSchema } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import { fromBinary } from '@bufbuild/protobuf';
import { CEL_PARSED } from './generated/schemas.js';
import type { CelRule, Schema } from './schema.js';

/**
 * Go's url.ParseRequestURI, which Kubernetes' isURL and url() use
 * (k8s.io/apiserver/pkg/cel/library/urls.go): an absolute URI, or an absolute path.
 */
function parseRequestUri(s: string): URL | undefined {
  if (s.startsWith('/')) return new URL(s, 'http://localhost');
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(s)) return undefined;
  try {
    return new URL(s);
  } catch {
    return undefined;
  }
}

/**
 * Kubernetes' URL library. A URL value is represented by its text (the rules that reach here were
 * type-checked by the API server when the CRD was installed, so url methods only meet url values).
 */
const URL_LIBRARY = [
  celFunc('isURL', [CelScalar.STRING], CelScalar.BOOL, (s) => parseRequestUri(s) !== undefined),
  celFunc('url', [CelScalar.STRING], CelScalar.STRING, (s) => {
    if (parseRequestUri(s) === undefined)
      throw new Error(`URL parse error during conversion from string: ${s}`);
    return s;
  }),
  celMethod('getScheme', CelScalar.STRING, [], CelScalar.STRING, function () {
    return this.startsWith('/') ? '' : parseRequestUri(this)!.protocol.replace(/:$/, '');
  }),
  celMethod('getHostname', CelScalar.STRING, [], CelScalar.STRING, function () {
    return this.startsWith('/') ? '' : parseRequestUri(this)!.hostname.replace(/^\[|\]$/g, '');
  }),
  celMethod('getEscapedPath', CelScalar.STRING, [], CelScalar.STRING, function () {
    return parseRequestUri(this)!.pathname;
  }),
];

/** Every function the environment defines, by name: what a pinned rule may call. */
export const SUPPORTED_FUNCTIONS: ReadonlySet<string> = new Set([
  // CEL's standard macros and functions.
  'has',
  'size',
  'all',
  'exists',
  'exists_one',
  'filter',
  'map',
  'contains',
  'startsWith',
  'endsWith',
  'matches',
  'duration',
  'timestamp',
  'int',
  'uint',
  'double',
  'string',
  'bool',
  // The strings extension.
  ...strings.map((f) => f.name),
  // Kubernetes' URL library.
  ...URL_LIBRARY.map((f) => f.name),
]);

let env: CelEnv | undefined;
const programs = new Map<string, ReturnType<typeof plan>>();

/** The program of a rule, planned once however many schema nodes carry the rule. */
function compile(rule: string) {
  let program = programs.get(rule);
  if (!program) {
    env ??= celEnv({ funcs: [...strings, ...URL_LIBRARY] });
    // The pinned rules come parsed (tools/gen-schemas.ts); others are parsed here.
    const stored = CEL_PARSED[rule];
    const parsed = stored ? fromBinary(ParsedExprSchema, Buffer.from(stored, 'base64')) : parse(rule);
    program = plan(env, parsed);
    programs.set(rule, program);
  }
  return program;
}

/**
 * Transition rules compare with the stored object (`oldSelf`), which a create does not have: the
 * API server skips them on create, and so does this pass
 * (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#transition-rules).
 */
export function isTransitionRule(r: CelRule): boolean {
  return /\boldSelf\b/.test(r.rule);
}

/**
 * What of `self` a rule can observe, when it reads `self` only through `self.<field>`: those
 * fields, and of those it only tests with `has(self.<field>)`, their presence. A rule on an
 * object's spec that counts `has(self.selector)`, `has(self.targetRefs)` gives the same result for
 * every object with the same fields present, so its result is cached on that projection instead
 * of the whole spec. Undefined when the rule uses `self` itself (`self.all(...)`, `size(self)`).
 */
interface Projection {
  readonly fields: readonly string[];
  /** Per field, whether the rule only tests its presence. */
  readonly presenceOnly: readonly boolean[];
}

function projectionOf(rule: string): Projection | undefined {
  const uses = [...rule.matchAll(/\bself\.([A-Za-z_]\w*)(\s*\()?/g)];
  const rest = rule.replace(/\bself\.[A-Za-z_]\w*/g, '');
  if (uses.some((u) => u[2] !== undefined) || /\bself\b/.test(rest) || uses.length === 0) return undefined;
  const fields = [...new Set(uses.map((u) => u[1]))];
  const presenceOnly = fields.map((f) => {
    const all = rule.split(new RegExp(`\\bself\\.${f}\\b`)).length - 1;
    const inHas = rule.split(new RegExp(`\\bhas\\(\\s*self\\.${f}\\s*\\)`)).length - 1;
    return all === inHas;
  });
  return { fields, presenceOnly };
}

/**
 * Whether the rule iterates a map's keys and reads nothing else (`self.all(key, !key.contains("*"))`
 * on a label map): its result depends on the keys only, and is cached on them.
 */
function iteratesKeysOnly(rule: string): boolean {
  const m = /^\s*self\.(?:all|exists|exists_one)\(\s*[A-Za-z_]\w*\s*,([\s\S]*)\)\s*$/.exec(rule);
  return m !== null && !/\bself\b/.test(m[1]);
}

/**
 * A rule that tests a string `self` against a string literal (`!self.contains("*")`, on every label
 * value of every selector): the function the CEL library itself calls for it (its contains,
 * startsWith and endsWith are String.prototype.includes, startsWith and endsWith), applied without
 * planning and evaluating the expression. A literal with escapes is left to the program, and so
 * is a `self` that is not a string.
 */
const STRING_TEST =
  /^\s*(!?)\s*self\.(contains|startsWith|endsWith)\(\s*(?:"([^"\\\n\r]*)"|'([^'\\\n\r]*)')\s*\)\s*$/;
const STRING_METHODS = {
  contains: String.prototype.includes,
  startsWith: String.prototype.startsWith,
  endsWith: String.prototype.endsWith,
} as const;

function stringTestOf(rule: string): ((self: string) => boolean) | undefined {
  const m = STRING_TEST.exec(rule);
  if (!m) return undefined;
  const method = STRING_METHODS[m[2] as keyof typeof STRING_METHODS];
  const literal = m[3] ?? m[4];
  const negated = m[1] === '!';
  return (self) => method.call(self, literal) !== negated;
}

/** One rule compiled for one schema node: `self` in, what is wrong (or undefined) out. */
export type RuleCheck = (self: unknown) => string | undefined;

/** Results kept per rule and schema; past this many distinct values the cache starts again. */
const CACHE_LIMIT = 10_000;

interface Results {
  readonly scalars: Map<unknown, string | undefined>;
  readonly composites: Map<string, string | undefined>;
}
const caches = new Map<string, Results>();

/**
 * The results of a rule under a schema: shared by the nodes that carry the same rule under the
 * same schema (every CRD repeats the selector's label map, for one), since the result depends on
 * nothing else.
 */
function cacheOf(r: CelRule, schema: Schema): Results {
  const key = `${r.rule}\u0000${r.message ?? ''}\u0000${JSON.stringify(schema)}`;
  let results = caches.get(key);
  if (!results) {
    results = { scalars: new Map(), composites: new Map() };
    caches.set(key, results);
  }
  return results;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Compiles one rule of a schema node, once: the program is planned on first use, and results are
 * cached per value (generated apps repeat the same small values, durations, ports, matches,
 * thousands of times, and a rule's result depends on nothing but `self` and its schema). The cache
 * key is the part of `self` the rule can observe: the value itself for a scalar, its keys for a
 * rule that only iterates a map's keys, its projection (see Projection) or else its JSON.
 */
export function compileRule(r: CelRule, schema: Schema): RuleCheck {
  const projection = projectionOf(r.rule);
  const keysOnly =
    iteratesKeysOnly(r.rule) &&
    schema.properties === undefined &&
    typeof schema.additionalProperties === 'object';
  let program: ReturnType<typeof compile> | undefined;
  const run = (value: unknown): string | undefined => {
    try {
      program ??= compile(r.rule);
      // A presence-only field's value is never read, so its stand-in needs no schema.
      const out = program({ self: toCel(value, schema) });
      if (isCelError(out)) return `rule could not be evaluated (${out.message})`;
      return out === true ? undefined : failed;
    } catch (e) {
      return `rule could not be evaluated (${(e as Error).message})`;
    }
  };
  const { scalars, composites } = cacheOf(r, schema);
  const stringTest = stringTestOf(r.rule);
  const failed = r.message ?? `failed rule: ${r.rule}`;
  return (self) => {
    if (stringTest !== undefined && typeof self === 'string') return stringTest(self) ? undefined : failed;
    if (self === null || typeof self !== 'object') {
      if (scalars.has(self)) return scalars.get(self);
      const outcome = run(self);
      if (scalars.size >= CACHE_LIMIT) scalars.clear();
      scalars.set(self, outcome);
      return outcome;
    }
    let key: string;
    let value: unknown = self;
    if (keysOnly && isPlainObject(self)) {
      const keys: string[] = [];
      for (const k in self) if (self[k] !== undefined) keys.push(k);
      key = JSON.stringify(keys);
      if (composites.has(key)) return composites.get(key);
      const projected: Record<string, null> = {};
      for (const k of keys) projected[k] = null;
      value = projected;
    } else if (projection && isPlainObject(self)) {
      const { fields, presenceOnly } = projection;
      key = '';
      for (let i = 0; i < fields.length; i++) {
        const x = self[fields[i]];
        key += x === undefined ? '-,' : presenceOnly[i] ? '+,' : `${JSON.stringify(x)},`;
      }
      if (composites.has(key)) return composites.get(key);
      const projected: Record<string, unknown> = {};
      for (let i = 0; i < fields.length; i++) {
        const x = self[fields[i]];
        if (x !== undefined) projected[fields[i]] = presenceOnly[i] ? true : x;
      }
      value = projected;
    } else {
      key = JSON.stringify(self);
      if (composites.has(key)) return composites.get(key);
    }
    const outcome = run(value);
    if (composites.size >= CACHE_LIMIT) composites.clear();
    composites.set(key, outcome);
    return outcome;
  };
}

const compiledRules = new WeakMap<Schema, Map<string, RuleCheck>>();

/**
 * Evaluates one rule on `self` (a plain JSON value, typed by `schema`). Returns undefined when the
 * rule holds, else what is wrong: the rule's message, or the evaluation error. An error is a
 * failure, as on the API server: a rule never passes without being evaluated.
 */
export function evaluate(r: CelRule, self: unknown, schema: Schema): string | undefined {
  let rules = compiledRules.get(schema);
  if (!rules) {
    rules = new Map();
    compiledRules.set(schema, rules);
  }
  let check = rules.get(r.rule);
  if (!check) {
    check = compileRule(r, schema);
    rules.set(r.rule, check);
  }
  return check(self);
}

/** A JSON value as CEL sees it under its schema: integers are ints, objects are maps. */
function toCel(v: unknown, s: Schema | undefined): CelInput {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v.map((x) => toCel(x, s?.items));
  if (typeof v === 'object') {
    const m = new Map<string, CelInput>();
    const props = s?.properties;
    const additional = typeof s?.additionalProperties === 'object' ? s.additionalProperties : undefined;
    for (const k in v) {
      const x = (v as Record<string, unknown>)[k];
      // An undefined field is not written out, so the API server never sees it.
      if (x === undefined) continue;
      m.set(k, toCel(x, (props && Object.hasOwn(props, k) ? props[k] : undefined) ?? additional));
    }
    return m;
  }
  if (typeof v === 'number') {
    const integer = s?.type === 'integer' || (s?.['x-kubernetes-int-or-string'] && Number.isInteger(v));
    return integer && Number.isInteger(v) ? BigInt(v) : v;
  }
  return v as CelInput;
}
