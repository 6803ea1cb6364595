import { Size } from 'cdk8s';
import type { Autoscaling, Resources } from '../constructs/index.js';
import { MEDIUM, SMALL } from './environments.js';

/** Everything that differs between the payments app's environments; the chart itself is written once. */
export interface PaymentsEnvironment {
  readonly name: 'dev' | 'prod';
  /** Namespace of the api, the ledger and the migration Job (sidecar data plane). */
  readonly namespace: string;
  /** Namespace of the notifier (ambient data plane, with a waypoint). */
  readonly notifierNamespace: string;
  /** Where the services' images live: `<registry>/payments-<service>:<tag>`. */
  readonly imageRegistry: string;
  readonly imageTag: string;
  /** Fixed replicas of the api and the notifier (without autoscaling). */
  readonly replicas?: number;
  /** Autoscaling of the api (instead of fixed replicas). */
  readonly apiAutoscaling?: Autoscaling;
  /** Keep this many api pods through voluntary disruptions (node drains). */
  readonly apiMinAvailable?: number;
  readonly resources: Resources;
  /** Size of the ledger's persistent volume. */
  readonly ledgerStorage: Size;
  /**
   * StorageClass of the ledger's volume.
   * @default the cluster's default StorageClass
   */
  readonly ledgerStorageClassName?: string;
  /**
   * The Secret (in `namespace`) with the ledger's database credentials, keys `username` and
   * `password`. The platform creates it (README, "payments"); the chart only refers to it.
   */
  readonly ledgerDbSecret: string;
  /** Share of requests traced, in percent. */
  readonly tracingSamplingPercentage: number;
  /** External host names of the api. */
  readonly ingressHosts: readonly string[];
  /** TLS certificate Secret of the ingress gateway (in istio-system): payments are HTTPS-only, dev too. */
  readonly tlsCredentialName: string;
  /** Requests a second each api pod accepts (token bucket refilled every second). */
  readonly apiRequestsPerSecond: number;
  /** Of those, requests a second to `/payments` (each one charges the provider). */
  readonly paymentsRequestsPerSecond: number;
  /** The external payment provider: its host (HTTPS on 443) and whether calls leave through the egress gateway. */
  readonly provider: { readonly host: string; readonly viaEgressGateway: boolean };
}

/**
 * The two environments. The provider host is the example name of issue 12 (`.example` is reserved by
 * RFC 2606, so it resolves nowhere): put your provider's API host here.
 */
export const PAYMENTS_ENVIRONMENTS: Record<PaymentsEnvironment['name'], PaymentsEnvironment> = {
  dev: {
    name: 'dev',
    namespace: 'payments',
    notifierNamespace: 'payments-notify',
    // kind's documented local registry (kind.sigs.k8s.io/docs/user/local-registry).
    imageRegistry: 'localhost:5001',
    imageTag: 'dev',
    replicas: 1,
    resources: SMALL,
    ledgerStorage: Size.gibibytes(1),
    ledgerDbSecret: 'ledger-db',
    tracingSamplingPercentage: 100,
    ingressHosts: ['payments.localhost'],
    tlsCredentialName: 'payments-dev-tls',
    apiRequestsPerSecond: 50,
    paymentsRequestsPerSecond: 10,
    provider: { host: 'api.payments-provider.example', viaEgressGateway: false },
  },
  prod: {
    name: 'prod',
    namespace: 'payments',
    notifierNamespace: 'payments-notify',
    imageRegistry: 'registry.example.com/payments',
    imageTag: '0.1.0',
    replicas: 2,
    apiAutoscaling: { minReplicas: 3, maxReplicas: 10, cpuUtilization: 70 },
    apiMinAvailable: 2,
    resources: MEDIUM,
    ledgerStorage: Size.gibibytes(20),
    ledgerDbSecret: 'ledger-db',
    tracingSamplingPercentage: 5,
    ingressHosts: ['payments.example.com'],
    tlsCredentialName: 'payments-tls',
    apiRequestsPerSecond: 200,
    paymentsRequestsPerSecond: 50,
    provider: { host: 'api.payments-provider.example', viaEgressGateway: true },
  },
};
