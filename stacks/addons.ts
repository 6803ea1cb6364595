/**
 * Observability add-ons from their upstream Helm charts, pinned in PLATFORM.addons: Prometheus
 * (server only, as Istio's samples/addons render it), the OpenTelemetry collector of the
 * "otel-tracing" provider exporting to Jaeger, and Kiali (in istio-system, as Kiali's docs install it).
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { PLATFORM } from '../constructs/versions.js';
import { ISTIO_NAMESPACE, OTEL_TRACING } from './istio.js';

export const OBSERVABILITY_NAMESPACE = OTEL_TRACING.namespace;

export interface ObservabilityArgs {
  readonly prometheus: boolean;
  /** The OpenTelemetry collector (opentelemetry-collector.observability:4317) and Jaeger. */
  readonly tracing: boolean;
  /** Kiali; needs `prometheus`. */
  readonly kiali: boolean;
}

/** How to reach an add-on's UI from a workstation. */
export interface AddonEndpoint {
  /** The in-cluster address. */
  readonly service: string;
  /** The URL once `portForward` runs. */
  readonly url: string;
  readonly portForward: string;
}

const PROMETHEUS_SERVICE = 'prometheus';
const PROMETHEUS_URL = `http://${PROMETHEUS_SERVICE}.${OBSERVABILITY_NAMESPACE}.svc.cluster.local:9090`;
/**
 * The Jaeger chart 4.0.x (PLATFORM.addons.jaeger) runs Jaeger v2 as the all-in-one pod, still behind
 * the all-in-one Services named after the release: `<release>-collector` (OTLP on 4317 gRPC and
 * 4318) and `<release>-query` (UI on 16686, query API on 16685 gRPC), headless. Charts after 4.0
 * (jaegertracing/helm-charts#702) replace them with one `<release>` Service and rename the values
 * from `allInOne` to `jaeger`: moving the pin means changing these names and the values below.
 */
const JAEGER_RELEASE = 'jaeger';
const JAEGER_COLLECTOR_HOST = `${JAEGER_RELEASE}-collector.${OBSERVABILITY_NAMESPACE}.svc.cluster.local`;
const JAEGER_QUERY_SERVICE = `${JAEGER_RELEASE}-query`;
const JAEGER_QUERY_HOST = `${JAEGER_QUERY_SERVICE}.${OBSERVABILITY_NAMESPACE}.svc.cluster.local`;
const JAEGER_PORTS = { otlpGrpc: 4317, ui: 16686, queryGrpc: 16685 } as const;
const JAEGER_EXPORTER = 'otlp_grpc/jaeger';

/** Helm values of each add-on, as the Observability component installs them. */
export function addonValues(args: ObservabilityArgs) {
  return {
    prometheus: {
      // Istio's samples/addons/prometheus.yaml: the server alone, scraping every pod Istio annotates.
      alertmanager: { enabled: false },
      'prometheus-pushgateway': { enabled: false },
      'kube-state-metrics': { enabled: false },
      'prometheus-node-exporter': { enabled: false },
      server: {
        fullnameOverride: PROMETHEUS_SERVICE,
        persistentVolume: { enabled: false },
        service: { servicePort: 9090 },
        global: { scrape_interval: '15s' },
      },
    },
    opentelemetryCollector: {
      // The Service the "otel-tracing" provider sends to: opentelemetry-collector.observability:4317.
      fullnameOverride: 'opentelemetry-collector',
      mode: 'deployment',
      // The chart has no default image (its NOTES.txt fails without image.repository); the k8s
      // distribution, published as otel/opentelemetry-collector-k8s with the binary otelcol-k8s
      // (opentelemetry-collector-releases distributions/otelcol-k8s), tagged with the chart's appVersion.
      image: { repository: 'otel/opentelemetry-collector-k8s' },
      command: { name: 'otelcol-k8s' },
      config: {
        // `otlp_grpc` is the OTLP gRPC exporter's name since collector 0.144.0; `otlp` is a deprecated
        // alias that logs a warning (open-telemetry/opentelemetry-collector#14403).
        exporters: {
          [JAEGER_EXPORTER]: {
            endpoint: `${JAEGER_COLLECTOR_HOST}:${JAEGER_PORTS.otlpGrpc}`,
            tls: { insecure: true },
          },
        },
        service: { pipelines: { traces: { exporters: [JAEGER_EXPORTER] } } },
      },
    },
    jaeger: {
      // One all-in-one pod with in-memory storage: for trying things, not for keeping traces.
      allInOne: { enabled: true },
      storage: { type: 'memory' },
      // Chart 4.x has no separate agent, collector or query deployments (nor their values).
      provisionDataStore: { cassandra: false, elasticsearch: false, kafka: false },
    },
    kiali: {
      // As Istio's samples/addons/kiali.yaml: anonymous access, for demos.
      auth: { strategy: 'anonymous' },
      deployment: { ingress: { enabled: false } },
      external_services: {
        prometheus: { url: PROMETHEUS_URL },
        grafana: { enabled: false },
        tracing: args.tracing
          ? {
              enabled: true,
              provider: 'jaeger',
              use_grpc: true,
              internal_url: `http://${JAEGER_QUERY_HOST}:${JAEGER_PORTS.queryGrpc}`,
              external_url: `http://localhost:${JAEGER_PORTS.ui}`,
            }
          : { enabled: false },
      },
    },
  };
}

/** The add-ons, each a pinned Helm release; `endpoints` says how to open each UI. */
export class Observability extends pulumi.ComponentResource {
  public readonly namespace: k8s.core.v1.Namespace;
  public readonly prometheus?: k8s.helm.v3.Release;
  public readonly collector?: k8s.helm.v3.Release;
  public readonly jaeger?: k8s.helm.v3.Release;
  public readonly kiali?: k8s.helm.v3.Release;
  public readonly endpoints: pulumi.Output<Record<string, AddonEndpoint>>;

  constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
    super('meshkit:observability:Addons', name, {}, opts);
    if (args.kiali && !args.prometheus) throw new Error(`${name}: Kiali needs Prometheus; enable prometheus`);
    const values = addonValues(args);
    const child = { parent: this };
    this.namespace = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      { metadata: { name: OBSERVABILITY_NAMESPACE } },
      // Children do not inherit the component's dependsOn: every release hangs off this namespace.
      { ...child, dependsOn: opts?.dependsOn },
    );
    const release = (
      id: keyof typeof PLATFORM.addons,
      releaseName: string,
      namespace: string,
      v: Record<string, unknown>,
      dependsOn: pulumi.Resource[],
    ) => {
      const pin = PLATFORM.addons[id];
      return new k8s.helm.v3.Release(
        `${name}-${releaseName}`,
        {
          name: releaseName,
          chart: pin.chart,
          version: pin.version,
          repositoryOpts: { repo: pin.repo },
          namespace,
          values: v,
          skipAwait: false,
          timeout: 600,
        },
        { ...child, dependsOn },
      );
    };
    const endpoints: Record<string, AddonEndpoint> = {};
    if (args.prometheus) {
      this.prometheus = release('prometheus', 'prometheus', OBSERVABILITY_NAMESPACE, values.prometheus, [
        this.namespace,
      ]);
      endpoints.prometheus = {
        service: PROMETHEUS_URL,
        url: 'http://localhost:9090',
        portForward: `kubectl -n ${OBSERVABILITY_NAMESPACE} port-forward svc/${PROMETHEUS_SERVICE} 9090:9090`,
      };
    }
    if (args.tracing) {
      this.jaeger = release('jaeger', JAEGER_RELEASE, OBSERVABILITY_NAMESPACE, values.jaeger, [
        this.namespace,
      ]);
      this.collector = release(
        'opentelemetryCollector',
        'opentelemetry-collector',
        OBSERVABILITY_NAMESPACE,
        values.opentelemetryCollector,
        [this.jaeger],
      );
      endpoints.jaeger = {
        service: `http://${JAEGER_QUERY_HOST}:${JAEGER_PORTS.ui}`,
        url: `http://localhost:${JAEGER_PORTS.ui}`,
        portForward: `kubectl -n ${OBSERVABILITY_NAMESPACE} port-forward svc/${JAEGER_QUERY_SERVICE} ${JAEGER_PORTS.ui}:${JAEGER_PORTS.ui}`,
      };
    }
    if (args.kiali && this.prometheus) {
      this.kiali = release('kiali', 'kiali', ISTIO_NAMESPACE, values.kiali, [
        this.prometheus,
        ...(this.jaeger ? [this.jaeger] : []),
      ]);
      endpoints.kiali = {
        service: `http://kiali.${ISTIO_NAMESPACE}.svc.cluster.local:20001/kiali`,
        url: 'http://localhost:20001/kiali',
        portForward: `kubectl -n ${ISTIO_NAMESPACE} port-forward svc/kiali 20001:20001`,
      };
    }
    this.endpoints = pulumi.output(endpoints);
    this.registerOutputs({ endpoints: this.endpoints });
  }
}

export interface MetricsServerArgs {
  /**
   * kind's kubelets serve self-signed certificates without IP SANs, which metrics-server refuses
   * unless `--kubelet-insecure-tls` (kind's and metrics-server's docs for local clusters); EKS
   * kubelets have certificates metrics-server verifies.
   */
  readonly kubeletInsecureTls: boolean;
}

/** Helm values of metrics-server. */
export function metricsServerValues(args: MetricsServerArgs): Record<string, unknown> {
  // `args` are appended to the chart's defaultArgs (templates/deployment.yaml).
  return args.kubeletInsecureTls ? { args: ['--kubelet-insecure-tls'] } : {};
}

/**
 * metrics-server in kube-system, from its chart pinned in PLATFORM.metricsServer: the resource
 * metrics API (metrics.k8s.io) that every HorizontalPodAutoscaler reads. Without it no HPA scales,
 * the ingress gateway's included; neither kind nor EKS installs it.
 */
export class MetricsServer extends pulumi.ComponentResource {
  public readonly release: k8s.helm.v3.Release;

  constructor(name: string, args: MetricsServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super('meshkit:cluster:MetricsServer', name, {}, opts);
    const pin = PLATFORM.metricsServer;
    this.release = new k8s.helm.v3.Release(
      `${name}-release`,
      {
        name: 'metrics-server',
        chart: pin.chart,
        version: pin.version,
        repositoryOpts: { repo: pin.repo },
        namespace: 'kube-system',
        values: metricsServerValues(args),
        skipAwait: false,
        timeout: 600,
      },
      // Children do not inherit the component's dependsOn.
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.registerOutputs({});
  }
}
