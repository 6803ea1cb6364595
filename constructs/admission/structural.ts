/**
 * An object against its CRD's structural schema, as the API server's apiextensions validation
 * does on a create (k8s.io/apiextensions-apiserver/pkg/apiserver/validation): defaults applied
 * first, then types, required fields, enums, patterns, bounds, formats, and unknown fields (which
 * the API server prunes silently or, with kubectl's default field validation, refuses; either way
 * the field does not do what was meant), then the x-kubernetes-validations CEL rules of every
 * node that passed the rest.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { evaluate, isTransitionRule } from './cel.js';
import type { Schema } from './schema.js';

import { child, item, type Path, type Report, suffix } from './path.js';
import { checkLabels } from './api-server.js';

/** Validates `value` (already defaulted) at `path`; returns whether it had no problem. */
export function validateSchema(s: Schema, value: unknown, path: Path, report: Report): boolean {
  if (value === null) {
    if (s.nullable) return true;
    report(path, 'is null', 'remove it or give it a value');
    return false;
  }
  let ok = checkType(s, value, path, report);
  if (!ok) return false;
  if (s.enum && !s.enum.some((e) => e === value)) {
    report(
      path,
      `${JSON.stringify(value)} is not one of ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`,
      'use one of them',
    );
    ok = false;
  }
  if (typeof value === 'string') ok = checkString(s, value, path, report) && ok;
  else if (typeof value === 'number') ok = checkNumber(s, value, path, report) && ok;
  else if (Array.isArray(value)) ok = checkArray(s, value, path, report) && ok;
  else if (typeof value === 'object')
    ok = checkObject(s, value as Record<string, unknown>, path, report) && ok;
  for (const alternative of COMBINATORS) {
    if (s[alternative] !== undefined) ok = checkCombinator(s, alternative, value, path, report) && ok;
  }
  if (ok && s['x-kubernetes-validations']) {
    for (const r of s['x-kubernetes-validations']) {
      if (isTransitionRule(r)) continue;
      const failure = evaluate(r, value, s);
      if (failure !== undefined) {
        // fieldPath is relative to the rule's node: ".name", "['key']".
        const at = r.fieldPath ? suffix(path, r.fieldPath) : path;
        report(at, `${failure} (CEL rule: ${r.rule})`, 'change the value so that the rule holds');
        ok = false;
      }
    }
  }
  return ok;
}

const COMBINATORS = ['oneOf', 'anyOf', 'allOf', 'not'] as const;

const A = (t: string) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);

function typeOf(v: unknown): string {
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function checkType(s: Schema, v: unknown, path: Path, report: Report): boolean {
  if (s['x-kubernetes-int-or-string']) {
    if (typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v))) return true;
    report(path, `${JSON.stringify(v)} is neither an integer nor a string`, 'use a whole number or a string');
    return false;
  }
  const want = s.type;
  if (want === undefined) return true;
  const ok =
    want === 'object'
      ? typeof v === 'object' && !Array.isArray(v)
      : want === 'array'
        ? Array.isArray(v)
        : want === 'integer'
          ? typeof v === 'number' && Number.isInteger(v)
          : typeof v === want;
  if (!ok) {
    const wanted = want === 'array' ? 'list' : want;
    report(path, `${A(typeOf(v))} where the schema wants ${A(wanted)}`, `write ${A(wanted)}`);
  }
  return ok;
}

function checkString(s: Schema, v: string, path: Path, report: Report): boolean {
  let ok = true;
  // Lengths count code points; the UTF-16 length is an upper bound that settles most strings.
  const length =
    s.maxLength === undefined && s.minLength === undefined
      ? 0
      : v.length <= (s.maxLength ?? Infinity) && v.length >= 2 * (s.minLength ?? 0)
        ? v.length
        : [...v].length;
  if (s.maxLength !== undefined && length > s.maxLength) {
    report(
      path,
      `is ${length} characters long, more than ${s.maxLength}`,
      `shorten it to ${s.maxLength} or fewer`,
    );
    ok = false;
  }
  if (s.minLength !== undefined && length < s.minLength) {
    report(
      path,
      `is ${length} characters long, fewer than ${s.minLength}`,
      `give it at least ${s.minLength}`,
    );
    ok = false;
  }
  if (s.pattern !== undefined && !patternOf(s.pattern).test(v)) {
    report(path, `${JSON.stringify(v)} does not match ${s.pattern}`, 'write a value the pattern accepts');
    ok = false;
  }
  const format = s.format;
  if (
    (format === 'ipv4' && !isIPv4(v)) ||
    (format === 'ipv6' && !isIPv6(v)) ||
    (format === 'byte' && !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(v)) ||
    (format === 'date-time' && Number.isNaN(Date.parse(v)))
  ) {
    report(path, `${JSON.stringify(v)} is not ${A(format)} value`, `write ${A(format)} value`);
    ok = false;
  }
  return ok;
}

const patterns = new Map<string, RegExp>();
function patternOf(p: string): RegExp {
  let r = patterns.get(p);
  if (!r) {
    r = new RegExp(p, 'u');
    patterns.set(p, r);
  }
  return r;
}

const INT_RANGES: Record<string, [number, number]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

function checkNumber(s: Schema, v: number, path: Path, report: Report): boolean {
  let ok = true;
  const range = s.format ? INT_RANGES[s.format] : undefined;
  if (range && (v < range[0] || v > range[1])) {
    report(
      path,
      `${v} is outside the ${s.format} range`,
      `use a whole number from ${range[0]} to ${range[1]}`,
    );
    ok = false;
  }
  if (s.minimum !== undefined && (s.exclusiveMinimum ? v <= s.minimum : v < s.minimum)) {
    report(
      path,
      `${v} is below the minimum ${s.minimum}${s.exclusiveMinimum ? ' (exclusive)' : ''}`,
      `use a larger number`,
    );
    ok = false;
  }
  if (s.maximum !== undefined && (s.exclusiveMaximum ? v >= s.maximum : v > s.maximum)) {
    report(
      path,
      `${v} is above the maximum ${s.maximum}${s.exclusiveMaximum ? ' (exclusive)' : ''}`,
      `use a smaller number`,
    );
    ok = false;
  }
  return ok;
}

function checkArray(s: Schema, v: unknown[], path: Path, report: Report): boolean {
  let ok = true;
  if (s.maxItems !== undefined && v.length > s.maxItems) {
    report(path, `has ${v.length} items, more than ${s.maxItems}`, `keep at most ${s.maxItems}`);
    ok = false;
  }
  if (s.minItems !== undefined && v.length < s.minItems) {
    report(path, `has ${v.length} items, fewer than ${s.minItems}`, `give it at least ${s.minItems}`);
    ok = false;
  }
  if (s.items) v.forEach((x, i) => (ok = validateSchema(s.items!, x, item(path, i), report) && ok));
  const listType = s['x-kubernetes-list-type'];
  if (listType === 'set' || (listType === 'map' && s['x-kubernetes-list-map-keys'])) {
    const keys = s['x-kubernetes-list-map-keys'];
    const seen = new Map<string, number>();
    v.forEach((x, i) => {
      const key = JSON.stringify(
        keys && x !== null && typeof x === 'object' ? keys.map((k) => (x as Record<string, unknown>)[k]) : x,
      );
      const other = seen.get(key);
      if (other !== undefined) {
        report(
          item(path, i),
          `duplicates item ${other}${keys ? ` (same ${keys.join(', ')})` : ''}`,
          'remove one of them',
        );
        ok = false;
      } else seen.set(key, i);
    });
  }
  return ok;
}

function checkObject(s: Schema, v: Record<string, unknown>, path: Path, report: Report): boolean {
  let ok = true;
  if (s.required)
    for (const r of s.required) {
      if (v[r] === undefined) {
        report(child(path, r), 'is required', 'set it');
        ok = false;
      }
    }
  const n = s.maxProperties !== undefined || s.minProperties !== undefined ? Object.keys(v).length : 0;
  if (s.maxProperties !== undefined && n > s.maxProperties) {
    report(path, `has ${n} entries, more than ${s.maxProperties}`, `keep at most ${s.maxProperties}`);
    ok = false;
  }
  if (s.minProperties !== undefined && n < s.minProperties) {
    report(path, `has ${n} entries, fewer than ${s.minProperties}`, `give it at least ${s.minProperties}`);
    ok = false;
  }
  // metadata of an embedded or top-level resource is checked by the object-meta rules instead.
  const props = s.properties;
  const additional = s.additionalProperties;
  for (const k in v) {
    const x = v[k];
    if (x === undefined) continue;
    const sub = props?.[k] ?? (typeof additional === 'object' ? additional : undefined);
    if (k === 'matchLabels') checkLabels(x, child(path, k), report);
    if (sub) ok = validateSchema(sub, x, child(path, k), report) && ok;
    else if (
      additional !== true &&
      !s['x-kubernetes-preserve-unknown-fields'] &&
      (props || additional === false)
    ) {
      report(child(path, k), 'is not a field of this schema', 'remove it, or check its spelling and nesting');
      ok = false;
    }
  }
  return ok;
}

/** oneOf/anyOf/allOf/not: in CRDs these only combine `required` (mutually exclusive fields). */
function checkCombinator(
  s: Schema,
  which: 'oneOf' | 'anyOf' | 'allOf' | 'not',
  v: unknown,
  path: Path,
  report: Report,
): boolean {
  // Istio's oneof fields, the common case, are settled by which fields are present.
  const fields = which === 'oneOf' || which === 'anyOf' ? presenceOnly(s[which]!) : undefined;
  if (fields && v !== null && typeof v === 'object' && !Array.isArray(v)) {
    let present = 0;
    for (const k of fields.keys) if ((v as Record<string, unknown>)[k] !== undefined) present++;
    if (
      which === 'anyOf' ? present > 0 || fields.optional : present === 1 || (present === 0 && fields.optional)
    )
      return true;
  }
  const passes = (sub: Schema) => validateSchema(sub, v, path, () => {}) || false;
  if (which === 'not') {
    if (!passes(s.not!)) return true;
    report(path, `sets ${describe(s.not!)}, which the schema forbids`, 'remove one of the fields');
    return false;
  }
  const list = s[which]!;
  const passing = list.filter(passes).length;
  if (which === 'allOf' ? passing === list.length : which === 'anyOf' ? passing > 0 : passing === 1)
    return true;
  // The shape protoc-gen-openapi gives Istio's oneof fields: none or exactly one of some fields
  // (oneOf: [not: anyOf: [required: [a]], ...], required: [a], required: [b], ...]).
  const single = list.filter((x) => x.required?.length === 1).map((x) => x.required![0]);
  if (which === 'oneOf' && single.length > 0 && v !== null && typeof v === 'object') {
    const optional = list.some((x) => x.not !== undefined);
    const set = single.filter((k) => (v as Record<string, unknown>)[k] !== undefined);
    report(
      path,
      set.length > 1
        ? `sets ${set.join(' and ')}, of which ${optional ? 'at most' : 'exactly'} one may be set`
        : `sets none of ${single.join(', ')}, and needs exactly one`,
      set.length > 1 ? 'keep one of them' : 'set one of them',
    );
    return false;
  }
  const options = list.map(describe).join('; ');
  report(
    path,
    which === 'oneOf' && passing > 1
      ? `sets more than one of: ${options}`
      : `must set ${which === 'allOf' ? 'all' : 'one'} of: ${options}`,
    which === 'oneOf' ? 'keep exactly one' : 'set what the schema requires',
  );
  return false;
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
