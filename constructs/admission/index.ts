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
export { SUPPORTED_FUNCTIONS } from './cel.js';

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

/** Every problem of every object, one line each. */
export function admissionProblems(objects: readonly AdmittedObject[]): string[] {
  const t0 = performance.now();
  const problems: string[] = [];
  const seen = new Map<string, number>();
  for (const obj of objects) {
    const ns = typeof obj.metadata?.namespace === 'string' ? obj.metadata.namespace : undefined;
    const name = obj.metadata?.name;
    const id = () => `[${obj.kind} ${ns ? `${ns}/` : ''}${name}]`;
    const report: Report = (path, message, fix) =>
      problems.push(`${id()} ${formatPath(path) || '(object)'}: ${message}; ${fix}`);
    const apiVersion = String(obj.apiVersion);
    const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
    const gvk = `${apiVersion}/${obj.kind}`;
    const key = `${group}/${obj.kind}/${ns ?? ''}/${name}`;
    const count = (seen.get(key) ?? 0) + 1;
    seen.set(key, count);
    if (count === 2) {
      report(
        'metadata.name',
        `another ${obj.kind} with this namespace and name is emitted too, and one would overwrite the other`,
        'emit each object once, or give them different names',
      );
    }
    checkApiServerRules(obj, report);
    if (BUILT_IN_GROUPS.has(group)) {
      if (hasBuiltInSchema(gvk)) validateBuiltIn(gvk, obj, report);
    } else if (PINNED_GROUPS.has(group)) {
      const schema = crdSchema(gvk);
      if (!schema) {
        const served = Object.keys(CRD_KINDS)
          .filter((k) => k.startsWith(`${group}/`) && k.endsWith(`/${obj.kind}`))
          .map((k) => k.split('/').slice(0, 2).join('/'));
        report(
          'apiVersion',
          `${apiVersion} ${obj.kind} is not served by the pinned CRDs`,
          served.length > 0 ? `use ${served.join(' or ')}` : `check the kind's spelling`,
        );
      } else {
        // Defaulting writes into the object: a copy, and only where the schema has defaults.
        const defaults = hasDefaults(schema);
        const body = defaults ? structuredClone(obj) : obj;
        if (defaults) applyDefaults(schema, body);
        validateSchema(schema, body, '', report);
      }
    }
  }
  admissionStats.ms += performance.now() - t0;
  admissionStats.objects += objects.length;
  return problems;
}
