/**
 * The payments app (charts/payments.ts) per environment: what it synthesizes passes the schemas, the
 * admission pass and restricted Pod Security, and the mesh does what the app intends, asked with
 * explainRequest as a team would: the api reaches the ledger and the notifier with exactly its
 * declared calls, nothing else reaches the ledger, /admin needs a JWT, HTTPS only at the edge.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App } from 'cdk8s';
import { PAYMENTS_APP, PAYMENTS_ENVIRONMENTS, PaymentsChart } from '../charts/index.js';
import { explainRequest, meshIndex, type MeshIndex, renderObjects } from '../constructs/index.js';
import { restrictedViolations } from './support/pod-security.js';
import { validateObjects } from './support/schema.js';
import { find, type Manifest } from './support/synth.js';

type Env = 'dev' | 'prod';
const ENVS = Object.keys(PAYMENTS_ENVIRONMENTS) as Env[];

/** The objects `npm run synth -- --app payments --env <env>` writes (admission pass included). */
function objects(env: Env, images?: Record<string, string>): Manifest[] {
  const app = new App();
  PAYMENTS_APP.build(app, env, { images });
  return renderObjects(app) as Manifest[];
}

/** The migration Job's name, which follows the ledger image. */
function migrateName(env: Env, images?: Record<string, string>): string {
  return new PaymentsChart(new App(), 'payments', { environment: env, images }).migrate.jobName;
}

function mesh(env: Env): MeshIndex {
  const app = new App();
  new PaymentsChart(app, 'payments', { environment: env });
  return meshIndex(app);
}

/** Every pod template of every workload kind. */
function podTemplates(objs: readonly Manifest[]): [string, Manifest][] {
  return objs.flatMap((o): [string, Manifest][] => {
    if (o.kind === 'CronJob')
      return [[`${o.kind} ${o.metadata.name}`, o.spec.jobTemplate.spec.template.spec]];
    if (['Deployment', 'StatefulSet', 'Job', 'DaemonSet'].includes(o.kind))
      return [[`${o.kind} ${o.metadata.name}`, o.spec.template.spec]];
    return [];
  });
}

for (const env of ENVS) {
  describe(`payments --env ${env}`, () => {
    const objs = objects(env);
    const m = mesh(env);

    it('synthesizes objects the schemas accept, each once, every pod restricted', () => {
      validateObjects(objs);
      const ids = objs.map(
        (o) => `${o.apiVersion} ${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`,
      );
      assert.equal(new Set(ids).size, ids.length);
      const pods = podTemplates(objs);
      assert.ok(pods.length >= 3, pods.map(([id]) => id).join(', '));
      for (const [id, pod] of pods) assert.deepEqual(restrictedViolations(pod), [], id);
    });

    it('puts the api and the ledger in a sidecar namespace, the notifier in an ambient one with a waypoint', () => {
      const labels = (name: string) => find(objs, 'Namespace', name).metadata.labels;
      assert.equal(labels('payments')?.['istio-injection'], 'enabled');
      assert.equal(labels('payments-notify')?.['istio.io/dataplane-mode'], 'ambient');
      const waypoint = find(objs, 'Gateway', 'waypoint');
      assert.equal(waypoint.metadata.namespace, 'payments-notify');
      assert.equal(waypoint.spec.gatewayClassName, 'istio-waypoint');
      assert.equal(find(objs, 'Service', 'notifier').metadata.labels?.['istio.io/use-waypoint'], 'waypoint');
    });

    it('takes the database credentials from the Secret ledger-db, never as values', () => {
      const secretRefs = objs
        .flatMap((o) => podTemplates([o]))
        .flatMap(([id, pod]) =>
          (pod.containers as { env?: { name: string; value?: string; valueFrom?: unknown }[] }[]).flatMap(
            (c) => (c.env ?? []).filter((e) => e.name.startsWith('LEDGER_DB_')).map((e) => [id, e] as const),
          ),
        );
      assert.deepEqual([...new Set(secretRefs.map(([id]) => id))].sort(), [
        'Deployment api-v1',
        `Job ${migrateName(env)}`,
        'StatefulSet ledger-v1',
      ]);
      assert.equal(secretRefs.length, 6);
      for (const [id, e] of secretRefs) {
        assert.equal(e.value, undefined, `${id} ${e.name} has a literal value`);
        assert.deepEqual(
          e.valueFrom,
          { secretKeyRef: { name: 'ledger-db', key: e.name === 'LEDGER_DB_USER' ? 'username' : 'password' } },
          id,
        );
      }
      assert.equal(objs.filter((o) => o.kind === 'Secret').length, 0, 'the chart creates no Secret');
    });

    it('runs the ledger as a StatefulSet of one, its files on a persistent volume of the environment', () => {
      const e = PAYMENTS_ENVIRONMENTS[env];
      const sts = find(objs, 'StatefulSet', 'ledger-v1');
      assert.equal(sts.spec.replicas, 1);
      assert.equal(sts.spec.serviceName, 'ledger-headless');
      assert.equal(find(objs, 'Service', 'ledger-headless').spec.clusterIP, 'None');
      const [claim] = sts.spec.volumeClaimTemplates;
      assert.equal(claim.metadata.name, 'data');
      assert.deepEqual(claim.spec.accessModes, ['ReadWriteOnce']);
      assert.equal(claim.spec.resources.requests.storage, e.ledgerStorage.toGibibytes() + 'Gi');
      const container = sts.spec.template.spec.containers.find((c: { name: string }) => c.name === 'ledger');
      assert.ok(
        container.volumeMounts.some(
          (m: { name: string; mountPath: string }) => m.name === 'data' && m.mountPath === '/var/lib/ledger',
        ),
      );
      assert.equal(
        container.env.find((v: { name: string }) => v.name === 'DATA_DIR').value,
        '/var/lib/ledger',
      );
      assert.equal(
        objs.filter((o) => o.kind === 'Deployment' && o.metadata.name.startsWith('ledger')).length,
        0,
      );
      // Its callers reach the pods by their own names too (<pod>.ledger-headless...), mTLS included.
      assert.ok(
        (find(objs, 'Sidecar', 'api').spec.egress[0].hosts as string[]).includes(
          './*.ledger-headless.payments.svc.cluster.local',
        ),
      );
      assert.deepEqual(find(objs, 'DestinationRule', 'ledger-headless').spec.trafficPolicy.tls, {
        mode: 'ISTIO_MUTUAL',
      });
    });

    it('migrates the schema with a Job that completes: native sidecar, REGISTRY_ONLY, its own identity', () => {
      const name = migrateName(env);
      assert.match(name, /^ledger-migrate-[0-9a-f]{10}$/);
      const job = find(objs, 'Job', name);
      const pod = job.spec.template.spec;
      assert.equal(job.spec.template.metadata.annotations['sidecar.istio.io/nativeSidecar'], 'true');
      assert.equal(pod.restartPolicy, 'Never');
      assert.equal(pod.serviceAccountName, 'ledger-migrate');
      assert.deepEqual(pod.containers[0].command, ['node', 'payments-ledger/migrate.js']);
      assert.equal(
        pod.containers[0].image,
        find(objs, 'StatefulSet', 'ledger-v1').spec.template.spec.containers[0].image,
      );
      assert.deepEqual(
        [job.spec.backoffLimit, job.spec.activeDeadlineSeconds, job.spec.ttlSecondsAfterFinished],
        [3, 300, 86400],
      );
      // Its identity stays across images: the app label, the Sidecar and the ServiceAccount.
      assert.deepEqual(job.metadata.labels, { app: 'ledger-migrate' });
      assert.deepEqual(job.spec.template.metadata.labels, { app: 'ledger-migrate' });
      const sidecar = find(objs, 'Sidecar', 'ledger-migrate');
      assert.deepEqual(sidecar.spec.outboundTrafficPolicy, { mode: 'REGISTRY_ONLY' });
      assert.ok((sidecar.spec.egress[0].hosts as string[]).includes('./ledger.payments.svc.cluster.local'));
      // The ledger admits the migration's identity for the schema endpoints only.
      const rules = find(objs, 'AuthorizationPolicy', 'ledger-allow-callers').spec.rules as {
        from: { source: { principals: string[] } }[];
        to: { operation: { methods: string[]; paths: string[] } }[];
      }[];
      const migrate = rules.find(
        (r) => r.from[0]!.source.principals[0] === 'cluster.local/ns/payments/sa/ledger-migrate',
      );
      assert.deepEqual(migrate?.to, [
        { operation: { methods: ['GET', 'POST'], paths: ['/schema', '/schema/migrate'] } },
      ]);
      // A new ledger image is a new Job (a Job's template cannot be updated in place).
      assert.notEqual(
        migrateName(env, { ledger: 'registry.example.com/payments/payments-ledger:0.2.0' }),
        name,
      );
    });

    it('the api reaches the ledger with its declared methods and paths only', () => {
      const ok = (method: string, path: string) =>
        explainRequest(m, { from: 'api', to: 'ledger', method, path });
      const put = ok('PUT', '/entries/pay-1');
      assert.equal(put.allowed, true, put.reason);
      assert.equal(put.decidedBy, 'payments/ledger-allow-callers');
      assert.equal(put.timeout, '3s');
      assert.deepEqual(put.retries, { attempts: 2, perTryTimeout: '1s', retryOn: 'connect-failure,reset' });
      assert.equal(ok('GET', '/entries/pay-1').allowed, true);
      assert.equal(ok('GET', '/accounts/alice').allowed, true);
      assert.equal(ok('GET', '/schema').allowed, true);
      assert.equal(ok('DELETE', '/entries/pay-1').allowed, false);
      // The schema migration is the migration Job's, not the api's.
      assert.equal(ok('POST', '/schema/migrate').allowed, false);
    });

    it('the notifier cannot call the ledger, nor the ledger the notifier', () => {
      const notifier = explainRequest(m, { from: 'notifier', to: 'ledger', path: '/accounts/alice' });
      assert.equal(notifier.allowed, false);
      assert.equal(notifier.deniedAt, 'authorization');
      assert.equal(notifier.decidedBy, 'payments/allow-nothing');
      const ledger = explainRequest(m, { from: 'ledger', to: 'notifier', method: 'POST', path: '/events' });
      assert.equal(ledger.allowed, false);
      assert.equal(ledger.egressAllowed, false, "the ledger's Sidecar does not import the notifier");
    });

    it('the api posts events to the notifier through its waypoint; nothing else of the notifier', () => {
      const post = explainRequest(m, { from: 'api', to: 'notifier', method: 'POST', path: '/events' });
      assert.equal(post.allowed, true, post.reason);
      assert.equal(post.waypoint, 'payments-notify/waypoint');
      assert.deepEqual(
        post.authorization.map((a) => [a.at, a.decidedBy]),
        [
          ['waypoint', 'payments-notify/notifier-allow-callers'],
          ['ztunnel', 'payments-notify/notifier-allow-waypoint'],
        ],
      );
      assert.equal(explainRequest(m, { from: 'api', to: 'notifier', path: '/events' }).allowed, false);
      // The api's Sidecar reaches the notifier's waypoint, not only the notifier.
      assert.ok(
        (find(objs, 'Sidecar', 'api').spec.egress[0].hosts as string[]).includes(
          'payments-notify/waypoint.payments-notify.svc.cluster.local',
        ),
      );
    });

    const host = PAYMENTS_ENVIRONMENTS[env].ingressHosts[0]!;
    it(`${host}: HTTPS only, /admin needs a JWT of the issuer, payments have a bucket of their own`, () => {
      const http = explainRequest(m, { from: 'outside', to: host, port: 80, path: '/payments' });
      assert.equal(http.allowed, false);
      assert.equal(http.deniedAt, 'routing');
      const bare = explainRequest(m, { from: 'outside', to: host, path: '/admin/schema' });
      assert.equal(bare.request.port, 443);
      assert.equal(bare.allowed, false);
      assert.equal(bare.deniedAt, 'authorization');
      assert.equal(bare.decidedBy, 'payments/api-require-jwt');
      assert.equal(bare.jwt?.outcome, 'no-token');
      const signed = explainRequest(m, {
        from: 'outside',
        to: host,
        path: '/admin/schema',
        jwtClaims: { iss: 'testing@secure.istio.io', sub: 'testing@secure.istio.io' },
      });
      assert.equal(signed.allowed, true, signed.reason);
      const pay = explainRequest(m, { from: 'outside', to: host, method: 'POST', path: '/payments' });
      assert.equal(pay.allowed, true, pay.reason);
      assert.equal(pay.timeout, '15s');
      const e = PAYMENTS_ENVIRONMENTS[env];
      assert.deepEqual(
        pay.rateLimits.map((l) => [l.counts, l.bucket?.maxTokens]),
        [
          ['path-prefix=/payments', e.paymentsRequestsPerSecond],
          ['default bucket', e.apiRequestsPerSecond],
        ],
      );
      // The ledger and the notifier are not exposed: the gateway's identity reaches neither.
      assert.equal(explainRequest(m, { from: 'ingress', to: 'ledger', path: '/schema' }).allowed, false);
      assert.equal(
        explainRequest(m, { from: 'ingress', to: 'notifier', method: 'POST', path: '/events' }).allowed,
        false,
      );
    });

    it('fails closed: every Sidecar of the payments namespace is REGISTRY_ONLY, and only the api reaches the provider', () => {
      const sidecars = objs.filter((o) => o.kind === 'Sidecar');
      // The services' and the Job's, and the namespace's default for pods the chart does not create.
      assert.deepEqual(sidecars.map((o) => o.metadata.name).sort(), [
        'api',
        'default',
        'ledger',
        'ledger-migrate',
      ]);
      assert.deepEqual(find(objs, 'Sidecar', 'default').spec, {
        egress: [{ hosts: ['*/*'] }],
        outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
      });
      for (const sc of sidecars) {
        assert.equal(sc.metadata.namespace, 'payments');
        assert.deepEqual(sc.spec.outboundTrafficPolicy, { mode: 'REGISTRY_ONLY' }, sc.metadata.name);
      }
      const egress = (name: string) => find(objs, 'Sidecar', name).spec.egress[0].hosts as string[];
      assert.ok(egress('api').includes('./api.payments-provider.example'));
      assert.ok(!egress('ledger').some((h) => h.includes('payments-provider')));
      // The ledger reaches nothing it does not call: under REGISTRY_ONLY that is a 502 at its sidecar.
      const ledger = explainRequest(m, { from: 'ledger', to: 'api', path: '/payments/x' });
      assert.equal(ledger.allowed, false);
      assert.equal(ledger.deniedAt, 'egress');
      assert.equal(ledger.egress?.outboundTrafficPolicy, 'REGISTRY_ONLY');
      // The provider through explainRequest: the api's Sidecar imports its ServiceEntry; the ledger's
      // does not, and under REGISTRY_ONLY its request ends in the BlackHoleCluster.
      const api = explainRequest(m, { from: 'api', to: 'api.payments-provider.example', method: 'POST' });
      assert.equal(api.allowed, true);
      assert.equal(api.egress?.allowed, true);
      assert.equal(api.external?.serviceEntry, 'payments/payments-provider');
      const blocked = explainRequest(m, {
        from: 'ledger',
        to: 'api.payments-provider.example',
        method: 'POST',
      });
      assert.equal(blocked.allowed, false);
      assert.equal(blocked.deniedAt, 'egress');
      assert.equal(blocked.egress?.outboundTrafficPolicy, 'REGISTRY_ONLY');
      if (env === 'prod') {
        // Through the egress gateway, whose policy admits the api by identity and server name.
        assert.equal(api.decidedBy, 'istio-system/payments-payments-provider');
        // A policy that names another identity: the gateway refuses the api, though its Sidecar lets it out.
        const other = structuredClone(objs).map((o) =>
          o.kind === 'AuthorizationPolicy' && o.metadata.name === 'payments-payments-provider'
            ? {
                ...o,
                spec: {
                  ...o.spec,
                  rules: [
                    {
                      ...o.spec.rules[0],
                      from: [{ source: { principals: ['cluster.local/ns/payments/sa/ledger'] } }],
                    },
                  ],
                },
              }
            : o,
        );
        const refused = explainRequest(other, {
          from: 'api',
          to: 'api.payments-provider.example',
          method: 'POST',
        });
        assert.equal(refused.allowed, false);
        assert.equal(refused.deniedAt, 'authorization');
        assert.equal(refused.egress?.allowed, true);
        assert.match(
          refused.reason,
          /^at the egress gateway istio-egressgateway\.istio-system\.svc\.cluster\.local: /,
        );
      } else {
        assert.equal(api.decidedBy, 'payments/api');
      }
      const entry = find(objs, 'ServiceEntry', 'payments-provider');
      assert.equal(entry.metadata.namespace, 'payments');
      assert.deepEqual(entry.spec.hosts, ['api.payments-provider.example']);
      assert.equal(entry.spec.location, 'MESH_EXTERNAL');
      assert.equal(entry.spec.resolution, 'DNS');
      assert.deepEqual(entry.spec.ports, [{ number: 443, name: 'https-443', protocol: 'HTTPS' }]);
      // TLS passthrough: the api speaks TLS itself, so no DestinationRule originates it.
      assert.equal(
        objs.filter((o) => o.kind === 'DestinationRule' && o.spec.host === 'api.payments-provider.example')
          .length,
        0,
      );
      assert.equal(
        find(objs, 'Deployment', 'api-v1').spec.template.spec.containers[0].env.find(
          (e: { name: string }) => e.name === 'PROVIDER_URL',
        ).value,
        'https://api.payments-provider.example',
      );
    });

    if (env === 'prod') {
      it('sends the provider calls through the egress gateway, which admits the api only', () => {
        const gatewayHost = 'istio-egressgateway.istio-system.svc.cluster.local';
        assert.ok(
          (find(objs, 'Sidecar', 'api').spec.egress[0].hosts as string[]).includes(
            `istio-system/${gatewayHost}`,
          ),
        );
        const vs = find(objs, 'VirtualService', 'payments-provider');
        assert.deepEqual(vs.spec.gateways, ['istio-system/payments-payments-provider', 'mesh']);
        assert.equal(vs.spec.tls[0].route[0].destination.host, gatewayHost);
        const gateway = find(objs, 'Gateway', 'payments-payments-provider');
        assert.equal(gateway.metadata.namespace, 'istio-system');
        assert.deepEqual(gateway.spec.selector, { istio: 'egressgateway' });
        const authz = find(objs, 'AuthorizationPolicy', 'payments-payments-provider');
        assert.equal(authz.metadata.namespace, 'istio-system');
        assert.deepEqual(authz.spec.rules, [
          {
            from: [{ source: { principals: ['cluster.local/ns/payments/sa/api'] } }],
            when: [{ key: 'connection.sni', values: ['api.payments-provider.example'] }],
          },
        ]);
      });
    } else {
      it('calls the provider straight from the sidecar (no egress gateway in dev)', () => {
        assert.equal(objs.filter((o) => o.metadata.namespace === 'istio-system').length, 0);
        assert.ok(
          !(find(objs, 'Sidecar', 'api').spec.egress[0].hosts as string[]).some((h) =>
            h.includes('egressgateway'),
          ),
        );
      });
    }

    it('serves the certificate of the environment', () => {
      const gateway = find(objs, 'Gateway', 'payments');
      assert.deepEqual(gateway.spec.servers[1].tls, {
        mode: 'SIMPLE',
        credentialName: PAYMENTS_ENVIRONMENTS[env].tlsCredentialName,
      });
      assert.deepEqual(gateway.spec.servers[0].tls, { httpsRedirect: true });
    });
  });
}

describe('payments images and scaling', () => {
  it('takes images from the environment, or the ones the stacks built', () => {
    const image = (objs: Manifest[], name: string, c: string) =>
      (
        find(objs, 'Deployment', name).spec.template.spec.containers as { name: string; image: string }[]
      ).find((x) => x.name === c)!.image;
    assert.equal(image(objects('dev'), 'api-v1', 'api'), 'localhost:5001/payments-api:dev');
    assert.equal(
      image(objects('prod'), 'notifier-v1', 'notifier'),
      'registry.example.com/payments/payments-notifier:0.1.0',
    );
    const built = `registry.example.com/payments/payments-api@sha256:${'a'.repeat(64)}`;
    assert.equal(image(objects('prod', { api: built }), 'api-v1', 'api'), built);
  });

  it('autoscales the api in prod, with a disruption budget', () => {
    const prod = objects('prod');
    const hpa = find(prod, 'HorizontalPodAutoscaler', 'api-v1');
    assert.deepEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas], [3, 10]);
    assert.equal(find(prod, 'PodDisruptionBudget', 'api').spec.minAvailable, 2);
  });

  it('refuses a data plane the stacks would impose', () => {
    assert.throws(
      () => PAYMENTS_APP.build(new App(), 'dev', { dataPlane: {} as never }),
      new Error(
        'app "payments" chooses its data planes itself (sidecars for api and ledger, ambient for the notifier); remove its dataPlane',
      ),
    );
  });
});
