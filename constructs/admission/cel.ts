/**
 * The CEL rules of CRD schemas (x-kubernetes-validations), evaluated as the API server does on a
 * create: `self` is the value at the rule's node, typed by its schema (integers as CEL ints,
 * objects and maps as CEL maps), with the Kubernetes CEL libraries the pinned CRDs' rules use.
 *
 * Most rules are evaluated here (the native evaluator below); the CEL library (@bufbuild/cel, in
 * cel-library.ts with the environment and its Kubernetes libraries) decides whatever the native
 * evaluator gives up on, and is loaded only then: a run whose rules never need it does not load
 * it at all.
 */
import { createRequire } from 'node:module';
import type { CelInput, plan } from '@bufbuild/cel';
import type * as CelLibrary from './cel-library.js';
import { parseRequestUri, URL_METHODS } from './cel-url.js';
import { CEL_NATIVE } from './generated/schemas.js';
import type { CelRule, NativeCel, Schema } from './schema.js';

let celLibrary: typeof CelLibrary | undefined;

/**
 * The CEL library, loaded on first use. The admission pass is synchronous, so this is require()
 * of an ES module (Node.js 22.12 or later), which loads its module graph at once.
 */
export function loadCelLibrary(): typeof CelLibrary {
  return (celLibrary ??= createRequire(import.meta.url)('./cel-library.js') as typeof CelLibrary);
}

const programs = new Map<string, ReturnType<typeof plan>>();

/** The program of a rule, planned once however many schema nodes carry the rule. */
function compile(rule: string) {
  let program = programs.get(rule);
  if (!program) {
    program = loadCelLibrary().compile(rule);
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

/**
 * The rules gen-schemas found to use only literals, fields, has(), lists, the logical, comparison
 * and arithmetic operators, size, contains, startsWith, endsWith, indexing and the macros (86 of the
 * 102 pinned rules) are evaluated here, on the same CEL values the library gets (toCel), without
 * decoding and planning a program. Only what has one meaning is evaluated: an error (a missing
 * field, an index out of range, an overflow), a comparison of values of different types, a double,
 * or a result that is not a bool gives up, and the library's program decides instead, errors and
 * all. celCrossCheck holds this to the library in the tests.
 */
/** A CEL duration, in nanoseconds. */
class CelDuration {
  constructor(readonly ns: bigint) {}
}
type CelValue =
  string | boolean | bigint | null | CelDuration | readonly CelValue[] | ReadonlyMap<string, CelValue>;
type Frame = { readonly name: string; readonly value: CelValue; readonly parent?: Frame };
type Native = (frame: Frame) => CelValue;

/** Thrown to give a value up to the library. */
const GIVE_UP: unique symbol = Symbol('give up');
const giveUp = (): never => {
  throw GIVE_UP;
};

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const int = (v: bigint): bigint => (v < INT64_MIN || v > INT64_MAX ? giveUp() : v);
const bool = (v: CelValue): boolean => (typeof v === 'boolean' ? v : giveUp());
const str = (v: CelValue): string => (typeof v === 'string' ? v : giveUp());
const bigint = (v: CelValue): bigint => (typeof v === 'bigint' ? v : giveUp());

/** Equality of scalars (or durations) of one type; anything else gives up. */
function equal(a: CelValue, b: CelValue): boolean {
  if (a === null || b === null) return a === b ? true : giveUp();
  if (a instanceof CelDuration && b instanceof CelDuration) return a.ns === b.ns;
  if (typeof a !== typeof b || typeof a === 'object') return giveUp();
  return a === b;
}

/** -1, 0 or 1 for two ints or two durations; anything else gives up. */
function compare(a: CelValue, b: CelValue): number {
  const x = typeof a === 'bigint' ? a : a instanceof CelDuration ? a.ns : giveUp();
  const y =
    typeof b === 'bigint' && typeof a === 'bigint'
      ? b
      : b instanceof CelDuration && a instanceof CelDuration
        ? b.ns
        : giveUp();
  return x < y ? -1 : x > y ? 1 : 0;
}

const DURATION_UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1000n,
  µs: 1000n,
  ms: 1000_000n,
  s: 1000_000_000n,
  m: 60_000_000_000n,
  h: 3600_000_000_000n,
};

/**
 * A duration string as the library parses it (@bufbuild/cel's parseDuration: "300ms", "1.5h",
 * "2h45m", the same arithmetic), for unsigned strings of 128 characters or fewer; anything else
 * gives up, and the library decides.
 */
function duration(text: string): CelDuration {
  if (text === '0') return new CelDuration(0n);
  if (text.length > 128 || !/^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/.test(text)) return giveUp();
  let ns = 0n;
  for (const [, whole, fraction, unit] of text.matchAll(/(\d+)(?:\.(\d+))?(ns|us|µs|ms|s|m|h)/g)) {
    const factor = DURATION_UNITS[unit];
    ns += BigInt(whole) * factor;
    if (fraction !== undefined) ns += (BigInt(fraction) * factor) / 10n ** BigInt(fraction.length);
  }
  return ns > INT64_MAX ? giveUp() : new CelDuration(ns);
}

function nativeOf(e: NativeCel): Native {
  switch (e[0]) {
    case 's':
    case 'b': {
      const v = e[1];
      return () => v;
    }
    case 'i': {
      const v = BigInt(e[1]);
      return () => v;
    }
    case 'id': {
      const name = e[1];
      return (frame) => {
        for (let f: Frame | undefined = frame; f; f = f.parent) if (f.name === name) return f.value;
        return giveUp();
      };
    }
    case 'sel':
    case 'has': {
      const operand = nativeOf(e[1]);
      const field = e[2];
      const test = e[0] === 'has';
      return (frame) => {
        const o = operand(frame);
        if (!(o instanceof Map)) return giveUp();
        if (test) return o.has(field);
        return o.has(field) ? (o.get(field) as CelValue) : giveUp();
      };
    }
    case 'list': {
      const items = e[1].map(nativeOf);
      return (frame) => items.map((x) => x(frame));
    }
    case 'map':
      return () => new Map();
    case 'comp':
      return comprehension(e);
    case 'call':
      if (e[1] === 'matches') {
        // gen-schemas lets through only a literal pattern RE2 and RegExp read alike.
        const target = e[2] === null ? giveUp() : nativeOf(e[2]);
        const pattern = e[3][0];
        const re = pattern[0] === 's' ? new RegExp(pattern[1], 'u') : giveUp();
        return (f) => re.test(str(target(f)));
      }
      return call(e[1], e[2] === null ? undefined : nativeOf(e[2]), e[3].map(nativeOf));
  }
}

function comprehension(
  e: readonly ['comp', string, NativeCel, string, NativeCel, NativeCel, NativeCel, NativeCel],
): Native {
  const [, iterVar, rangeOf, accuVar, initOf, conditionOf, stepOf, resultOf] = e;
  const [range, init, condition, step, result] = [rangeOf, initOf, conditionOf, stepOf, resultOf].map(
    nativeOf,
  );
  return (frame) => {
    const over = range(frame);
    const items = Array.isArray(over) ? over : over instanceof Map ? [...over.keys()] : giveUp();
    let accu = init(frame);
    for (const x of items) {
      const inner: Frame = { name: iterVar, value: x, parent: { name: accuVar, value: accu, parent: frame } };
      if (!bool(condition(inner))) break;
      accu = step(inner);
    }
    return result({ name: accuVar, value: accu, parent: frame });
  };
}

function call(fn: string, target: Native | undefined, args: readonly Native[]): Native {
  const [a, b, c] = args;
  switch (fn) {
    case '!_':
      return (f) => !bool(a(f));
    case '@not_strictly_false':
      return (f) => bool(a(f));
    case '_&&_':
      return (f) => bool(a(f)) && bool(b(f));
    case '_||_':
      return (f) => bool(a(f)) || bool(b(f));
    case '_?_:_':
      return (f) => (bool(a(f)) ? b(f) : c(f));
    case '_==_':
      return (f) => equal(a(f), b(f));
    case '_!=_':
      return (f) => !equal(a(f), b(f));
    case '_<_':
      return (f) => compare(a(f), b(f)) < 0;
    case '_<=_':
      return (f) => compare(a(f), b(f)) <= 0;
    case '_>_':
      return (f) => compare(a(f), b(f)) > 0;
    case '_>=_':
      return (f) => compare(a(f), b(f)) >= 0;
    case 'duration':
      return (f) => duration(str(a(f)));
    case 'isURL':
      return (f) => parseRequestUri(str(a(f))) !== undefined;
    case 'url':
      return (f) => {
        const text = str(a(f));
        return parseRequestUri(text) === undefined ? giveUp() : text;
      };
    case 'getScheme':
    case 'getHostname':
    case 'getEscapedPath': {
      const method = URL_METHODS[fn];
      const self = target ?? giveUp();
      return (f) => {
        const text = str(self(f));
        // The library's methods assume a URL (a url() value); anything else is its to settle.
        return text.startsWith('/') || parseRequestUri(text) !== undefined ? method(text) : giveUp();
      };
    }
    case '_-_':
      return (f) => int(bigint(a(f)) - bigint(b(f)));
    case '_+_':
      return (f) => {
        const x = a(f);
        const y = b(f);
        if (typeof x === 'bigint' && typeof y === 'bigint') return int(x + y);
        if (typeof x === 'string' && typeof y === 'string') return x + y;
        if (Array.isArray(x) && Array.isArray(y)) return [...x, ...y];
        return giveUp();
      };
    case '@in':
      return (f) => {
        const x = a(f);
        const list = b(f);
        if (Array.isArray(list)) return list.some((y: CelValue) => equal(x, y));
        if (list instanceof Map) return list.has(str(x));
        return giveUp();
      };
    case '_[_]':
      return (f) => {
        const o = a(f);
        const i = b(f);
        if (Array.isArray(o)) {
          const n = bigint(i);
          return n >= 0n && n < BigInt(o.length) ? (o[Number(n)] as CelValue) : giveUp();
        }
        if (o instanceof Map) return o.has(str(i)) ? (o.get(str(i)) as CelValue) : giveUp();
        return giveUp();
      };
    case 'size': {
      const of = target ?? a;
      return (f) => {
        const x = of(f);
        // A string's size is its code points.
        if (typeof x === 'string') return BigInt([...x].length);
        if (Array.isArray(x)) return BigInt(x.length);
        if (x instanceof Map) return BigInt(x.size);
        return giveUp();
      };
    }
    case 'contains':
    case 'startsWith':
    case 'endsWith': {
      const method = STRING_METHODS[fn];
      const self = target ?? giveUp();
      return (f) => method.call(str(self(f)), str(a(f)));
    }
    default:
      return () => giveUp();
  }
}

/** The rule's native evaluation: true or false, or undefined when the library must decide. */
function nativeRule(rule: string): ((self: CelInput) => boolean | undefined) | undefined {
  const form = CEL_NATIVE[rule];
  if (form === undefined) return undefined;
  const evaluate = nativeOf(form);
  return (self) => {
    try {
      const out = evaluate({ name: 'self', value: self as CelValue });
      return typeof out === 'boolean' ? out : undefined;
    } catch {
      // Given up, or a function of ours that failed: the library decides, and words the error.
      return undefined;
    }
  };
}

/**
 * For the tests: when on, every rule evaluated natively is evaluated by the library too, and each
 * disagreement is recorded.
 */
export const celCrossCheck = {
  enabled: false,
  native: 0,
  mismatches: [] as string[],
};

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
  const rule = `${r.rule}\u0000${r.message ?? ''}`;
  // A node with fields (a spec) has a long JSON and is rarely repeated: it is its own key.
  let byRule = schema.properties !== undefined ? ownCaches.get(schema) : caches;
  if (!byRule) {
    byRule = new Map();
    ownCaches.set(schema, byRule);
  }
  const key = schema.properties !== undefined ? rule : `${rule}\u0000${JSON.stringify(schema)}`;
  let results = byRule.get(key);
  if (!results) {
    results = { scalars: new Map(), composites: new Map() };
    byRule.set(key, results);
  }
  return results;
}
const ownCaches = new WeakMap<Schema, Map<string, Results>>();

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
  const native = nativeRule(r.rule);
  const library = (self: CelInput): string | undefined => {
    // Loaded outside the try: a library that cannot load is the run's error, not the object's.
    const { isCelError } = loadCelLibrary();
    try {
      program ??= compile(r.rule);
      const out = program({ self });
      if (isCelError(out)) return `rule could not be evaluated (${out.message})`;
      return out === true ? undefined : failed;
    } catch (e) {
      return `rule could not be evaluated (${(e as Error).message})`;
    }
  };
  const run = (value: unknown): string | undefined => {
    // A presence-only field's value is never read, so its stand-in needs no schema.
    const self = toCel(value, schema);
    const decided = native?.(self);
    if (decided === undefined) return library(self);
    const outcome = decided ? undefined : failed;
    if (celCrossCheck.enabled) {
      celCrossCheck.native++;
      const expected = library(self);
      if (expected !== outcome)
        celCrossCheck.mismatches.push(
          `${r.rule} on ${JSON.stringify(value)}: ${outcome} instead of ${expected}`,
        );
    }
    return outcome;
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
