/**
 * The last check before anything is written or handed to Pulumi: every rendered object, escape
 * hatches (addJsonPatch, raw ApiObjects) included, against what the API server checks on a create:
 * - built-in kinds against the Kubernetes OpenAPI schema (builtin.ts), custom resources against
 *   the pinned Istio and Gateway API CRD schemas and their CEL rules (structural.ts, cel.ts);
 * - the API server's name and value rules (api-server.ts);
 * - one object per identity (API group, kind, namespace, name): a second one would overwrite the
 *   first on apply.
 * Every problem of every object at once, each as
 * `[<Kind> <namespace>/<name>] <field path>: what is wrong; how to fix it`.
 *
 * Kinds of groups it has no schema for (a CRD this project does not pin) get the name, label and
 * identity rules only; a kind or version that the pinned Istio and Gateway API CRDs do not serve
 * is refused, since the API server would answer "no matches for kind".
 */
import { checkApiServerRules } from './api-server.js';
import { BUILT_IN_GROUPS, hasBuiltInSchema, validateBuiltIn } from './builtin.js';
import { CRD_KINDS, parseSchema } from './generated/schemas.js';
import type { Schema } from './schema.js';
import { formatPath, type Report } from './path.js';
import { applyDefaults, hasDefaults, validateSchema } from './structural.js';

export { QUANTITY } from './builtin.js';

export type AdmittedObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
};

/** Groups whose kinds the pinned CRDs define completely. */
const PINNED_GROUPS = new Set(Object.keys(CRD_KINDS).map((k) => k.split('/')[0]));

const schemas = new Map<number, Schema>();

/**
 * The schema of a served CRD version, at its root: metadata is checked with the API server's
 * ObjectMeta rules (api-server.ts) instead of the schema's `type: object`, and apiVersion and kind
 * are the API server's own, whatever the schema lists.
 */
function crdSchema(gvk: string): Schema | undefined {
  const i = CRD_KINDS[gvk];
  if (i === undefined) return undefined;
  let s = schemas.get(i);
  if (!s) {
    const parsed = parseSchema(i);
    const { metadata: _m, ...properties } = parsed.properties ?? {};
    s = {
      ...parsed,
      properties: {
        ...properties,
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        metadata: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      },
    };
    schemas.set(i, s);
  }
  return s;
}

/** Time spent in the pass, for `npm run bench`. */
export const admissionStats = { ms: 0, objects: 0 };

export class AdmissionError extends Error {
  constructor(public readonly problems: readonly string[]) {
    super(`Admission failed with the following errors:\n  ${problems.join('\n  ')}`);
    this.name = 'AdmissionError';
  }
}

/** Throws an AdmissionError with every problem of every object, or returns the objects. */
export function admit<T extends AdmittedObject>(objects: readonly T[]): readonly T[] {
  const problems = admissionProblems(objects);
  if (problems.length > 0) throw new AdmissionError(problems);
  return objects;
}

/**
 * What the pass does with objects of one apiVersion and kind, worked out once per kind: its API
 * group, and its schema check (none for a kind of a group whose schemas are not pinned).
 */
interface KindCheck {
  readonly group: string;
  readonly validate?: (obj: AdmittedObject, report: Report) => void;
}

const kindChecks = new Map<string, Map<string, KindCheck>>();

function kindCheck(apiVersion: string, kind: string): KindCheck {
  let byKind = kindChecks.get(apiVersion);
  if (!byKind) {
    byKind = new Map();
    kindChecks.set(apiVersion, byKind);
  }
  let check = byKind.get(kind);
  if (!check) {
    check = makeKindCheck(apiVersion, kind);
    byKind.set(kind, check);
  }
  return check;
}

function makeKindCheck(apiVersion: string, kind: string): KindCheck {
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  const gvk = `${apiVersion}/${kind}`;
  if (BUILT_IN_GROUPS.has(group)) {
    if (!hasBuiltInSchema(gvk)) return { group };
    return { group, validate: (obj, report) => validateBuiltIn(gvk, obj, report) };
  }
  if (!PINNED_GROUPS.has(group)) return { group };
  const schema = crdSchema(gvk);
  if (!schema) {
    const served = Object.keys(CRD_KINDS)
      .filter((k) => k.startsWith(`${group}/`) && k.endsWith(`/${kind}`))
      .map((k) => k.split('/').slice(0, 2).join('/'));
    return {
      group,
      validate: (_obj, report) =>
        report(
          'apiVersion',
          `${apiVersion} ${kind} is not served by the pinned CRDs`,
          served.length > 0 ? `use ${served.join(' or ')}` : `check the kind's spelling`,
        ),
    };
  }
  // Defaulting writes into the object: a copy, and only where the schema has defaults.
  const defaults = hasDefaults(schema);
  return {
    group,
    validate: (obj, report) => {
      const body = defaults ? structuredClone(obj) : obj;
      if (defaults) applyDefaults(schema, body);
      validateSchema(schema, body, '', report);
    },
  };
}

/** Every problem of every object, one line each. */
export function admissionProblems(objects: readonly AdmittedObject[]): string[] {
  const t0 = performance.now();
  const problems: string[] = [];
  const seen = new Map<string, number>();
  // The object being checked: its identity is written out only for a problem.
  let current: AdmittedObject;
  let currentNs: string | undefined;
  const report: Report = (path, message, fix) =>
    problems.push(
      `[${current.kind} ${currentNs ? `${currentNs}/` : ''}${current.metadata?.name}] ${formatPath(path) || '(object)'}: ${message}; ${fix}`,
    );
  for (let i = 0; i < objects.length; i++) {
    const obj = objects[i];
    const ns = typeof obj.metadata?.namespace === 'string' ? obj.metadata.namespace : undefined;
    current = obj;
    currentNs = ns;
    const kind = String(obj.kind);
    const check = kindCheck(String(obj.apiVersion), kind);
    const key = `${check.group}/${kind}/${ns ?? ''}/${obj.metadata?.name}`;
    const count = (seen.get(key) ?? 0) + 1;
    seen.set(key, count);
    if (count === 2) {
      report(
        'metadata.name',
        `another ${kind} with this namespace and name is emitted too, and one would overwrite the other`,
        'emit each object once, or give them different names',
      );
    }
    checkApiServerRules(obj, report);
    check.validate?.(obj, report);
  }
  admissionStats.ms += performance.now() - t0;
  admissionStats.objects += objects.length;
  return problems;
}
