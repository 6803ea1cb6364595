/**
 * The pod template and workload kinds: environment, volumes, init containers, scheduling,
 * autoscaling, Deployments and StatefulSets (through Microservice), Jobs and CronJobs (MeshJob).
 */
export { EnvFrom, type EnvFromOptions, type EnvMap, type EnvSourceOptions, EnvValue } from './env.js';
export { type EmptyDirOptions, type Mount, type ProjectionOptions, Volume } from './volume.js';
export {
  type NodeAffinity,
  NodeLabelQuery,
  type PodAntiAffinity,
  type Scheduling,
  TaintEffect,
  Toleration,
  TopologySpread,
  type TopologySpreadOptions,
} from './scheduling.js';
export { type Autoscaling, type ScalingBehavior, ScalingMetric } from './autoscaling.js';
export { type InitContainer, type Probes, type SidecarProxyOptions } from './pod.js';
export { type StatefulSetOptions, type VolumeClaim, Workload } from './workload.js';
export { MeshJob, type MeshJobProps } from './job.js';
