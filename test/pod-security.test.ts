import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App, Size, Testing } from 'cdk8s';
import { APPS } from '../charts/index.js';
import {
  EnvValue,
  MeshJob,
  MeshNamespace,
  Microservice,
  renderObjects,
  Volume,
  Workload,
} from '../constructs/index.js';
import { restrictedViolations } from './support/pod-security.js';
import { validateObjects } from './support/schema.js';
import { find, type Manifest } from './support/synth.js';

describe("the test suite's own checks", () => {
  it('flag a pod that the restricted Pod Security Standard would refuse', () => {
    const pod = {
      hostNetwork: true,
      volumes: [{ name: 'docker', hostPath: { path: '/var/run/docker.sock' } }],
      containers: [
        {
          name: 'app',
          securityContext: { privileged: true, capabilities: { add: ['NET_ADMIN'] } },
          ports: [{ containerPort: 80, hostPort: 80 }],
        },
      ],
    };
    assert.deepEqual(restrictedViolations(pod), [
      'host namespaces',
      'volume docker of type hostPath',
      'container app: privileged',
      'container app: allowPrivilegeEscalation must be false',
      'container app: runAsNonRoot must be true',
      'container app: seccompProfile must be RuntimeDefault or Localhost',
      'container app: capabilities must drop ALL',
      'container app: adds capability NET_ADMIN',
      'container app: hostPort 80',
    ]);
  });

  it('reject a field the Istio CRD does not define, and a wrong type', () => {
    const vs = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'reviews', namespace: 'shop' },
      spec: {
        hosts: ['reviews'],
        http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' }, wieght: 100 }], timeout: 5 }],
      },
    };
    assert.throws(
      () => validateObjects([vs]),
      (e: Error) => {
        assert.match(e.message, /VirtualService shop\/reviews: data\/spec\/http\/0\/timeout must be string/);
        assert.match(
          e.message,
          /VirtualService shop\/reviews: unknown field \/spec\/http\/0\/route\/0\/wieght/,
        );
        return true;
      },
    );
  });

  it('reject a kind it has no schema for', () => {
    assert.throws(
      () => validateObjects([{ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }]),
      /Widget \/w: no schema for example.com\/v1 Widget; add it to test\/support\/schema.ts/,
    );
  });
});

describe('every pod of every sample app', () => {
  // Every workload kind, not only Deployments: StatefulSets, Jobs and CronJobs run pods too.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const templates = (o: Record<string, any>): unknown[] =>
    o.kind === 'CronJob'
      ? [o.spec.jobTemplate.spec.template.spec]
      : ['Deployment', 'StatefulSet', 'Job', 'DaemonSet', 'ReplicaSet'].includes(o.kind)
        ? [o.spec.template.spec]
        : [];
  for (const sample of APPS.apps) {
    for (const variant of sample.variants) {
      it(`${sample.name} --${sample.variantFlag} ${variant}: restricted Pod Security`, () => {
        const app = new App();
        sample.build(app, variant, {});
        const objects = renderObjects(app);
        const pods = objects.flatMap((o) =>
          templates(o).map((pod) => [`${o.kind} ${o.metadata.name}`, pod] as const),
        );
        assert.ok(pods.length > 0);
        for (const [id, pod] of pods) assert.deepEqual(restrictedViolations(pod), [], id);
      });
    }
  }
});

describe('the restricted profile on every workload kind', () => {
  it('holds for StatefulSets, Jobs and CronJobs with init containers and volumes, and is enforced on them', () => {
    const chart = Testing.chart();
    const ns = new MeshNamespace(chart, 'payments');
    new Microservice(chart, 'ledger', {
      namespace: ns,
      image: 'ledger:1.0',
      versions: { v1: { replicas: 2 } },
      workload: Workload.statefulSet({
        volumeClaims: [{ name: 'data', mountPath: '/var/lib/ledger', storage: Size.gibibytes(1) }],
      }),
      mounts: [{ path: '/etc/tls', volume: Volume.fromSecret('ledger-tls') }],
      initContainers: [{ name: 'wait-for-db', env: { PASSWORD: EnvValue.fromSecret('db', 'password') } }],
    });
    new MeshJob(chart, 'migrate', { namespace: ns, image: 'ledger:1.0' });
    new MeshJob(chart, 'report', { namespace: ns, image: 'report:1', schedule: '@daily' });
    const objs = Testing.synth(chart) as Manifest[];
    const pods = [
      find(objs, 'StatefulSet', 'ledger-v1').spec.template.spec,
      find(objs, 'Job', 'migrate').spec.template.spec,
      find(objs, 'CronJob', 'report').spec.jobTemplate.spec.template.spec,
    ];
    for (const pod of pods) assert.deepEqual(restrictedViolations(pod), []);
    validateObjects(objs);
    // The check runs on each kind: a privileged container in any of them fails the suite's pass.
    const job = structuredClone(find(objs, 'CronJob', 'report'));
    job.spec.jobTemplate.spec.template.spec.containers[0].securityContext.privileged = true;
    assert.throws(
      () => validateObjects([job]),
      /CronJob payments\/report: Pod Security Standard restricted: container report: privileged/,
    );
  });
});
