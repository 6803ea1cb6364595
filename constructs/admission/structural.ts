/**
 * An object against its CRD's structural schema, as the API server's apiextensions validation
 * does on a create (k8s.io/apiextensions-apiserver/pkg/apiserver/validation): defaults applied
 * first, then types, required fields, enums, patterns, bounds, formats, and unknown fields (which
 * the API server prunes silently or, with kubectl's default field validation, refuses; either way
 * the field does not do what was meant), then the x-kubernetes-validations CEL rules of every
 * node that passed the rest.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { compileRule, isTransitionRule } from './cel.js';
import type { Schema } from './schema.js';

import { child, item, type Path, type Report, suffix } from './path.js';
import { checkLabels } from './api-server.js';
import { INT32_MAX, INT32_MIN } from '../limits.js';

/**
 * A schema node compiled into one closure that runs only the checks its node has: the walk meets
 * hundreds of thousands of values, and reading thirty optional keywords of a schema node for each
 * would cost more than the checks. A value's path is given as its parent's path and its key
 * (undefined at the node the walk starts from), and made only when there is a problem to report or
 * children to walk.
 */
type Check = (v: unknown, parent: Path, key: Key, report: Report) => boolean;
type Key = string | number | undefined;

const at = (parent: Path, key: Key): Path =>
  key === undefined ? parent : typeof key === 'number' ? item(parent, key) : child(parent, key);

const compiled = new WeakMap<Schema, Check>();

/** The schema's check, compiled on first use (and then shared by every node that refers to it). */
function compileSchema(s: Schema): Check {
  let check = compiled.get(s);
  if (!check) {
    // A schema that contains itself meets itself while compiling: a forwarder stands in.
    const holder: { check?: Check } = {};
    compiled.set(s, (v, parent, key, report) => holder.check!(v, parent, key, report));
    check = holder.check = build(s);
    compiled.set(s, check);
  }
  return check;
}

/** Validates `value` (already defaulted) at `path`; returns whether it had no problem. */
export function validateSchema(s: Schema, value: unknown, path: Path, report: Report): boolean {
  return compileSchema(s)(value, path, undefined, report);
}

const COMBINATORS = ['oneOf', 'anyOf', 'allOf', 'not'] as const;

const A = (t: string) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);

function typeOf(v: unknown): string {
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** The steps of one node, in the order the problems are reported. */
function build(s: Schema): Check {
  const nullable = s.nullable === true;
  const type = typeCheck(s);
  const enumCheck = enumCheckOf(s);
  const stringCheck = stringCheckOf(s);
  const numberCheck = numberCheckOf(s);
  const arrayCheck = arrayCheckOf(s);
  const objectCheck = objectCheckOf(s);
  const combinators = COMBINATORS.filter((c) => s[c] !== undefined).map((c) => combinatorCheck(s, c));
  const rules = (s['x-kubernetes-validations'] ?? [])
    .filter((r) => !isTransitionRule(r))
    .map((r) => ({ rule: r, check: compileRule(r, s) }));
  // Most nodes are a typed value and nothing more, or an object with fields: checks of their own.
  if (
    type !== undefined &&
    !s['x-kubernetes-int-or-string'] &&
    enumCheck === undefined &&
    combinators.length === 0 &&
    rules.length === 0
  ) {
    const own =
      s.type === 'object'
        ? objectCheck
        : s.type === 'array'
          ? arrayCheck
          : s.type === 'string'
            ? stringCheck
            : undefined;
    const scalar = s.type === 'integer' || s.type === 'number' || s.type === 'boolean';
    if (
      own !== undefined ||
      (scalar && numberCheck === undefined) ||
      (s.type === 'string' && stringCheck === undefined)
    ) {
      return (v, parent, key, report) => {
        if (v === null) {
          if (nullable) return true;
          report(at(parent, key), 'is null', 'remove it or give it a value');
          return false;
        }
        if (!type(v, parent, key, report)) return false;
        return own === undefined || (own as Check)(v, parent, key, report);
      };
    }
  }
  return (v, parent, key, report) => {
    if (v === null) {
      if (nullable) return true;
      report(at(parent, key), 'is null', 'remove it or give it a value');
      return false;
    }
    if (type !== undefined && !type(v, parent, key, report)) return false;
    let ok = enumCheck === undefined || enumCheck(v, parent, key, report);
    if (typeof v === 'string') {
      if (stringCheck !== undefined) ok = stringCheck(v, parent, key, report) && ok;
    } else if (typeof v === 'number') {
      if (numberCheck !== undefined) ok = numberCheck(v, parent, key, report) && ok;
    } else if (Array.isArray(v)) {
      if (arrayCheck !== undefined) ok = arrayCheck(v, parent, key, report) && ok;
    } else if (typeof v === 'object') {
      ok = objectCheck(v, parent, key, report) && ok;
    }
    for (let i = 0; i < combinators.length; i++) ok = combinators[i](v, parent, key, report) && ok;
    if (ok) {
      for (let i = 0; i < rules.length; i++) {
        const failure = rules[i].check(v);
        if (failure !== undefined) {
          const r = rules[i].rule;
          // fieldPath is relative to the rule's node: ".name", "['key']".
          const path = at(parent, key);
          report(
            r.fieldPath ? suffix(path, r.fieldPath) : path,
            `${failure} (CEL rule: ${r.rule})`,
            'change the value so that the rule holds',
          );
          ok = false;
        }
      }
    }
    return ok;
  };
}

function typeCheck(s: Schema): Check | undefined {
  if (s['x-kubernetes-int-or-string']) {
    return (v, parent, key, report) => {
      if (typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v))) return true;
      report(
        at(parent, key),
        `${JSON.stringify(v)} is neither an integer nor a string`,
        'use a whole number or a string',
      );
      return false;
    };
  }
  const want = s.type;
  if (want === undefined) return undefined;
  const is: (v: unknown) => boolean =
    want === 'object'
      ? (v) => typeof v === 'object' && !Array.isArray(v)
      : want === 'array'
        ? Array.isArray
        : want === 'integer'
          ? (v) => typeof v === 'number' && Number.isInteger(v)
          : (v) => typeof v === want;
  const wanted = want === 'array' ? 'list' : want;
  return (v, parent, key, report) => {
    if (is(v)) return true;
    report(at(parent, key), `${A(typeOf(v))} where the schema wants ${A(wanted)}`, `write ${A(wanted)}`);
    return false;
  };
}

function enumCheckOf(s: Schema): Check | undefined {
  if (!s.enum) return undefined;
  // Set membership is strict equality for JSON values (they have no NaN).
  const values = new Set(s.enum);
  const listed = s.enum.map((e) => JSON.stringify(e)).join(', ');
  return (v, parent, key, report) => {
    if (values.has(v)) return true;
    report(at(parent, key), `${JSON.stringify(v)} is not one of ${listed}`, 'use one of them');
    return false;
  };
}

type Step<T> = (v: T, parent: Path, key: Key, report: Report) => boolean;

/** The steps that apply, run in order, every one of them (each reports its own problem). */
function all<T>(steps: (Step<T> | undefined)[]): Step<T> | undefined {
  const list = steps.filter((x): x is Step<T> => x !== undefined);
  if (list.length === 0) return undefined;
  if (list.length === 1) return list[0];
  return (v, parent, key, report) => {
    let ok = true;
    for (let i = 0; i < list.length; i++) ok = list[i](v, parent, key, report) && ok;
    return ok;
  };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const FORMATS: Record<string, (v: string) => boolean> = {
  ipv4: isIPv4,
  ipv6: isIPv6,
  byte: (v) => BASE64.test(v),
  'date-time': (v) => !Number.isNaN(Date.parse(v)),
};

function stringCheckOf(s: Schema): Step<string> | undefined {
  const { maxLength, minLength, pattern, format } = s;
  let lengths: Step<string> | undefined;
  if (maxLength !== undefined || minLength !== undefined) {
    const max = maxLength ?? Infinity;
    const min = minLength ?? 0;
    lengths = (v, parent, key, report) => {
      // Lengths count code points; the UTF-16 length is an upper bound that settles most strings.
      const length = v.length <= max && v.length >= 2 * min ? v.length : [...v].length;
      let ok = true;
      if (length > max) {
        report(
          at(parent, key),
          `is ${length} characters long, more than ${max}`,
          `shorten it to ${max} or fewer`,
        );
        ok = false;
      }
      if (length < min) {
        report(at(parent, key), `is ${length} characters long, fewer than ${min}`, `give it at least ${min}`);
        ok = false;
      }
      return ok;
    };
  }
  let matches: Step<string> | undefined;
  if (pattern !== undefined) {
    const re = new RegExp(pattern, 'u');
    matches = (v, parent, key, report) => {
      if (re.test(v)) return true;
      report(
        at(parent, key),
        `${JSON.stringify(v)} does not match ${pattern}`,
        'write a value the pattern accepts',
      );
      return false;
    };
  }
  let formatted: Step<string> | undefined;
  const valid = format !== undefined && Object.hasOwn(FORMATS, format) ? FORMATS[format] : undefined;
  if (valid) {
    formatted = (v, parent, key, report) => {
      if (valid(v)) return true;
      report(at(parent, key), `${JSON.stringify(v)} is not ${A(format!)} value`, `write ${A(format!)} value`);
      return false;
    };
  }
  return all([lengths, matches, formatted]);
}

const INT_RANGES: Record<string, [number, number]> = {
  int32: [INT32_MIN, INT32_MAX],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

function numberCheckOf(s: Schema): Step<number> | undefined {
  const range = s.format && Object.hasOwn(INT_RANGES, s.format) ? INT_RANGES[s.format] : undefined;
  const { minimum, maximum, exclusiveMinimum, exclusiveMaximum } = s;
  return all<number>([
    range &&
      ((v, parent, key, report) => {
        if (v >= range[0] && v <= range[1]) return true;
        report(
          at(parent, key),
          `${v} is outside the ${s.format} range`,
          `use a whole number from ${range[0]} to ${range[1]}`,
        );
        return false;
      }),
    minimum === undefined
      ? undefined
      : (v, parent, key, report) => {
          if (exclusiveMinimum ? v > minimum : v >= minimum) return true;
          report(
            at(parent, key),
            `${v} is below the minimum ${minimum}${exclusiveMinimum ? ' (exclusive)' : ''}`,
            `use a larger number`,
          );
          return false;
        },
    maximum === undefined
      ? undefined
      : (v, parent, key, report) => {
          if (exclusiveMaximum ? v < maximum : v <= maximum) return true;
          report(
            at(parent, key),
            `${v} is above the maximum ${maximum}${exclusiveMaximum ? ' (exclusive)' : ''}`,
            `use a smaller number`,
          );
          return false;
        },
  ]);
}

function arrayCheckOf(s: Schema): Step<unknown[]> | undefined {
  const { maxItems, minItems } = s;
  const itemSchema = s.items;
  let items: Check | undefined;
  const listType = s['x-kubernetes-list-type'];
  const keys = s['x-kubernetes-list-map-keys'];
  const unique = listType === 'set' || (listType === 'map' && keys !== undefined);
  if (maxItems === undefined && minItems === undefined && !itemSchema && !unique) return undefined;
  return (v, parent, key, report) => {
    let ok = true;
    if (maxItems !== undefined && v.length > maxItems) {
      report(at(parent, key), `has ${v.length} items, more than ${maxItems}`, `keep at most ${maxItems}`);
      ok = false;
    }
    if (minItems !== undefined && v.length < minItems) {
      report(
        at(parent, key),
        `has ${v.length} items, fewer than ${minItems}`,
        `give it at least ${minItems}`,
      );
      ok = false;
    }
    if (itemSchema !== undefined && v.length > 0) {
      // Compiled when a value first reaches it: an app meets few of a CRD's thousands of nodes.
      items ??= compileSchema(itemSchema);
      const path = at(parent, key);
      for (let i = 0; i < v.length; i++) ok = items(v[i], path, i, report) && ok;
    }
    if (unique && v.length > 1) {
      const seen = new Map<string, number>();
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        const id = JSON.stringify(
          keys && x !== null && typeof x === 'object'
            ? keys.map((k) => (x as Record<string, unknown>)[k])
            : x,
        );
        const other = seen.get(id);
        if (other !== undefined) {
          report(
            item(at(parent, key), i),
            `duplicates item ${other}${keys ? ` (same ${keys.join(', ')})` : ''}`,
            'remove one of them',
          );
          ok = false;
        } else seen.set(id, i);
      }
    }
    return ok;
  };
}

function objectCheckOf(s: Schema): Step<object> {
  const required = s.required ?? [];
  const { maxProperties, minProperties } = s;
  const counted = maxProperties !== undefined || minProperties !== undefined;
  // Own properties only: a field named "constructor" or "toString" is not in the schema.
  const schemas = new Map<string, Schema>(Object.entries(s.properties ?? {}));
  // Each field's check is compiled when a value first reaches it.
  const props = new Map<string, Check>();
  const additional = s.additionalProperties;
  let rest: Check | undefined;
  const checkOf = (k: string): Check | undefined => {
    let check = props.get(k);
    if (check === undefined) {
      const sub = schemas.get(k);
      if (sub !== undefined) {
        check = compileSchema(sub);
        props.set(k, check);
      } else if (typeof additional === 'object') check = rest ??= compileSchema(additional);
    }
    return check;
  };
  const refusesUnknown =
    additional !== true &&
    !s['x-kubernetes-preserve-unknown-fields'] &&
    (s.properties !== undefined || additional === false);
  return (o, parent, key, report) => {
    const v = o as Record<string, unknown>;
    let ok = true;
    for (let i = 0; i < required.length; i++) {
      if (v[required[i]] === undefined) {
        report(child(at(parent, key), required[i]), 'is required', 'set it');
        ok = false;
      }
    }
    if (counted) {
      const n = Object.keys(v).length;
      if (maxProperties !== undefined && n > maxProperties) {
        report(
          at(parent, key),
          `has ${n} entries, more than ${maxProperties}`,
          `keep at most ${maxProperties}`,
        );
        ok = false;
      }
      if (minProperties !== undefined && n < minProperties) {
        report(
          at(parent, key),
          `has ${n} entries, fewer than ${minProperties}`,
          `give it at least ${minProperties}`,
        );
        ok = false;
      }
    }
    let path: Path | undefined;
    for (const k in v) {
      const x = v[k];
      if (x === undefined) continue;
      path ??= at(parent, key);
      // metadata of an embedded or top-level resource is checked by the object-meta rules instead.
      if (k === 'matchLabels') checkLabels(x, child(path, k), report);
      const sub = checkOf(k);
      if (sub !== undefined) ok = sub(x, path, k, report) && ok;
      else if (refusesUnknown) {
        report(
          child(path, k),
          'is not a field of this schema',
          'remove it, or check its spelling and nesting',
        );
        ok = false;
      }
    }
    return ok;
  };
}

/** oneOf/anyOf/allOf/not: in CRDs these only combine `required` (mutually exclusive fields). */
function combinatorCheck(s: Schema, which: 'oneOf' | 'anyOf' | 'allOf' | 'not'): Check {
  // Istio's oneof fields, the common case, are settled by which fields are present.
  const fields = which === 'oneOf' || which === 'anyOf' ? presenceOnly(s[which]!) : undefined;
  const quiet: Report = () => {};
  if (which === 'not') {
    const not = compileSchema(s.not!);
    return (v, parent, key, report) => {
      if (!not(v, parent, key, quiet)) return true;
      report(
        at(parent, key),
        `sets ${describe(s.not!)}, which the schema forbids`,
        'remove one of the fields',
      );
      return false;
    };
  }
  const list = s[which]!;
  const checks = list.map(compileSchema);
  // The shape protoc-gen-openapi gives Istio's oneof fields: none or exactly one of some fields
  // (oneOf: [not: anyOf: [required: [a]], ...], required: [a], required: [b], ...]).
  const single = list.filter((x) => x.required?.length === 1).map((x) => x.required![0]);
  const optional = list.some((x) => x.not !== undefined);
  const options = list.map(describe).join('; ');
  return (v, parent, key, report) => {
    if (fields && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      let present = 0;
      for (const k of fields.keys) if ((v as Record<string, unknown>)[k] !== undefined) present++;
      if (
        which === 'anyOf'
          ? present > 0 || fields.optional
          : present === 1 || (present === 0 && fields.optional)
      )
        return true;
    }
    let passing = 0;
    for (const check of checks) if (check(v, parent, key, quiet)) passing++;
    if (which === 'allOf' ? passing === list.length : which === 'anyOf' ? passing > 0 : passing === 1)
      return true;
    if (which === 'oneOf' && single.length > 0 && v !== null && typeof v === 'object') {
      const set = single.filter((k) => (v as Record<string, unknown>)[k] !== undefined);
      report(
        at(parent, key),
        set.length > 1
          ? `sets ${set.join(' and ')}, of which ${optional ? 'at most' : 'exactly'} one may be set`
          : `sets none of ${single.join(', ')}, and needs exactly one`,
        set.length > 1 ? 'keep one of them' : 'set one of them',
      );
      return false;
    }
    report(
      at(parent, key),
      which === 'oneOf' && passing > 1
        ? `sets more than one of: ${options}`
        : `must set ${which === 'allOf' ? 'all' : 'one'} of: ${options}`,
      which === 'oneOf' ? 'keep exactly one' : 'set what the schema requires',
    );
    return false;
  };
}

interface PresenceOnly {
  readonly keys: readonly string[];
  /** Whether one alternative is "none of them" (not: anyOf: required). */
  readonly optional: boolean;
}
const presenceShapes = new WeakMap<readonly Schema[], PresenceOnly | null>();

/** The fields, when every alternative only requires one field or forbids them all. */
function presenceOnly(list: readonly Schema[]): PresenceOnly | undefined {
  let shape = presenceShapes.get(list);
  if (shape === undefined) {
    const only = (x: Schema, key: string) => Object.keys(x).length === 1 && key in x;
    const keys: string[] = [];
    let none: string[] | undefined;
    let ok = true;
    for (const x of list) {
      if (only(x, 'required') && x.required!.length === 1) keys.push(x.required![0]);
      else if (
        only(x, 'not') &&
        only(x.not!, 'anyOf') &&
        x.not!.anyOf!.every((y) => only(y, 'required') && y.required!.length === 1)
      )
        none = x.not!.anyOf!.map((y) => y.required![0]);
      else ok = false;
    }
    // "None of them" must name the same fields, or presence alone does not settle it.
    if (none && (none.length !== keys.length || none.some((k) => !keys.includes(k)))) ok = false;
    shape = ok && keys.length > 0 ? { keys, optional: none !== undefined } : null;
    presenceShapes.set(list, shape);
  }
  return shape ?? undefined;
}

function describe(s: Schema): string {
  if (s.required) return s.required.join(' and ');
  if (s.anyOf) return s.anyOf.map(describe).join(' or ');
  if (s.not) return `not (${describe(s.not)})`;
  return JSON.stringify(s);
}

/**
 * Applies schema defaults in place, as the API server does before it validates
 * (structural defaulting: a default fills a missing property of an object that is present).
 */
export function applyDefaults(s: Schema, v: unknown): void {
  if (v === null || typeof v !== 'object') return;
  if (Array.isArray(v)) {
    if (s.items) for (const x of v) applyDefaults(s.items, x);
    return;
  }
  const o = v as Record<string, unknown>;
  if (s.properties) {
    for (const [k, sub] of Object.entries(s.properties)) {
      if (o[k] === undefined && sub.default !== undefined) o[k] = structuredClone(sub.default);
      if (o[k] !== undefined) applyDefaults(sub, o[k]);
    }
  }
  if (typeof s.additionalProperties === 'object') {
    for (const [k, x] of Object.entries(o)) if (!s.properties?.[k]) applyDefaults(s.additionalProperties, x);
  }
}

const withDefaults = new WeakMap<Schema, boolean>();

/** Whether a default appears anywhere in the schema. */
export function hasDefaults(s: Schema): boolean {
  let found = withDefaults.get(s);
  if (found === undefined) {
    found =
      s.default !== undefined ||
      Object.values(s.properties ?? {}).some(hasDefaults) ||
      (s.items !== undefined && hasDefaults(s.items)) ||
      (typeof s.additionalProperties === 'object' && hasDefaults(s.additionalProperties));
    withDefaults.set(s, found);
  }
  return found;
}
