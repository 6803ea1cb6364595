import { type Duration, Size, SizeRoundingBehavior } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-27/lib/container.js';
import * as k8s from 'cdk8s-plus-27/lib/imports/k8s.js';
import { checkInput } from './input.js';
import type { Problems } from './validation.js';
import { INT32_MAX, INT64_LIMIT } from './limits.js';

/**
 * Renders a duration the way Istio and Envoy expect it (`"2s"`, `"250ms"`).
 * Validation has already refused durations below 1 ms or with fractions of a millisecond.
 */
export function istioDuration(d: Duration): string {
  const ms = Math.round(d.toMilliseconds({ integral: false }));
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** How a string is matched: exactly, by prefix, or by an RE2 regular expression. */
export class StringMatch {
  public static exact(value: string): StringMatch {
    checkInput.stringMatch('exact', value);
    return new StringMatch('exact', value);
  }
  public static prefix(value: string): StringMatch {
    checkInput.stringMatch('prefix', value);
    return new StringMatch('prefix', value);
  }
  /** An RE2 regular expression (Envoy's syntax), matched against the whole value. */
  public static regex(value: string): StringMatch {
    checkInput.stringMatch('regex', value);
    return new StringMatch('regex', value);
  }
  private constructor(
    public readonly kind: 'exact' | 'prefix' | 'regex',
    public readonly value: string,
  ) {}

  /** @internal */
  public _toIstio(): { exact?: string; prefix?: string; regex?: string } {
    return { [this.kind]: this.value };
  }

  public toString(): string {
    return `${this.kind} "${this.value}"`;
  }
}

/** The application protocol of a port; Istio picks its proxying from the port name and appProtocol. */
export enum AppProtocol {
  HTTP = 'http',
  HTTP2 = 'http2',
  GRPC = 'grpc',
  TCP = 'tcp',
}

export interface ServicePortOptions {
  /**
   * The port's name; Istio reads the protocol from its prefix.
   * @default the protocol's name ("http", "grpc", ...)
   */
  readonly name?: string;
  /**
   * The port the container listens on.
   * @default the Service port
   */
  readonly targetPort?: number;
}

/** A named Service port with its protocol, so Istio never has to sniff the protocol. */
export class ServicePort {
  public static http(port: number, options: ServicePortOptions = {}): ServicePort {
    checkInput.servicePort('http', port, options);
    return new ServicePort(AppProtocol.HTTP, port, options);
  }
  public static http2(port: number, options: ServicePortOptions = {}): ServicePort {
    checkInput.servicePort('http2', port, options);
    return new ServicePort(AppProtocol.HTTP2, port, options);
  }
  public static grpc(port: number, options: ServicePortOptions = {}): ServicePort {
    checkInput.servicePort('grpc', port, options);
    return new ServicePort(AppProtocol.GRPC, port, options);
  }
  public static tcp(port: number, options: ServicePortOptions = {}): ServicePort {
    checkInput.servicePort('tcp', port, options);
    return new ServicePort(AppProtocol.TCP, port, options);
  }

  public readonly name: string;
  public readonly targetPort: number;

  private constructor(
    public readonly protocol: AppProtocol,
    public readonly port: number,
    options: ServicePortOptions,
  ) {
    this.name = options.name ?? protocol;
    this.targetPort = options.targetPort ?? port;
  }

  /** Whether Istio handles this port at layer 7 (routing, retries, L7 authorization). */
  public get isHttp(): boolean {
    return this.protocol !== AppProtocol.TCP;
  }

  /** @internal */
  public _validate(problems: Problems, field: string): void {
    problems.port(`${field}.port`, this.port);
    problems.port(`${field}.targetPort`, this.targetPort);
    problems.dnsLabel(`${field}.name`, this.name);
    if (this.name.length > 15) {
      problems.add(`${field}.name`, `"${this.name}" is longer than 15 characters`, 'shorten the port name');
    }
    const prefix = this.name.split('-')[0];
    if (prefix !== this.protocol) {
      problems.add(
        `${field}.name`,
        `"${this.name}" does not start with its protocol "${this.protocol}"`,
        `name it "${this.protocol}" or "${this.protocol}-<suffix>" so Istio's protocol selection agrees with appProtocol`,
      );
    }
  }
}

export interface ProbeOptions {
  /** @default Duration.seconds(0) */
  readonly initialDelay?: Duration;
  /** @default Duration.seconds(10) */
  readonly period?: Duration;
  /** @default Duration.seconds(1) */
  readonly timeout?: Duration;
  /** @default 3 */
  readonly failureThreshold?: number;
}

/** The kubelet's health check. With a sidecar, Istio rewrites HTTP probes so that they work under STRICT mTLS. */
export class Probe {
  public static httpGet(path: string, port: number, options: ProbeOptions = {}): Probe {
    checkInput.probe('httpGet', port, options, path);
    return new Probe({ httpGet: { path, port: k8s.IntOrString.fromNumber(port) } }, port, options);
  }
  public static tcp(port: number, options: ProbeOptions = {}): Probe {
    checkInput.probe('tcp', port, options);
    return new Probe({ tcpSocket: { port: k8s.IntOrString.fromNumber(port) } }, port, options);
  }
  public static grpc(port: number, options: ProbeOptions = {}): Probe {
    checkInput.probe('grpc', port, options);
    return new Probe({ grpc: { port } }, port, options);
  }
  private constructor(
    private readonly action: Record<string, unknown>,
    private readonly port: number,
    private readonly options: ProbeOptions,
  ) {}

  /** @internal */
  public _toKube(): Record<string, unknown> {
    const o = this.options;
    const seconds = (d: Duration | undefined) =>
      d === undefined ? undefined : d.toSeconds({ integral: false });
    return prune({
      ...this.action,
      initialDelaySeconds: seconds(o.initialDelay),
      periodSeconds: seconds(o.period),
      timeoutSeconds: seconds(o.timeout),
      failureThreshold: o.failureThreshold,
    });
  }

  /** @internal */
  public _validate(problems: Problems, field: string): void {
    problems.port(`${field}.port`, this.port);
    problems.positiveInt(`${field}.failureThreshold`, this.options.failureThreshold);
    problems.int32(`${field}.failureThreshold`, this.options.failureThreshold, 'the Probe API');
    // initialDelaySeconds, periodSeconds and timeoutSeconds are int32 in the Probe API.
    problems.wholeSeconds(`${field}.initialDelay`, this.options.initialDelay, 0, INT32_MAX);
    problems.wholeSeconds(`${field}.period`, this.options.period, 1, INT32_MAX);
    problems.wholeSeconds(`${field}.timeout`, this.options.timeout, 1, INT32_MAX);
  }
}

/**
 * The object without its undefined keys, so synthesized YAML carries only what was set. A copy
 * rather than `delete`: deleting a key turns an object into a slow dictionary for every later
 * read (rendering, admission and writing each walk it), and callers pass fresh literals.
 */
export function prune<T extends Record<string, unknown>>(obj: T): T {
  const out: Record<string, unknown> = {};
  for (const key in obj) if (Object.hasOwn(obj, key) && obj[key] !== undefined) out[key] = obj[key];
  return out as T;
}

/**
 * A protobuf JSON Duration ("0.25s", "60s"): the only form Envoy accepts inside an EnvoyFilter's
 * typed config, where Istio's own "250ms" shorthand is refused.
 */
export function protobufDuration(d: Duration): string {
  return `${Math.round(d.toMilliseconds({ integral: false })) / 1000}s`;
}

/** CPU and memory of a container. */
export interface Resources {
  /** @default { request: Cpu.millis(50), limit: Cpu.millis(500) } */
  readonly cpu?: { readonly request?: Cpu; readonly limit?: Cpu };
  /** @default { request: Size.mebibytes(64), limit: Size.mebibytes(256) } */
  readonly memory?: { readonly request?: Size; readonly limit?: Size };
}

/** Small defaults: a sample service idles at a few millicores, far below cdk8s-plus's 1 CPU / 512 Mi. */
const DEFAULT_RESOURCES = {
  cpu: { request: Cpu.millis(50), limit: Cpu.millis(500) },
  memory: { request: Size.mebibytes(64), limit: Size.mebibytes(256) },
};

/** Container resources as rendered: each value, else `defaults`', else the small defaults. */
function effectiveResources(r: Resources | undefined, defaults: Resources) {
  return {
    cpu: {
      request: r?.cpu?.request ?? defaults.cpu?.request ?? DEFAULT_RESOURCES.cpu.request,
      limit: r?.cpu?.limit ?? defaults.cpu?.limit ?? DEFAULT_RESOURCES.cpu.limit,
    },
    memory: {
      request: r?.memory?.request ?? defaults.memory?.request ?? DEFAULT_RESOURCES.memory.request,
      limit: r?.memory?.limit ?? defaults.memory?.limit ?? DEFAULT_RESOURCES.memory.limit,
    },
  };
}

/** Renders container resources, each value falling back to `defaults`, then to the small defaults. */
export function renderResources(r: Resources | undefined, defaults: Resources = {}) {
  const e = effectiveResources(r, defaults);
  return {
    requests: {
      cpu: k8s.Quantity.fromString(e.cpu.request.amount),
      memory: k8s.Quantity.fromString(memoryQuantity(e.memory.request)),
    },
    limits: {
      cpu: k8s.Quantity.fromString(e.cpu.limit.amount),
      memory: k8s.Quantity.fromString(memoryQuantity(e.memory.limit)),
    },
  };
}

/**
 * A memory size as a Kubernetes quantity in the largest unit that keeps it exact ("1500Ki", not a
 * rounded "1Mi"). A fraction of a byte is reported by validation; here it is rounded up.
 */
export function memoryQuantity(size: Size): string {
  const exact = { rounding: SizeRoundingBehavior.NONE };
  const mi = size.toMebibytes(exact);
  if (Number.isInteger(mi)) return `${mi}Mi`;
  const ki = size.toKibibytes(exact);
  if (Number.isInteger(ki)) return `${ki}Ki`;
  return `${Math.ceil(ki * 1024)}`;
}

/** A request and a limit, and the fields they were set by. */
interface Amounts<T> {
  readonly request?: T;
  readonly limit?: T;
}
interface AmountFields {
  readonly request: string;
  readonly limit: string;
}

/** How an amount of CPU or memory is measured, shown and fixed in problems. */
interface Measure<T> {
  /** The amount in whole units (millicores, bytes), or a problem and its fix. */
  units(amount: T): number | { readonly problem: string; readonly fix: string };
  show(amount: T): string;
}

const CPU: Measure<Cpu> = {
  units(cpu) {
    // JavaScript writes 1e21 and more with an exponent: "1e+21m" has two suffixes, which the API
    // server's quantity grammar refuses (k8s.io/apimachinery/pkg/api/resource/quantity.go).
    if (/e/i.test(cpu.amount)) return tooLarge(cpu.amount, 'Cpu.units(64)');
    const m = /^([0-9]*\.?[0-9]+)(m?)$/.exec(cpu.amount);
    const millis = m ? Number(m[1]) * (m[2] ? 1 : 1000) : NaN;
    if (!(millis >= 0)) {
      return { problem: `"${cpu.amount}" is not an amount of CPU`, fix: 'use Cpu.millis(n) with n ≥ 0' };
    }
    // The kubelet reads CPU with MilliValue(), an int64 of millicores ("this could overflow an
    // int64", k8s.io/apimachinery/pkg/api/resource/quantity.go): a larger amount wraps around.
    if (millis >= INT64_LIMIT) return beyondInt64(cpu.amount, 'millicores', 'Cpu.units(64)');
    const whole = Math.round(millis);
    // Kubernetes refuses CPU finer than 1m; the tolerance absorbs float noise (1.1 * 1000).
    if (Math.abs(millis - whole) > 1e-6 || (whole === 0 && millis > 0)) {
      return {
        problem: `${cpu.amount} is finer than the 1m (a thousandth of a CPU) Kubernetes accepts`,
        fix: `use a whole number of millicores, e.g. Cpu.millis(${Math.max(1, whole)})`,
      };
    }
    return whole;
  },
  show: (cpu) => cpu.amount,
};

function beyondInt64(quantity: string, unit: string, example: string): { problem: string; fix: string } {
  return {
    problem: `"${quantity}" is more ${unit} than Kubernetes holds (2^63-1, an int64): the API server caps it or the kubelet's arithmetic wraps around`,
    fix: `use a realistic amount, e.g. ${example}`,
  };
}

function tooLarge(quantity: string, example: string): { problem: string; fix: string } {
  return {
    problem: `"${quantity}" is too large to write as a Kubernetes quantity`,
    fix: `use an amount below 1e21 of its unit, e.g. ${example}`,
  };
}

const MEMORY: Measure<Size> = {
  units(size) {
    if (/e/i.test(memoryQuantity(size))) return tooLarge(memoryQuantity(size), 'Size.gibibytes(64)');
    const bytes = size.toKibibytes({ rounding: SizeRoundingBehavior.NONE }) * 1024;
    if (!(bytes >= 0)) {
      return {
        problem: `${bytes} bytes is not an amount of memory`,
        fix: 'use Size.mebibytes(n) with n ≥ 0',
      };
    }
    if (!Number.isInteger(bytes)) {
      return {
        problem: `${bytes} bytes is not a whole number of bytes`,
        fix: `use a whole number of kibibytes or mebibytes, e.g. Size.kibibytes(${Math.max(1, Math.ceil(bytes / 1024))}) (the next whole kibibyte)`,
      };
    }
    // ParseQuantity caps a binary-suffixed quantity above 2^63-1 at that value without a word
    // ("The max is just a simple cap", k8s.io/apimachinery/pkg/api/resource/quantity.go).
    if (bytes >= INT64_LIMIT) return beyondInt64(memoryQuantity(size), 'bytes', 'Size.gibibytes(64)');
    return bytes;
  },
  show: memoryQuantity,
};

/**
 * Checks a size rendered as a quantity by itself (an emptyDir's sizeLimit, a claim's storage) as
 * memory is checked: a whole number of bytes that Kubernetes can hold, and (`positive`) above 0.
 * The fraction of a byte would otherwise be rounded up by memoryQuantity without a word.
 */
export function validateSize(field: string, size: Size | undefined, p: Problems, positive = false): void {
  if (size === undefined) return;
  const u = MEMORY.units(size);
  if (typeof u !== 'number') p.add(field, u.problem, u.fix);
  else if (positive && u === 0) p.add(field, 'is not a positive size', 'use e.g. Size.gibibytes(10)');
}

/**
 * Checks a request and a limit as the API server will: each a usable amount, and the request not
 * above the limit. `given` are the values the user set (only those are reported as wrong by
 * themselves); `effective` are the values rendered, defaults included.
 */
function validateAmounts<T>(
  measure: Measure<T>,
  given: Amounts<T> | undefined,
  effective: Amounts<T>,
  fields: AmountFields,
  p: Problems,
): void {
  const units = (key: keyof Amounts<T>): number | undefined => {
    const amount = effective[key];
    if (amount === undefined) return undefined;
    const u = measure.units(amount);
    // A request of 0 is allowed (it reserves nothing); a limit of 0 leaves the container nothing.
    const problem =
      typeof u !== 'number'
        ? u
        : key === 'limit' && u === 0
          ? {
              problem: `${measure.show(amount)} as a limit leaves the container nothing`,
              fix: `raise ${fields.limit}, or leave it out`,
            }
          : undefined;
    if (!problem) return u as number;
    if (given?.[key] !== undefined) p.add(fields[key], problem.problem, problem.fix);
    return undefined;
  };
  const request = units('request');
  const limit = units('limit');
  if (request !== undefined && limit !== undefined && request > limit) {
    const defaulted = given?.limit === undefined;
    p.add(
      fields.request,
      `${measure.show(effective.request!)} is above the ${defaulted ? 'default ' : ''}limit ${measure.show(effective.limit!)}`,
      defaulted ? `set ${fields.limit} too, at least as high` : `make ${fields.limit} at least the request`,
    );
  }
}

/**
 * Checks container resources as rendered by renderResources with the same `defaults`: CPU in
 * whole millicores, memory in whole bytes, and each request within its limit.
 */
export function validateResources(
  r: Resources | undefined,
  field: string,
  p: Problems,
  defaults: Resources = {},
): void {
  if (!r) return;
  const e = effectiveResources(r, defaults);
  const fields = (kind: string) => ({ request: `${field}.${kind}.request`, limit: `${field}.${kind}.limit` });
  validateAmounts(CPU, r.cpu, e.cpu, fields('cpu'), p);
  validateAmounts(MEMORY, r.memory, e.memory, fields('memory'), p);
}

/**
 * Checks the sidecar's resource annotations. Istio's injector uses only the annotations that are
 * set once any is, so there are no defaults to combine with.
 */
export function validateSidecarResources(
  s: {
    readonly cpuRequest?: Cpu;
    readonly cpuLimit?: Cpu;
    readonly memoryRequest?: Size;
    readonly memoryLimit?: Size;
  },
  field: string,
  p: Problems,
): void {
  const cpu = { request: s.cpuRequest, limit: s.cpuLimit };
  const memory = { request: s.memoryRequest, limit: s.memoryLimit };
  validateAmounts(CPU, cpu, cpu, { request: `${field}.cpuRequest`, limit: `${field}.cpuLimit` }, p);
  validateAmounts(
    MEMORY,
    memory,
    memory,
    { request: `${field}.memoryRequest`, limit: `${field}.memoryLimit` },
    p,
  );
}

/** A Kubernetes Service port with the name and appProtocol Istio selects the protocol by. */
export function renderServicePort(p: ServicePort) {
  return {
    name: p.name,
    port: p.port,
    targetPort: k8s.IntOrString.fromNumber(p.targetPort),
    appProtocol: p.protocol,
  };
}

/**
 * Each port of a list valid on its own, and no name or number used twice (the API server and
 * Istio refuse both), with the problems at `ports[i]`.
 */
export function validatePorts(
  ports: readonly {
    readonly name: string;
    readonly port: number;
    _validate(p: Problems, field: string): void;
  }[],
  p: Problems,
): void {
  const seen = new Map<string, number>();
  const targets = new Map<number, number>();
  ports.forEach((port, i) => {
    port._validate(p, `ports[${i}]`);
    // Istio configures one inbound listener per container port: ports of a pod's services that
    // share a targetPort must share its protocol ("the services cannot use the same port number for
    // different protocols ... it is the targetPort that matters",
    // https://istio.io/latest/docs/ops/deployment/application-requirements/), or one of them is
    // handled with the other's protocol.
    if (port instanceof ServicePort) {
      const other = targets.get(port.targetPort);
      const first = other === undefined ? undefined : (ports[other] as ServicePort);
      // Two ports with one number are reported as such below.
      if (first !== undefined && first.protocol !== port.protocol && first.port !== port.port) {
        p.add(
          `ports[${i}].targetPort`,
          `${port.targetPort} is also the target of ports[${other}] (${first.protocol}), and Istio handles one container port with one protocol, so ${port.protocol} would be served as ${first.protocol}`,
          'give each protocol its own container port',
        );
      } else if (other === undefined) targets.set(port.targetPort, i);
    }
    for (const [key, value] of [
      ['name', port.name],
      ['port', String(port.port)],
    ]) {
      const other = seen.get(`${key}=${value}`);
      if (other !== undefined) {
        p.add(
          `ports[${i}].${key}`,
          `${value} is already used by ports[${other}]`,
          `give each port a unique ${key}`,
        );
      }
      seen.set(`${key}=${value}`, i);
    }
  });
}
