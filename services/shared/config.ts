// Environment configuration shared by every service. Each variable is validated at start-up: a bad
// value stops the process with one clear error instead of surfacing later as odd behaviour.

export type Env = Readonly<Record<string, string | undefined>>;

/** A configuration value that cannot be used; the process logs it and exits with code 1. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

function raw(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

export function readString(env: Env, name: string, fallback: string): string {
  return raw(env, name) ?? fallback;
}

export function readInt(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new ConfigError(`${name}="${value}" is not a whole number`);
  const parsed = Number(value);
  if (parsed < min || parsed > max) {
    throw new ConfigError(`${name}=${value} is out of range: use ${min}..${max}`);
  }
  return parsed;
}

export function readFraction(env: Env, name: string, fallback: number): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(value) || parsed > 1) {
    throw new ConfigError(`${name}="${value}" is not a share between 0 and 1 (e.g. 0.25)`);
  }
  return parsed;
}

export function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const value = raw(env, name)?.toLowerCase();
  if (value === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(`${name}="${value}" is not a boolean: use true or false`);
}

export function readChoice<T extends string>(env: Env, name: string, choices: readonly T[], fallback: T): T {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const match = choices.find((choice) => choice === value);
  if (match === undefined) throw new ConfigError(`${name}="${value}" is not one of ${choices.join(', ')}`);
  return match;
}

/**
 * A comma-separated list of upstream base URLs (http only: in the mesh the sidecar adds mTLS), e.g.
 * "http://reviews:8080" or "http://127.0.0.1:18082,http://127.0.0.1:18083". Trailing slashes are dropped.
 */
export function readUrlList(env: Env, name: string, fallback: string): string[] {
  const value = raw(env, name) ?? fallback;
  const urls = value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (urls.length === 0)
    throw new ConfigError(`${name} is empty: give a base URL such as http://catalog:8080`);
  return urls.map((text) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new ConfigError(`${name}: "${text}" is not a URL; give a base URL such as http://catalog:8080`);
    }
    if (url.protocol !== 'http:') {
      throw new ConfigError(`${name}: "${text}" must use http:// (the sidecar adds mTLS in the mesh)`);
    }
    if (url.search !== '' || url.hash !== '') {
      throw new ConfigError(`${name}: "${text}" must not have a query or fragment`);
    }
    return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  });
}

/** Settings every service reads; see services/README.md for the contract. */
export interface CommonConfig {
  readonly serviceName: string;
  readonly serviceVersion: string;
  readonly host: string;
  readonly port: number;
  /** Grace period after SIGTERM; exceeding it forces exit code 1. */
  readonly shutdownTimeoutMs: number;
  /** Time between readiness turning false and the listener closing. */
  readonly drainDelayMs: number;
  readonly upstreamTimeoutMs: number;
  readonly failRate: number;
  readonly latencyMs: number;
  readonly latencyJitterMs: number;
  /** Adds the received propagation headers (authorization redacted) to each request log line. */
  readonly logHeaders: boolean;
}

export function readCommonConfig(env: Env, defaults: { name: string; version: string }): CommonConfig {
  const config: CommonConfig = {
    serviceName: readString(env, 'SERVICE_NAME', defaults.name),
    serviceVersion: readString(env, 'SERVICE_VERSION', defaults.version),
    host: readString(env, 'HOST', '0.0.0.0'),
    port: readInt(env, 'PORT', 8080, 0, 65535),
    shutdownTimeoutMs: readInt(env, 'SHUTDOWN_TIMEOUT_MS', 20000, 1, 3_600_000),
    drainDelayMs: readInt(env, 'DRAIN_DELAY_MS', 0, 0, 3_600_000),
    upstreamTimeoutMs: readInt(env, 'UPSTREAM_TIMEOUT_MS', 3000, 1, 3_600_000),
    failRate: readFraction(env, 'FAIL_RATE', 0),
    latencyMs: readInt(env, 'LATENCY_MS', 0, 0, 3_600_000),
    latencyJitterMs: readInt(env, 'LATENCY_JITTER_MS', 0, 0, 3_600_000),
    logHeaders: readBoolean(env, 'LOG_HEADERS', false),
  };
  if (config.drainDelayMs >= config.shutdownTimeoutMs) {
    throw new ConfigError(
      `DRAIN_DELAY_MS=${config.drainDelayMs} must be shorter than SHUTDOWN_TIMEOUT_MS=${config.shutdownTimeoutMs}`,
    );
  }
  return config;
}
