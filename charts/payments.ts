import { createHash } from 'node:crypto';
import { Chart, type ChartProps, Duration } from 'cdk8s';
import type { Construct } from 'constructs';
import {
  DataPlane,
  EgressGateway,
  EnvValue,
  ExternalPort,
  ExternalService,
  ExternalTls,
  IstioIngress,
  MeshJob,
  MeshNamespace,
  Microservice,
  type MicroserviceProps,
  OutboundTrafficPolicy,
  Probe,
  ServicePort,
  Workload,
} from '../constructs/index.js';
import { PAYMENTS_ENVIRONMENTS, type PaymentsEnvironment } from './payments-environments.js';

/**
 * The payments app's images, each built from services/payments-<name>/Dockerfile into image
 * `payments-<name>`; the migration Job runs the ledger image with its migrate command.
 */
export const PAYMENTS_SERVICES = ['api', 'ledger', 'notifier'] as const;
export type PaymentsService = (typeof PAYMENTS_SERVICES)[number];

/** The port every payments service listens on (services/shared reads PORT, default 8080). */
const PORT = 8080;
/** Where the ledger keeps its files (DATA_DIR): the mount path of its volume. */
export const LEDGER_DATA_DIR = '/var/lib/ledger';

/**
 * The JWT issuer of the api's admin endpoints: Istio's documented demo issuer (as the shop's), whose
 * tokens (security/tools/jwt/samples) anyone can use to try the policy. Replace it for real users.
 */
export const PAYMENTS_JWT = {
  issuer: 'testing@secure.istio.io',
  jwksUri: 'https://raw.githubusercontent.com/istio/istio/release-1.30/security/tools/jwt/samples/jwks.json',
};

export interface PaymentsChartProps extends ChartProps {
  /** Which environment's configuration to synthesize. */
  readonly environment: PaymentsEnvironment['name'] | PaymentsEnvironment;
  /**
   * Image references per image key, replacing `<registry>/payments-<service>:<tag>` (the Pulumi
   * stacks pass the images they built, by digest).
   * @default the environment's registry and tag
   */
  readonly images?: Partial<Record<PaymentsService, string>>;
}

/**
 * The payments app: an `api` behind the ingress gateway (HTTPS only, JWT on /admin, local rate
 * limits) that charges an external payment provider, records each payment in the `ledger` and tells
 * the `notifier`, which runs in an ambient namespace behind a waypoint.
 */
export class PaymentsChart extends Chart {
  public readonly env: PaymentsEnvironment;
  /** The sidecar namespace of the api and the ledger. */
  public readonly meshNamespace: MeshNamespace;
  /** The ambient namespace (with a waypoint) of the notifier. */
  public readonly notifierNamespace: MeshNamespace;
  public readonly api: Microservice<'v1'>;
  public readonly ledger: Microservice<'v1'>;
  /** The ledger's schema migration, a Job that runs to completion. */
  public readonly migrate: MeshJob;
  public readonly notifier: Microservice<'v1'>;
  /** The external payment provider the api charges. */
  public readonly provider: ExternalService;
  public readonly ingress: IstioIngress;

  constructor(scope: Construct, id: string, props: PaymentsChartProps) {
    super(scope, id, props);
    const env =
      typeof props.environment === 'string' ? PAYMENTS_ENVIRONMENTS[props.environment] : props.environment;
    if (!env) {
      throw new Error(
        `PaymentsChart ${id}: unknown environment "${String(props.environment)}"; use one of ${Object.keys(PAYMENTS_ENVIRONMENTS).join(', ')}`,
      );
    }
    this.env = env;
    const image = (service: PaymentsService) =>
      props.images?.[service] ?? `${env.imageRegistry}/payments-${service}:${env.imageTag}`;
    const labels = { environment: env.name };
    const telemetry = {
      tracing: { samplingPercentage: env.tracingSamplingPercentage },
      accessLogging: {},
    };

    this.meshNamespace = new MeshNamespace(this, 'namespace', {
      name: env.namespace,
      dataPlane: DataPlane.sidecar(),
      // Fail closed: a host no Service or ExternalService declares is unreachable (502), so the api
      // reaches the payment provider and nothing else outside the cluster
      // (https://istio.io/latest/docs/tasks/traffic-management/egress/egress-control/).
      outboundTrafficPolicy: OutboundTrafficPolicy.REGISTRY_ONLY,
      labels,
      ...telemetry,
    });
    // The notifier needs no sidecar of its own: ztunnel carries its mTLS, and the waypoint enforces
    // the L7 rule that only the api may POST /events
    // (https://istio.io/latest/docs/ambient/usage/waypoint/). No REGISTRY_ONLY here: ztunnel does
    // not enforce it (MeshNamespace refuses it for ambient namespaces); the notifier calls nothing.
    this.notifierNamespace = new MeshNamespace(this, 'notifier-namespace', {
      name: env.notifierNamespace,
      dataPlane: DataPlane.ambient({ waypoint: true }),
      labels,
      ...telemetry,
    });

    // The ledger's database credentials, from the Secret the platform creates (README, "payments"):
    // never a value in the chart, its YAML or a Pulumi state.
    const dbCredentials = {
      LEDGER_DB_USER: EnvValue.fromSecret(env.ledgerDbSecret, 'username'),
      LEDGER_DB_PASSWORD: EnvValue.fromSecret(env.ledgerDbSecret, 'password'),
    };

    const service = (
      namespace: MeshNamespace,
      name: PaymentsService,
      extra: Record<string, string | EnvValue> = {},
    ): Omit<MicroserviceProps<'v1'>, 'versions'> => ({
      namespace,
      image: image(name),
      ports: [ServicePort.http(PORT)],
      // DRAIN_DELAY_MS: after SIGTERM the service keeps serving while Kubernetes removes the pod
      // from the endpoints (readiness turns 503 at once), then drains within SHUTDOWN_TIMEOUT_MS.
      env: {
        SERVICE_NAME: name,
        SERVICE_VERSION: 'v1',
        PORT: String(PORT),
        DRAIN_DELAY_MS: '5000',
        SHUTDOWN_TIMEOUT_MS: '20000',
        ...extra,
      },
      resources: env.resources,
      probes: {
        readiness: Probe.httpGet('/readyz', PORT, { period: Duration.seconds(5) }),
        liveness: Probe.httpGet('/healthz', PORT, { period: Duration.seconds(10), failureThreshold: 3 }),
      },
      // 5 s of drain delay plus up to 20 s of draining fit in the grace period.
      terminationGracePeriod: Duration.seconds(30),
    });

    // A StatefulSet of one: its pod keeps its volume (data-ledger-v1-0) across restarts and
    // reschedules, and is the only writer of its files, as a single-primary database is.
    this.ledger = new Microservice(this, 'ledger', {
      ...service(this.meshNamespace, 'ledger', { DATA_DIR: LEDGER_DATA_DIR, ...dbCredentials }),
      versions: { v1: {} },
      replicas: 1,
      workload: Workload.statefulSet({
        volumeClaims: [
          {
            name: 'data',
            mountPath: LEDGER_DATA_DIR,
            storage: env.ledgerStorage,
            storageClassName: env.ledgerStorageClassName,
          },
        ],
      }),
    });
    this.ledger.addRoute({
      to: this.ledger.version('v1'),
      timeout: Duration.seconds(3),
      // Every ledger write is an idempotent PUT, so a connection that failed can be retried.
      retries: { attempts: 2, perTryTimeout: Duration.seconds(1), retryOn: ['connect-failure', 'reset'] },
    });

    this.notifier = new Microservice(this, 'notifier', {
      ...service(this.notifierNamespace, 'notifier'),
      versions: { v1: {} },
      replicas: env.replicas,
    });

    this.api = new Microservice(this, 'api', {
      ...service(this.meshNamespace, 'api', {
        LEDGER_URL: `http://${this.ledger.host}:${PORT}`,
        NOTIFIER_URL: `http://${this.notifier.host}:${PORT}`,
        // TLS to the provider is the api's own (ExternalService with TLS passthrough).
        PROVIDER_URL: `https://${env.provider.host}`,
        UPSTREAM_TIMEOUT_MS: '3000',
        PROVIDER_TIMEOUT_MS: '10000',
        ...dbCredentials,
      }),
      versions: { v1: {} },
      replicas: env.apiAutoscaling ? undefined : env.replicas,
      autoscaling: env.apiAutoscaling,
      disruptionBudget: env.apiMinAvailable === undefined ? undefined : { minAvailable: env.apiMinAvailable },
      localRateLimit: {
        bucket: { maxTokens: env.apiRequestsPerSecond, fillInterval: Duration.seconds(1) },
        // Each payment charges the provider: a smaller budget of its own.
        paths: [
          {
            prefix: '/payments',
            bucket: { maxTokens: env.paymentsRequestsPerSecond, fillInterval: Duration.seconds(1) },
          },
        ],
      },
    });

    // The payment provider, outside the mesh: the api speaks TLS to it itself (passthrough, so no
    // proxy sees its requests). In prod it leaves through the egress gateway, whose authorization
    // admits the api's identity only (https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway/).
    this.provider = new ExternalService(this, 'payments-provider', {
      namespace: this.meshNamespace,
      hosts: [env.provider.host],
      ports: [ExternalPort.https()],
      tls: ExternalTls.passthrough(),
      egressGateway: env.provider.viaEgressGateway ? EgressGateway.istio() : undefined,
    });

    // The schema migration: the ledger image with its migrate command, a Job that completes. Its
    // sidecar is a native sidecar (an init container that Kubernetes stops when the job's container
    // exits), or the Job would run forever (https://istio.io/latest/blog/2023/native-sidecars/).
    // A Job's pod template is immutable, so the Job is named after the image it migrates to: a new
    // ledger image is a new Job (`kubectl apply` cannot update the old one), and one that
    // finished is deleted a day later. Its identity stays `ledger-migrate`, which the ledger admits.
    const ledgerImage = image('ledger');
    this.migrate = new MeshJob(this, 'migrate', {
      namespace: this.meshNamespace,
      name: 'ledger-migrate',
      jobName: `ledger-migrate-${createHash('sha256').update(ledgerImage).digest('hex').slice(0, 10)}`,
      image: ledgerImage,
      command: ['node', 'payments-ledger/migrate.js'],
      env: {
        SERVICE_NAME: 'ledger-migrate',
        LEDGER_URL: `http://${this.ledger.host}:${PORT}`,
        MIGRATE_DEADLINE_MS: '240000',
        ...dbCredentials,
      },
      resources: env.resources,
      backoffLimit: 3,
      // Longer than the migration's own deadline, so it fails by itself with a log line first.
      activeDeadline: Duration.minutes(5),
      ttlAfterFinished: Duration.days(1),
    });

    // The call graph, from which authorization (callee side) and Sidecar egress (caller side) follow.
    this.api.calls(this.ledger, {
      methods: ['GET', 'PUT'],
      paths: ['/entries/*', '/accounts/*', '/schema'],
    });
    this.api.calls(this.notifier, { methods: ['POST'], paths: ['/events'] });
    this.api.calls(this.provider);
    this.migrate.calls(this.ledger, { methods: ['GET', 'POST'], paths: ['/schema', '/schema/migrate'] });

    // Clients reach the api through the ingress gateway, over HTTPS only (port 80 redirects).
    this.ingress = new IstioIngress(this, 'ingress', {
      namespace: this.meshNamespace,
      name: 'payments',
      hosts: env.ingressHosts,
      tls: { credentialName: env.tlsCredentialName },
    }).addRoute({ to: this.api, timeout: Duration.seconds(15) });
    this.api.requireJwt({ ...PAYMENTS_JWT, paths: ['/admin', '/admin/*'] });
  }
}
