/**
 * Run-time checks of what callers pass to the public API. TypeScript refuses most wrong input at
 * compile time, but JavaScript callers, TypeScript with `any` and configuration loaded from JSON
 * reach the constructors with strings for numbers, missing props, null, or typos in prop names;
 * without these checks that ends in a bare TypeError deep inside, or in a comparison of strings
 * ("10" < "2") that validation then reports as nonsense. Every entry point checks its arguments
 * here first and throws one Error listing every problem, as `[construct path] field: what; fix`
 * (or `Factory.method: field: what; fix` where there is no construct yet).
 *
 * Only types and prop names are checked here: whether a value is allowed (a port in range, weights
 * that add up, a known rate limit unit) stays with the validations, which run at synth time.
 */
import { Chart, Duration, Size } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-27/lib/container.js';
import { Construct, type IConstruct } from 'constructs';
import { GlobalRateLimitService, RateLimitAction } from './global-rate-limit.js';
import { DataPlane, MeshNamespace, MtlsMode } from './mesh-namespace.js';
import { EgressGateway, ExternalPort, ExternalTls, OutboundTrafficPolicy } from './egress/index.js';
import { isCallTarget, Microservice } from './microservice.js';
import { LoadBalancer } from './resilience.js';
import { formatProblem, type Problem } from './validation.js';
import { Probe, ServicePort, StringMatch } from './values.js';
import { ScalingMetric } from './workload/autoscaling.js';
import { EnvFrom, EnvValue } from './workload/env.js';
import { NodeLabelQuery, TaintEffect, Toleration, TopologySpread } from './workload/scheduling.js';
import { Volume } from './workload/volume.js';
import { Workload } from './workload/workload.js';
import { article, describe } from './describe-value.js';

export { describe };

/**
 * One type of input. This module and the constructs import each other, so nothing here touches
 * their classes while it loads: only `matches`, once something is checked.
 */
export interface InputType {
  /** What is expected, as in "expected a number". */
  readonly expected: string;
  /** How to fix a value of another type, as in "pass a number, e.g. 8080". */
  readonly fix: string;
  /** Whether `value` (never undefined) is of this type; problems of its parts go to `out`. */
  matches(value: unknown, field: string, out: Problem[]): boolean;
}

/** A prop the caller must pass. */
interface Required {
  readonly required: InputType;
}

type Field = InputType | Required;

function req(type: InputType): Required {
  return { required: type };
}

/**
 * Checks one value: undefined is fine unless the field is required (`presence` "required") or an
 * entry of a list or map ("entry"), where it is a value of the wrong type.
 */
function check(
  type: InputType,
  value: unknown,
  field: string,
  out: Problem[],
  presence: 'optional' | 'required' | 'entry',
): void {
  // A constructor's props are checked at the root (field ""): their own fields are named as the
  // validations name them ("ports[0]", not "props.ports[0]"), the props themselves "props".
  const shown = field === '' ? 'props' : field;
  if (value === undefined && presence !== 'entry') {
    if (presence === 'required')
      out.push({ field: shown, message: 'is required but missing', fix: type.fix });
    return;
  }
  if (!type.matches(value, field, out)) {
    out.push({
      field: shown,
      message: `expected ${type.expected}, got ${describe(value)}`,
      fix: presence === 'optional' ? `${type.fix}, or leave it out` : type.fix,
    });
  }
}

function checkField(spec: Field, value: unknown, field: string, out: Problem[]): void {
  if ('required' in spec) check(spec.required, value, field, out, 'required');
  else check(spec, value, field, out, 'optional');
}

function number(example: string): InputType {
  return {
    expected: 'a number',
    fix: `pass a number, e.g. ${example}`,
    matches: (v) => typeof v === 'number',
  };
}

function string(example: string): InputType {
  return {
    expected: 'a string',
    fix: `pass a string, e.g. ${example}`,
    matches: (v) => typeof v === 'string',
  };
}

const BOOLEAN: InputType = {
  expected: 'true or false',
  fix: 'pass true or false',
  matches: (v) => typeof v === 'boolean',
};

function numberOrString(example: string): InputType {
  return {
    expected: 'a number or a string',
    fix: `pass e.g. ${example}`,
    matches: (v) => typeof v === 'number' || typeof v === 'string',
  };
}

/** One of a few strings (an enum's values); `fix` names them as the API spells them. */
function oneOf(values: () => readonly string[], fix: string): InputType {
  return {
    get expected() {
      return `one of ${values()
        .map((v) => JSON.stringify(v))
        .join(', ')}`;
    },
    fix,
    matches: (v) => typeof v === 'string' && values().includes(v),
  };
}

/**
 * An instance of a class the API creates, e.g. a Duration made by Duration.seconds(5); `is` tests
 * it (the classes' constructors are private, so they cannot be passed as a type).
 */
function instance(is: (v: unknown) => boolean, name: string, example: string, fix: string): InputType {
  return { expected: `${article(name)} ${name} (e.g. ${example})`, fix, matches: is };
}

/** Whether a value can be an object of props: not a primitive, list, function, construct or API value. */
function isProps(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) return true;
  return !Construct.isConstruct(v) && !VALUES.some((value) => value.matches(v, '', []));
}

function list(item: InputType | (() => InputType), example: string): InputType {
  return {
    expected: 'an array',
    fix: `pass an array, e.g. ${example}`,
    matches(v, field, out) {
      if (!Array.isArray(v)) return false;
      const type = typeof item === 'function' ? item() : item;
      v.forEach((entry, i) => check(type, entry, `${field}[${i}]`, out, 'entry'));
      return true;
    },
  };
}

/**
 * An object of names to values (env, labels, versions, headers). Keys that read as identifiers
 * are shown as `versions.v1`, others as `env["LOG-LEVEL"]`, as the validations name them.
 */
function map(value: InputType, example: string, keys: 'dot' | 'bracket' = 'bracket'): InputType {
  return {
    expected: 'an object',
    fix: `pass an object, e.g. ${example}`,
    matches(v, field, out) {
      if (!isProps(v)) return false;
      for (const [key, entry] of Object.entries(v)) {
        const f = keys === 'dot' ? `${field}.${key}` : `${field}[${JSON.stringify(key)}]`;
        check(value, entry, f, out, 'entry');
      }
      return true;
    },
  };
}

/**
 * An object of known props. A prop the API does not know is reported with the closest known name:
 * a typo such as `replica` silently ignored is exactly what this library exists to catch.
 */
function shape(
  fields: Record<string, Field> | (() => Record<string, Field>),
  example: string,
  expected = 'an object',
): InputType {
  // Fields given as a function (a shape that contains itself) are made once, when first needed.
  let known: Record<string, Field> | undefined;
  return {
    expected,
    fix: `pass an object, e.g. ${example}`,
    matches(v, field, out) {
      if (!isProps(v)) return false;
      known ??= typeof fields === 'function' ? fields() : fields;
      const at = (key: string) => (field === '' ? key : `${field}.${key}`);
      for (const key of Object.keys(v)) {
        if (Object.hasOwn(known, key)) continue;
        const closest = closestKey(key, Object.keys(known));
        out.push({
          field: at(key),
          message: 'is not a known option',
          fix: closest
            ? `did you mean ${closest}?`
            : `remove it; the options are ${Object.keys(known).join(', ')}`,
        });
      }
      for (const [key, spec] of Object.entries(known)) checkField(spec, v[key], at(key), out);
      return true;
    },
  };
}

/** Either of two types, told apart by their own checks (a list or a single value). */
function either(a: InputType, b: InputType, expected: string, fix: string): InputType {
  return {
    expected,
    fix,
    matches(v, field, out) {
      for (const type of [a, b]) {
        const parts: Problem[] = [];
        if (type.matches(v, field, parts)) {
          out.push(...parts);
          return true;
        }
      }
      return false;
    },
  };
}

/** The known key closest to a typo, if any is close enough to be what was meant. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  // A known key that begins with what was typed ("target" for targetPort) is what was meant.
  if (lower.length >= 3) {
    const extended = known.find((candidate) => candidate.toLowerCase().startsWith(lower));
    if (extended) return extended;
  }
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const longer = Math.max(key.length, best?.length ?? 0);
  return bestDistance <= Math.max(2, Math.floor(longer / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}

// The types of the API's values and props.

const DURATION = instance(
  (v) => v instanceof Duration,
  'Duration',
  'Duration.seconds(5)',
  'create it with Duration.millis(n), Duration.seconds(n) or Duration.minutes(n)',
);
const CPU = instance(
  (v) => v instanceof Cpu,
  'Cpu',
  'Cpu.millis(250)',
  'create it with Cpu.millis(n) or Cpu.units(n)',
);
const SIZE = instance(
  (v) => v instanceof Size,
  'Size',
  'Size.mebibytes(128)',
  'create it with Size.mebibytes(n) or Size.gibibytes(n)',
);
const STRING_MATCH = instance(
  (v) => v instanceof StringMatch,
  'StringMatch',
  'StringMatch.exact("jason")',
  'create it with StringMatch.exact(...), StringMatch.prefix(...) or StringMatch.regex(...)',
);
const SERVICE_PORT = instance(
  (v) => v instanceof ServicePort,
  'ServicePort',
  'ServicePort.http(8080)',
  'create it with ServicePort.http(port), http2(port), grpc(port) or tcp(port)',
);
const PROBE = instance(
  (v) => v instanceof Probe,
  'Probe',
  'Probe.httpGet("/healthz", 8080)',
  'create it with Probe.httpGet(path, port), Probe.tcp(port) or Probe.grpc(port)',
);
const LOAD_BALANCER = instance(
  (v) => v instanceof LoadBalancer,
  'LoadBalancer',
  'LoadBalancer.leastRequest()',
  'create it with LoadBalancer.leastRequest(), roundRobin(), random() or a consistentHash...() factory',
);
const DATA_PLANE = instance(
  (v) => v instanceof DataPlane,
  'DataPlane',
  'DataPlane.sidecar()',
  'create it with DataPlane.sidecar(), DataPlane.revision(name) or DataPlane.ambient()',
);
const RATE_LIMIT_ACTION = instance(
  (v) => v instanceof RateLimitAction,
  'RateLimitAction',
  'RateLimitAction.remoteAddress()',
  'create it with RateLimitAction.requestHeader(...), genericKey(...) or remoteAddress()',
);
// Workloads (constructs/workload/).
const ENV_VALUE = instance(
  (v) => v instanceof EnvValue,
  'EnvValue',
  'EnvValue.fromSecret("db", "password")',
  'create it with EnvValue.fromSecret(...), fromConfigMap(...), fromFieldPath(...) or fromValue(...)',
);
const ENV_FROM = instance(
  (v) => v instanceof EnvFrom,
  'EnvFrom',
  'EnvFrom.secret("db")',
  'create it with EnvFrom.secret(name) or EnvFrom.configMap(name)',
);
const VOLUME = instance(
  (v) => v instanceof Volume,
  'Volume',
  'Volume.fromSecret("tls")',
  'create it with Volume.fromSecret(...), fromConfigMap(...), emptyDir() or fromPersistentVolumeClaim(...)',
);
const TOLERATION = instance(
  (v) => v instanceof Toleration,
  'Toleration',
  'Toleration.exists("dedicated")',
  'create it with Toleration.exists(key) or Toleration.equal(key, value)',
);
const NODE_LABEL_QUERY = instance(
  (v) => v instanceof NodeLabelQuery,
  'NodeLabelQuery',
  'NodeLabelQuery.in("topology.kubernetes.io/zone", ["eu-west-1a"])',
  'create it with NodeLabelQuery.in(...), notIn(...), exists(...) or doesNotExist(...)',
);
const TOPOLOGY_SPREAD = instance(
  (v) => v instanceof TopologySpread,
  'TopologySpread',
  'TopologySpread.acrossZones()',
  'create it with TopologySpread.acrossZones(), acrossNodes() or across(topologyKey)',
);
const SCALING_METRIC = instance(
  (v) => v instanceof ScalingMetric,
  'ScalingMetric',
  'ScalingMetric.pods("http_requests_per_second", 100)',
  'create it with ScalingMetric.pods(name, averageValue) or ScalingMetric.external(name, target)',
);
const WORKLOAD = instance(
  (v) => v instanceof Workload,
  'Workload',
  'Workload.statefulSet()',
  'create it with Workload.deployment() or Workload.statefulSet({...})',
);

const MESH_NAMESPACE = instance(
  (v) => v instanceof MeshNamespace,
  'MeshNamespace',
  'new MeshNamespace(chart, "shop")',
  'pass the MeshNamespace construct itself',
);
const MICROSERVICE = instance(
  (v) => v instanceof Microservice,
  'Microservice',
  'new Microservice(chart, "reviews", {...})',
  'pass the Microservice construct itself, not its name',
);
const CALL_TARGET = instance(
  (v) => v instanceof Microservice || isCallTarget(v),
  'Microservice or ExternalService',
  'new Microservice(chart, "reviews", {...})',
  'pass the Microservice (or ExternalService) construct itself, not its name',
);
const RATE_LIMIT_SERVICE = instance(
  (v) => v instanceof GlobalRateLimitService,
  'GlobalRateLimitService',
  'new GlobalRateLimitService(chart, "ratelimit", {...})',
  'pass the GlobalRateLimitService construct itself',
);

const EXTERNAL_PORT = instance(
  (v) => v instanceof ExternalPort,
  'ExternalPort',
  'ExternalPort.https()',
  'create it with ExternalPort.https(port), http(port) or tcp(port)',
);
const EXTERNAL_TLS = instance(
  (v) => v instanceof ExternalTls,
  'ExternalTls',
  'ExternalTls.originate()',
  'create it with ExternalTls.passthrough() or ExternalTls.originate(options)',
);
const EGRESS_GATEWAY = instance(
  (v) => v instanceof EgressGateway,
  'EgressGateway',
  'EgressGateway.istio()',
  'create it with EgressGateway.istio(options)',
);

/** The API's value classes, which are never an object of props. */
const VALUES = [
  EXTERNAL_PORT,
  EXTERNAL_TLS,
  EGRESS_GATEWAY,
  DURATION,
  CPU,
  SIZE,
  STRING_MATCH,
  SERVICE_PORT,
  PROBE,
  LOAD_BALANCER,
  DATA_PLANE,
  RATE_LIMIT_ACTION,
  ENV_VALUE,
  ENV_FROM,
  VOLUME,
  TOLERATION,
  NODE_LABEL_QUERY,
  TOPOLOGY_SPREAD,
  SCALING_METRIC,
  WORKLOAD,
];

const RESOURCES = shape(
  {
    cpu: shape({ request: CPU, limit: CPU }, '{ request: Cpu.millis(100), limit: Cpu.millis(500) }'),
    memory: shape(
      { request: SIZE, limit: SIZE },
      '{ request: Size.mebibytes(64), limit: Size.mebibytes(256) }',
    ),
  },
  '{ cpu: { request: Cpu.millis(100) } }',
);
const ENV = map(
  either(
    string('"info"'),
    ENV_VALUE,
    'a string or an EnvValue',
    'pass a string, e.g. "info", or EnvValue.fromSecret("db", "password")',
  ),
  '{ LOG_LEVEL: "info" }',
);
const STRINGS = list(string('"--verbose"'), '["migrate", "--up"]');
const ENV_FROMS = list(ENV_FROM, '[EnvFrom.secret("db")]');
const MOUNTS = list(
  shape(
    {
      path: req(string('"/etc/app"')),
      volume: req(VOLUME),
      readOnly: BOOLEAN,
      subPath: string('"app.yaml"'),
    },
    '{ path: "/etc/app", volume: Volume.fromConfigMap("app") }',
  ),
  '[{ path: "/etc/app", volume: Volume.fromConfigMap("app") }]',
);
const FALSE: InputType = {
  expected: 'false',
  fix: 'pass false',
  matches: (v) => v === false,
};
const SCHEDULING = shape(
  {
    nodeSelector: map(string('"arm64"'), '{ "kubernetes.io/arch": "arm64" }'),
    tolerations: list(TOLERATION, '[Toleration.exists("dedicated")]'),
    nodeAffinity: shape(
      {
        required: list(NODE_LABEL_QUERY, '[NodeLabelQuery.in("kubernetes.io/arch", ["arm64"])]'),
        preferred: list(
          shape(
            {
              weight: req(number('50')),
              match: req(list(NODE_LABEL_QUERY, '[NodeLabelQuery.exists("gpu")]')),
            },
            '{ weight: 50, match: [NodeLabelQuery.exists("gpu")] }',
          ),
          '[{ weight: 50, match: [...] }]',
        ),
      },
      '{ required: [NodeLabelQuery.in("kubernetes.io/arch", ["arm64"])] }',
    ),
    podAntiAffinity: shape(
      {
        topologyKey: string('"kubernetes.io/hostname"'),
        required: BOOLEAN,
        scope: oneOf(() => ['service', 'version'], 'use "service" or "version"'),
      },
      '{ required: true }',
    ),
    topologySpread: either(
      list(TOPOLOGY_SPREAD, '[TopologySpread.acrossZones()]'),
      FALSE,
      'an array of TopologySpread or false',
      'pass e.g. [TopologySpread.acrossZones()], or false for none',
    ),
  },
  '{ nodeSelector: { "kubernetes.io/arch": "arm64" } }',
);
const AUTOSCALING = shape(
  {
    minReplicas: req(number('2')),
    maxReplicas: req(number('6')),
    cpuUtilization: number('80'),
    memoryUtilization: number('80'),
    metrics: list(SCALING_METRIC, '[ScalingMetric.pods("http_requests_per_second", 100)]'),
    behavior: shape(
      { scaleDownStabilization: DURATION, scaleUpStabilization: DURATION },
      '{ scaleDownStabilization: Duration.minutes(5) }',
    ),
  },
  '{ minReplicas: 2, maxReplicas: 6 }',
);
const SIDECAR_OPTIONS = shape(
  {
    cpuRequest: CPU,
    cpuLimit: CPU,
    memoryRequest: SIZE,
    memoryLimit: SIZE,
    logLevel: oneOf(
      () => ['trace', 'debug', 'info', 'warning', 'error', 'critical', 'off'],
      'use "trace", "debug", "info", "warning", "error", "critical" or "off"',
    ),
    holdApplicationUntilProxyStarts: BOOLEAN,
    nativeSidecar: BOOLEAN,
  },
  '{ cpuRequest: Cpu.millis(100) }',
);
/** What a container takes besides its name and image (an init container's, a MeshJob's). */
const CONTAINER_FIELDS = {
  command: STRINGS,
  args: STRINGS,
  env: ENV,
  envFrom: ENV_FROMS,
  mounts: MOUNTS,
  resources: RESOURCES,
};
const INIT_CONTAINER = shape(
  {
    name: req(string('"migrate"')),
    image: string('"registry.example.com/migrate:1.0.0"'),
    ...CONTAINER_FIELDS,
  },
  '{ name: "migrate", command: ["migrate", "--up"] }',
);
const LABELS = map(string('"payments"'), '{ team: "payments" }');

/**
 * What `service.version("v1")` returns, taken whole: a bare version name is the usual mistake,
 * and a hand-made object is better refused as a whole than field by field.
 */
function versionHandle(fix: string): InputType {
  return {
    expected: 'a version handle (e.g. reviews.version("v1"))',
    fix,
    matches: (v) =>
      isProps(v) &&
      typeof v.serviceName === 'string' &&
      typeof v.host === 'string' &&
      typeof v.name === 'string' &&
      typeof v.declared === 'boolean',
  };
}
const VERSION_FIX = 'pass the handle the service gives, e.g. reviews.version("v1")';
const VERSION_HANDLE = versionHandle(VERSION_FIX);
const WEIGHTED_VERSION = shape(
  { version: req(VERSION_HANDLE), weight: req(number('50')) },
  '{ version: reviews.version("v1"), weight: 90 }',
);
const WEIGHTED_VERSIONS = list(WEIGHTED_VERSION, '[{ version: reviews.version("v1"), weight: 90 }, ...]');

const TOKEN_BUCKET = shape(
  { maxTokens: req(number('100')), tokensPerFill: number('10'), fillInterval: req(DURATION) },
  '{ maxTokens: 100, fillInterval: Duration.seconds(1) }',
);
const LOCAL_RATE_LIMIT_OPTIONS = {
  bucket: req(TOKEN_BUCKET),
  paths: list(
    shape(
      { prefix: req(string('"/api"')), bucket: req(TOKEN_BUCKET) },
      '{ prefix: "/api", bucket: { maxTokens: 10, fillInterval: Duration.seconds(1) } }',
    ),
    '[{ prefix: "/api", bucket: {...} }]',
  ),
};

const TRAFFIC_POLICY = shape(
  {
    connectionPool: shape(
      {
        maxConnections: number('100'),
        connectTimeout: DURATION,
        http1MaxPendingRequests: number('10'),
        http2MaxRequests: number('1000'),
        maxRequestsPerConnection: number('10'),
        maxRetries: number('3'),
      },
      '{ maxConnections: 100, http1MaxPendingRequests: 10 }',
    ),
    outlierDetection: shape(
      {
        consecutive5xxErrors: number('5'),
        consecutiveGatewayErrors: number('5'),
        interval: DURATION,
        baseEjectionTime: DURATION,
        maxEjectionPercent: number('50'),
        minHealthPercent: number('50'),
      },
      '{ consecutive5xxErrors: 3, interval: Duration.seconds(5) }',
    ),
    loadBalancer: LOAD_BALANCER,
  },
  '{ connectionPool: { maxConnections: 100 } }',
);

const MICROSERVICE_PROPS = shape(
  {
    namespace: req(MESH_NAMESPACE),
    name: string('"reviews"'),
    image: string('"registry.example.com/reviews:1.0.0"'),
    versions: req(
      map(
        shape(
          {
            image: string('"registry.example.com/reviews:1.0.0"'),
            replicas: number('2'),
            env: ENV,
            resources: RESOURCES,
          },
          '{ image: "registry.example.com/reviews:2.0.0" }',
        ),
        '{ v1: {} }',
        'dot',
      ),
    ),
    ports: list(SERVICE_PORT, '[ServicePort.http(8080)]'),
    env: ENV,
    envFrom: ENV_FROMS,
    mounts: MOUNTS,
    initContainers: list(INIT_CONTAINER, '[{ name: "migrate", command: ["migrate"] }]'),
    scheduling: SCHEDULING,
    workload: WORKLOAD,
    resources: RESOURCES,
    replicas: number('2'),
    autoscaling: AUTOSCALING,
    disruptionBudget: shape(
      { minAvailable: numberOrString('1 or "50%"'), maxUnavailable: numberOrString('1 or "25%"') },
      '{ maxUnavailable: 1 }',
    ),
    probes: shape(
      { readiness: PROBE, liveness: PROBE, startup: PROBE },
      '{ readiness: Probe.httpGet("/readyz", 8080) }',
    ),
    serviceAccountName: string('"reviews"'),
    mountServiceAccountToken: BOOLEAN,
    runAsUser: number('10001'),
    writablePaths: list(string('"/data"'), '["/data"]'),
    terminationGracePeriod: DURATION,
    imagePullPolicy: oneOf(
      () => ['Always', 'IfNotPresent', 'Never'],
      'use "Always", "IfNotPresent" or "Never"',
    ),
    sidecar: SIDECAR_OPTIONS,
    trafficPolicy: TRAFFIC_POLICY,
    localRateLimit: shape(
      LOCAL_RATE_LIMIT_OPTIONS,
      '{ bucket: { maxTokens: 100, fillInterval: Duration.seconds(1) } }',
    ),
    extraEgressHosts: list(string('"payments/api.payments.svc.cluster.local"'), '["istio-system/*"]'),
  },
  '{ namespace, image: "reviews:1.0.0", versions: { v1: {} } }',
);

const MESH_NAMESPACE_PROPS = shape(
  {
    name: string('"shop"'),
    dataPlane: DATA_PLANE,
    mtls: oneOf(
      () => Object.values(MtlsMode),
      'use MtlsMode.STRICT, MtlsMode.PERMISSIVE or MtlsMode.DISABLE',
    ),
    defaultDeny: BOOLEAN,
    tracing: shape(
      {
        provider: string('"otel-tracing"'),
        samplingPercentage: req(number('10')),
        collector: string('"observability/otel-collector.observability.svc.cluster.local"'),
      },
      '{ samplingPercentage: 10 }',
    ),
    accessLogging: shape({ provider: string('"envoy"') }, '{}'),
    trustDomain: string('"cluster.local"'),
    labels: LABELS,
    outboundTrafficPolicy: oneOf(
      () => Object.values(OutboundTrafficPolicy),
      'use OutboundTrafficPolicy.REGISTRY_ONLY or OutboundTrafficPolicy.ALLOW_ANY',
    ),
  },
  '{ name: "shop" }',
);

const EXTERNAL_SERVICE_PROPS = shape(
  {
    namespace: req(MESH_NAMESPACE),
    name: string('"payments-provider"'),
    hosts: req(list(string('"api.payments-provider.example"'), '["api.payments-provider.example"]')),
    ports: list(EXTERNAL_PORT, '[ExternalPort.https()]'),
    resolution: oneOf(() => ['DNS', 'STATIC', 'NONE'], 'use "DNS", "STATIC" or "NONE"'),
    endpoints: list(string('"203.0.113.10"'), '["203.0.113.10"]'),
    tls: EXTERNAL_TLS,
    egressGateway: EGRESS_GATEWAY,
  },
  '{ namespace, hosts: ["api.payments-provider.example"] }',
);
const EXTERNAL_PORT_OPTIONS = shape({ name: string('"https-443"') }, '{ name: "https-443" }');
const ORIGINATE_TLS_OPTIONS = shape(
  { sni: string('"api.example.com"'), caCertificates: string('"/etc/certs/ca.pem"'), port: number('80') },
  '{ sni: "api.example.com" }',
);
const EGRESS_GATEWAY_OPTIONS = shape(
  {
    namespace: string('"istio-system"'),
    selector: map(string('"egressgateway"'), '{ istio: "egressgateway" }'),
    serviceName: string('"istio-egressgateway"'),
    ports: list(number('443'), '[80, 443]'),
  },
  '{ namespace: "istio-system" }',
);

const STRING_MATCHES = map(STRING_MATCH, '{ "end-user": StringMatch.exact("jason") }');
const HTTP_ROUTE = shape(
  {
    name: string('"canary"'),
    match: list(
      shape(
        {
          headers: STRING_MATCHES,
          uri: STRING_MATCH,
          queryParams: STRING_MATCHES,
          method: STRING_MATCH,
          sourceLabels: LABELS,
        },
        '{ headers: { "end-user": StringMatch.exact("jason") } }',
      ),
      '[{ uri: StringMatch.prefix("/api") }]',
    ),
    to: req(
      either(
        WEIGHTED_VERSIONS,
        VERSION_HANDLE,
        'a version handle (e.g. reviews.version("v1")) or an array of { version, weight }',
        `${VERSION_FIX}, or [{ version: reviews.version("v1"), weight: 90 }, ...]`,
      ),
    ),
    timeout: DURATION,
    retries: shape(
      {
        attempts: req(number('2')),
        perTryTimeout: DURATION,
        retryOn: list(string('"5xx"'), '["5xx", "connect-failure"]'),
      },
      '{ attempts: 2, perTryTimeout: Duration.seconds(1) }',
    ),
    fault: shape(
      {
        delay: shape(
          { fixedDelay: req(DURATION), percentage: req(number('10')) },
          '{ fixedDelay: Duration.seconds(5), percentage: 10 }',
        ),
        abort: shape(
          { httpStatus: req(number('503')), percentage: req(number('10')) },
          '{ httpStatus: 503, percentage: 10 }',
        ),
      },
      '{ abort: { httpStatus: 503, percentage: 10 } }',
    ),
    mirror: shape(
      { to: req(VERSION_HANDLE), percentage: number('5') },
      '{ to: reviews.version("v2"), percentage: 5 }',
    ),
  },
  '{ to: reviews.version("v1") }',
);

const PATHS = list(string('"/api/*"'), '["/api", "/api/*"]');
const CALL_OPTIONS = { methods: list(string('"GET"'), '["GET", "POST"]'), paths: PATHS };
const ALLOWED_CALLER = shape(
  { principal: req(string('"cluster.local/ns/shop/sa/storefront"')), ...CALL_OPTIONS },
  '{ principal: "cluster.local/ns/shop/sa/storefront" }',
);
const JWT_OPTIONS = shape(
  {
    issuer: req(string('"https://auth.example.com/"')),
    jwksUri: req(string('"https://auth.example.com/jwks.json"')),
    audiences: list(string('"shop"'), '["shop"]'),
    paths: req(PATHS),
    forwardOriginalToken: BOOLEAN,
  },
  '{ issuer, jwksUri, paths: ["/admin/*"] }',
);

const HOSTS = list(string('"shop.example.com"'), '["shop.example.com"]');
const INGRESS_TLS = shape(
  { credentialName: req(string('"shop-tls"')), httpsRedirect: BOOLEAN },
  '{ credentialName: "shop-tls" }',
);
const INGRESS_ROUTE_OPTIONS = {
  pathPrefix: string('"/api"'),
  exactPath: string('"/login"'),
  rewrite: string('"/"'),
  timeout: DURATION,
};
const ISTIO_INGRESS_PROPS = shape(
  {
    namespace: req(MESH_NAMESPACE),
    name: string('"shop"'),
    hosts: req(HOSTS),
    selector: map(string('"ingressgateway"'), '{ istio: "ingressgateway" }'),
    gatewayServiceAccount: string('"cluster.local/ns/istio-system/sa/istio-ingressgateway"'),
    tls: INGRESS_TLS,
  },
  '{ namespace, hosts: ["shop.example.com"] }',
);
const GATEWAY_API_INGRESS_PROPS = shape(
  { namespace: req(MESH_NAMESPACE), name: string('"shop"'), hosts: req(HOSTS), tls: INGRESS_TLS },
  '{ namespace, hosts: ["shop.example.com"] }',
);
const ISTIO_INGRESS_ROUTE = shape(
  { ...INGRESS_ROUTE_OPTIONS, to: req(MICROSERVICE) },
  '{ pathPrefix: "/api", to: service }',
);
const GATEWAY_API_ROUTE = shape(
  {
    ...INGRESS_ROUTE_OPTIONS,
    to: req(
      either(
        MICROSERVICE,
        WEIGHTED_VERSIONS,
        'a Microservice or an array of { version, weight }',
        'pass the Microservice construct itself, or [{ version: reviews.version("v1"), weight: 90 }, ...]',
      ),
    ),
  },
  '{ pathPrefix: "/api", to: service }',
);

const DESCRIPTOR: InputType = shape(
  () => ({
    key: req(string('"remote_address"')),
    value: string('"/api"'),
    limit: shape(
      // The unit's value is the validation's to check, which names the allowed units.
      { requestsPerUnit: req(number('100')), unit: req(string('RateLimitUnit.MINUTE')) },
      '{ requestsPerUnit: 100, unit: RateLimitUnit.MINUTE }',
    ),
    descriptors: list(() => DESCRIPTOR, '[{ key: "PATH", value: "/api", limit: {...} }]'),
  }),
  '{ key: "remote_address", limit: { requestsPerUnit: 100, unit: RateLimitUnit.MINUTE } }',
);
const RATE_LIMIT_SERVICE_PROPS = shape(
  {
    namespace: req(MESH_NAMESPACE),
    domain: req(string('"shop"')),
    descriptors: req(list(DESCRIPTOR, '[{ key: "remote_address", limit: {...} }]')),
    name: string('"ratelimit"'),
    redisName: string('"redis"'),
    replicas: number('2'),
    logLevel: oneOf(() => ['debug', 'info', 'warn', 'error'], 'use "debug", "info", "warn" or "error"'),
    resources: RESOURCES,
    redisResources: RESOURCES,
    image: string('"docker.io/envoyproxy/ratelimit:30a4ce1a"'),
    redisImage: string('"docker.io/library/redis:7.4.2-alpine"'),
  },
  '{ namespace, domain: "shop", descriptors: [...] }',
);
const GLOBAL_RATE_LIMIT_OPTIONS = {
  actions: req(list(RATE_LIMIT_ACTION, '[RateLimitAction.remoteAddress()]')),
  failureModeDeny: BOOLEAN,
  timeout: DURATION,
};

const MESH_JOB_PROPS = shape(
  {
    namespace: req(MESH_NAMESPACE),
    name: string('"migrate"'),
    jobName: string('"migrate-1-4-2"'),
    image: req(string('"registry.example.com/migrate:1.0.0"')),
    ...CONTAINER_FIELDS,
    serviceAccountName: string('"migrate"'),
    runAsUser: number('10001'),
    schedule: string('"0 3 * * *"'),
    scheduling: SCHEDULING,
    concurrencyPolicy: oneOf(() => ['Allow', 'Forbid', 'Replace'], 'use "Allow", "Forbid" or "Replace"'),
    backoffLimit: number('3'),
    activeDeadline: DURATION,
    ttlAfterFinished: DURATION,
    sidecar: SIDECAR_OPTIONS,
  },
  '{ namespace, image: "registry.example.com/migrate:1.0.0" }',
);

const SERVICE_PORT_OPTIONS = shape(
  { name: string('"http-api"'), targetPort: number('8080') },
  '{ name: "http-api", targetPort: 8080 }',
);
const PROBE_OPTIONS = shape(
  { initialDelay: DURATION, period: DURATION, timeout: DURATION, failureThreshold: number('3') },
  '{ period: Duration.seconds(10) }',
);
const PORT = req(number('8080'));

// Reporting.

/** Thrown with every problem of one call, one `where field: what; fix` per line. */
function report(where: string, problems: readonly Problem[]): void {
  if (problems.length === 0) return;
  throw new Error(problems.map((p) => `${where} ${formatProblem(p)}`).join('\n'));
}

/** Checks arguments given as [field, type, value]; `where` is "[path]" or "Factory.method:". */
function args(where: string | IConstruct, ...list: [string, Field, unknown][]): void {
  const out: Problem[] = [];
  for (const [field, spec, value] of list) checkField(spec, value, field, out);
  // The path is worked out only for a report: walking the tree on every call costs a synth of
  // 1,000 services a tenth of its time.
  if (out.length > 0) report(typeof where === 'string' ? where : `[${where.node.path}]`, out);
}

/** Checks a construct's scope and id before `super`, which fails on them with a bare TypeError. */
export function constructId(construct: string, scope: unknown, id: unknown): string {
  const out: Problem[] = [];
  // Outside a Chart (the App itself), cdk8s's Chart.of fails later with "cannot find a parent chart".
  if (!Construct.isConstruct(scope) || !scope.node.scopes.some((s) => Chart.isChart(s))) {
    out.push({
      field: 'scope',
      message: `expected a construct (a Chart, or a construct in one), got ${describe(scope)}${Construct.isConstruct(scope) ? ' outside any Chart' : ''}`,
      fix: 'pass the chart, e.g. new Chart(app, "shop")',
    });
  }
  check(string('"reviews"'), id, 'id', out, 'entry');
  // The constructs library refuses a second child of one id with "There is already a Construct
  // with name ..." and no hint of which construct or what to do.
  const taken =
    Construct.isConstruct(scope) && typeof id === 'string' ? scope.node.tryFindChild(id) : undefined;
  if (taken) {
    out.push({
      field: 'id',
      message: `"${id}" is already the id of ${taken.constructor.name} ${taken.node.path}`,
      fix: 'give each construct of a chart its own id',
    });
  }
  report(`${construct}:`, out);
  return id as string;
}

/**
 * How call-graph problems name an allowed caller, " (storefront)": its service account, with the
 * namespace when that is not the callee's, so "callers[3]" says who it is.
 */
export function callerLabel(principal: unknown, namespace: string): string {
  if (typeof principal !== 'string' || principal === '') return '';
  const m = /\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(principal);
  if (!m) return ` (${principal})`;
  return m[1] === namespace ? ` (${m[2]})` : ` (${m[1]}/${m[2]})`;
}

const STRING_EXAMPLES: Record<string, string> = {
  name: '"v1"',
  version: '"v1"',
  namespace: '"payments"',
  host: '"api.payments.svc.cluster.local"',
  serviceAccount: '"storefront"',
  service: '"reviews"',
};

function name(target: unknown): string {
  return target instanceof Microservice || isCallTarget(target) ? ` (${target.name})` : '';
}

export const checkInput = {
  meshNamespace(self: IConstruct, props: unknown): void {
    args(self, ['', MESH_NAMESPACE_PROPS, props]);
  },
  microservice(self: IConstruct, props: unknown): void {
    args(self, ['', req(MICROSERVICE_PROPS), props]);
  },
  externalService(self: IConstruct, props: unknown): void {
    args(self, ['', req(EXTERNAL_SERVICE_PROPS), props]);
  },
  externalPort(factory: string, port: unknown, options: unknown): void {
    args(`ExternalPort.${factory}:`, ['port', PORT, port], ['options', EXTERNAL_PORT_OPTIONS, options]);
  },
  externalTls(factory: string, options: unknown): void {
    args(`ExternalTls.${factory}:`, ['options', ORIGINATE_TLS_OPTIONS, options]);
  },
  egressGateway(factory: string, options: unknown): void {
    args(`EgressGateway.${factory}:`, ['options', EGRESS_GATEWAY_OPTIONS, options]);
  },
  istioIngress(self: IConstruct, props: unknown): void {
    args(self, ['', req(ISTIO_INGRESS_PROPS), props]);
  },
  gatewayApiIngress(self: IConstruct, props: unknown): void {
    args(self, ['', req(GATEWAY_API_INGRESS_PROPS), props]);
  },
  rateLimitService(self: IConstruct, props: unknown): void {
    args(self, ['', req(RATE_LIMIT_SERVICE_PROPS), props]);
  },
  globalRateLimit(self: IConstruct, props: unknown): void {
    const fields = {
      ...GLOBAL_RATE_LIMIT_OPTIONS,
      service: req(RATE_LIMIT_SERVICE),
      target: req(MICROSERVICE),
    };
    args(self, ['', req(shape(fields, '{ service, target, actions: [...] }')), props]);
  },
  localRateLimit(self: IConstruct, props: unknown): void {
    const fields = { ...LOCAL_RATE_LIMIT_OPTIONS, service: req(MICROSERVICE) };
    args(self, ['', req(shape(fields, '{ service, bucket: {...} }')), props]);
  },

  /** `GlobalRateLimitService.apply`, the i-th target of the service. */
  apply(self: IConstruct, i: number, target: unknown, options: unknown): void {
    args(
      self,
      [`targets[${i}]`, req(MICROSERVICE), target],
      [
        `targets[${i}]${name(target)}`,
        req(shape(GLOBAL_RATE_LIMIT_OPTIONS, '{ actions: [RateLimitAction.remoteAddress()] }')),
        options,
      ],
    );
  },
  /** `Microservice.addRoute`, the i-th route of the service. */
  route(self: IConstruct, i: number, route: unknown): void {
    args(self, [`routes[${i}]`, req(HTTP_ROUTE), route]);
  },
  /** `Microservice.calls`, the i-th call of the service. */
  calls(self: IConstruct, i: number, target: unknown, options: unknown): void {
    args(
      self,
      [`calls[${i}]`, req(CALL_TARGET), target],
      [`calls[${i}]${name(target)}`, shape(CALL_OPTIONS, '{ methods: ["GET"] }'), options],
    );
  },
  /** `Microservice.allowFrom`, the i-th caller of a service in `namespace`. */
  allowFrom(self: IConstruct, i: number, namespace: string, caller: unknown): void {
    const principal = isProps(caller) ? caller.principal : undefined;
    args(self, [`callers[${i}]${callerLabel(principal, namespace)}`, req(ALLOWED_CALLER), caller]);
  },
  /** `Microservice.requireJwt`, the i-th JWT rule of the service. */
  jwt(self: IConstruct, i: number, options: unknown): void {
    args(self, [`jwt[${i}]`, req(JWT_OPTIONS), options]);
  },
  /** The ingresses' `addRoute`, the i-th route of the ingress. */
  ingressRoute(self: IConstruct, i: number, route: unknown, gatewayApi: boolean): void {
    const to = isProps(route) ? name(route.to) : '';
    args(self, [`routes[${i}]${to}`, req(gatewayApi ? GATEWAY_API_ROUTE : ISTIO_INGRESS_ROUTE), route]);
  },
  /** A method's string arguments, e.g. `version(name)`. */
  strings(self: IConstruct, method: string, values: Record<string, unknown>): void {
    args(
      self,
      ...Object.entries(values).map(([arg, value]): [string, Field, unknown] => [
        `${method}(${arg})`,
        req(string(STRING_EXAMPLES[arg] ?? '"v1"')),
        value,
      ]),
    );
  },

  servicePort(factory: string, port: unknown, options: unknown): void {
    args(`ServicePort.${factory}:`, ['port', PORT, port], ['options', SERVICE_PORT_OPTIONS, options]);
  },
  probe(factory: string, port: unknown, options: unknown, path?: unknown): void {
    const checks: [string, Field, unknown][] = [
      ['port', PORT, port],
      ['options', PROBE_OPTIONS, options],
    ];
    if (factory === 'httpGet') checks.unshift(['path', req(string('"/healthz"')), path]);
    args(`Probe.${factory}:`, ...checks);
  },
  stringMatch(factory: string, value: unknown): void {
    args(`StringMatch.${factory}:`, ['value', req(string('"/api"')), value]);
  },
  loadBalancer(factory: string, values: Record<string, unknown>): void {
    const types: Record<string, Field> = {
      header: req(string('"x-user-id"')),
      name: req(string('"session"')),
      ttl: req(DURATION),
    };
    args(
      `LoadBalancer.${factory}:`,
      ...Object.entries(values).map(([k, v]): [string, Field, unknown] => [k, types[k], v]),
    );
  },
  dataPlane(factory: string, values: Record<string, unknown>): void {
    const types: Record<string, Field> = {
      revision: req(string('"1-30-3"')),
      options: shape({ waypoint: BOOLEAN }, '{ waypoint: true }'),
    };
    args(
      `DataPlane.${factory}:`,
      ...Object.entries(values).map(([k, v]): [string, Field, unknown] => [k, types[k], v]),
    );
  },
  rateLimitAction(factory: string, values: Record<string, unknown>): void {
    const types: Record<string, Field> = {
      headerName: req(string('":path"')),
      descriptorKey: factory === 'genericKey' ? string('"generic_key"') : req(string('"PATH"')),
      value: req(string('"all"')),
      options: shape({ skipIfAbsent: BOOLEAN }, '{ skipIfAbsent: true }'),
    };
    args(
      `RateLimitAction.${factory}:`,
      ...Object.entries(values).map(([k, v]): [string, Field, unknown] => [k, types[k], v]),
    );
  },
  meshJob(self: IConstruct, props: unknown): void {
    args(self, ['', req(MESH_JOB_PROPS), props]);
  },
  /** The factories of constructs/workload/ (EnvValue, Volume, Toleration, ...), by argument name. */
  workloadValue(factory: string, values: Record<string, unknown>): void {
    const names = req(string('"db-credentials"'));
    const types: Record<string, Field> = {
      value: req(string('"info"')),
      secretName: names,
      configMapName: names,
      claimName: names,
      key: req(string('"password"')),
      path: req(string('"metadata.name"')),
      metricName: req(string('"http_requests_per_second"')),
      topologyKey: req(string('"topology.kubernetes.io/zone"')),
      averageValue: req(numberOrString('100 or "500m"')),
      selector: LABELS,
      values: req(list(string('"eu-west-1a"'), '["eu-west-1a"]')),
      effect: oneOf(
        () => Object.values(TaintEffect),
        'use TaintEffect.NO_SCHEDULE, TaintEffect.PREFER_NO_SCHEDULE or TaintEffect.NO_EXECUTE',
      ),
      sourceOptions: shape({ optional: BOOLEAN }, '{ optional: true }'),
      envFromOptions: shape({ prefix: string('"DB_"'), optional: BOOLEAN }, '{ prefix: "DB_" }'),
      projectionOptions: shape(
        {
          items: map(string('"config.yaml"'), '{ "app.yaml": "config.yaml" }'),
          defaultMode: number('0o440'),
        },
        '{ defaultMode: 0o440 }',
      ),
      emptyDirOptions: shape({ sizeLimit: SIZE, memory: BOOLEAN }, '{ sizeLimit: Size.mebibytes(256) }'),
      spreadOptions: shape({ maxSkew: number('1'), required: BOOLEAN }, '{ maxSkew: 1 }'),
      statefulSetOptions: shape(
        {
          volumeClaims: list(
            shape(
              {
                name: req(string('"data"')),
                mountPath: req(string('"/var/lib/ledger"')),
                storage: req(SIZE),
                storageClassName: string('"gp3"'),
                accessModes: list(
                  oneOf(
                    () => ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'],
                    'use "ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany" or "ReadWriteOncePod"',
                  ),
                  '["ReadWriteOnce"]',
                ),
              },
              '{ name: "data", mountPath: "/data", storage: Size.gibibytes(10) }',
            ),
            '[{ name: "data", mountPath: "/data", storage: Size.gibibytes(10) }]',
          ),
          podManagementPolicy: oneOf(() => ['OrderedReady', 'Parallel'], 'use "OrderedReady" or "Parallel"'),
          peers: BOOLEAN,
        },
        '{ volumeClaims: [{ name: "data", mountPath: "/data", storage: Size.gibibytes(10) }] }',
      ),
    };
    args(
      `${factory}:`,
      ...Object.entries(values).map(([k, v]): [string, Field, unknown] => [
        /Options$/.test(k) ? 'options' : k,
        types[k],
        v,
      ]),
    );
  },
};
