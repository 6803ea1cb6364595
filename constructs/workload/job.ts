/**
 * Batch work in the mesh: a Job, or a CronJob with a schedule, whose pods have the mesh's identity,
 * a scoped Sidecar and authorization at the services they call, and that complete.
 *
 * The mesh trap: a classic sidecar is an ordinary container that never exits, so a Job's pod keeps
 * running after its work is done and the Job never completes. Istio 1.30 injects the proxy as a
 * Kubernetes native sidecar (an init container with `restartPolicy: Always`, GA in Kubernetes 1.33)
 * when the pod says `sidecar.istio.io/nativeSidecar: "true"`; the kubelet then stops it once the
 * job's container has exited, and starts it before the other containers, so the job's first calls
 * find a ready proxy (https://istio.io/latest/blog/2023/native-sidecars/,
 * https://istio.io/latest/docs/reference/config/annotations/ `sidecar.istio.io/nativeSidecar`, which
 * Istio 1.30.3's injection template reads ahead of the mesh-wide ENABLE_NATIVE_SIDECARS,
 * https://kubernetes.io/docs/concepts/workloads/pods/sidecar-containers/#sidecar-containers-and-pod-lifecycle).
 * MeshJob sets it on every pod of a sidecar namespace; ambient pods have no sidecar and complete
 * without it.
 */
import { ApiObject, type Duration } from 'cdk8s';
import * as k8s from 'cdk8s-plus-27/lib/imports/k8s.js';
import { Construct } from 'constructs';
import type { Sidecar } from '../../imports/networking.istio.io.js';
import { checkInput, constructId } from '../input.js';
import type { MeshNamespace } from '../mesh-namespace.js';
import {
  type CallTarget,
  claimServiceAccount,
  type MeshCaller,
  Microservice,
  scopedSidecar,
  sidecarEgressHosts,
} from '../microservice.js';
import { MeshRegistry } from '../registry.js';
import type { CallOptions } from '../security.js';
import { GO_DURATION_MAX_SECONDS, type Problems, validateWith } from '../validation.js';
import { type Resources, validateResources, validateSidecarResources } from '../values.js';
import { type EnvFrom, type EnvMap, validateArgv } from './env.js';
import {
  DEFAULT_UID,
  renderPodTemplate,
  type SidecarProxyOptions,
  validatePodTemplate,
  validateRunAsUser,
} from './pod.js';
import type { Scheduling } from './scheduling.js';
import type { Mount } from './volume.js';

export interface MeshJobProps {
  /** The mesh namespace the job runs in. */
  readonly namespace: MeshNamespace;
  /**
   * The job's name: its pods' `app` label, its Sidecar's and its ServiceAccount's default name.
   * @default the construct id
   */
  readonly name?: string;
  /**
   * The Job's (or CronJob's) object name, when it must change while the job's identity stays: a
   * Job's pod template is immutable, so a job that runs once per release (a migration) is named per
   * release, e.g. after its image, while its `app` label, Sidecar and ServiceAccount keep `name`.
   * @default `name`
   */
  readonly jobName?: string;
  /** The container image. */
  readonly image: string;
  /** @default the image's entrypoint */
  readonly command?: readonly string[];
  /** @default the image's */
  readonly args?: readonly string[];
  /**
   * Environment variables: strings, or `EnvValue.fromSecret(...)` and the like.
   * @default none
   */
  readonly env?: EnvMap;
  /** @default none */
  readonly envFrom?: readonly EnvFrom[];
  /**
   * Volumes mounted into the job's container.
   * @default none besides /tmp
   */
  readonly mounts?: readonly Mount[];
  /** @default requests 50m CPU and 64Mi memory, limits 500m and 256Mi */
  readonly resources?: Resources;
  /**
   * The ServiceAccount's name: the job's identity in the mesh, which the services it calls admit.
   * @default the job's name
   */
  readonly serviceAccountName?: string;
  /**
   * The UID (and GID) the job runs as. Never 1337, which is the proxy's.
   * @default 10001
   */
  readonly runAsUser?: number;
  /** @default none */
  readonly scheduling?: Scheduling;
  /**
   * A cron schedule ("0 3 * * *"): a CronJob that creates the Job on schedule; without it, one Job.
   * @default none: a Job
   */
  readonly schedule?: string;
  /**
   * For a CronJob: whether a run may start while the previous one is still running.
   * @default "Forbid": batch runs that overlap (two migrations, two exports) are rarely intended
   */
  readonly concurrencyPolicy?: 'Allow' | 'Forbid' | 'Replace';
  /**
   * Retries before the Job is marked failed.
   * @default Kubernetes' 6
   */
  readonly backoffLimit?: number;
  /**
   * How long the Job may run, retries included, before it is stopped and failed.
   * @default no limit
   */
  readonly activeDeadline?: Duration;
  /**
   * How long a finished Job (and its pods) is kept before Kubernetes deletes it.
   * @default kept until deleted (a CronJob keeps its last runs by its history limits)
   */
  readonly ttlAfterFinished?: Duration;
  /**
   * Sidecar proxy settings (sidecar namespaces only). `nativeSidecar` must stay true (the default):
   * a classic sidecar never exits and the Job never completes.
   * @default native sidecar, the injector's resources
   */
  readonly sidecar?: SidecarProxyOptions;
}

/**
 * The API server parses a CronJob's schedule with robfig/cron's standard parser (`cron.ParseStandard`
 * in ValidateCronJobSpec, pkg/apis/batch/validation/validation.go) and refuses what it cannot parse:
 * five fields (minute hour day-of-month month day-of-week), each a list of `*`, `?`, a value or a
 * range, optionally with a positive `/step`, within the field's bounds (robfig/cron v3 parser.go:
 * minutes 0-59, hours 0-23, days 1-31, months 1-12 or JAN-DEC, weekdays 0-6 or SUN-SAT), or a
 * descriptor: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, `@every <duration>`.
 * Returns what is wrong, or undefined.
 */
function cronScheduleProblem(schedule: string): string | undefined {
  const spec = schedule.trim();
  if (spec.startsWith('@')) {
    if (/^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/.test(spec)) return undefined;
    // "@every " and then Go's time.ParseDuration of the rest (parseDescriptor in robfig/cron v3's
    // parser.go): one space, an optional sign, "0" or numbers with units (µs in either spelling).
    if (/^@every [-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h))+)$/.test(spec))
      return undefined;
    return 'is not a cron descriptor';
  }
  const fields = spec.split(/\s+/);
  if (fields.length !== 5) return `has ${spec === '' ? 0 : fields.length} fields, not 5`;
  const months = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
  const days = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
  const bounds: [string, number, number, readonly string[]][] = [
    ['minute', 0, 59, []],
    ['hour', 0, 23, []],
    ['day of the month', 1, 31, []],
    ['month', 1, 12, months],
    ['day of the week', 0, 6, days],
  ];
  for (let f = 0; f < 5; f++) {
    const [what, min, max, names] = bounds[f];
    const value = (v: string): number | undefined => {
      if (/^\d+$/.test(v)) return Number(v);
      const i = names.indexOf(v.toLowerCase());
      return i < 0 ? undefined : i + min;
    };
    for (const expr of fields[f].split(',')) {
      const [range, step, extra] = expr.split('/');
      const bad = `the ${what} "${fields[f]}"`;
      if (extra !== undefined || (step !== undefined && !/^\d+$/.test(step))) return `${bad} has a bad step`;
      if (step !== undefined && Number(step) === 0) return `${bad} has a step of 0`;
      if (range === '*' || range === '?') continue;
      const [low, high, more] = range.split('-');
      const start = value(low);
      const end = high === undefined ? start : value(high);
      if (more !== undefined || start === undefined || end === undefined)
        return `${bad} is not a value or a range`;
      if (start < min || end > max) return `${bad} is outside ${min}-${max}`;
      if (start > end) return `${bad} is a range that ends before it starts`;
    }
  }
  return undefined;
}

/**
 * A Job (or, with `schedule`, a CronJob) in the mesh: its ServiceAccount (its identity), a Sidecar
 * that scopes its egress to what it `calls`, and the native sidecar that lets it complete.
 */
export class MeshJob extends Construct implements MeshCaller {
  public readonly name: string;
  /** The Job's (or CronJob's) object name: `jobName`, else `name`. */
  public readonly jobName: string;
  public readonly namespace: MeshNamespace;
  public readonly serviceAccountName: string;

  /** The Job `<name>`; undefined for a CronJob. */
  public readonly job?: k8s.KubeJob;
  /** The CronJob `<name>`; undefined without `schedule`. */
  public readonly cronJob?: k8s.KubeCronJob;
  /**
   * The ServiceAccount `<serviceAccountName>`; undefined when a Microservice (or MeshJob) with the
   * same `serviceAccountName` in the namespace was declared first and declares it.
   */
  public readonly serviceAccount?: k8s.KubeServiceAccount;
  /** The Sidecar `<name>` that scopes the proxy's egress; undefined in an ambient namespace. */
  public readonly sidecar?: Sidecar;

  private readonly props: MeshJobProps;
  private readonly dependencies: Microservice<string>[] = [];
  private readonly targets: CallTarget[] = [];

  constructor(scope: Construct, id: string, props: MeshJobProps) {
    super(scope, constructId('MeshJob', scope, id));
    checkInput.meshJob(this, props);
    this.props = props;
    this.name = props.name ?? id;
    this.jobName = props.jobName ?? this.name;
    this.namespace = props.namespace;
    this.serviceAccountName = props.serviceAccountName ?? this.name;
    validateWith(this, (p) => this.validate(p));

    const ns = this.namespace.name;
    const labels = { app: this.name };
    const sidecarMode = !this.namespace.isAmbient;

    // A job that runs as a service's identity (a migration as "ledger") shares its ServiceAccount.
    if (!claimServiceAccount(this, ns, this.serviceAccountName, false)) {
      this.serviceAccount = new k8s.KubeServiceAccount(this, 'service-account', {
        metadata: { name: this.serviceAccountName, namespace: ns, labels },
        automountServiceAccountToken: false,
      });
    }

    const template = renderPodTemplate({
      containerName: this.name,
      podLabels: labels,
      serviceLabels: labels,
      image: props.image,
      imagePullPolicy: 'IfNotPresent',
      command: props.command,
      args: props.args,
      env: { ...props.env },
      envFrom: props.envFrom,
      resources: props.resources,
      runAsUser: props.runAsUser ?? DEFAULT_UID,
      mounts: props.mounts,
      serviceAccountName: this.serviceAccountName,
      mountServiceAccountToken: false,
      // A failed run is retried by the Job controller in a new pod (backoffLimit), not restarted in place.
      restartPolicy: 'Never',
      scheduling: props.scheduling,
      replicated: false,
      sidecarMode,
      sidecar: props.sidecar,
      nativeSidecarByDefault: true,
    });
    const jobSpec: k8s.JobSpec = {
      backoffLimit: props.backoffLimit,
      activeDeadlineSeconds: props.activeDeadline?.toSeconds({ integral: false }),
      ttlSecondsAfterFinished: props.ttlAfterFinished?.toSeconds({ integral: false }),
      template,
    };
    if (props.schedule !== undefined) {
      this.cronJob = new k8s.KubeCronJob(this, 'cron-job', {
        metadata: { name: this.jobName, namespace: ns, labels },
        spec: {
          // Trimmed: the API server's parser reads a descriptor only at the very start (" @daily" fails).
          schedule: props.schedule.trim(),
          concurrencyPolicy: props.concurrencyPolicy ?? 'Forbid',
          jobTemplate: { metadata: { labels }, spec: jobSpec },
        },
      });
    } else {
      this.job = new k8s.KubeJob(this, 'job', {
        metadata: { name: this.jobName, namespace: ns, labels },
        spec: jobSpec,
      });
    }

    if (sidecarMode) {
      this.sidecar = scopedSidecar(this, labels, () =>
        sidecarEgressHosts(this, [], this.dependencies, this.targets, undefined),
      );
    }

    for (const child of this.node.children) {
      if (child instanceof ApiObject) child.node.addDependency(this.namespace);
    }
  }

  /**
   * Declares that the job calls `target`: the target admits the job's identity (narrowed by
   * `options`), and the job's Sidecar can reach it, as `Microservice.calls` does.
   */
  public calls(target: Microservice<string> | CallTarget, options: CallOptions = {}): this {
    checkInput.calls(this, this.dependencies.length + this.targets.length, target, options);
    if (target instanceof Microservice) {
      this.dependencies.push(target);
      target.allowFrom({ principal: this.namespace.principal(this.serviceAccountName), ...options });
    } else {
      this.targets.push(target);
      target._addCaller(this, options);
    }
    return this;
  }

  private validate(p: Problems): void {
    const props = this.props;
    p.dnsLabel('name', this.name);
    if (props.jobName !== undefined) p.dnsLabel('jobName', props.jobName);
    // CronJobs name their Jobs "<name>-<minutes since epoch>" (11 more characters), and a Job's
    // name is also its pods' job-name label, at most 63 characters (ValidateCronJobSpec).
    if (props.schedule !== undefined && this.jobName.length > 52) {
      p.add(
        props.jobName !== undefined ? 'jobName' : 'name',
        `"${this.jobName}" is ${this.jobName.length} characters long, more than a CronJob's 52`,
        'shorten it',
      );
    }
    p.imageReference('image', props.image);
    // Its pods are labelled app=<name>: a service of that name would select them with its Sidecar,
    // policies and Service, and two Sidecars would select the same pods.
    for (const owner of MeshRegistry.of(this).serviceOwners(this.namespace.fqdn(this.name))) {
      p.add(
        'name',
        `"${this.name}" is also the name of ${owner.node.path} in namespace "${this.namespace.name}", whose Service, Sidecar and policies select pods labelled app=${this.name}`,
        `name the job differently, e.g. "${this.name}-job"`,
      );
    }
    p.serviceAccountName(
      'serviceAccountName',
      this.serviceAccountName,
      this.name,
      props.serviceAccountName === undefined,
    );
    validateRunAsUser(props.runAsUser, p);
    validateResources(props.resources, 'resources', p);
    validateArgv(props.command, 'command', p);
    validateArgv(props.args, 'args', p);
    if (props.sidecar) validateSidecarResources(props.sidecar, 'sidecar', p);
    if (this.namespace.isAmbient && props.sidecar) {
      p.add(
        'sidecar',
        `namespace "${this.namespace.name}" is ambient, so pods get no sidecar to configure`,
        'remove sidecar, or use DataPlane.sidecar() for the namespace',
      );
    }
    validatePodTemplate(
      {
        env: [{ field: 'env', env: props.env }],
        envFrom: props.envFrom,
        mounts: props.mounts,
        scheduling: props.scheduling,
        sidecar: props.sidecar,
        sidecarMode: !this.namespace.isAmbient,
        nativeSidecarRequiredBy: `Job ${this.name}`,
        containerName: this.name,
      },
      p,
    );
    const cronProblem = props.schedule === undefined ? undefined : cronScheduleProblem(props.schedule);
    if (cronProblem !== undefined) {
      p.add(
        'schedule',
        `${JSON.stringify(props.schedule)} is not a cron schedule: ${cronProblem}`,
        'use five fields (minute 0-59, hour 0-23, day 1-31, month 1-12, weekday 0-6), e.g. "0 3 * * *", or a macro such as "@daily"',
      );
    }
    if (props.schedule === undefined && props.concurrencyPolicy !== undefined) {
      p.add(
        'concurrencyPolicy',
        'applies to CronJobs only, and the job has no schedule',
        'remove it, or set schedule',
      );
    }
    this.dependencies.forEach((dep, i) => {
      if (!MeshRegistry.of(this).serviceOwners(dep.host).includes(dep)) {
        p.add(
          `calls[${i}] (${dep.name})`,
          `service ${dep.host} is not in this app`,
          'declare the called Microservice in the same cdk8s App',
        );
      }
    });
    p.nonNegativeInt('backoffLimit', props.backoffLimit);
    // The Job controller compares the run time with `time.Duration(activeDeadlineSeconds) *
    // time.Second` (pastActiveDeadline, pkg/controller/job/job_controller.go): a longer deadline
    // wraps around to a negative one, and the Job fails with DeadlineExceeded as soon as it starts.
    p.wholeSeconds(
      'activeDeadline',
      props.activeDeadline,
      1,
      GO_DURATION_MAX_SECONDS,
      'the longest deadline the Job controller can hold (a Go time.Duration): beyond it the deadline wraps around and the Job fails as soon as it starts',
    );
    p.wholeSeconds('ttlAfterFinished', props.ttlAfterFinished, 0);
  }
}
