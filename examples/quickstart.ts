// The README's example, verbatim but for the import path; test/readme.test.ts keeps the two equal and synthesizes it.
import { App, Chart } from 'cdk8s';
import {
  DataPlane,
  Duration,
  GlobalRateLimitService,
  IstioIngress,
  LoadBalancer,
  MeshNamespace,
  Microservice,
  MtlsMode,
  Probe,
  RateLimitAction,
  RateLimitUnit,
  ServicePort,
  StringMatch,
} from '../constructs/index.js';

const app = new App();
const chart = new Chart(app, 'shop');

// Namespace: sidecar injection (or DataPlane.revision('1-30-3'), DataPlane.ambient({ waypoint: true })),
// STRICT mTLS, an allow-nothing AuthorizationPolicy, tracing at 10 % and Envoy access logs.
const ns = new MeshNamespace(chart, 'shop', {
  dataPlane: DataPlane.sidecar(),
  mtls: MtlsMode.STRICT,
  tracing: { provider: 'otel-tracing', samplingPercentage: 10 },
  accessLogging: {},
});

const ratings = new Microservice(chart, 'ratings', {
  namespace: ns,
  image: 'registry.example.com/ratings:1.4.2',
  ports: [ServicePort.http(8080)],
  versions: { v1: {} },
  probes: { readiness: Probe.httpGet('/readyz', 8080), liveness: Probe.httpGet('/healthz', 8080) },
  autoscaling: { minReplicas: 2, maxReplicas: 6 },
  disruptionBudget: { maxUnavailable: 1 },
  // Circuit breaking: at most 10 pending requests; eject a pod after 3 consecutive 5xx for 30 s.
  trafficPolicy: {
    connectionPool: { maxConnections: 50, http1MaxPendingRequests: 10, maxRetries: 3 },
    outlierDetection: {
      consecutive5xxErrors: 3,
      interval: Duration.seconds(5),
      baseEjectionTime: Duration.seconds(30),
    },
    loadBalancer: LoadBalancer.leastRequest(),
  },
  // Token bucket in the service's own proxy: 100 requests/s, 10/s on /api/search; 429 + x-local-rate-limit.
  localRateLimit: {
    bucket: { maxTokens: 100, fillInterval: Duration.seconds(1) },
    paths: [{ prefix: '/api/search', bucket: { maxTokens: 10, fillInterval: Duration.seconds(1) } }],
  },
});

const reviews = new Microservice(chart, 'reviews', {
  namespace: ns,
  image: 'registry.example.com/reviews:2.0.0',
  ports: [ServicePort.http(8080)],
  versions: { v1: { image: 'registry.example.com/reviews:1.9.0' }, v2: {}, v3: {} },
});

// Routing (VirtualService): first match wins; the catch-all comes last.
reviews
  .addRoute({ match: [{ headers: { 'end-user': StringMatch.exact('jason') } }], to: reviews.version('v2') })
  .addRoute({
    to: [
      { version: reviews.version('v1'), weight: 90 },
      { version: reviews.version('v3'), weight: 10 },
    ],
    timeout: Duration.seconds(3),
    retries: { attempts: 2, perTryTimeout: Duration.seconds(1), retryOn: ['5xx', 'connect-failure'] },
    mirror: { to: reviews.version('v2'), percentage: 5 },
  });
// reviews.version('v4') does not compile: versions are typed handles.

// Security from the call graph: ratings allows only reviews' identity, GET only;
// reviews' Sidecar can reach only ratings (and istio-system).
reviews.calls(ratings, { methods: ['GET'] });
// End-user auth: a valid JWT is required on /admin.
reviews.requireJwt({
  issuer: 'https://auth.example.com/',
  jwksUri: 'https://auth.example.com/jwks.json',
  paths: ['/admin', '/admin/*'],
});

// Ingress: an Istio Gateway for shop.example.com with TLS (HTTP redirects to HTTPS); the gateway's
// identity is allowed on reviews. GatewayApiIngress does the same with the Kubernetes Gateway API.
new IstioIngress(chart, 'edge', {
  namespace: ns,
  hosts: ['shop.example.com'],
  tls: { credentialName: 'shop-tls' },
}).addRoute({ pathPrefix: '/reviews', to: reviews });

// Global rate limiting: Envoy's ratelimit service with Redis; 100 requests a minute per client address.
const limits = new GlobalRateLimitService(chart, 'ratelimit', {
  namespace: ns,
  domain: 'shop',
  descriptors: [{ key: 'remote_address', limit: { requestsPerUnit: 100, unit: RateLimitUnit.MINUTE } }],
});
limits.apply(reviews, { actions: [RateLimitAction.remoteAddress()] });

app.synth();
