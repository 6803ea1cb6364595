/**
 * Where a workload's pods may run: node selection, tolerations of taints, node affinity, pod
 * anti-affinity and topology spread
 * (https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/,
 * https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/).
 */
import type { k8s } from 'cdk8s-plus-27';
import { checkInput } from '../input.js';
import { qualifiedNameProblem, isLabelValue } from '../k8s-names.js';
import type { Problems } from '../validation.js';

/** A taint's effect. */
export enum TaintEffect {
  NO_SCHEDULE = 'NoSchedule',
  PREFER_NO_SCHEDULE = 'PreferNoSchedule',
  NO_EXECUTE = 'NoExecute',
}

/** Lets pods onto nodes tainted with a key (and value). */
export class Toleration {
  /** Tolerates every taint with `key`, whatever its value; with the key `""`, every taint at all. */
  public static exists(key: string, effect?: TaintEffect): Toleration {
    checkInput.workloadValue('Toleration.exists', { key, effect });
    return new Toleration(key, 'Exists', undefined, effect);
  }

  /** Tolerates the taint `key=value`. */
  public static equal(key: string, value: string, effect?: TaintEffect): Toleration {
    checkInput.workloadValue('Toleration.equal', { key, value, effect });
    return new Toleration(key, 'Equal', value, effect);
  }

  private constructor(
    public readonly key: string,
    public readonly operator: 'Exists' | 'Equal',
    public readonly value: string | undefined,
    public readonly effect: TaintEffect | undefined,
  ) {}

  /** @internal */
  public _toKube(): k8s.Toleration {
    return {
      key: this.key,
      operator: this.operator,
      ...(this.value !== undefined ? { value: this.value } : {}),
      ...(this.effect !== undefined ? { effect: this.effect } : {}),
    };
  }

  /** @internal */
  public _validate(p: Problems, field: string): void {
    // An empty key with Exists tolerates every taint, which the API server accepts ("If the key is
    // empty, operator must be Exists; this combination means to match all values and all keys",
    // https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#scheduling).
    if (this.key !== '' || this.operator !== 'Exists') validateLabelKey(p, `${field}.key`, this.key);
    if (this.value !== undefined && !isLabelValue(this.value)) {
      p.add(
        `${field}.value`,
        `${JSON.stringify(this.value)} is not a taint value`,
        'use at most 63 letters, digits, "-", "_" and "."',
      );
    }
  }
}

/** One requirement on a node label, for node affinity. */
export class NodeLabelQuery {
  /** The label's value is one of `values`. */
  public static in(key: string, values: readonly string[]): NodeLabelQuery {
    checkInput.workloadValue('NodeLabelQuery.in', { key, values });
    return new NodeLabelQuery(key, 'In', values);
  }
  /** The label's value is none of `values` (or the label is missing). */
  public static notIn(key: string, values: readonly string[]): NodeLabelQuery {
    checkInput.workloadValue('NodeLabelQuery.notIn', { key, values });
    return new NodeLabelQuery(key, 'NotIn', values);
  }
  /** The node has the label. */
  public static exists(key: string): NodeLabelQuery {
    checkInput.workloadValue('NodeLabelQuery.exists', { key });
    return new NodeLabelQuery(key, 'Exists');
  }
  /** The node lacks the label. */
  public static doesNotExist(key: string): NodeLabelQuery {
    checkInput.workloadValue('NodeLabelQuery.doesNotExist', { key });
    return new NodeLabelQuery(key, 'DoesNotExist');
  }

  private constructor(
    public readonly key: string,
    public readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist',
    public readonly values?: readonly string[],
  ) {}

  /** @internal */
  public _toKube(): k8s.NodeSelectorRequirement {
    return { key: this.key, operator: this.operator, ...(this.values ? { values: [...this.values] } : {}) };
  }

  /** @internal */
  public _validate(p: Problems, field: string): void {
    // Unlike a toleration's, a node selector requirement's key must be a label key
    // (validateNodeSelectorRequirement in the API server's pod validation): no empty key.
    validateLabelKey(p, `${field}.key`, this.key);
    if (this.values && this.values.length === 0) {
      p.add(
        `${field}.values`,
        `is empty, and the API server requires values for ${this.operator}`,
        'give at least one value',
      );
    }
    this.values?.forEach((v, i) => {
      if (!isLabelValue(v))
        p.add(
          `${field}.values[${i}]`,
          `${JSON.stringify(v)} is not a label value`,
          'use at most 63 letters, digits, "-", "_" and "."',
        );
    });
  }
}

/** Nodes the pods must, or should, run on. */
export interface NodeAffinity {
  /**
   * Every query must hold for a node to run the pods (`requiredDuringSchedulingIgnoredDuringExecution`).
   * @default none
   */
  readonly required?: readonly NodeLabelQuery[];
  /**
   * Nodes that match are preferred, by weight (1–100).
   * @default none
   */
  readonly preferred?: readonly { readonly weight: number; readonly match: readonly NodeLabelQuery[] }[];
}

/** Keeps a service's pods apart (on different nodes, by default). */
export interface PodAntiAffinity {
  /**
   * The domain the pods are kept apart in.
   * @default "kubernetes.io/hostname": one pod per node
   */
  readonly topologyKey?: string;
  /**
   * Refuse to schedule rather than share a domain (`required…`); a pod then stays Pending once
   * every domain has one.
   * @default false: preferred, with weight 100
   */
  readonly required?: boolean;
  /**
   * Whose pods are kept apart: all of the service's versions, or each version's own.
   * @default "service"
   */
  readonly scope?: 'service' | 'version';
}

/** Options of a topology spread constraint. */
export interface TopologySpreadOptions {
  /**
   * The most the pod counts of two domains may differ by.
   * @default 1
   */
  readonly maxSkew?: number;
  /**
   * Refuse to schedule (`DoNotSchedule`) rather than spread as well as possible (`ScheduleAnyway`).
   * @default false: ScheduleAnyway, so a zone outage or a full node never blocks scaling
   */
  readonly required?: boolean;
}

/** Spreads a version's pods evenly across a topology domain (zones, nodes). */
export class TopologySpread {
  /** Across zones (`topology.kubernetes.io/zone`). */
  public static acrossZones(options: TopologySpreadOptions = {}): TopologySpread {
    checkInput.workloadValue('TopologySpread.acrossZones', { spreadOptions: options });
    return new TopologySpread('topology.kubernetes.io/zone', options);
  }
  /** Across nodes (`kubernetes.io/hostname`). */
  public static acrossNodes(options: TopologySpreadOptions = {}): TopologySpread {
    checkInput.workloadValue('TopologySpread.acrossNodes', { spreadOptions: options });
    return new TopologySpread('kubernetes.io/hostname', options);
  }
  /** Across the values of any node label. */
  public static across(topologyKey: string, options: TopologySpreadOptions = {}): TopologySpread {
    checkInput.workloadValue('TopologySpread.across', { topologyKey, spreadOptions: options });
    return new TopologySpread(topologyKey, options);
  }

  private constructor(
    public readonly topologyKey: string,
    private readonly options: TopologySpreadOptions,
  ) {}

  /** @internal `revisionLabel`: the label of a pod's revision, which the spread counts within. */
  public _toKube(podLabels: Record<string, string>, revisionLabel?: string): k8s.TopologySpreadConstraint {
    return {
      maxSkew: this.options.maxSkew ?? 1,
      topologyKey: this.topologyKey,
      whenUnsatisfiable: this.options.required ? 'DoNotSchedule' : 'ScheduleAnyway',
      labelSelector: { matchLabels: { ...podLabels } },
      ...(revisionLabel ? { matchLabelKeys: [revisionLabel] } : {}),
    };
  }

  /** @internal */
  public _validate(p: Problems, field: string): void {
    validateLabelKey(p, `${field}.topologyKey`, this.topologyKey);
    p.positiveInt(`${field}.maxSkew`, this.options.maxSkew);
  }
}

/** Where the pods run. */
export interface Scheduling {
  /**
   * Node labels a node must carry.
   * @default none
   */
  readonly nodeSelector?: Record<string, string>;
  /**
   * Taints the pods tolerate.
   * @default none
   */
  readonly tolerations?: readonly Toleration[];
  /**
   * Required and preferred node labels.
   * @default none
   */
  readonly nodeAffinity?: NodeAffinity;
  /**
   * Keep the pods apart from each other.
   * @default none (the default topology spread already spreads them)
   */
  readonly podAntiAffinity?: PodAntiAffinity;
  /**
   * Topology spread constraints of each version's pods; `false` for none.
   * @default for more than one replica (or autoscaling): across zones and across nodes, maxSkew 1, ScheduleAnyway
   */
  readonly topologySpread?: readonly TopologySpread[] | false;
}

let defaultSpread: readonly TopologySpread[] | undefined;

/**
 * The default spread of a workload with more than one pod. TopologySpread is immutable, so the two
 * are made (and their constant options checked) once, not once per version.
 */
export function defaultTopologySpread(): TopologySpread[] {
  defaultSpread ??= [TopologySpread.acrossZones(), TopologySpread.acrossNodes()];
  return [...defaultSpread];
}

/**
 * The scheduling fields of a pod spec. `podLabels` select the pods a spread counts (a version's),
 * `serviceLabels` those anti-affinity keeps apart by default (all versions'); `replicated` is
 * whether the workload runs more than one pod, which turns the default spread on. `revisionLabel`
 * is the label its controller gives each revision's pods (`pod-template-hash` of a Deployment,
 * `controller-revision-hash` of a StatefulSet): spreads count within it (`matchLabelKeys`), or
 * during a rollout the old pods skew where the new ones go
 * (https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/).
 */
export function renderScheduling(
  s: Scheduling | undefined,
  podLabels: Record<string, string>,
  serviceLabels: Record<string, string>,
  replicated: boolean,
  revisionLabel?: string,
): Pick<k8s.PodSpec, 'nodeSelector' | 'tolerations' | 'affinity' | 'topologySpreadConstraints'> {
  const out: { -readonly [K in keyof k8s.PodSpec]?: k8s.PodSpec[K] } = {};
  if (s?.nodeSelector && Object.keys(s.nodeSelector).length > 0) out.nodeSelector = { ...s.nodeSelector };
  if (s?.tolerations && s.tolerations.length > 0) out.tolerations = s.tolerations.map((t) => t._toKube());
  const affinity: { -readonly [K in keyof k8s.Affinity]?: k8s.Affinity[K] } = {};
  const na = s?.nodeAffinity;
  if (na && (na.required?.length || na.preferred?.length)) {
    affinity.nodeAffinity = {
      ...(na.required?.length
        ? {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: na.required.map((q) => q._toKube()) }],
            },
          }
        : {}),
      ...(na.preferred?.length
        ? {
            preferredDuringSchedulingIgnoredDuringExecution: na.preferred.map((pref) => ({
              weight: pref.weight,
              preference: { matchExpressions: pref.match.map((q) => q._toKube()) },
            })),
          }
        : {}),
    };
  }
  const aa = s?.podAntiAffinity;
  if (aa) {
    const term = {
      labelSelector: { matchLabels: { ...(aa.scope === 'version' ? podLabels : serviceLabels) } },
      topologyKey: aa.topologyKey ?? 'kubernetes.io/hostname',
    };
    affinity.podAntiAffinity = aa.required
      ? { requiredDuringSchedulingIgnoredDuringExecution: [term] }
      : { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] };
  }
  if (Object.keys(affinity).length > 0) out.affinity = affinity;
  const spread =
    s?.topologySpread === false ? [] : (s?.topologySpread ?? (replicated ? defaultTopologySpread() : []));
  if (spread.length > 0)
    out.topologySpreadConstraints = spread.map((t) => t._toKube(podLabels, revisionLabel));
  return out;
}

/** Checks a `scheduling` prop. */
export function validateScheduling(s: Scheduling | undefined, field: string, p: Problems): void {
  if (!s) return;
  for (const [key, value] of Object.entries(s.nodeSelector ?? {})) {
    validateLabelKey(p, `${field}.nodeSelector[${JSON.stringify(key)}]`, key);
    if (!isLabelValue(value)) {
      p.add(
        `${field}.nodeSelector[${JSON.stringify(key)}]`,
        `${JSON.stringify(value)} is not a label value`,
        'use at most 63 letters, digits, "-", "_" and "."',
      );
    }
  }
  s.tolerations?.forEach((t, i) => t._validate(p, `${field}.tolerations[${i}]`));
  const na = s.nodeAffinity;
  na?.required?.forEach((q, i) => q._validate(p, `${field}.nodeAffinity.required[${i}]`));
  na?.preferred?.forEach((pref, i) => {
    const f = `${field}.nodeAffinity.preferred[${i}]`;
    if (!Number.isInteger(pref.weight) || pref.weight < 1 || pref.weight > 100) {
      p.add(
        `${f}.weight`,
        `${pref.weight} is not a weight from 1 to 100`,
        'use a whole number from 1 to 100',
      );
    }
    if (pref.match.length === 0)
      p.add(`${f}.match`, 'is empty, so it prefers every node', 'give at least one NodeLabelQuery');
    pref.match.forEach((q, j) => q._validate(p, `${f}.match[${j}]`));
  });
  if (s.podAntiAffinity?.topologyKey !== undefined) {
    validateLabelKey(p, `${field}.podAntiAffinity.topologyKey`, s.podAntiAffinity.topologyKey);
  }
  if (s.topologySpread) {
    const keys = new Map<string, number>();
    s.topologySpread.forEach((t, i) => {
      t._validate(p, `${field}.topologySpread[${i}]`);
      const other = keys.get(t.topologyKey);
      if (other !== undefined) {
        // The API server refuses two constraints with one topologyKey and whenUnsatisfiable; one
        // key twice is a mistake either way.
        p.add(
          `${field}.topologySpread[${i}]`,
          `spreads across "${t.topologyKey}" like topologySpread[${other}]`,
          'keep one constraint per topology key',
        );
      }
      keys.set(t.topologyKey, i);
    });
  }
}

function validateLabelKey(p: Problems, field: string, key: string): void {
  const problem = qualifiedNameProblem(key);
  if (problem)
    p.add(
      field,
      `${JSON.stringify(key)} is not a label key: it ${problem}`,
      'use e.g. "topology.kubernetes.io/zone"',
    );
}
