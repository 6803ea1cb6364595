import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Testing } from 'cdk8s';
import {
  Cpu,
  DataPlane,
  Duration,
  LoadBalancer,
  MeshNamespace,
  Microservice,
  MtlsMode,
  Probe,
  ServicePort,
  Size,
} from '../constructs/index.js';
import { all, find, synth } from './support/synth.js';

function shop(props: ConstructorParameters<typeof MeshNamespace>[2] = {}) {
  const chart = Testing.chart();
  const ns = new MeshNamespace(chart, 'shop', props);
  return { chart, ns };
}

describe('Microservice workloads', () => {
  it('deploys each version with stable app/version labels and a Service with named ports', () => {
    const { chart, ns } = shop();
    new Microservice(chart, 'reviews', {
      namespace: ns,
      image: 'reviews:1.0',
      ports: [ServicePort.http(9080), ServicePort.grpc(9090, { name: 'grpc-admin', targetPort: 19090 })],
      versions: { v1: {}, v2: { image: 'reviews:2.0', replicas: 3, env: { STARS: 'black' } } },
      env: { LOG: 'json' },
    });
    const objs = synth(chart);
    const v1 = find(objs, 'Deployment', 'reviews-v1');
    assert.deepEqual(v1.metadata.labels, { app: 'reviews', version: 'v1' });
    assert.deepEqual(v1.spec.selector, { matchLabels: { app: 'reviews', version: 'v1' } });
    assert.deepEqual(v1.spec.template.metadata.labels, { app: 'reviews', version: 'v1' });
    assert.equal(v1.spec.replicas, 1);
    const c1 = v1.spec.template.spec.containers[0];
    assert.equal(c1.image, 'reviews:1.0');
    assert.equal(c1.imagePullPolicy, 'IfNotPresent');
    assert.deepEqual(c1.env, [{ name: 'LOG', value: 'json' }]);
    assert.deepEqual(c1.ports, [
      { name: 'http', containerPort: 9080 },
      { name: 'grpc-admin', containerPort: 19090 },
    ]);
    const v2 = find(objs, 'Deployment', 'reviews-v2');
    assert.equal(v2.spec.replicas, 3);
    assert.equal(v2.spec.template.spec.containers[0].image, 'reviews:2.0');
    assert.deepEqual(v2.spec.template.spec.containers[0].env, [
      { name: 'LOG', value: 'json' },
      { name: 'STARS', value: 'black' },
    ]);
    const svc = find(objs, 'Service', 'reviews');
    assert.deepEqual(svc.spec.selector, { app: 'reviews' });
    assert.deepEqual(svc.spec.ports, [
      { name: 'http', port: 9080, targetPort: 9080, appProtocol: 'http' },
      { name: 'grpc-admin', port: 9090, targetPort: 19090, appProtocol: 'grpc' },
    ]);
    assert.ok(!JSON.stringify(objs).includes('cdk8s.io/metadata.addr'), 'no hashed cdk8s selector labels');
  });

  it('gives every pod the restricted Pod Security Standard and small default resources', () => {
    const { chart, ns } = shop();
    new Microservice(chart, 'catalog', {
      namespace: ns,
      image: 'catalog:1',
      versions: { v1: {} },
      writablePaths: ['/var/cache'],
    });
    const pod = find(synth(chart), 'Deployment', 'catalog-v1').spec.template.spec;
    assert.deepEqual(pod.securityContext, {
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      fsGroup: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const c = pod.containers[0];
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'] });
    assert.deepEqual(c.volumeMounts, [
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'writable-1', mountPath: '/var/cache' },
    ]);
    assert.deepEqual(pod.volumes, [
      { name: 'tmp', emptyDir: {} },
      { name: 'writable-1', emptyDir: {} },
    ]);
    assert.deepEqual(c.resources, {
      requests: { cpu: '50m', memory: '64Mi' },
      limits: { cpu: '500m', memory: '256Mi' },
    });
    assert.equal(pod.automountServiceAccountToken, false);
    assert.equal(pod.serviceAccountName, 'catalog');
    assert.equal(pod.terminationGracePeriodSeconds, 30);
  });

  it('creates a ServiceAccount without a mounted token unless asked', () => {
    const { chart, ns } = shop();
    new Microservice(chart, 'a', {
      namespace: ns,
      image: 'a:1',
      versions: { v1: {} },
      serviceAccountName: 'bookinfo-a',
    });
    new Microservice(chart, 'b', {
      namespace: ns,
      image: 'b:1',
      versions: { v1: {} },
      mountServiceAccountToken: true,
    });
    const objs = synth(chart);
    assert.equal(find(objs, 'ServiceAccount', 'bookinfo-a').automountServiceAccountToken, false);
    assert.equal(find(objs, 'ServiceAccount', 'b').automountServiceAccountToken, true);
    assert.equal(find(objs, 'Deployment', 'a-v1').spec.template.spec.serviceAccountName, 'bookinfo-a');
  });

  it('autoscales each version with an HPA and leaves replicas to it', () => {
    const { chart, ns } = shop();
    new Microservice(chart, 'web', {
      namespace: ns,
      image: 'web:1',
      versions: { v1: {}, v2: {} },
      autoscaling: { minReplicas: 2, maxReplicas: 10, cpuUtilization: 70 },
      disruptionBudget: { minAvailable: '50%' },
    });
    const objs = synth(chart);
    assert.equal(find(objs, 'Deployment', 'web-v1').spec.replicas, undefined);
    const hpa = find(objs, 'HorizontalPodAutoscaler', 'web-v2');
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web-v2' });
    assert.equal(hpa.spec.minReplicas, 2);
    assert.equal(hpa.spec.maxReplicas, 10);
    // The app container's own CPU, not the pod's, whose average the idle istio-proxy would dilute.
    assert.deepEqual(hpa.spec.metrics, [
      {
        type: 'ContainerResource',
        containerResource: {
          name: 'cpu',
          container: 'web',
          target: { type: 'Utilization', averageUtilization: 70 },
        },
      },
    ]);
    const pdb = find(objs, 'PodDisruptionBudget', 'web');
    assert.deepEqual(pdb.spec, { selector: { matchLabels: { app: 'web' } }, minAvailable: '50%' });
  });

  it('renders probes, custom resources and sidecar proxy annotations', () => {
    const { chart, ns } = shop();
    new Microservice(chart, 'api', {
      namespace: ns,
      image: 'api:1',
      versions: { v1: {} },
      probes: {
        readiness: Probe.httpGet('/readyz', 8080, { period: Duration.seconds(5) }),
        liveness: Probe.httpGet('/healthz', 8080, { failureThreshold: 5 }),
        startup: Probe.tcp(8080),
      },
      resources: {
        cpu: { request: Cpu.millis(100), limit: Cpu.units(1) },
        memory: { request: Size.kibibytes(1500), limit: Size.gibibytes(1) },
      },
      sidecar: {
        cpuRequest: Cpu.millis(20),
        memoryRequest: Size.kibibytes(100_000),
        memoryLimit: Size.mebibytes(256),
        logLevel: 'debug',
        holdApplicationUntilProxyStarts: false,
      },
      terminationGracePeriod: Duration.seconds(45),
    });
    const pod = find(synth(chart), 'Deployment', 'api-v1').spec.template;
    const c = pod.spec.containers[0];
    assert.deepEqual(c.readinessProbe, { httpGet: { path: '/readyz', port: 8080 }, periodSeconds: 5 });
    assert.deepEqual(c.livenessProbe, { httpGet: { path: '/healthz', port: 8080 }, failureThreshold: 5 });
    assert.deepEqual(c.startupProbe, { tcpSocket: { port: 8080 } });
    assert.deepEqual(c.resources, {
      requests: { cpu: '100m', memory: '1500Ki' },
      limits: { cpu: '1', memory: '1024Mi' },
    });
    assert.deepEqual(pod.metadata.annotations, {
      'sidecar.istio.io/proxyCPU': '20m',
      'sidecar.istio.io/proxyMemory': '100000Ki',
      'sidecar.istio.io/proxyMemoryLimit': '256Mi',
      'sidecar.istio.io/logLevel': 'debug',
      'proxy.istio.io/config': '{"holdApplicationUntilProxyStarts":false}',
    });
    assert.equal(pod.spec.terminationGracePeriodSeconds, 45);
  });
});

describe('Microservice resilience (DestinationRule)', () => {
  it('has a subset per version and ISTIO_MUTUAL when the namespace uses mTLS', () => {
    const { chart, ns } = shop();
    new Microservice(chart, 'reviews', { namespace: ns, image: 'r:1', versions: { v1: {}, v2: {}, v3: {} } });
    const dr = find(synth(chart), 'DestinationRule', 'reviews');
    assert.equal(dr.spec.host, 'reviews.shop.svc.cluster.local');
    assert.deepEqual(dr.spec.subsets, [
      { name: 'v1', labels: { version: 'v1' } },
      { name: 'v2', labels: { version: 'v2' } },
      { name: 'v3', labels: { version: 'v3' } },
    ]);
    assert.deepEqual(dr.spec.trafficPolicy, { tls: { mode: 'ISTIO_MUTUAL' } });
  });

  it('sends plain text when the namespace disables mTLS', () => {
    const { chart, ns } = shop({ mtls: MtlsMode.DISABLE });
    new Microservice(chart, 'legacy', { namespace: ns, image: 'l:1', versions: { v1: {} } });
    assert.deepEqual(find(synth(chart), 'DestinationRule', 'legacy').spec.trafficPolicy, {
      tls: { mode: 'DISABLE' },
    });
  });

  it('renders connection pool limits, outlier detection and load balancing', () => {
    const { chart, ns } = shop();
    new Microservice(chart, 'ratings', {
      namespace: ns,
      image: 'r:1',
      versions: { v1: {} },
      trafficPolicy: {
        connectionPool: {
          maxConnections: 1,
          connectTimeout: Duration.millis(250),
          http1MaxPendingRequests: 1,
          http2MaxRequests: 10,
          maxRequestsPerConnection: 1,
          maxRetries: 3,
        },
        outlierDetection: {
          consecutive5xxErrors: 1,
          consecutiveGatewayErrors: 2,
          interval: Duration.seconds(1),
          baseEjectionTime: Duration.minutes(3),
          maxEjectionPercent: 100,
          minHealthPercent: 0,
        },
        loadBalancer: LoadBalancer.consistentHashByHeader('x-user'),
      },
    });
    const tp = find(synth(chart), 'DestinationRule', 'ratings').spec.trafficPolicy;
    assert.deepEqual(tp.connectionPool, {
      tcp: { maxConnections: 1, connectTimeout: '250ms' },
      http: { http1MaxPendingRequests: 1, http2MaxRequests: 10, maxRequestsPerConnection: 1, maxRetries: 3 },
    });
    assert.deepEqual(tp.outlierDetection, {
      consecutive5xxErrors: 1,
      consecutiveGatewayErrors: 2,
      interval: '1s',
      baseEjectionTime: '180s',
      maxEjectionPercent: 100,
      minHealthPercent: 0,
    });
    assert.deepEqual(tp.loadBalancer, { consistentHash: { httpHeaderName: 'x-user' } });
  });

  it('offers simple and cookie load balancers', () => {
    const { chart, ns } = shop();
    new Microservice(chart, 'a', {
      namespace: ns,
      image: 'a:1',
      versions: { v1: {} },
      trafficPolicy: { loadBalancer: LoadBalancer.leastRequest() },
    });
    new Microservice(chart, 'b', {
      namespace: ns,
      image: 'b:1',
      versions: { v1: {} },
      trafficPolicy: { loadBalancer: LoadBalancer.consistentHashByCookie('session', Duration.hours(1)) },
    });
    const objs = synth(chart);
    assert.deepEqual(find(objs, 'DestinationRule', 'a').spec.trafficPolicy.loadBalancer, {
      simple: 'LEAST_REQUEST',
    });
    assert.deepEqual(find(objs, 'DestinationRule', 'b').spec.trafficPolicy.loadBalancer, {
      consistentHash: { httpCookie: { name: 'session', ttl: '3600s' } },
    });
  });
});

describe('MeshNamespace', () => {
  it('labels the namespace for sidecar injection and adds STRICT mTLS and default deny', () => {
    const { chart } = shop();
    const objs = synth(chart);
    assert.deepEqual(find(objs, 'Namespace', 'shop').metadata.labels, { 'istio-injection': 'enabled' });
    const pa = find(objs, 'PeerAuthentication', 'default');
    assert.equal(pa.metadata.namespace, 'shop');
    assert.deepEqual(pa.spec, { mtls: { mode: 'STRICT' } });
    assert.deepEqual(find(objs, 'AuthorizationPolicy', 'allow-nothing').spec, {});
    assert.equal(all(objs, 'Telemetry').length, 0);
    assert.equal(objs[0].kind, 'Namespace', 'the namespace is applied first');
  });

  it('supports revision-based injection, PERMISSIVE migration and no default deny', () => {
    const { chart } = shop({
      dataPlane: DataPlane.revision('1-30-3'),
      mtls: MtlsMode.PERMISSIVE,
      defaultDeny: false,
      labels: { team: 'books' },
    });
    const objs = synth(chart);
    assert.deepEqual(find(objs, 'Namespace', 'shop').metadata.labels, {
      team: 'books',
      'istio.io/rev': '1-30-3',
    });
    assert.deepEqual(find(objs, 'PeerAuthentication', 'default').spec, { mtls: { mode: 'PERMISSIVE' } });
    assert.equal(all(objs, 'AuthorizationPolicy').length, 0);
  });

  it('configures tracing sampling and access logging through Telemetry', () => {
    const { chart } = shop({ tracing: { provider: 'jaeger', samplingPercentage: 1 }, accessLogging: {} });
    const tel = find(synth(chart), 'Telemetry', 'namespace-default');
    assert.deepEqual(tel.spec, {
      tracing: [{ providers: [{ name: 'jaeger' }], randomSamplingPercentage: 1 }],
      accessLogging: [{ providers: [{ name: 'envoy' }] }],
    });
  });

  it('writes a Telemetry for either of tracing and access logging alone, and none without both', () => {
    const telemetry = (props: Parameters<typeof shop>[0]) =>
      synth(shop(props).chart)
        .filter((o) => o.kind === 'Telemetry')
        .map((o) => o.spec);
    assert.deepEqual(telemetry({ accessLogging: { provider: 'otel-logs' } }), [
      { accessLogging: [{ providers: [{ name: 'otel-logs' }] }] },
    ]);
    assert.deepEqual(telemetry({ tracing: { samplingPercentage: 10 } }), [
      { tracing: [{ providers: [{ name: 'otel-tracing' }], randomSamplingPercentage: 10 }] },
    ]);
    assert.deepEqual(telemetry({}), []);
  });
});
