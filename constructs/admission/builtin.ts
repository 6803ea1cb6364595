/**
 * Built-in Kubernetes kinds against the Kubernetes OpenAPI schema: kubernetes-models' compiled
 * validators (generated from that schema) check types, required fields, enums and integer formats;
 * the generated field tree adds unknown fields, which those validators let through and the API
 * server drops or, with strict field validation, refuses; quantities are checked against the API
 * server's own grammar.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { KUBE_FIELDS, KUBE_SHAPES } from './generated/schemas.js';
import type { KubeShape } from './schema.js';
import { checkLabels, labelsPass } from './api-server.js';
import { child, entry, formatPath, item, type Path, type Report } from './path.js';
import { INT32_MAX, INT32_MIN } from '../limits.js';
import { QUANTITY } from '../quantity.js';

export type Validator = ((data: unknown) => boolean) & { errors?: AjvError[] | null };
export interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/**
 * kubernetes-models' compiled validator of each built-in kind the pass knows, by its module
 * (kubernetes-models/_schemas/<name>). The fast path below settles the objects a synth makes
 * without them, and the 16 validators with the schemas they share are 219 modules: each is loaded
 * the first time an object of its kind needs it (validatorOf).
 */
const VALIDATOR_MODULES: Readonly<Record<string, string>> = {
  'v1/Namespace': 'IoK8sApiCoreV1Namespace',
  'v1/Service': 'IoK8sApiCoreV1Service',
  'v1/ServiceAccount': 'IoK8sApiCoreV1ServiceAccount',
  'v1/ConfigMap': 'IoK8sApiCoreV1ConfigMap',
  'v1/Secret': 'IoK8sApiCoreV1Secret',
  'v1/Pod': 'IoK8sApiCoreV1Pod',
  'apps/v1/Deployment': 'IoK8sApiAppsV1Deployment',
  'apps/v1/StatefulSet': 'IoK8sApiAppsV1StatefulSet',
  'apps/v1/DaemonSet': 'IoK8sApiAppsV1DaemonSet',
  'batch/v1/Job': 'IoK8sApiBatchV1Job',
  'batch/v1/CronJob': 'IoK8sApiBatchV1CronJob',
  'autoscaling/v2/HorizontalPodAutoscaler': 'IoK8sApiAutoscalingV2HorizontalPodAutoscaler',
  'policy/v1/PodDisruptionBudget': 'IoK8sApiPolicyV1PodDisruptionBudget',
  'rbac.authorization.k8s.io/v1/Role': 'IoK8sApiRbacV1Role',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'IoK8sApiRbacV1RoleBinding',
  'networking.k8s.io/v1/NetworkPolicy': 'IoK8sApiNetworkingV1NetworkPolicy',
};

const validators = new Map<string, Validator>();
const require = createRequire(import.meta.url);

/**
 * The validator of a built-in kind, loaded on first use. The admission pass is synchronous, so
 * this is require() of an ES module (Node.js 22.12 or later); kubernetes-models exports its
 * schemas to import only, so the file is found with import's resolution and required by its path.
 */
export function validatorOf(gvk: string): Validator | undefined {
  let validate = validators.get(gvk);
  if (!validate) {
    const name = VALIDATOR_MODULES[gvk];
    if (name === undefined) return undefined;
    const file = fileURLToPath(import.meta.resolve(`kubernetes-models/_schemas/${name}`));
    validate = (require(file) as { validate: Validator }).validate;
    validators.set(gvk, validate);
  }
  return validate;
}

/** API groups served by the API server itself (not CRDs): a kind of theirs we lack is not a typo. */
export const BUILT_IN_GROUPS = new Set([
  '',
  'apps',
  'batch',
  'autoscaling',
  'policy',
  'rbac.authorization.k8s.io',
  'networking.k8s.io',
  'storage.k8s.io',
  'scheduling.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'node.k8s.io',
  'certificates.k8s.io',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'apiregistration.k8s.io',
  'flowcontrol.apiserver.k8s.io',
  'resource.k8s.io',
]);

/** Whether the pass has the schema of this built-in kind. */
export function hasBuiltInSchema(gvk: string): boolean {
  return Object.hasOwn(VALIDATOR_MODULES, gvk);
}

export { QUANTITY } from '../quantity.js';

/** Validates a built-in object; returns false when the kind has no schema here. */
export function validateBuiltIn(gvk: string, obj: Record<string, unknown>, report: Report): boolean {
  if (!hasBuiltInSchema(gvk)) return false;
  if (!passesFast(gvk, obj)) builtInProblems(gvk, obj, report);
  return true;
}

/**
 * The fast path: whether the object certainly passes both checks below, its field tree and
 * kubernetes-models' validator. It walks the object once against the shapes the validators were
 * found to accept (KUBE_SHAPES), each type compiled once into a closure, and writes nothing; an
 * object it is not sure of (a problem, or a field in a format it leaves to the validator) goes the
 * slow way, which finds and words every problem. Exported for the test that holds it to the
 * validators.
 */
export function passesFast(gvk: string, obj: Record<string, unknown>): boolean {
  const root = KUBE_FIELDS.kinds[gvk];
  return root !== undefined && typeCheck(root)(obj);
}

type Fast = (v: unknown) => boolean;

const typeChecks = new Map<string, Fast>();

function typeCheck(name: string): Fast {
  let check = typeChecks.get(name);
  if (!check) {
    const holder: { check?: Fast } = {};
    typeChecks.set(name, (v) => holder.check!(v));
    check = holder.check = compileType(name);
    typeChecks.set(name, check);
  }
  return check;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function compileType(name: string): Fast {
  const shape = KUBE_SHAPES.types[name];
  if (!shape) return () => false;
  const required = shape.required;
  const fields = new Map<string, Fast>();
  for (const [k, sub] of Object.entries(shape.fields)) fields.set(k, lazyShape(sub));
  return (v) => {
    if (!isObject(v)) return false;
    for (let i = 0; i < required.length; i++) if (v[required[i]] === undefined) return false;
    for (const k in v) {
      const check = fields.get(k);
      // An unknown field, even an undefined one, is the slow path's to report.
      if (check === undefined) return false;
      const x = v[k];
      if (k === 'matchLabels' && !labelsPass(x)) return false;
      if (x !== undefined && !check(x)) return false;
    }
    return true;
  };
}

/** A field's check, compiled when a value first reaches it (most fields of most types never are). */
function lazyShape(shape: KubeShape): Fast {
  let check: Fast | undefined;
  return (v) => (check ??= compileShape(shape))(v);
}

function compileShape(shape: KubeShape): Fast {
  const nullable = shape.n === true;
  const check = compileValue(shape);
  return nullable ? (v) => v === null || check(v) : check;
}

function compileValue(shape: KubeShape): Fast {
  switch (shape.t) {
    case 'string': {
      // A format is left to the validator: its own format functions say what passes.
      if (shape.f !== undefined) return () => false;
      if (shape.e === undefined) return (v) => typeof v === 'string';
      const allowed = new Set<unknown>(shape.e);
      return (v) => allowed.has(v);
    }
    case 'integer':
      return shape.f === 'int32'
        ? (v) => Number.isInteger(v) && (v as number) >= INT32_MIN && (v as number) <= INT32_MAX
        : shape.f === undefined
          ? Number.isInteger
          : () => false;
    case 'number':
      return Number.isFinite;
    case 'boolean':
      return (v) => typeof v === 'boolean';
    case 'object':
      return isObject;
    case 'any':
      return () => true;
    case 'quantity':
      return (v) => typeof v === 'number' || (typeof v === 'string' && QUANTITY.test(v));
    case 'int-or-string':
      return shape.f === 'int32'
        ? (v) =>
            typeof v === 'string' ||
            (Number.isInteger(v) && (v as number) >= INT32_MIN && (v as number) <= INT32_MAX)
        : (v) => typeof v === 'string' || Number.isInteger(v);
    case 'list': {
      const item = compileShape(shape.of!);
      return (v) => {
        if (!Array.isArray(v)) return false;
        for (let i = 0; i < v.length; i++) if (v[i] === undefined || !item(v[i])) return false;
        return true;
      };
    }
    case 'map': {
      const value = compileShape(shape.of!);
      return (v) => {
        if (!isObject(v)) return false;
        for (const k in v) if (v[k] === undefined || !value(v[k])) return false;
        return true;
      };
    }
    case 'type':
      return typeCheck(shape.ref!);
    default:
      return () => false;
  }
}

/**
 * The slow path, for an object the fast path is not sure of: unknown fields and quantities from
 * the field tree, then everything kubernetes-models' validator finds, each problem once.
 */
export function builtInProblems(gvk: string, obj: Record<string, unknown>, report: Report): void {
  const validate = validatorOf(gvk)!;
  const root = KUBE_FIELDS.kinds[gvk];
  const quantityPaths: Path[] = [];
  walkFields(resolve(root), obj, '', report, quantityPaths);
  if (!validate(obj)) {
    const quantities = new Set(quantityPaths.map(formatPath));
    const seen = new Set<string>();
    for (const e of validate.errors ?? []) {
      const { path, value } = locate(obj, e.instancePath, root);
      // An undefined value is not written out: it is not there for the API server either.
      if (value === undefined && e.keyword !== 'required') continue;
      // A value of the wrong type is reported once, not again for its format or range.
      if (e.keyword !== 'type' && e.keyword !== 'required' && seen.has(`type ${path}`)) continue;
      if (e.keyword === 'type') seen.add(`type ${path}`);
      // Quantities are checked above against the API server's grammar; the validator reports a
      // bad one three times (type, format, oneOf).
      if (quantities.has(path) || ((e.keyword === 'oneOf' || e.keyword === 'anyOf') && seen.has(path)))
        continue;
      const line = describeError(e, path, value);
      const key = line.join('\u0000');
      if (seen.has(key)) continue;
      seen.add(key);
      seen.add(path);
      report(...line);
    }
  }
}

/**
 * A reference of the field tree, resolved once into linked nodes: the walk below meets hundreds
 * of thousands of fields, and string tests per field would cost more than the checks.
 */
type Ref =
  | { readonly kind: 'leaf' }
  | { readonly kind: 'quantity' }
  | { readonly kind: 'list' | 'map'; readonly of: Ref }
  | { readonly kind: 'object'; readonly fields: Map<string, Ref> };

const LEAF: Ref = { kind: 'leaf' };
const QUANTITY_REF: Ref = { kind: 'quantity' };
const resolved = new Map<string, Ref>();

function resolve(ref: string): Ref {
  if (ref === 's' || ref === 'i' || ref === '*') return LEAF;
  if (ref === 'q') return QUANTITY_REF;
  if (ref.startsWith('[]')) return { kind: 'list', of: resolve(ref.slice(2)) };
  if (ref.startsWith('{}')) return { kind: 'map', of: resolve(ref.slice(2)) };
  let r = resolved.get(ref);
  if (!r) {
    const fields = new Map<string, Ref>();
    r = { kind: 'object', fields };
    resolved.set(ref, r);
    for (const [k, sub] of Object.entries(KUBE_FIELDS.types[ref] ?? {})) fields.set(k, resolve(sub));
  }
  return r;
}

/** Unknown fields, and the quantity grammar at quantity leaves; records the quantity paths. */
function walkFields(ref: Ref, v: unknown, path: Path, report: Report, quantities: Path[]): void {
  if (v === null || v === undefined) return;
  switch (ref.kind) {
    case 'leaf':
      return;
    case 'quantity':
      if (typeof v === 'string' && !QUANTITY.test(v)) {
        report(
          path,
          `${JSON.stringify(v)} is not a Kubernetes quantity`,
          'write a number with at most one suffix, e.g. "500m", "2", "128Mi" or "1G"',
        );
      } else if (typeof v !== 'string' && typeof v !== 'number') {
        report(path, `${A(kindOf(v))} where a quantity belongs`, 'write a quantity, e.g. "500m" or "128Mi"');
      }
      quantities.push(path);
      return;
    case 'list':
      if (Array.isArray(v))
        for (let i = 0; i < v.length; i++) walkFields(ref.of, v[i], item(path, i), report, quantities);
      return;
    case 'map':
      if (typeof v === 'object' && !Array.isArray(v)) {
        for (const k in v)
          walkFields(ref.of, (v as Record<string, unknown>)[k], entry(path, k), report, quantities);
      }
      return;
    case 'object':
      if (typeof v !== 'object' || Array.isArray(v)) return;
      for (const k in v) {
        const x = (v as Record<string, unknown>)[k];
        const sub = ref.fields.get(k);
        if (k === 'matchLabels') checkLabels(x, child(path, k), report);
        if (sub === undefined) {
          report(
            child(path, k),
            'is not a field of this kind',
            'remove it, or check its spelling and nesting',
          );
        } else if (sub.kind !== 'leaf' && x !== null && x !== undefined) {
          walkFields(sub, x, child(path, k), report, quantities);
        }
      }
  }
}

const A = (t: string) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);

function kindOf(v: unknown): string {
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** A JSON pointer as a field path (`spec.ports[0].port`, `labels["app"]`), and the value there. */
function locate(obj: unknown, pointer: string, root: string): { path: string; value: unknown } {
  let path: Path = '';
  let value = obj;
  let ref: string | undefined = root;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(value)) {
      path = item(path, Number(key));
      value = value[Number(key)];
      ref = ref?.startsWith('[]') ? ref.slice(2) : undefined;
    } else {
      const isMap = ref?.startsWith('{}') ?? false;
      path = isMap ? entry(path, key) : child(path, key);
      value = (value as Record<string, unknown> | undefined)?.[key];
      ref = isMap ? ref!.slice(2) : ref !== undefined ? KUBE_FIELDS.types[ref]?.[key] : undefined;
    }
  }
  return { path: formatPath(path), value };
}

const INT_RANGES: Record<string, string> = {
  int32: `from ${INT32_MIN} to ${INT32_MAX}`,
  int64: 'from -9223372036854775808 to 9223372036854775807',
};

function describeError(e: AjvError, path: string, value: unknown): [string, string, string] {
  switch (e.keyword) {
    case 'required':
      return [formatPath(child(path, String(e.params.missingProperty))), 'is required', 'set it'];
    case 'type': {
      const want = e.params.type === 'array' ? 'list' : String(e.params.type);
      return [path, `${A(kindOf(value))} where the schema wants ${A(want)}`, `write ${A(want)}`];
    }
    case 'enum':
      return [
        path,
        `${JSON.stringify(value)} is not one of ${(e.params.allowedValues as unknown[]).map((x) => JSON.stringify(x)).join(', ')}`,
        'use one of them',
      ];
    case 'format': {
      const range = INT_RANGES[String(e.params.format)];
      if (range)
        return [
          path,
          `${JSON.stringify(value)} is outside the ${e.params.format} range`,
          `use a whole number ${range}`,
        ];
      return [
        path,
        `${JSON.stringify(value)} is not ${A(String(e.params.format))} value`,
        `write ${A(String(e.params.format))} value`,
      ];
    }
    default:
      return [path, `${JSON.stringify(value)} ${e.message ?? `fails ${e.keyword}`}`, 'fix the value'];
  }
}
