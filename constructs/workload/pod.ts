/**
 * The pod template every mesh workload shares (Microservice's Deployments and StatefulSets,
 * MeshJob's Jobs and CronJobs): the app container and init containers under the restricted Pod
 * Security Standard, their environment and volumes, scheduling, and the Istio sidecar's settings
 * as pod annotations. As cdk8s-plus separates pod, container and workload, the workload kinds
 * only wrap what `renderPodTemplate` returns.
 */
import { Duration, type Size } from 'cdk8s';
import type { Cpu, k8s } from 'cdk8s-plus-27';
import type { Problems } from '../validation.js';
import {
  type Probe,
  prune,
  memoryQuantity,
  renderResources,
  type Resources,
  type ServicePort,
  validateResources,
} from '../values.js';
import { type EnvFrom, type EnvMap, renderEnv, validateArgv, validateEnv } from './env.js';
import { renderScheduling, type Scheduling, validateScheduling } from './scheduling.js';
import { type Mount, type NamedMount, PodVolumes, renderMount, validateMounts } from './volume.js';

/** Per-pod settings of the Envoy sidecar, through Istio's documented annotations. */
export interface SidecarProxyOptions {
  /** `sidecar.istio.io/proxyCPU` @default the injector's (100m) */
  readonly cpuRequest?: Cpu;
  /** `sidecar.istio.io/proxyCPULimit` @default the injector's (2 cores) */
  readonly cpuLimit?: Cpu;
  /** `sidecar.istio.io/proxyMemory` @default the injector's (128Mi) */
  readonly memoryRequest?: Size;
  /** `sidecar.istio.io/proxyMemoryLimit` @default the injector's (1Gi) */
  readonly memoryLimit?: Size;
  /** `sidecar.istio.io/logLevel` @default "warning" */
  readonly logLevel?: 'trace' | 'debug' | 'info' | 'warning' | 'error' | 'critical' | 'off';
  /**
   * Start the application only once the proxy is ready (`holdApplicationUntilProxyStarts` in
   * `proxy.istio.io/config`), so its first outbound calls do not fail.
   * @default true
   */
  readonly holdApplicationUntilProxyStarts?: boolean;
  /**
   * Inject the proxy as a Kubernetes native sidecar (an init container with `restartPolicy:
   * Always`, annotation `sidecar.istio.io/nativeSidecar`): it starts before the pod's init
   * containers, so they reach the network, and it stops when the app's containers have exited, so
   * a Job completes (https://istio.io/latest/blog/2023/native-sidecars/).
   * @default true for pods with init containers and for MeshJobs; otherwise the mesh's setting
   */
  readonly nativeSidecar?: boolean;
}

export interface Probes {
  /** @default none */
  readonly readiness?: Probe;
  /** @default none */
  readonly liveness?: Probe;
  /** @default none */
  readonly startup?: Probe;
}

/** A container that runs to completion before the app container starts, e.g. a migration or a config fetch. */
export interface InitContainer {
  /** The container's name, a DNS label unique in the pod. */
  readonly name: string;
  /**
   * The container image.
   * @default the version's image
   */
  readonly image?: string;
  /** @default the image's entrypoint */
  readonly command?: readonly string[];
  /** @default the image's */
  readonly args?: readonly string[];
  /**
   * Environment variables (strings or EnvValues).
   * @default none
   */
  readonly env?: EnvMap;
  /** @default none */
  readonly envFrom?: readonly EnvFrom[];
  /**
   * Volumes it mounts (the app container's mounts are not shared unless listed here too).
   * @default only the pod's /tmp scratch directory, shared with the app
   */
  readonly mounts?: readonly Mount[];
  /**
   * @default requests 50m CPU and 64Mi memory, limits 500m and 256Mi
   */
  readonly resources?: Resources;
}

/** Everything `renderPodTemplate` needs; the workloads fill it from their props. */
export interface PodTemplateInput {
  readonly containerName: string;
  readonly podLabels: Record<string, string>;
  /** Labels of all of the workload's pods (across versions), for anti-affinity. */
  readonly serviceLabels: Record<string, string>;
  readonly image: string;
  readonly imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly ports?: readonly ServicePort[];
  readonly env: EnvMap;
  readonly envFrom?: readonly EnvFrom[];
  readonly resources?: Resources;
  readonly probes?: Probes;
  readonly runAsUser: number;
  /** Writable emptyDirs besides /tmp. */
  readonly writablePaths?: readonly string[];
  readonly mounts?: readonly Mount[];
  /** Volumes named directly, e.g. a StatefulSet's claims. */
  readonly namedMounts?: readonly NamedMount[];
  readonly initContainers?: readonly InitContainer[];
  readonly serviceAccountName: string;
  readonly mountServiceAccountToken: boolean;
  readonly terminationGracePeriod?: Duration;
  readonly restartPolicy?: 'Never' | 'OnFailure';
  readonly scheduling?: Scheduling;
  /** Whether the workload runs more than one pod (turns the default topology spread on). */
  readonly replicated: boolean;
  /** The label its controller gives each revision's pods, which topology spreads count within. */
  readonly revisionLabel?: 'pod-template-hash' | 'controller-revision-hash';
  /** Whether pods get a sidecar (false in ambient namespaces). */
  readonly sidecarMode: boolean;
  readonly sidecar?: SidecarProxyOptions;
  /** Whether the workload needs a native sidecar by default (Jobs). */
  readonly nativeSidecarByDefault?: boolean;
}

/** The restricted Pod Security Standard's container settings, with the app's UID. */
function containerSecurityContext(uid: number): k8s.SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Whether the pod's proxy is injected as a native sidecar (see SidecarProxyOptions.nativeSidecar). */
export function usesNativeSidecar(
  input: Pick<PodTemplateInput, 'sidecarMode' | 'sidecar' | 'initContainers' | 'nativeSidecarByDefault'>,
): boolean {
  if (!input.sidecarMode) return false;
  return (
    input.sidecar?.nativeSidecar ??
    (input.nativeSidecarByDefault === true || (input.initContainers?.length ?? 0) > 0)
  );
}

/** The pod template: labels, the sidecar's annotations and the restricted pod spec. */
/** The UID (and GID) workloads run as unless told otherwise: non-root, and not the proxy's. */
export const DEFAULT_UID = 10001;
/** Istio's proxy runs as 1337 and its traffic is exempt from interception; an app with it escapes the mesh. */
const PROXY_UID = 1337;

/** `runAsUser` (default `DEFAULT_UID`): a non-root UID that is not the proxy's. */
export function validateRunAsUser(runAsUser: number | undefined, p: Problems): void {
  const uid = runAsUser ?? DEFAULT_UID;
  if (uid === PROXY_UID) {
    p.add(
      'runAsUser',
      '1337 is the UID of the Istio proxy, whose traffic bypasses the mesh',
      'use another non-root UID, e.g. 10001',
    );
  } else if (!Number.isInteger(uid) || uid < 1) {
    p.add('runAsUser', `${uid} is not a non-root UID`, 'use a whole number of 1 or more, e.g. 10001');
  }
}

export function renderPodTemplate(input: PodTemplateInput): k8s.PodTemplateSpec {
  const uid = input.runAsUser;
  const writable = ['/tmp', ...(input.writablePaths ?? [])];
  const scratchName = (i: number) => (i === 0 ? 'tmp' : `writable-${i}`);
  const volumes = new PodVolumes([
    ...writable.map((_, i) => scratchName(i)),
    ...(input.namedMounts ?? []).map((m) => m.name),
  ]);
  const mountsOf = (mounts: readonly Mount[] | undefined): k8s.VolumeMount[] =>
    (mounts ?? []).map((m) =>
      renderMount({
        name: volumes.nameOf(m.volume),
        path: m.path,
        readOnly: m.readOnly ?? m.volume.readOnlyByDefault,
        subPath: m.subPath,
      }),
    );
  const appMounts = [
    ...writable.map((path, i) => ({ name: scratchName(i), mountPath: path })),
    ...mountsOf(input.mounts),
    ...(input.namedMounts ?? []).map(renderMount),
  ];
  // Init containers write to the pod's /tmp emptyDir, shared with the app (the root filesystem is
  // read-only, and an init container can leave files there for the app), and to their own mounts.
  const initContainers = (input.initContainers ?? []).map((c): k8s.Container => ({
    name: c.name,
    image: c.image ?? input.image,
    imagePullPolicy: input.imagePullPolicy,
    command: c.command && [...c.command],
    args: c.args && [...c.args],
    env: renderEnv(c.env ?? {}),
    envFrom: c.envFrom?.length ? c.envFrom.map((e) => e._toKube()) : undefined,
    resources: renderResources(c.resources),
    securityContext: containerSecurityContext(uid),
    volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, ...mountsOf(c.mounts)],
  }));
  const appContainer: k8s.Container = {
    name: input.containerName,
    image: input.image,
    imagePullPolicy: input.imagePullPolicy,
    command: input.command && [...input.command],
    args: input.args && [...input.args],
    ports: input.ports?.map((p) => ({ name: p.name, containerPort: p.targetPort })),
    env: renderEnv(input.env),
    envFrom: input.envFrom?.length ? input.envFrom.map((e) => e._toKube()) : undefined,
    resources: renderResources(input.resources),
    readinessProbe: input.probes?.readiness?._toKube(),
    livenessProbe: input.probes?.liveness?._toKube(),
    startupProbe: input.probes?.startup?._toKube(),
    securityContext: containerSecurityContext(uid),
    volumeMounts: appMounts,
  };
  return {
    metadata: { labels: input.podLabels, annotations: podAnnotations(input) },
    spec: {
      serviceAccountName: input.serviceAccountName,
      automountServiceAccountToken: input.mountServiceAccountToken,
      terminationGracePeriodSeconds: (input.terminationGracePeriod ?? Duration.seconds(30)).toSeconds({
        integral: false,
      }),
      restartPolicy: input.restartPolicy,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: uid,
        fsGroup: uid,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      initContainers: initContainers.length > 0 ? initContainers : undefined,
      containers: [appContainer],
      volumes: [...writable.map((_, i) => ({ name: scratchName(i), emptyDir: {} })), ...volumes.render()],
      ...renderScheduling(
        input.scheduling,
        input.podLabels,
        input.serviceLabels,
        input.replicated,
        input.revisionLabel,
      ),
    },
  };
}

/** The sidecar's settings as Istio's documented pod annotations; none in ambient namespaces. */
function podAnnotations(input: PodTemplateInput): Record<string, string> | undefined {
  if (!input.sidecarMode) return undefined;
  const s = input.sidecar ?? {};
  const a: Record<string, string | undefined> = {
    'sidecar.istio.io/proxyCPU': s.cpuRequest?.amount,
    'sidecar.istio.io/proxyCPULimit': s.cpuLimit?.amount,
    'sidecar.istio.io/proxyMemory': s.memoryRequest && memoryQuantity(s.memoryRequest),
    'sidecar.istio.io/proxyMemoryLimit': s.memoryLimit && memoryQuantity(s.memoryLimit),
    'sidecar.istio.io/logLevel': s.logLevel,
    'proxy.istio.io/config': JSON.stringify({
      holdApplicationUntilProxyStarts: s.holdApplicationUntilProxyStarts ?? true,
    }),
    // Istio 1.30's injection template reads this annotation before the mesh-wide
    // ENABLE_NATIVE_SIDECARS setting; set only where it matters, so other pods keep the mesh's choice.
    'sidecar.istio.io/nativeSidecar':
      s.nativeSidecar !== undefined || usesNativeSidecar(input)
        ? String(usesNativeSidecar(input))
        : undefined,
  };
  return prune(a) as Record<string, string>;
}

/** The fields of the pod template that validation checks, named as the construct's props. */
export interface PodTemplateChecks {
  readonly env?: readonly { readonly field: string; readonly env: EnvMap | undefined }[];
  readonly envFrom?: readonly EnvFrom[];
  readonly writablePaths?: readonly string[];
  readonly mounts?: readonly Mount[];
  readonly namedMounts?: readonly (NamedMount & { readonly field: string })[];
  readonly initContainers?: readonly InitContainer[];
  readonly scheduling?: Scheduling;
  readonly sidecar?: SidecarProxyOptions;
  readonly sidecarMode: boolean;
  /** The Job that needs a native sidecar to complete, for messages: "Job migrate". */
  readonly nativeSidecarRequiredBy?: string;
  readonly containerName: string;
}

/** Checks the pod template's props: env, mounts, init containers, scheduling, sidecar. */
export function validatePodTemplate(c: PodTemplateChecks, p: Problems): void {
  for (const e of c.env ?? []) validateEnv(e.env, e.field, p);
  c.envFrom?.forEach((e, i) => e._validate(p, `envFrom[${i}]`));
  const writable = c.writablePaths ?? [];
  validateMounts(
    [
      { field: 'the /tmp scratch directory', path: '/tmp' },
      ...writable.map((path, i) => ({
        field: `writablePaths[${i}]`,
        pathField: `writablePaths[${i}]`,
        path,
        onlyDuplicates: true,
      })),
      ...(c.mounts ?? []).map((m, i) => ({
        field: `mounts[${i}]`,
        path: m.path,
        subPath: m.subPath,
        volume: m.volume,
      })),
      ...(c.namedMounts ?? []).map((m) => ({
        field: m.field,
        pathField: `${m.field}.mountPath`,
        path: m.path,
      })),
    ],
    p,
  );
  const names = new Map<string, string>([[c.containerName, 'the app container']]);
  (c.initContainers ?? []).forEach((ic, i) => {
    const f = `initContainers[${i}]`;
    p.dnsLabel(`${f}.name`, ic.name);
    const other = names.get(ic.name);
    if (other !== undefined) {
      p.add(
        `${f}.name`,
        `"${ic.name}" is already the name of ${other}`,
        'give each container of the pod its own name',
      );
    }
    if (ic.name === 'istio-proxy' || ic.name === 'istio-init' || ic.name === 'istio-validation') {
      p.add(`${f}.name`, `"${ic.name}" is the name of a container Istio injects`, 'choose another name');
    }
    names.set(ic.name, f);
    if (ic.image !== undefined) p.imageReference(`${f}.image`, ic.image);
    validateEnv(ic.env, `${f}.env`, p);
    validateArgv(ic.command, `${f}.command`, p);
    validateArgv(ic.args, `${f}.args`, p);
    ic.envFrom?.forEach((e, j) => e._validate(p, `${f}.envFrom[${j}]`));
    validateResources(ic.resources, `${f}.resources`, p);
    validateMounts(
      [
        { field: `the /tmp scratch directory of ${f}`, path: '/tmp' },
        ...(ic.mounts ?? []).map((m, j) => ({
          field: `${f}.mounts[${j}]`,
          path: m.path,
          subPath: m.subPath,
          volume: m.volume,
        })),
      ],
      p,
    );
  });
  validateScheduling(c.scheduling, 'scheduling', p);
  // The mesh trap of init containers: with a classic sidecar, istio-init (or the CNI plugin) has
  // already redirected the pod's traffic to the proxy, which starts only after every init
  // container, so their connections fail ("Compatibility with application init containers",
  // https://istio.io/latest/docs/setup/additional-setup/cni/#compatibility-with-application-init-containers).
  // A Job's classic sidecar never exits, so the Job never completes.
  if (c.sidecarMode && c.sidecar?.nativeSidecar === false) {
    const by =
      c.nativeSidecarRequiredBy ?? ((c.initContainers?.length ?? 0) > 0 ? 'init containers' : undefined);
    if (by === 'init containers') {
      p.add(
        'sidecar.nativeSidecar',
        'is false, so the init containers run before the proxy starts while istio-init already redirects their traffic to it, and their network calls fail',
        'leave nativeSidecar unset (native sidecars start before init containers), or move the work into the app container',
      );
    } else if (by) {
      p.add(
        'sidecar.nativeSidecar',
        `is false, so the proxy of ${by} never exits and the Job never completes`,
        'leave nativeSidecar unset: the native sidecar stops when the job container exits',
      );
    }
  }
}
