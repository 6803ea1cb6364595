/**
 * The constructs of mesh-kit, the package's main entry (`import ... from 'mesh-kit'`): cdk8s only,
 * never Pulumi (that is `mesh-kit/pulumi`).
 *
 * @module mesh-kit
 */
export * from './versions.js';
export * from './validation.js';
export * from './values.js';
export * from './mesh-namespace.js';
export * from './microservice.js';
export * from './workload/index.js';
// Both the workload kinds (a class) and the explain module's view of a workload in synthesized
// objects (a type) are called Workload: the class keeps the name at the root, the explain type is
// `ExplainedWorkload` here (and `Workload` in mesh-kit's explain module).
export { Workload } from './workload/index.js';
export type { Workload as ExplainedWorkload } from './explain/index.js';
export * from './routing.js';
export * from './resilience.js';
export * from './security.js';
export * from './rate-limit.js';
export * from './render.js';
export { Cpu } from 'cdk8s-plus-27/lib/container.js';
export { Duration, Size } from 'cdk8s';
export * from './ingress.js';
export * from './global-rate-limit.js';
export * from './egress/index.js';
export * from './app-definition.js';
export * from './explain/index.js';
