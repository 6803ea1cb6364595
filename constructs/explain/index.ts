export {
  callersOf,
  explainAllCallers,
  ExplainError,
  explainRequest,
  meshIndex,
  type AuthorizationLayer,
  type CallerInfo,
  type ExplainedDestination,
  type Explanation,
  type ExplainOptions,
  type ExplainRequest,
  type ExternalHost,
  type MeshSource,
} from './explain.js';
export { formatAllCallers, formatExplanation } from './format.js';
export { MeshIndex, type MeshObject, type ServiceInfo, type Workload } from './objects.js';
export type { FaultDescription, EffectivePolicy } from './routing.js';
export type {
  AuthzOutcome,
  EgressOutcome,
  JwtClaims,
  JwtOutcome,
  MtlsOutcome,
  MtlsMode as MtlsOutcomeMode,
} from './security.js';
export type { RateLimitOutcome } from './rate-limits.js';
