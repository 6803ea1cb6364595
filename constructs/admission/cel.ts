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
const programs = new Map<string, ReturnType<typeof compile>>();

function compile(rule: string) {
  env ??= celEnv({ funcs: [...strings, ...URL_LIBRARY] });
  // The pinned rules come parsed (tools/gen-schemas.ts); others are parsed here.
  const stored = CEL_PARSED[rule];
  const parsed = stored ? fromBinary(ParsedExprSchema, Buffer.from(stored, 'base64')) : parse(rule);
  return plan(env, parsed);
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
 * Results per rule and value: generated apps repeat the same small values (durations, ports,
 * matches) thousands of times, and a rule's result depends on nothing else.
 */
const results = new Map<string, Map<string, string | undefined>>();

/**
 * What of `self` a rule can observe, when it reads `self` only through `self.<field>`: those
 * fields, and of those it only tests with `has(self.<field>)`, their presence. A rule on an
 * object's spec that counts `has(self.selector)`, `has(self.targetRefs)` gives the same result for
 * every object with the same fields present, so its result is cached on that projection instead
 * of the whole spec. Undefined when the rule uses `self` itself (`self.all(...)`, `size(self)`).
 */
interface Projection {
  readonly fields: readonly string[];
  readonly presenceOnly: ReadonlySet<string>;
}
const projections = new Map<string, Projection | undefined>();

function projectionOf(rule: string): Projection | undefined {
  if (projections.has(rule)) return projections.get(rule);
  let projection: Projection | undefined;
  const uses = [...rule.matchAll(/\bself\.([A-Za-z_]\w*)(\s*\()?/g)];
  const rest = rule.replace(/\bself\.[A-Za-z_]\w*/g, '');
  if (!uses.some((u) => u[2] !== undefined) && !/\bself\b/.test(rest) && uses.length > 0) {
    const fields = [...new Set(uses.map((u) => u[1]))];
    const presenceOnly = new Set(
      fields.filter((f) => {
        const all = rule.split(new RegExp(`\\bself\\.${f}\\b`)).length - 1;
        const inHas = rule.split(new RegExp(`\\bhas\\(\\s*self\\.${f}\\s*\\)`)).length - 1;
        return all === inHas;
      }),
    );
    projection = { fields, presenceOnly };
  }
  projections.set(rule, projection);
  return projection;
}

const keyRules = new Map<string, boolean>();

/**
 * Whether the rule iterates a map's keys and reads nothing else (`self.all(key, !key.contains("*"))`
 * on a label map): its result depends on the keys only, and is cached on them.
 */
function keysOnly(rule: string, self: unknown, schema: Schema): boolean {
  if (self === null || typeof self !== 'object' || Array.isArray(self)) return false;
  if (schema.properties !== undefined || typeof schema.additionalProperties !== 'object') return false;
  let result = keyRules.get(rule);
  if (result === undefined) {
    const m = /^\s*self\.(?:all|exists|exists_one)\(\s*[A-Za-z_]\w*\s*,([\s\S]*)\)\s*$/.exec(rule);
    result = m !== null && !/\bself\b/.test(m[1]);
    keyRules.set(rule, result);
  }
  return result;
}

/**
 * Evaluates one rule on `self` (a plain JSON value, typed by `schema`). Returns undefined when the
 * rule holds, else what is wrong: the rule's message, or the evaluation error. An error is a
 * failure, as on the API server: a rule never passes without being evaluated.
 */
export function evaluate(r: CelRule, self: unknown, schema: Schema): string | undefined {
  const projection =
    self !== null && typeof self === 'object' && !Array.isArray(self) ? projectionOf(r.rule) : undefined;
  let value = self;
  if (keysOnly(r.rule, self, schema)) {
    const projected: Record<string, null> = {};
    for (const k in self as object) projected[k] = null;
    value = projected;
  } else if (projection) {
    const o = self as Record<string, unknown>;
    const projected: Record<string, unknown> = {};
    for (const f of projection.fields) {
      if (o[f] !== undefined) projected[f] = projection.presenceOnly.has(f) ? true : o[f];
    }
    value = projected;
  }
  const key = typeof value === 'string' ? `s${value}` : JSON.stringify(value);
  let known = results.get(r.rule);
  if (!known) {
    known = new Map();
    results.set(r.rule, known);
  }
  if (known.has(key)) return known.get(key);
  let outcome: string | undefined;
  try {
    let program = programs.get(r.rule);
    if (!program) {
      program = compile(r.rule);
      programs.set(r.rule, program);
    }
    // A presence-only field's value is never read, so its stand-in needs no schema.
    const out = program({ self: toCel(value, schema) });
    if (isCelError(out)) outcome = `rule could not be evaluated (${out.message})`;
    else if (out !== true) outcome = r.message ?? `failed rule: ${r.rule}`;
  } catch (e) {
    outcome = `rule could not be evaluated (${(e as Error).message})`;
  }
  if (known.size > 10_000) known.clear();
  known.set(key, outcome);
  return outcome;
}

/** A JSON value as CEL sees it under its schema: integers are ints, objects are maps. */
function toCel(v: unknown, s: Schema | undefined): CelInput {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v.map((x) => toCel(x, s?.items));
  if (typeof v === 'object') {
    const m = new Map<string, CelInput>();
    const props = s?.properties;
    const additional = typeof s?.additionalProperties === 'object' ? s.additionalProperties : undefined;
    for (const k in v) m.set(k, toCel((v as Record<string, unknown>)[k], props?.[k] ?? additional));
    return m;
  }
  if (typeof v === 'number') {
    const integer = s?.type === 'integer' || (s?.['x-kubernetes-int-or-string'] && Number.isInteger(v));
    return integer && Number.isInteger(v) ? BigInt(v) : v;
  }
  return v as CelInput;
}
