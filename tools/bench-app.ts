/**
 * The benchmark behind `npm run bench` (tools/bench.ts checks the command line, then loads this):
 * a generated app of N services that uses every feature of the constructs, synthesized and
 * validated, and in the same run the same plain objects serialized by the fast YAML writer alone,
 * as the floor.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { App, Chart } from 'cdk8s';
import {
  Cpu,
  DataPlane,
  Duration,
  GatewayApiIngress,
  GlobalRateLimitService,
  IstioIngress,
  LoadBalancer,
  MeshNamespace,
  Microservice,
  Probe,
  RateLimitAction,
  RateLimitUnit,
  ServicePort,
  Size,
  StringMatch,
} from '../constructs/index.js';
import { admissionStats } from '../constructs/admission/index.js';
import { type Manifest, renderObjects } from '../constructs/render.js';
import { documentToYaml } from './yaml-writer.js';

/**
 * Builds the generated app: N services in namespaces of `perNamespace` (every fifth namespace in
 * ambient mode), each calling about three others.
 */
export function buildBenchApp(app: App, services: number, perNamespace = 100): Chart {
  const chart = new Chart(app, 'bench');
  const namespaces: MeshNamespace[] = [];
  for (let i = 0; i * perNamespace < services; i++) {
    namespaces.push(
      new MeshNamespace(chart, `ns-${i}`, {
        // Every fifth namespace runs in ambient mode, with a waypoint for its L7 policies.
        dataPlane: i % 5 === 4 ? DataPlane.ambient({ waypoint: true }) : DataPlane.sidecar(),
        tracing: { samplingPercentage: 1 },
        accessLogging: {},
      }),
    );
  }
  const limits = new GlobalRateLimitService(chart, 'ratelimit', {
    namespace: namespaces[0],
    domain: 'bench',
    descriptors: [{ key: 'remote_address', limit: { requestsPerUnit: 600, unit: RateLimitUnit.MINUTE } }],
  });
  const all: Microservice<'v1' | 'v2' | 'v3'>[] = [];
  for (let i = 0; i < services; i++) {
    const ns = namespaces[Math.floor(i / perNamespace)];
    // Ambient pods have no sidecar to tune, and waypoints take no EnvoyFilter rate limits.
    const sidecarMode = !ns.isAmbient;
    const svc = new Microservice(chart, `svc-${i}`, {
      namespace: ns,
      image: `registry.example.com/bench/svc-${i}:1.0.${i}`,
      ports: [ServicePort.http(8080)],
      versions: (i % 4 === 0 ? { v1: {}, v2: {}, v3: {} } : { v1: {}, v2: {} }) as Record<
        'v1' | 'v2' | 'v3',
        object
      >,
      env: { SERVICE: `svc-${i}` },
      probes: { readiness: Probe.httpGet('/readyz', 8080), liveness: Probe.httpGet('/healthz', 8080) },
      sidecar: sidecarMode ? { cpuRequest: Cpu.millis(20), memoryLimit: Size.mebibytes(256) } : undefined,
      disruptionBudget: { maxUnavailable: 1 },
      trafficPolicy: {
        connectionPool: { maxConnections: 100, http1MaxPendingRequests: 10, maxRetries: 3 },
        outlierDetection: {
          consecutive5xxErrors: 5,
          interval: Duration.seconds(10),
          baseEjectionTime: Duration.seconds(30),
        },
        loadBalancer:
          i % 2 === 0 ? LoadBalancer.leastRequest() : LoadBalancer.consistentHashByHeader('x-user'),
      },
      localRateLimit:
        i % 3 === 0 && sidecarMode
          ? { bucket: { maxTokens: 100, fillInterval: Duration.seconds(1) } }
          : undefined,
      ...(i % 5 === 0 ? { autoscaling: { minReplicas: 2, maxReplicas: 6 } } : { replicas: 2 }),
    }) as Microservice<'v1' | 'v2' | 'v3'>;
    svc.addRoute({ match: [{ headers: { 'x-canary': StringMatch.exact('1') } }], to: svc.version('v2') });
    svc.addRoute({
      to: [
        { version: svc.version('v1'), weight: 90 },
        { version: svc.version('v2'), weight: 10 },
      ],
      timeout: Duration.seconds(3),
      retries: { attempts: 2, perTryTimeout: Duration.seconds(1), retryOn: ['5xx', 'connect-failure'] },
      ...(i % 10 === 0 && { fault: { delay: { fixedDelay: Duration.millis(200), percentage: 1 } } }),
      ...(i % 4 === 0 && { mirror: { to: svc.version('v3'), percentage: 5 } }),
    });
    if (i % 10 === 0)
      svc.requireJwt({
        issuer: 'https://issuer.example.com',
        jwksUri: 'https://issuer.example.com/jwks',
        paths: ['/admin/*'],
      });
    all.push(svc);
  }
  // About three dependencies each, always on lower-numbered services, so the graph is a DAG.
  for (let i = 1; i < services; i++) {
    const deps = new Set([i - 1, Math.floor(i / 2), (i * 37 + 11) % i]);
    for (const d of deps) all[i].calls(all[d], { methods: ['GET'], paths: ['/api/*'] });
  }
  const ingress = new IstioIngress(chart, 'ingress', {
    namespace: namespaces[0],
    hosts: ['bench.example.com'],
  });
  for (let i = 0; i < Math.min(10, services); i++) ingress.addRoute({ pathPrefix: `/svc-${i}/`, to: all[i] });
  // A second entry point through the Kubernetes Gateway API, for ten services of the first ambient
  // namespace: their waypoint applies their VirtualServices, which a Gateway API gateway does not.
  const ambient = namespaces.findIndex((ns) => ns.isAmbient);
  if (ambient >= 0) {
    const api = new GatewayApiIngress(chart, 'api-ingress', {
      namespace: namespaces[ambient],
      hosts: ['api.bench.example.com'],
    });
    const first = ambient * perNamespace;
    for (let i = first; i < Math.min(first + Math.min(10, perNamespace), services); i++) {
      api.addRoute({ pathPrefix: `/svc-${i}/`, to: all[i] });
    }
  }
  limits.apply(all[0], { actions: [RateLimitAction.remoteAddress()] });
  return chart;
}

/**
 * Synthesizes the generated app of `n` services, then serializes its objects again as the floor,
 * and returns the figures line:
 *   services=N objects=M bytes=B synth_ms=X admission_ms=A admission_share=S% floor_ms=Y ratio=X/Y peak_rss_mb=Z
 */
export function measure(n: number, perNamespace: number): string {
  let peak = process.memoryUsage().rss;
  const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);

  const t0 = performance.now();
  // The construct tree lives only inside synthesize(): the floor below measures without it.
  const objects = synthesize(n, perNamespace);
  const synth = writeTo(objects);
  const synthMs = performance.now() - t0;
  peak = Math.max(peak, process.memoryUsage().rss);
  (globalThis as { gc?: () => void }).gc?.();

  // The floor: the same plain objects, already built, only serialized to the same sink.
  const f0 = performance.now();
  const floor = writeTo(objects);
  const floorMs = performance.now() - f0;
  peak = Math.max(peak, process.memoryUsage().rss);
  clearInterval(sample);
  if (floor !== synth) throw new Error('bench: the floor serialized a different number of bytes');
  return `services=${n} objects=${objects.length} bytes=${synth} synth_ms=${synthMs.toFixed(0)} admission_ms=${admissionStats.ms.toFixed(0)} admission_share=${((100 * admissionStats.ms) / synthMs).toFixed(1)}% floor_ms=${floorMs.toFixed(0)} ratio=${(synthMs / floorMs).toFixed(2)} peak_rss_mb=${(peak / 2 ** 20).toFixed(0)}`;
}

/** Builds the generated app and renders its validated objects. */
function synthesize(services: number, perNamespace: number): Manifest[] {
  const app = new App();
  buildBenchApp(app, services, perNamespace);
  return renderObjects(app);
}

/** Streams the YAML of the objects to /dev/null in 1 MiB writes, as a synth writes its files. */
function writeTo(objects: readonly unknown[]): number {
  const fd = openSync('/dev/null', 'w');
  let bytes = 0;
  let pending = '';
  const flush = () => {
    bytes += writeSync(fd, pending);
    pending = '';
  };
  try {
    objects.forEach((o, i) => {
      pending += (i > 0 ? '---\n' : '') + documentToYaml(o);
      if (pending.length >= 1 << 20) flush();
    });
    flush();
  } finally {
    closeSync(fd);
  }
  return bytes;
}
