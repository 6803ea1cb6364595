/**
 * The API server's own name and value rules, which no OpenAPI schema states: object names per
 * kind, label and annotation syntax, UID ranges, volume mounts. Each rule cites where the API
 * server implements it (k8s.io/apimachinery/pkg/util/validation/validation.go, "validation.go",
 * and k8s.io/kubernetes/pkg/apis/core/validation/validation.go, "core validation").
 */
import {
  isDns1035Label,
  isDnsLabel,
  isDnsSubdomain,
  isLabelValue,
  qualifiedNameProblem,
} from '../k8s-names.js';
import { child, entry, type Path, type Report } from './path.js';
import { quantityValue } from '../quantity.js';
import { GO_DURATION_MAX_SECONDS, INT32_MAX, INT64_LIMIT } from '../limits.js';

type NameRule = 'label' | 'label1035' | 'subdomain' | 'path';

/**
 * How each kind's name is validated: Services are DNS-1035 labels (core validation,
 * ValidateServiceName), Namespaces DNS-1123 labels (ValidateNamespaceName), RBAC objects path
 * segments (ValidateRBACName), and everything else, custom resources included, DNS-1123
 * subdomains (NameIsDNSSubdomain; apiextensions-apiserver validates every custom resource's name so).
 */
const NAME_RULES: Record<string, NameRule> = {
  Service: 'label1035',
  Namespace: 'label',
  Role: 'path',
  RoleBinding: 'path',
  ClusterRole: 'path',
  ClusterRoleBinding: 'path',
};

function checkName(kind: string, name: unknown, report: Report): void {
  if (typeof name !== 'string' || name === '') {
    report('metadata.name', 'is missing', 'give the object a name');
    return;
  }
  const rule = NAME_RULES[kind] ?? 'subdomain';
  if (rule === 'label1035' && !isDns1035Label(name)) {
    report(
      'metadata.name',
      `"${name}" is not a valid DNS-1035 label, which ${kind} names must be`,
      'use at most 63 lower-case letters, digits and "-", starting with a letter and ending with a letter or digit',
    );
  } else if (rule === 'label' && !isDnsLabel(name)) {
    report(
      'metadata.name',
      `"${name}" is not a valid DNS-1123 label, which ${kind} names must be`,
      'use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit',
    );
  } else if (rule === 'subdomain' && !isDnsSubdomain(name)) {
    report(
      'metadata.name',
      `"${name}" is not a valid DNS-1123 subdomain, which ${kind} names must be`,
      'use at most 253 lower-case letters, digits, "-" and ".", each part starting and ending with a letter or digit',
    );
  } else if (rule === 'path' && (name === '.' || name === '..' || /[/%]/.test(name))) {
    report(
      'metadata.name',
      `"${name}" cannot be a path segment`,
      'use a name without "/" or "%", other than "." and ".."',
    );
  }
  // CronJobs name their Jobs "<name>-<minutes since epoch>" (11 characters), and Job names are
  // limited to 63 characters for the job-name label (batch validation, ValidateCronJobSpec).
  if (kind === 'CronJob' && name.length > 52) {
    report(
      'metadata.name',
      `"${name}" is ${name.length} characters long, more than 52`,
      'shorten it to 52 or fewer',
    );
  }
}

const KEY_FIX =
  'write it as [prefix/]name, e.g. "app.kubernetes.io/name": the prefix a lower-case DNS subdomain, the name at most 63 letters, digits, "-", "_" and "."';

/**
 * The problem of a label or annotation key, remembered: an app has few distinct keys
 * ("app", "version", "app.kubernetes.io/name") on thousands of objects.
 */
const keyProblems = new Map<string, string | undefined>();
function keyProblem(k: string): string | undefined {
  let problem = keyProblems.get(k);
  if (problem === undefined && !keyProblems.has(k)) {
    problem = qualifiedNameProblem(k);
    if (keyProblems.size >= 10_000) keyProblems.clear();
    keyProblems.set(k, problem);
  }
  return problem;
}

/** Labels and selectors (validation.go, IsQualifiedName and IsValidLabelValue). */
export function checkLabels(labels: unknown, path: Path, report: Report): void {
  if (labels === null || typeof labels !== 'object') return;
  const o = labels as Record<string, unknown>;
  for (const k in o) {
    if (!Object.hasOwn(o, k)) continue;
    const v = o[k];
    const problem = keyProblem(k);
    if (problem) report(entry(path, k), `the key ${JSON.stringify(k)} ${problem}`, KEY_FIX);
    if (typeof v === 'string' && !isLabelValue(v)) {
      report(
        entry(path, k),
        v.length > 63
          ? `the value is ${v.length} characters long, more than 63`
          : `the value ${JSON.stringify(v)} is not a valid label value`,
        'use at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit (or nothing)',
      );
    }
  }
}

/** Whether checkLabels would find nothing to report. */
export function labelsPass(labels: unknown): boolean {
  if (labels === null || typeof labels !== 'object') return true;
  const o = labels as Record<string, unknown>;
  for (const k in o) {
    if (!Object.hasOwn(o, k)) continue;
    const v = o[k];
    if (keyProblem(k) !== undefined || (typeof v === 'string' && !isLabelValue(v))) return false;
  }
  return true;
}

const ANNOTATIONS_LIMIT = 256 * 1024;

/** Annotations: qualified-name keys, at most 256 KiB in all (apimachinery ValidateAnnotations). */
function checkAnnotations(annotations: unknown, path: Path, report: Report): void {
  if (annotations === null || typeof annotations !== 'object') return;
  const o = annotations as Record<string, unknown>;
  // A UTF-16 code unit is at most 3 bytes of UTF-8: the exact size is needed only near the limit.
  let bound = 0;
  for (const k in o) {
    if (!Object.hasOwn(o, k)) continue;
    const v = o[k];
    // Annotation keys are lower-cased before the check (ValidateAnnotations).
    const problem = keyProblem(k.toLowerCase());
    if (problem) report(entry(path, k), `the key ${JSON.stringify(k)} ${problem}`, KEY_FIX);
    bound += 3 * (k.length + (typeof v === 'string' ? v.length : 0));
  }
  if (bound <= ANNOTATIONS_LIMIT) return;
  let size = 0;
  for (const [k, v] of Object.entries(o))
    size += Buffer.byteLength(k) + (typeof v === 'string' ? Buffer.byteLength(v) : 0);
  if (size > ANNOTATIONS_LIMIT) {
    report(
      path,
      `total ${size} bytes, more than the 262144 the API server allows`,
      'move large values into a ConfigMap',
    );
  }
}

function checkMetadata(meta: Record<string, unknown> | undefined, path: Path, report: Report): void {
  if (!meta) return;
  checkLabels(meta.labels, child(path, 'labels'), report);
  checkAnnotations(meta.annotations, child(path, 'annotations'), report);
}

/** A container port's name: an IANA service name (validation.go, IsValidPortName). */
const PORT_NAME = /^(?=.*[a-z])(?!.*--)[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

/** Quantities already read: an app repeats a few ("100m", "128Mi") on every container. */
const quantities = new Map<string, number | undefined>();

/** A quantity as a number, to compare a request with its limit (resource.Quantity's suffixes). */
function quantity(q: unknown): number | undefined {
  if (typeof q === 'number') return q;
  if (typeof q !== 'string') return undefined;
  if (quantities.has(q)) return quantities.get(q);
  const value = quantityValue(q);
  // Bounded, for a long-running watch: the first thousand distinct strings are plenty.
  if (quantities.size < 1000) quantities.set(q, value);
  return value;
}

/**
 * How many of `kinds` an object sets: a probe or lifecycle handler, and a volume, take exactly one
 * ("may not specify more than 1 handler type", "may not specify more than 1 volume type" in core
 * validation, validateHandler and validateVolumeSource).
 */
function countSet(o: Record<string, unknown>, kinds: readonly string[]): number {
  let n = 0;
  for (const k of kinds) if (o[k] !== undefined && o[k] !== null) n++;
  return n;
}

const PROBE_HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc'];
const LIFECYCLE_HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'sleep'];

/**
 * What core validation checks in one container beyond the schema: ports (validateContainerPorts:
 * containerPort 1-65535, hostPort 0-65535, IANA names unique in the container), one handler per
 * probe and lifecycle hook, subPaths inside the volume (validateLocalDescendingPath), and each
 * request at most its limit (ValidateResourceRequirements).
 */
function checkContainer(c: Record<string, unknown>, at: () => string, report: Report): void {
  const ports = Array.isArray(c.ports) ? (c.ports as Record<string, unknown>[]) : [];
  const portNames = new Map<string, number>();
  ports.forEach((port, j) => {
    const n = port?.containerPort;
    if (typeof n === 'number' && !(Number.isInteger(n) && n >= 1 && n <= 65535))
      report(`${at()}.ports[${j}].containerPort`, `${n} is not a port number`, 'use a port from 1 to 65535');
    const h = port?.hostPort;
    if (typeof h === 'number' && h !== 0 && !(Number.isInteger(h) && h >= 1 && h <= 65535))
      report(
        `${at()}.ports[${j}].hostPort`,
        `${h} is not a port number`,
        'use a port from 1 to 65535, or leave it out',
      );
    const name = port?.name;
    if (typeof name !== 'string') return;
    if (!PORT_NAME.test(name)) {
      report(
        `${at()}.ports[${j}].name`,
        `"${name}" is not a port name (an IANA service name)`,
        'use at most 15 lower-case letters, digits and single "-", with at least one letter, e.g. "http-api"',
      );
    }
    const other = portNames.get(name);
    if (other !== undefined)
      report(
        `${at()}.ports[${j}].name`,
        `"${name}" is already the name of ports[${other}]`,
        'give each port of the container its own name',
      );
    else portNames.set(name, j);
  });
  for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
    const p = c[probe];
    if (p && typeof p === 'object' && countSet(p as Record<string, unknown>, PROBE_HANDLERS) !== 1) {
      report(
        `${at()}.${probe}`,
        `sets ${countSet(p as Record<string, unknown>, PROBE_HANDLERS)} of exec, httpGet, tcpSocket and grpc, and the API server wants exactly one`,
        'keep one way to probe',
      );
    }
  }
  const lifecycle = c.lifecycle as Record<string, unknown> | undefined;
  for (const hook of ['postStart', 'preStop']) {
    const h = lifecycle?.[hook];
    if (h && typeof h === 'object' && countSet(h as Record<string, unknown>, LIFECYCLE_HANDLERS) !== 1) {
      report(
        `${at()}.lifecycle.${hook}`,
        `sets ${countSet(h as Record<string, unknown>, LIFECYCLE_HANDLERS)} of exec, httpGet, tcpSocket and sleep, and the API server wants exactly one`,
        'keep one handler',
      );
    }
    const seconds = (h as { sleep?: { seconds?: unknown } } | undefined)?.sleep?.seconds;
    if (typeof seconds === 'number' && seconds < 0) {
      report(`${at()}.lifecycle.${hook}.sleep.seconds`, `${seconds} is negative`, 'sleep 0 seconds or more');
    }
  }
  const resources = c.resources as
    { requests?: Record<string, unknown>; limits?: Record<string, unknown> } | undefined;
  // Amounts Kubernetes holds as an int64: CPU in millicores (the kubelet's MilliValue()), the rest
  // in units; ParseQuantity caps a larger binary amount without a word ("The max is just a simple
  // cap", k8s.io/apimachinery/pkg/api/resource/quantity.go) and the kubelet's arithmetic wraps.
  for (const kind of ['requests', 'limits'] as const) {
    for (const [r, q] of Object.entries(resources?.[kind] ?? {})) {
      const v = quantity(q);
      if (v !== undefined && v * (r === 'cpu' ? 1000 : 1) >= INT64_LIMIT) {
        report(
          `${at()}.resources.${kind}[${JSON.stringify(r)}]`,
          `${String(q)} is more than Kubernetes holds (2^63-1 ${r === 'cpu' ? 'millicores' : 'units'}, an int64)`,
          'use a realistic amount',
        );
      }
    }
  }
  for (const [r, request] of Object.entries(resources?.requests ?? {})) {
    const want = quantity(request);
    const limit = quantity(resources?.limits?.[r]);
    if (want !== undefined && limit !== undefined && want > limit * (1 + 1e-12)) {
      report(
        `${at()}.resources.requests[${JSON.stringify(r)}]`,
        `${String(request)} is above the limit ${String(resources?.limits?.[r])}, which the API server refuses`,
        `request at most the limit, or raise the limit`,
      );
    }
  }
}

/**
 * A pod spec: UIDs, container names, volumes and their mounts (core validation, ValidatePodSpec).
 * `claims` are a StatefulSet's volumeClaimTemplates: its controller adds a volume of each name to
 * every pod it creates, so the template's containers may mount them without declaring them
 * (https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#volume-claim-templates).
 */
function checkPodSpec(
  spec: Record<string, unknown> | undefined,
  path: string,
  report: Report,
  claims: readonly string[] = [],
  restartPolicies?: readonly string[],
): void {
  if (!spec) return;
  checkIds(spec.securityContext, () => child(path, 'securityContext'), report);
  checkGoSeconds(spec.terminationGracePeriodSeconds, `${path}.terminationGracePeriodSeconds`, report);
  // ValidatePodSpec: "activeDeadlineSeconds ... must be between 1 and 2147483647, inclusive"
  // (InclusiveRangeError(1, math.MaxInt32), kubernetes pkg/apis/core/validation/validation.go);
  // the field is an int64, so the schema alone lets a larger one through.
  const deadline = spec.activeDeadlineSeconds;
  if (typeof deadline === 'number' && (deadline < 1 || deadline > INT32_MAX)) {
    report(
      `${path}.activeDeadlineSeconds`,
      `${deadline} is outside 1 to ${INT32_MAX}, the range the API server takes for a pod's active deadline`,
      `use 1 to ${INT32_MAX} seconds, or leave it out`,
    );
  }
  // A workload's pods restart their containers always, a Job's never or on failure
  // (ValidatePodTemplateSpecForReplicaSet and friends, ValidateJobSpec).
  if (
    restartPolicies &&
    typeof spec.restartPolicy === 'string' &&
    !restartPolicies.includes(spec.restartPolicy)
  ) {
    report(
      `${path}.restartPolicy`,
      `"${spec.restartPolicy}" is not allowed for this kind's pods`,
      `use ${restartPolicies.map((r) => `"${r}"`).join(' or ')}`,
    );
  }
  if (spec.dnsPolicy === 'None' && (spec.dnsConfig === undefined || spec.dnsConfig === null)) {
    report(
      `${path}.dnsConfig`,
      'is missing, and dnsPolicy "None" needs it',
      'give dnsConfig nameservers, or another dnsPolicy',
    );
  }
  const volumes = new Map<string, number>();
  // A StatefulSet's pods get a volume per volumeClaimTemplate, named after it, which its containers
  // mount (the StatefulSet controller adds them; apps validation leaves the template's mounts to it).
  for (const name of claims) volumes.set(name, -1);
  (Array.isArray(spec.volumes) ? spec.volumes : []).forEach((v: { name?: string }, i: number) => {
    const sources = v && typeof v === 'object' ? Object.keys(v).filter((k) => k !== 'name').length : 0;
    if (sources !== 1) {
      report(
        `${path}.volumes[${i}]`,
        `has ${sources} volume sources, and the API server wants exactly one`,
        'keep one of emptyDir, secret, configMap, persistentVolumeClaim, ...',
      );
    }
    const other = volumes.get(v?.name ?? '');
    if (other !== undefined) {
      report(
        `${path}.volumes[${i}].name`,
        `"${v.name}" is already the name of ${other === -1 ? 'a volumeClaimTemplate' : `volumes[${other}]`}`,
        'give each volume a unique name',
      );
    } else if (v?.name) volumes.set(v.name, i);
  });
  for (const claim of claims) if (!volumes.has(claim)) volumes.set(claim, -1);
  const names = new Map<string, string>();
  for (const list of ['initContainers', 'containers', 'ephemeralContainers'] as const) {
    const containers = Array.isArray(spec[list]) ? (spec[list] as Record<string, unknown>[]) : [];
    for (let i = 0; i < containers.length; i++) {
      const c = containers[i];
      // The container's path is written out only for a problem.
      const at = () => `${path}.${list}[${i}]`;
      const name = c?.name;
      if (typeof name === 'string') {
        const other = names.get(name);
        if (other)
          report(
            `${at()}.name`,
            `"${name}" is already the name of ${other}`,
            'give each container a unique name',
          );
        else names.set(name, `${list}[${i}]`);
      }
      checkIds(c?.securityContext, () => `${at()}.securityContext`, report);
      if (c && typeof c === 'object') checkContainer(c, at, report);
      const mounts = Array.isArray(c?.volumeMounts)
        ? (c.volumeMounts as { name?: string; mountPath?: string; subPath?: string }[])
        : [];
      if (mounts.length === 0) continue;
      const paths = new Map<string, number>();
      for (let j = 0; j < mounts.length; j++) {
        const m = mounts[j];
        const other = paths.get(m?.mountPath ?? '');
        if (other !== undefined) {
          report(
            `${at()}.volumeMounts[${j}].mountPath`,
            `"${m.mountPath}" is already mounted by volumeMounts[${other}]`,
            'mount each path once',
          );
        } else if (m?.mountPath) paths.set(m.mountPath, j);
        const sub = m?.subPath;
        if (typeof sub === 'string' && (sub.startsWith('/') || sub.split('/').includes('..'))) {
          report(
            `${at()}.volumeMounts[${j}].subPath`,
            `"${sub}" leaves the volume, which the API server refuses`,
            'write a relative path inside the volume, without ".."',
          );
        }
        if (m?.name && !volumes.has(m.name)) {
          report(
            `${at()}.volumeMounts[${j}].name`,
            `no volume is named "${m.name}"`,
            'declare the volume in volumes, or fix the name',
          );
        }
      }
    }
  }
}

/**
 * Seconds that the kubelet, containerd and the Job controller turn into a Go time.Duration with
 * `time.Duration(seconds) * time.Second`, which wraps around above 9223372036 (int64 nanoseconds):
 * a pod's terminationGracePeriodSeconds (containerd's StopContainer, then SIGKILL at once) and a
 * Job's activeDeadlineSeconds
 * (pastActiveDeadline in pkg/controller/job/job_controller.go, so the Job fails at once).
 */
function checkGoSeconds(value: unknown, path: string, report: Report): void {
  if (typeof value === 'number' && value > GO_DURATION_MAX_SECONDS) {
    report(
      path,
      `${value} is above ${GO_DURATION_MAX_SECONDS}, the most seconds a Go time.Duration holds: Kubernetes reads it wrapped around, as a negative time`,
      `use at most ${GO_DURATION_MAX_SECONDS}`,
    );
  }
}

/** UIDs and GIDs are 0 to 2147483647 (validation.go, IsValidUserID and IsValidGroupID). */
function checkIds(ctx: unknown, path: () => Path, report: Report): void {
  if (ctx === null || typeof ctx !== 'object') return;
  const c = ctx as Record<string, unknown>;
  for (const field of ['runAsUser', 'runAsGroup', 'fsGroup']) {
    const v = c[field];
    if (typeof v === 'number' && Number.isInteger(v) && (v < 0 || v > INT32_MAX)) {
      report(
        child(path(), field),
        `${v} is not a valid ${field === 'runAsUser' ? 'user' : 'group'} ID`,
        `use a whole number from 0 to ${INT32_MAX}`,
      );
    }
  }
}

const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);

/** Where a kind keeps its pod template. */
function podTemplate(
  kind: string,
  obj: Record<string, unknown>,
): [Record<string, unknown> | undefined, string] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const o = obj as any;
  if (kind === 'Pod') return [o, ''];
  if (kind === 'CronJob') return [o.spec?.jobTemplate?.spec?.template, 'spec.jobTemplate.spec.template'];
  if (WORKLOADS.has(kind)) return [o.spec?.template, 'spec.template'];
  return [undefined, ''];
}

/** The kinds whose `spec.selector` must select their own pod template (apps/v1 validation). */
const SELECTING = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet']);

/**
 * Whether a LabelSelector selects `labels`: every matchLabels entry equal, every matchExpression
 * (In, NotIn, Exists, DoesNotExist) satisfied, as metav1.LabelSelectorAsSelector reads it.
 */
function selects(selector: Record<string, unknown>, labels: Record<string, unknown>): boolean {
  const has = (k: string) => Object.hasOwn(labels, k);
  for (const [k, v] of Object.entries((selector.matchLabels ?? {}) as Record<string, unknown>)) {
    if (!has(k) || labels[k] !== v) return false;
  }
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions : [];
  for (const e of expressions as { key?: string; operator?: string; values?: unknown[] }[]) {
    const key = String(e?.key);
    const values = Array.isArray(e?.values) ? e.values : [];
    const ok =
      e?.operator === 'In'
        ? has(key) && values.includes(labels[key])
        : e?.operator === 'NotIn'
          ? !has(key) || !values.includes(labels[key])
          : e?.operator === 'Exists'
            ? has(key)
            : e?.operator === 'DoesNotExist'
              ? !has(key)
              : false;
    if (!ok) return false;
  }
  return true;
}

/**
 * A workload's selector must be non-empty and select its own pod template, or the API server
 * refuses it ("empty selector is invalid for deployment", "`selector` does not match template
 * `labels`": ValidateDeploymentSpec, ValidateStatefulSetSpec, ValidateDaemonSetSpec and
 * ValidateReplicaSetSpec in pkg/apis/apps/validation/validation.go). A JSON patch that edits either
 * side alone (an `app` label removed from the template) gets here.
 */
function checkSelector(spec: Record<string, unknown> | undefined, report: Report): void {
  const selector = spec?.selector;
  if (typeof selector !== 'object' || selector === null || Array.isArray(selector)) return;
  const sel = selector as Record<string, unknown>;
  const empty =
    Object.keys((sel.matchLabels ?? {}) as object).length === 0 &&
    !(Array.isArray(sel.matchExpressions) && sel.matchExpressions.length > 0);
  if (empty) {
    report(
      'spec.selector',
      'is empty, and the API server refuses an empty selector',
      'select the pods by their app and version labels',
    );
    return;
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const labels = ((spec as any).template?.metadata?.labels ?? {}) as Record<string, unknown>;
  if (!selects(sel, labels)) {
    report(
      'spec.template.metadata.labels',
      'do not match spec.selector, and the API server refuses a workload whose selector does not select its own pods',
      'give the pod template every label the selector asks for, or patch both together',
    );
  }
}

/**
 * A workload's own numbers (ValidateDeploymentSpec, ValidateStatefulSetSpec in apps validation):
 * counts that cannot be negative, a progress deadline after minReadySeconds, and no rollingUpdate
 * with the Recreate strategy.
 */
function checkWorkloadSpec(kind: string, spec: Record<string, unknown>, report: Report): void {
  for (const field of ['replicas', 'minReadySeconds', 'revisionHistoryLimit']) {
    const v = spec[field];
    // A fraction is the schema's to report (an integer field).
    if (Number.isInteger(v) && (v as number) < 0)
      report(`spec.${field}`, `${String(v)} is negative`, 'use 0 or more');
  }
  // "activeDeadlineSeconds in ReplicaSet (StatefulSet, DaemonSet) is not Supported" (apps
  // validation): a pod that ends at a deadline is a Job's, never a long-running workload's.
  const template = (spec.template as { spec?: Record<string, unknown> } | undefined)?.spec;
  if (template?.activeDeadlineSeconds !== undefined && template.activeDeadlineSeconds !== null) {
    report(
      'spec.template.spec.activeDeadlineSeconds',
      `is set, which the API server refuses for a ${kind} (its pods run until replaced)`,
      'remove it; a pod that must end by a deadline belongs in a Job (MeshJob activeDeadline)',
    );
  }
  if (kind !== 'Deployment') return;
  const deadline = spec.progressDeadlineSeconds;
  const minReady = typeof spec.minReadySeconds === 'number' ? spec.minReadySeconds : 0;
  if (typeof deadline === 'number' && deadline <= minReady) {
    report(
      'spec.progressDeadlineSeconds',
      `${deadline} is not above minReadySeconds (${minReady}), which the API server refuses`,
      'give the rollout more time than minReadySeconds',
    );
  }
  const strategy = spec.strategy as { type?: string; rollingUpdate?: unknown } | undefined;
  if (strategy?.type === 'Recreate' && strategy.rollingUpdate !== undefined) {
    report(
      'spec.strategy.rollingUpdate',
      'is set with the Recreate strategy, which the API server refuses',
      'remove rollingUpdate, or use RollingUpdate',
    );
  }
}

/** The API server's name and value rules for one object. */
export function checkApiServerRules(obj: Record<string, unknown>, report: Report): void {
  const kind = String(obj.kind);
  const meta = (obj.metadata ?? {}) as Record<string, unknown>;
  checkName(kind, meta.name, report);
  if (meta.namespace !== undefined && (typeof meta.namespace !== 'string' || !isDnsLabel(meta.namespace))) {
    report(
      'metadata.namespace',
      `${JSON.stringify(meta.namespace)} is not a valid namespace name`,
      'use a DNS-1123 label',
    );
  }
  checkMetadata(meta, 'metadata', report);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const spec = (obj as any).spec;
  if (kind === 'Service' && obj.apiVersion === 'v1') checkLabels(spec?.selector, 'spec.selector', report);
  if (SELECTING.has(kind)) checkSelector(spec as Record<string, unknown> | undefined, report);
  if (SELECTING.has(kind) && spec && typeof spec === 'object')
    checkWorkloadSpec(kind, spec as Record<string, unknown>, report);
  if (kind === 'Job') checkGoSeconds(spec?.activeDeadlineSeconds, 'spec.activeDeadlineSeconds', report);
  if (kind === 'CronJob') {
    const deadline = spec?.jobTemplate?.spec?.activeDeadlineSeconds;
    checkGoSeconds(deadline, 'spec.jobTemplate.spec.activeDeadlineSeconds', report);
  }
  const [template, at] = podTemplate(kind, obj);
  if (template) {
    if (kind !== 'Pod') checkMetadata(template.metadata as Record<string, unknown>, `${at}.metadata`, report);
    const claims =
      kind === 'StatefulSet' && Array.isArray(spec?.volumeClaimTemplates)
        ? (spec.volumeClaimTemplates as { metadata?: { name?: unknown } }[])
            .map((c) => c?.metadata?.name)
            .filter((n): n is string => typeof n === 'string')
        : [];
    const restart =
      kind === 'Job' || kind === 'CronJob' ? ['OnFailure', 'Never'] : kind === 'Pod' ? undefined : ['Always'];
    checkPodSpec(
      template.spec as Record<string, unknown>,
      at ? `${at}.spec` : 'spec',
      report,
      claims,
      restart,
    );
  }
}
