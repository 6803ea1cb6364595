/**
 * HorizontalPodAutoscaler metrics and behavior
 * (https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/).
 *
 * The mesh trap: a `Resource` metric's utilization is the pods' summed usage over their summed
 * requests, across every container, the injected istio-proxy included. The proxy requests 100m CPU
 * and 128Mi and mostly idles, so it dilutes the app's utilization (an app at 100% of a 50m request
 * next to an idle proxy reads as 50/150, about 33%) and the HPA scales late or never. Kubernetes' answer is the
 * `ContainerResource` metric, which targets one container's usage and request ("Container resource
 * metrics", GA in Kubernetes 1.30:
 * https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#container-resource-metrics).
 * So in sidecar namespaces CPU and memory targets are ContainerResource metrics of the app
 * container; in ambient namespaces pods have no proxy container, and Resource is the same thing.
 */
import type { Duration } from 'cdk8s';
import * as k8s from 'cdk8s-plus-27/lib/imports/k8s.js';
import { checkInput } from '../input.js';
import type { Problems } from '../validation.js';
import { exactThousandths, QUANTITY, quantityValue } from '../quantity.js';
import { INT64_LIMIT } from '../limits.js';

/** How fast the autoscaler may change the replica count. */
export interface ScalingBehavior {
  /**
   * How long the autoscaler looks back before it scales down, taking the highest recommendation
   * of that window, so a brief dip does not remove pods that are needed a minute later.
   * @default Kubernetes' 300 seconds
   */
  readonly scaleDownStabilization?: Duration;
  /**
   * The same for scaling up.
   * @default Kubernetes' 0 seconds: scale up at once
   */
  readonly scaleUpStabilization?: Duration;
}

export interface Autoscaling {
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /**
   * Target average CPU utilization of the app container, in percent of its CPU request.
   * @default 80 when no other metric is set, else none
   */
  readonly cpuUtilization?: number;
  /**
   * Target average memory utilization of the app container, in percent of its memory request.
   * @default none
   */
  readonly memoryUtilization?: number;
  /**
   * Custom (per-pod) and external metrics, e.g. `ScalingMetric.pods("http_requests_per_second", 100)`.
   * @default none
   */
  readonly metrics?: readonly ScalingMetric[];
  /**
   * Stabilization windows.
   * @default Kubernetes' (scale down after 300 s of lower recommendations)
   */
  readonly behavior?: ScalingBehavior;
}

type MetricSource =
  | { readonly type: 'Pods'; readonly name: string; readonly averageValue: number | string }
  | {
      readonly type: 'External';
      readonly name: string;
      readonly averageValue: number | string;
      readonly selector?: Record<string, string>;
    };

/** A custom or external metric for the autoscaler, served by a metrics adapter (e.g. Prometheus Adapter, KEDA). */
export class ScalingMetric {
  /**
   * A custom metric of each pod (custom.metrics.k8s.io), averaged across the pods, e.g.
   * requests per second; scales so the average stays at `averageValue`.
   */
  public static pods(name: string, averageValue: number | string): ScalingMetric {
    checkInput.workloadValue('ScalingMetric.pods', { metricName: name, averageValue });
    return new ScalingMetric({ type: 'Pods', name, averageValue });
  }

  /**
   * A metric from outside the cluster (external.metrics.k8s.io), e.g. a queue's length; `target` is
   * per replica (`AverageValue`): the autoscaler runs value / target pods.
   */
  public static external(
    name: string,
    target: number | string,
    selector?: Record<string, string>,
  ): ScalingMetric {
    checkInput.workloadValue('ScalingMetric.external', { metricName: name, averageValue: target, selector });
    return new ScalingMetric({ type: 'External', name, averageValue: target, selector });
  }

  private constructor(private readonly source: MetricSource) {}

  /** @internal */
  public _toKube(): k8s.MetricSpecV2 {
    const s = this.source;
    const target = { type: 'AverageValue', averageValue: quantity(s.averageValue) };
    if (s.type === 'Pods') return { type: 'Pods', pods: { metric: { name: s.name }, target } };
    return {
      type: 'External',
      external: {
        metric: { name: s.name, ...(s.selector ? { selector: { matchLabels: { ...s.selector } } } : {}) },
        target,
      },
    };
  }

  /** @internal */
  public _validate(p: Problems, field: string): void {
    const s = this.source;
    if (!/^[a-zA-Z0-9_.:/-]+$/.test(s.name)) {
      p.add(
        `${field}.name`,
        `${JSON.stringify(s.name)} is not a metric name`,
        'use e.g. "http_requests_per_second"',
      );
    }
    const v = s.averageValue;
    const shown = typeof v === 'number' ? String(v) : JSON.stringify(v);
    // 0 * 10**400 is NaN, so "0e400" is no positive quantity either.
    if (
      typeof v === 'number'
        ? !(v > 0) || !Number.isFinite(v)
        : !QUANTITY.test(v) || !((quantityValue(v) ?? 0) > 0)
    ) {
      p.add(`${field}.target`, `${shown} is not a positive quantity`, 'use e.g. 100 or "500m"');
      return;
    }
    // The HPA controller reads a target as an int64 of thousandths, rounded up (MilliValue() in
    // computeStatusForPodsMetric and computeStatusForExternalMetric, kubernetes/kubernetes
    // pkg/controller/podautoscaler/horizontal.go): a finer target silently acts as the next
    // thousandth, and a larger one overflows the int64 ("MilliValue returns the value of
    // ceil(q * 1000); this could overflow an int64", k8s.io/apimachinery/pkg/api/resource/quantity.go).
    const value = quantityValue(v)!;
    // (2^63 - 1) / 1000: a float cannot tell 2^63 - 1 from 2^63.
    if (value > INT64_LIMIT / 1000) {
      p.add(
        `${field}.target`,
        `${shown} is above 9223372036854775, the largest target the HPA can read (it holds targets as an int64 of thousandths, which this overflows)`,
        'use a smaller target, or a metric in larger units',
      );
    } else {
      // Exactly, on the digits: in floating point "4.1G" is not a whole number of thousandths.
      // Below a thousandth (however many digits) it acts as one.
      const tiny = value < 0.001;
      const t = tiny ? undefined : exactThousandths(v);
      if (tiny || (t !== undefined && t.numerator % t.denominator !== 0n)) {
        const actsAs = t === undefined ? 1n : (t.numerator + t.denominator - 1n) / t.denominator;
        p.add(
          `${field}.target`,
          `${shown} is finer than the thousandths the HPA reads targets in, so it would act as ${Number(actsAs) / 1000}`,
          'round it to a multiple of 0.001 (written "1m"), or use a metric in smaller units',
        );
      }
    }
  }

  /** @internal What the HPA tells metrics apart by: kind, name and selector. */
  public get _identity(): string {
    const s = this.source;
    const selector = s.type === 'External' && s.selector ? Object.entries(s.selector).sort() : [];
    return JSON.stringify([s.type, s.name, selector]);
  }

  /** @internal */
  public get _description(): string {
    return `${this.source.type} metric "${this.source.name}"`;
  }
}

function quantity(v: number | string): k8s.Quantity {
  return typeof v === 'number' ? k8s.Quantity.fromNumber(v) : k8s.Quantity.fromString(v);
}

/** The HPA's metrics: app-container CPU and memory (see the module comment), then custom ones. */
export function renderMetrics(a: Autoscaling, container: string, sidecar: boolean): k8s.MetricSpecV2[] {
  const resource = (name: string, utilization: number): k8s.MetricSpecV2 => {
    const target = { type: 'Utilization', averageUtilization: utilization };
    return sidecar
      ? { type: 'ContainerResource', containerResource: { name, container, target } }
      : { type: 'Resource', resource: { name, target } };
  };
  const custom = a.metrics ?? [];
  const cpu = a.cpuUtilization ?? (a.memoryUtilization === undefined && custom.length === 0 ? 80 : undefined);
  return [
    ...(cpu !== undefined ? [resource('cpu', cpu)] : []),
    ...(a.memoryUtilization !== undefined ? [resource('memory', a.memoryUtilization)] : []),
    ...custom.map((m) => m._toKube()),
  ];
}

/** The HPA's `behavior`, or undefined when none is set. */
export function renderBehavior(
  b: ScalingBehavior | undefined,
): k8s.HorizontalPodAutoscalerBehaviorV2 | undefined {
  if (!b || (b.scaleDownStabilization === undefined && b.scaleUpStabilization === undefined))
    return undefined;
  const rules = (d: Duration | undefined) =>
    d === undefined ? undefined : { stabilizationWindowSeconds: d.toSeconds({ integral: false }) };
  return { scaleDown: rules(b.scaleDownStabilization), scaleUp: rules(b.scaleUpStabilization) };
}

/** Checks an `autoscaling` prop. */
export function validateAutoscaling(a: Autoscaling, field: string, p: Problems): void {
  p.positiveInt(`${field}.minReplicas`, a.minReplicas);
  p.positiveInt(`${field}.maxReplicas`, a.maxReplicas);
  if (a.maxReplicas < a.minReplicas) {
    p.add(
      `${field}.maxReplicas`,
      `${a.maxReplicas} is below minReplicas ${a.minReplicas}`,
      'make maxReplicas at least minReplicas',
    );
  }
  for (const key of ['cpuUtilization', 'memoryUtilization'] as const) {
    const v = a[key];
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) {
      p.add(`${field}.${key}`, `${v} is not a whole percentage of 1 or more`, 'use e.g. 80');
    }
  }
  const identities = new Map<string, number>();
  a.metrics?.forEach((m, i) => {
    m._validate(p, `${field}.metrics[${i}]`);
    // The HPA proposes a replica count per metric and takes the largest (computeReplicasForMetrics
    // in pkg/controller/podautoscaler/horizontal.go): of two targets for one metric only the lower
    // ever counts, and the other is dead configuration the API server accepts without a word.
    const first = identities.get(m._identity);
    if (first !== undefined) {
      p.add(
        `${field}.metrics[${i}]`,
        `the ${m._description} is already metrics[${first}], and the HPA follows only the lower of two targets for one metric`,
        'keep one target per metric',
      );
    } else identities.set(m._identity, i);
  });
  // The API server's limit for stabilizationWindowSeconds: 0 to 3600.
  p.wholeSeconds(`${field}.behavior.scaleDownStabilization`, a.behavior?.scaleDownStabilization, 0, 3600);
  p.wholeSeconds(`${field}.behavior.scaleUpStabilization`, a.behavior?.scaleUpStabilization, 0, 3600);
}
