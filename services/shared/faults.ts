// Opt-in failure modes for demonstrating retries, timeouts, outlier detection and graceful degradation:
// FAIL_RATE answers a share of requests with 503, LATENCY_MS (+ up to LATENCY_JITTER_MS) delays them.
// Health endpoints are never affected (the server checks them before asking for a plan).

export interface FaultConfig {
  readonly failRate: number;
  readonly latencyMs: number;
  readonly latencyJitterMs: number;
}

export interface FaultPlan {
  readonly delayMs: number;
  readonly fail: boolean;
}

export function planFault(config: FaultConfig, random: () => number = Math.random): FaultPlan {
  const jitter = config.latencyJitterMs > 0 ? Math.round(random() * config.latencyJitterMs) : 0;
  const fail = config.failRate >= 1 || (config.failRate > 0 && random() < config.failRate);
  return { delayMs: config.latencyMs + jitter, fail };
}

export function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}
