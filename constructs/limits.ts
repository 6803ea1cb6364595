// The integer ranges Kubernetes, Istio and Envoy keep numbers in, defined once for the construct
// checks and the admission pass.

export const INT32_MIN = -(2 ** 31);
export const INT32_MAX = 2 ** 31 - 1;
export const UINT32_MAX = 2 ** 32 - 1;

/** 2^63, the first number an int64 cannot hold (a float cannot tell 2^63 - 1 from it). */
export const INT64_LIMIT = 2 ** 63;

/**
 * The most whole seconds a Go time.Duration (int64 nanoseconds) holds, about 292 years. Kubernetes
 * stores some int64 seconds fields that its controllers and the container runtime turn into a
 * time.Duration by `time.Duration(seconds) * time.Second`, which wraps around past this.
 */
export const GO_DURATION_MAX_SECONDS = 9223372036;
