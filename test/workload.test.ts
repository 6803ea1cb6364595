import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App, Chart, Duration, Size, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import {
  type CallOptions,
  type CallTarget,
  charts,
  DataPlane,
  EnvFrom,
  EnvValue,
  explainRequest,
  meshIndex,
  MeshJob,
  type MeshCaller,
  MeshNamespace,
  Microservice,
  NodeLabelQuery,
  orderedApiObjects,
  renderObjects,
  ScalingMetric,
  ServicePort,
  TaintEffect,
  Toleration,
  TopologySpread,
  toManifest,
  Volume,
  Workload,
} from '../constructs/index.js';
import { restrictedViolations } from './support/pod-security.js';
import { SidecarSpecOutboundTrafficPolicyMode } from '../imports/networking.istio.io.js';
import { validateObjects } from './support/schema.js';
import { find, synth, synthErrors } from './support/synth.js';

function payments(props: ConstructorParameters<typeof MeshNamespace>[2] = {}) {
  const chart = Testing.chart();
  const ns = new MeshNamespace(chart, 'payments', props);
  return { chart, ns };
}

describe('Microservice pod template: env, volumes, init containers', () => {
  it('reads env from Secrets, ConfigMaps and pod fields, and whole objects with envFrom', () => {
    const { chart, ns } = payments();
    new Microservice(chart, 'ledger', {
      namespace: ns,
      image: 'ledger:1.0',
      versions: { v1: { env: { REGION: EnvValue.fromConfigMap('region', 'name', { optional: true }) } } },
      env: {
        LOG: 'json',
        DB_PASSWORD: EnvValue.fromSecret('ledger-db', 'password'),
        POD_NAME: EnvValue.fromFieldPath('metadata.name'),
      },
      envFrom: [EnvFrom.secret('ledger-db', { prefix: 'DB_' }), EnvFrom.configMap('ledger-config')],
    });
    const c = find(synth(chart), 'Deployment', 'ledger-v1').spec.template.spec.containers[0];
    assert.deepEqual(c.env, [
      { name: 'LOG', value: 'json' },
      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'ledger-db', key: 'password' } } },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'REGION', valueFrom: { configMapKeyRef: { name: 'region', key: 'name', optional: true } } },
    ]);
    assert.deepEqual(c.envFrom, [
      { prefix: 'DB_', secretRef: { name: 'ledger-db' } },
      { configMapRef: { name: 'ledger-config' } },
    ]);
  });

  it('mounts Secret and ConfigMap volumes read-only, one pod volume per object, after the scratch /tmp', () => {
    const { chart, ns } = payments();
    const tls = Volume.fromSecret('ledger-tls', { items: { 'tls.crt': 'cert.pem' }, defaultMode: 0o440 });
    new Microservice(chart, 'ledger', {
      namespace: ns,
      image: 'ledger:1.0',
      versions: { v1: {} },
      mounts: [
        { path: '/etc/tls', volume: tls },
        {
          path: '/etc/tls-copy',
          volume: Volume.fromSecret('ledger-tls', { items: { 'tls.crt': 'cert.pem' }, defaultMode: 0o440 }),
        },
        { path: '/etc/ledger/app.yaml', volume: Volume.fromConfigMap('ledger-config'), subPath: 'app.yaml' },
        { path: '/var/cache', volume: Volume.emptyDir({ sizeLimit: Size.mebibytes(512), memory: true }) },
        { path: '/archive', volume: Volume.fromPersistentVolumeClaim('ledger-archive') },
      ],
    });
    const pod = find(synth(chart), 'Deployment', 'ledger-v1').spec.template.spec;
    assert.deepEqual(pod.volumes, [
      { name: 'tmp', emptyDir: {} },
      {
        name: 'secret-ledger-tls',
        secret: {
          secretName: 'ledger-tls',
          items: [{ key: 'tls.crt', path: 'cert.pem' }],
          defaultMode: 0o440,
        },
      },
      { name: 'config-ledger-config', configMap: { name: 'ledger-config' } },
      { name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '512Mi' } },
      { name: 'pvc-ledger-archive', persistentVolumeClaim: { claimName: 'ledger-archive' } },
    ]);
    assert.deepEqual(pod.containers[0].volumeMounts, [
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'secret-ledger-tls', mountPath: '/etc/tls', readOnly: true },
      { name: 'secret-ledger-tls', mountPath: '/etc/tls-copy', readOnly: true },
      {
        name: 'config-ledger-config',
        mountPath: '/etc/ledger/app.yaml',
        readOnly: true,
        subPath: 'app.yaml',
      },
      { name: 'scratch', mountPath: '/var/cache' },
      { name: 'pvc-ledger-archive', mountPath: '/archive' },
    ]);
    assert.deepEqual(restrictedViolations(pod), []);
  });

  it('runs init containers under the restricted profile, with a native sidecar so they reach the network', () => {
    const { chart, ns } = payments();
    new Microservice(chart, 'ledger', {
      namespace: ns,
      image: 'ledger:1.0',
      versions: { v1: {} },
      initContainers: [
        {
          name: 'wait-for-db',
          command: ['ledger', 'wait-db'],
          env: { DB_PASSWORD: EnvValue.fromSecret('ledger-db', 'password') },
          mounts: [{ path: '/etc/tls', volume: Volume.fromSecret('ledger-tls') }],
        },
      ],
    });
    const template = find(synth(chart), 'Deployment', 'ledger-v1').spec.template;
    assert.equal(template.metadata.annotations['sidecar.istio.io/nativeSidecar'], 'true');
    const init = template.spec.initContainers;
    assert.equal(init.length, 1);
    assert.equal(init[0].image, 'ledger:1.0');
    assert.deepEqual(init[0].command, ['ledger', 'wait-db']);
    assert.deepEqual(init[0].volumeMounts, [
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'secret-ledger-tls', mountPath: '/etc/tls', readOnly: true },
    ]);
    assert.deepEqual(restrictedViolations(template.spec), []);
  });

  it('leaves the nativeSidecar annotation to the mesh for pods without init containers, and out in ambient', () => {
    const { chart, ns } = payments();
    const ambient = new MeshNamespace(chart, 'ambient', { dataPlane: DataPlane.ambient() });
    new Microservice(chart, 'api', { namespace: ns, image: 'api:1', versions: { v1: {} } });
    new Microservice(chart, 'worker', {
      namespace: ambient,
      image: 'w:1',
      versions: { v1: {} },
      initContainers: [{ name: 'prepare' }],
    });
    const objs = synth(chart);
    const api = find(objs, 'Deployment', 'api-v1').spec.template.metadata.annotations;
    assert.equal(api['sidecar.istio.io/nativeSidecar'], undefined);
    assert.equal(find(objs, 'Deployment', 'worker-v1').spec.template.metadata.annotations, undefined);
  });

  it('refuses a classic sidecar with init containers, and clashing mounts and names', () => {
    const { chart, ns } = payments();
    new Microservice(chart, 'ledger', {
      namespace: ns,
      image: 'ledger:1.0',
      versions: { v1: {} },
      writablePaths: ['/data'],
      sidecar: { nativeSidecar: false },
      mounts: [
        { path: '/data', volume: Volume.fromConfigMap('ledger-config') },
        { path: 'etc', volume: Volume.fromSecret('Bad_Name') },
      ],
      initContainers: [{ name: 'ledger' }, { name: 'Init' }],
    });
    assert.deepEqual(synthErrors(chart), [
      '[test/ledger] mounts[0].path: "/data" is already mounted by writablePaths[0]; mount each path once',
      '[test/ledger] mounts[1].path: "etc" is not an absolute path; start it with "/"',
      '[test/ledger] mounts[1].volume.secretName: "Bad_Name" is not a valid RFC 1123 subdomain; use lower-case letters, digits, "-" and ".", each part starting and ending with a letter or digit',
      '[test/ledger] initContainers[0].name: "ledger" is already the name of the app container; give each container of the pod its own name',
      '[test/ledger] initContainers[1].name: "Init" is not a valid RFC 1123 label; use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit',
      '[test/ledger] sidecar.nativeSidecar: is false, so the init containers run before the proxy starts while istio-init already redirects their traffic to it, and their network calls fail; leave nativeSidecar unset (native sidecars start before init containers), or move the work into the app container',
    ]);
  });
});

describe('Microservice scheduling and autoscaling', () => {
  it('renders node selection, tolerations, affinity and an explicit spread', () => {
    const { chart, ns } = payments();
    new Microservice(chart, 'api', {
      namespace: ns,
      image: 'api:1',
      versions: { v1: {} },
      scheduling: {
        nodeSelector: { 'kubernetes.io/arch': 'arm64' },
        tolerations: [
          Toleration.exists('dedicated', TaintEffect.NO_SCHEDULE),
          Toleration.equal('team', 'payments'),
        ],
        nodeAffinity: {
          required: [NodeLabelQuery.in('topology.kubernetes.io/zone', ['eu-west-1a', 'eu-west-1b'])],
          preferred: [{ weight: 50, match: [NodeLabelQuery.exists('fast-disk')] }],
        },
        podAntiAffinity: {},
        topologySpread: [TopologySpread.acrossZones({ required: true })],
      },
    });
    const pod = find(synth(chart), 'Deployment', 'api-v1').spec.template.spec;
    assert.deepEqual(pod.nodeSelector, { 'kubernetes.io/arch': 'arm64' });
    assert.deepEqual(pod.tolerations, [
      { key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' },
      { key: 'team', operator: 'Equal', value: 'payments' },
    ]);
    assert.deepEqual(pod.affinity, {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            {
              matchExpressions: [
                { key: 'topology.kubernetes.io/zone', operator: 'In', values: ['eu-west-1a', 'eu-west-1b'] },
              ],
            },
          ],
        },
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 50, preference: { matchExpressions: [{ key: 'fast-disk', operator: 'Exists' }] } },
        ],
      },
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 100,
            podAffinityTerm: {
              labelSelector: { matchLabels: { app: 'api' } },
              topologyKey: 'kubernetes.io/hostname',
            },
          },
        ],
      },
    });
    assert.deepEqual(pod.topologySpreadConstraints, [
      {
        labelSelector: { matchLabels: { app: 'api', version: 'v1' } },
        maxSkew: 1,
        topologyKey: 'topology.kubernetes.io/zone',
        whenUnsatisfiable: 'DoNotSchedule',
        matchLabelKeys: ['pod-template-hash'],
      },
    ]);
  });

  it('spreads autoscaled versions by default, and not when told topologySpread: false', () => {
    const { chart, ns } = payments();
    const autoscaling = { minReplicas: 2, maxReplicas: 4 };
    new Microservice(chart, 'a', { namespace: ns, image: 'a:1', versions: { v1: {} }, autoscaling });
    new Microservice(chart, 'b', {
      namespace: ns,
      image: 'b:1',
      versions: { v1: {} },
      autoscaling,
      scheduling: { topologySpread: false },
    });
    const objs = synth(chart);
    assert.deepEqual(
      find(objs, 'Deployment', 'a-v1').spec.template.spec.topologySpreadConstraints.map(
        (t: { topologyKey: string }) => t.topologyKey,
      ),
      ['topology.kubernetes.io/zone', 'kubernetes.io/hostname'],
    );
    assert.equal(find(objs, 'Deployment', 'b-v1').spec.template.spec.topologySpreadConstraints, undefined);
  });

  it('scales on CPU at 80 % only when nothing else is named, and renders each stabilization window alone (survivors of the mutation run)', () => {
    const hpaOf = (autoscaling: ConstructorParameters<typeof Microservice>[2]['autoscaling']) => {
      const { chart, ns } = payments();
      new Microservice(chart, 'api', { namespace: ns, image: 'api:1', versions: { v1: {} }, autoscaling });
      return find(synth(chart), 'HorizontalPodAutoscaler', 'api-v1').spec;
    };
    const names = (spec: { metrics: { type: string; containerResource?: { name: string } }[] }) =>
      spec.metrics.map((m) => m.containerResource?.name ?? m.type);
    assert.deepEqual(names(hpaOf({ minReplicas: 2, maxReplicas: 4 })), ['cpu']);
    assert.deepEqual(names(hpaOf({ minReplicas: 2, maxReplicas: 4, memoryUtilization: 70 })), ['memory']);
    assert.deepEqual(
      names(hpaOf({ minReplicas: 2, maxReplicas: 4, metrics: [ScalingMetric.pods('rps', '500m')] })),
      ['Pods'],
    );
    assert.deepEqual(
      names(hpaOf({ minReplicas: 2, maxReplicas: 4, cpuUtilization: 60, memoryUtilization: 70 })),
      ['cpu', 'memory'],
    );
    const up = hpaOf({
      minReplicas: 2,
      maxReplicas: 4,
      behavior: { scaleUpStabilization: Duration.seconds(30) },
    });
    assert.deepEqual(up.behavior, { scaleUp: { stabilizationWindowSeconds: 30 } });
    assert.equal(hpaOf({ minReplicas: 2, maxReplicas: 4, behavior: {} }).behavior, undefined);
  });

  it('takes metric targets as positive quantities, written as the API server reads them (survivors of the mutation run)', () => {
    const { chart, ns } = payments();
    const good = ['500m', '1.5', '2e3', '.5', '+3', '1Ki', '10', '0.5k'];
    const bad = ['0', '0.0m', '-1', '1 k', 'abc', '1e', '1.5.5', '', '0Mi', '1KB', '5 '];
    new Microservice(chart, 'api', {
      namespace: ns,
      image: 'api:1',
      versions: { v1: {} },
      autoscaling: {
        minReplicas: 2,
        maxReplicas: 4,
        // One metric name per target: two targets for one metric are refused on their own.
        metrics: [...good, ...bad].map((v, i) => ScalingMetric.external(`queue_depth_${i}`, v)),
        behavior: { scaleUpStabilization: Duration.hours(2) },
      },
    });
    assert.deepEqual(synthErrors(chart), [
      ...bad.map(
        (v, i) =>
          `[test/api] autoscaling.metrics[${good.length + i}].target: ${JSON.stringify(v)} is not a positive quantity; use e.g. 100 or "500m"`,
      ),
      "[test/api] autoscaling.behavior.scaleUpStabilization: 7200s is above the API server's maximum of 3600s for this field; use Duration.seconds(n) with n ≤ 3600",
    ]);
    const ok = payments();
    new Microservice(ok.chart, 'api', {
      namespace: ok.ns,
      image: 'api:1',
      versions: { v1: {} },
      autoscaling: {
        minReplicas: 2,
        maxReplicas: 4,
        metrics: good.map((v, i) => ScalingMetric.pods(`rps_${i}`, v)),
      },
    });
    const hpa = find(synth(ok.chart), 'HorizontalPodAutoscaler', 'api-v1');
    assert.deepEqual(
      hpa.spec.metrics.map((m: { pods: { target: { averageValue: string } } }) => m.pods.target.averageValue),
      good,
    );
  });

  it("scales on the app container's memory and on custom and external metrics, with a scale-down window", () => {
    const { chart, ns } = payments();
    new Microservice(chart, 'api', {
      namespace: ns,
      image: 'api:1',
      versions: { v1: {} },
      autoscaling: {
        minReplicas: 2,
        maxReplicas: 10,
        memoryUtilization: 75,
        metrics: [
          ScalingMetric.pods('http_requests_per_second', 100),
          ScalingMetric.external('queue_messages_ready', '30', { queue: 'payments' }),
        ],
        behavior: { scaleDownStabilization: Duration.minutes(10) },
      },
    });
    const hpa = find(synth(chart), 'HorizontalPodAutoscaler', 'api-v1');
    assert.deepEqual(hpa.spec.metrics, [
      {
        type: 'ContainerResource',
        containerResource: {
          name: 'memory',
          container: 'api',
          target: { type: 'Utilization', averageUtilization: 75 },
        },
      },
      {
        type: 'Pods',
        pods: {
          metric: { name: 'http_requests_per_second' },
          target: { type: 'AverageValue', averageValue: 100 },
        },
      },
      {
        type: 'External',
        external: {
          metric: { name: 'queue_messages_ready', selector: { matchLabels: { queue: 'payments' } } },
          target: { type: 'AverageValue', averageValue: '30' },
        },
      },
    ]);
    assert.deepEqual(hpa.spec.behavior, { scaleDown: { stabilizationWindowSeconds: 600 } });
  });

  it('uses a pod Resource metric in ambient namespaces, where pods have no proxy container', () => {
    const { chart } = payments();
    const ambient = new MeshNamespace(chart, 'ambient', { dataPlane: DataPlane.ambient() });
    new Microservice(chart, 'api', {
      namespace: ambient,
      image: 'api:1',
      versions: { v1: {} },
      autoscaling: { minReplicas: 1, maxReplicas: 3, cpuUtilization: 60 },
    });
    const hpa = find(synth(chart), 'HorizontalPodAutoscaler', 'api-v1');
    assert.deepEqual(hpa.spec.metrics, [
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } },
      },
    ]);
  });
});

describe('StatefulSet services', () => {
  function ledger(chart = payments()) {
    const svc = new Microservice(chart.chart, 'ledger', {
      namespace: chart.ns,
      image: 'ledger:1.0',
      ports: [ServicePort.tcp(5432, { name: 'tcp-postgres' })],
      versions: { v1: { replicas: 3 } },
      workload: Workload.statefulSet({
        volumeClaims: [
          {
            name: 'data',
            mountPath: '/var/lib/ledger',
            storage: Size.gibibytes(10),
            storageClassName: 'gp3',
          },
        ],
        podManagementPolicy: 'Parallel',
      }),
    });
    return { ...chart, svc };
  }

  it('runs a StatefulSet per version behind a headless Service with named ports, and mutual TLS to each pod', () => {
    const { chart, svc } = ledger();
    const objs = synth(chart);
    const sts = find(objs, 'StatefulSet', 'ledger-v1');
    assert.equal(sts.spec.serviceName, 'ledger-headless');
    assert.equal(sts.spec.replicas, 3);
    assert.equal(sts.spec.podManagementPolicy, 'Parallel');
    // A StatefulSet's pods carry their revision as controller-revision-hash (no pod-template-hash).
    assert.deepEqual(
      sts.spec.template.spec.topologySpreadConstraints.map(
        (t: { matchLabelKeys: string[] }) => t.matchLabelKeys,
      ),
      [['controller-revision-hash'], ['controller-revision-hash']],
    );
    assert.deepEqual(sts.spec.volumeClaimTemplates, [
      {
        metadata: { name: 'data', labels: { app: 'ledger', version: 'v1' } },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName: 'gp3',
          resources: { requests: { storage: '10Gi' } },
        },
      },
    ]);
    assert.deepEqual(sts.spec.template.spec.containers[0].volumeMounts.at(-1), {
      name: 'data',
      mountPath: '/var/lib/ledger',
    });
    assert.deepEqual(restrictedViolations(sts.spec.template.spec), []);
    const headless = find(objs, 'Service', 'ledger-headless');
    assert.equal(headless.spec.clusterIP, 'None');
    // Peers find each other by DNS before they are ready (a cluster forming its quorum).
    assert.equal(headless.spec.publishNotReadyAddresses, true);
    assert.deepEqual(headless.metadata.labels, { app: 'ledger', service: 'ledger-headless' });
    assert.deepEqual(headless.spec.ports, [
      { name: 'tcp-postgres', port: 5432, targetPort: 5432, appProtocol: 'tcp' },
    ]);
    assert.deepEqual(find(objs, 'DestinationRule', 'ledger-headless').spec, {
      host: 'ledger-headless.payments.svc.cluster.local',
      trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } },
    });
    assert.equal(svc.statefulSet('v1').name, 'ledger-v1');
    assert.throws(
      () => svc.deployment('v1'),
      /test\/ledger: deployment\("v1"\): ledger runs as StatefulSets \(Workload.statefulSet\(\)\); use statefulSet\("v1"\)/,
    );
  });

  it("lists the headless Service and the per-pod hostnames in its callers' Sidecar egress", () => {
    const c = ledger();
    const api = new Microservice(c.chart, 'api', { namespace: c.ns, image: 'api:1', versions: { v1: {} } });
    api.calls(c.svc);
    const egress = find(synth(c.chart), 'Sidecar', 'api').spec.egress[0].hosts;
    assert.deepEqual(egress, [
      './*.ledger-headless.payments.svc.cluster.local',
      './ledger-headless.payments.svc.cluster.local',
      './ledger.payments.svc.cluster.local',
      'istio-system/*',
    ]);
  });

  it('lets the pods reach each other by hostname (peers), unless told peers: false', () => {
    const { chart, ns } = ledger();
    new Microservice(chart, 'cache', {
      namespace: ns,
      image: 'cache:1',
      versions: { v1: {} },
      workload: Workload.statefulSet({ peers: false }),
    });
    const objs = synth(chart);
    assert.deepEqual(find(objs, 'Sidecar', 'ledger').spec.egress[0].hosts, [
      './*.ledger-headless.payments.svc.cluster.local',
      './ledger-headless.payments.svc.cluster.local',
      'istio-system/*',
    ]);
    assert.deepEqual(find(objs, 'AuthorizationPolicy', 'ledger-allow-callers').spec.rules, [
      { from: [{ source: { principals: ['cluster.local/ns/payments/sa/ledger'] } }] },
    ]);
    assert.deepEqual(find(objs, 'Sidecar', 'cache').spec.egress[0].hosts, ['istio-system/*']);
    assert.ok(!objs.some((o) => o.metadata.name === 'cache-allow-callers'));
  });

  it('admits the peers at ztunnel too behind a waypoint, which serves Service addresses only', () => {
    const { chart } = payments();
    const ns = new MeshNamespace(chart, 'stores', { dataPlane: DataPlane.ambient({ waypoint: true }) });
    const single = new MeshNamespace(chart, 'single', { dataPlane: DataPlane.ambient({ waypoint: true }) });
    for (const [namespace, replicas] of [
      [ns, 3],
      [single, 1],
    ] as const) {
      new Microservice(chart, `ledger-${namespace.name}`, {
        namespace,
        name: 'ledger',
        image: 'l:1',
        versions: { v1: {} },
        replicas,
        workload: Workload.statefulSet(),
      });
    }
    const objs = synth(chart);
    const principals = (namespace: string) =>
      objs.find(
        (o) =>
          o.kind === 'AuthorizationPolicy' &&
          o.metadata.name === 'ledger-allow-waypoint' &&
          o.metadata.namespace === namespace,
      )?.spec.rules[0].from[0].source.principals;
    assert.deepEqual(principals('stores'), [
      'cluster.local/ns/stores/sa/waypoint',
      'cluster.local/ns/stores/sa/ledger',
    ]);
    // A single pod has no peer, and with no caller nothing admits anyone (the namespace's default deny).
    assert.equal(principals('single'), undefined);
  });

  it('reaches the pods as `npm run explain` reads the objects: callers and peers through the headless Service', () => {
    const { chart, ns, svc } = ledger();
    new Microservice(chart, 'api', { namespace: ns, image: 'api:1', versions: { v1: {} } }).calls(svc);
    new Microservice(chart, 'other', { namespace: ns, image: 'other:1', versions: { v1: {} } });
    const index = meshIndex(chart);
    const verdict = (from: string, to: string) => explainRequest(index, { from, to, port: 5432 }).allowed;
    assert.equal(verdict('api', 'ledger'), true);
    assert.equal(verdict('api', 'ledger-headless'), true);
    assert.equal(verdict('ledger', 'ledger-headless'), true);
    assert.equal(verdict('other', 'ledger-headless'), false);
  });

  it('scales a StatefulSet with its HPA targeting the StatefulSet', () => {
    const { chart, ns } = payments();
    new Microservice(chart, 'ledger', {
      namespace: ns,
      image: 'ledger:1.0',
      versions: { v1: {} },
      autoscaling: { minReplicas: 2, maxReplicas: 4 },
      workload: Workload.statefulSet(),
    });
    const hpa = find(synth(chart), 'HorizontalPodAutoscaler', 'ledger-v1');
    assert.deepEqual(hpa.spec.scaleTargetRef, {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      name: 'ledger-v1',
    });
  });
});

describe('MeshJob', () => {
  it('runs a Job that completes: native sidecar, restricted pod, its identity admitted by the callee', () => {
    const { chart, ns } = payments();
    const ledger = new Microservice(chart, 'ledger', {
      namespace: ns,
      image: 'ledger:1.0',
      versions: { v1: {} },
    });
    const job = new MeshJob(chart, 'migrate', {
      namespace: ns,
      image: 'ledger:1.0',
      command: ['ledger', 'migrate'],
      env: { DB_PASSWORD: EnvValue.fromSecret('ledger-db', 'password') },
      backoffLimit: 2,
      activeDeadline: Duration.minutes(10),
      ttlAfterFinished: Duration.hours(1),
    }).calls(ledger, { methods: ['POST'] });
    const objs = synth(chart);
    const k8sJob = find(objs, 'Job', 'migrate');
    assert.equal(job.job?.name, 'migrate');
    assert.equal(job.cronJob, undefined);
    assert.equal(k8sJob.spec.backoffLimit, 2);
    assert.equal(k8sJob.spec.activeDeadlineSeconds, 600);
    assert.equal(k8sJob.spec.ttlSecondsAfterFinished, 3600);
    const pod = k8sJob.spec.template;
    assert.equal(pod.metadata.annotations['sidecar.istio.io/nativeSidecar'], 'true');
    assert.equal(pod.spec.restartPolicy, 'Never');
    assert.equal(pod.spec.serviceAccountName, 'migrate');
    assert.deepEqual(pod.spec.containers[0].command, ['ledger', 'migrate']);
    assert.deepEqual(restrictedViolations(pod.spec), []);
    assert.deepEqual(find(objs, 'Sidecar', 'migrate').spec.egress[0].hosts, [
      './ledger.payments.svc.cluster.local',
      'istio-system/*',
    ]);
    assert.deepEqual(find(objs, 'AuthorizationPolicy', 'ledger-allow-callers').spec.rules, [
      {
        from: [{ source: { principals: ['cluster.local/ns/payments/sa/migrate'] } }],
        to: [{ operation: { methods: ['POST'] } }],
      },
    ]);
    find(objs, 'ServiceAccount', 'migrate');
  });

  it('runs a CronJob on a schedule, not overlapping by default', () => {
    const { chart, ns } = payments();
    const job = new MeshJob(chart, 'report', { namespace: ns, image: 'report:1', schedule: '0 3 * * *' });
    const cron = find(synth(chart), 'CronJob', 'report');
    assert.equal(job.job, undefined);
    assert.equal(cron.spec.schedule, '0 3 * * *');
    assert.equal(cron.spec.concurrencyPolicy, 'Forbid');
    const pod = cron.spec.jobTemplate.spec.template;
    assert.equal(pod.metadata.annotations['sidecar.istio.io/nativeSidecar'], 'true');
    assert.deepEqual(restrictedViolations(pod.spec), []);
  });

  it('has neither a Sidecar nor the annotation in an ambient namespace', () => {
    const { chart } = payments();
    const ambient = new MeshNamespace(chart, 'batch', { dataPlane: DataPlane.ambient() });
    const job = new MeshJob(chart, 'report', { namespace: ambient, image: 'report:1' });
    const pod = find(synth(chart), 'Job', 'report').spec.template;
    assert.equal(job.sidecar, undefined);
    assert.equal(pod.metadata.annotations, undefined);
  });

  it('refuses a classic sidecar, a bad schedule and the proxy UID', () => {
    const { chart, ns } = payments();
    new MeshJob(chart, 'migrate', {
      namespace: ns,
      image: 'ledger:1.0',
      schedule: 'every day',
      runAsUser: 1337,
      sidecar: { nativeSidecar: false },
    });
    assert.deepEqual(synthErrors(chart), [
      '[test/migrate] runAsUser: 1337 is the UID of the Istio proxy, whose traffic bypasses the mesh; use another non-root UID, e.g. 10001',
      '[test/migrate] sidecar.nativeSidecar: is false, so the proxy of Job migrate never exits and the Job never completes; leave nativeSidecar unset: the native sidecar stops when the job container exits',
      '[test/migrate] schedule: "every day" is not a cron schedule: has 2 fields, not 5; use five fields (minute 0-59, hour 0-23, day 1-31, month 1-12, weekday 0-6), e.g. "0 3 * * *", or a macro such as "@daily"',
    ]);
  });

  it('names the Job per release with jobName while its identity keeps name', () => {
    const { chart, ns } = payments();
    const job = new MeshJob(chart, 'migrate', { namespace: ns, image: 'ledger:1.0', jobName: 'migrate-1-0' });
    const objs = synth(chart);
    assert.equal(job.jobName, 'migrate-1-0');
    assert.deepEqual(find(objs, 'Job', 'migrate-1-0').spec.template.metadata.labels, { app: 'migrate' });
    assert.deepEqual(find(objs, 'Sidecar', 'migrate').spec.workloadSelector, { labels: { app: 'migrate' } });
    find(objs, 'ServiceAccount', 'migrate');
    const bad = payments();
    new MeshJob(bad.chart, 'report', {
      namespace: bad.ns,
      image: 'report:1',
      jobName: `report-${'x'.repeat(46)}`,
      schedule: '@daily',
    });
    assert.deepEqual(synthErrors(bad.chart), [
      `[test/report] jobName: "report-${'x'.repeat(46)}" is 53 characters long, more than a CronJob's 52; shorten it`,
    ]);
  });

  it("renders the namespace's outbound traffic policy into the job's Sidecar, where the namespace sets one", () => {
    const { chart } = payments();
    class FailClosed extends MeshNamespace {
      public _sidecarOutboundTrafficPolicy() {
        return { mode: SidecarSpecOutboundTrafficPolicyMode.REGISTRY_UNDERSCORE_ONLY };
      }
    }
    const closed = new FailClosed(chart, 'closed');
    new MeshJob(chart, 'a', { namespace: closed, image: 'a:1' });
    new MeshJob(chart, 'b', { namespace: new MeshNamespace(chart, 'open'), image: 'b:1' });
    const objs = synth(chart);
    assert.deepEqual(find(objs, 'Sidecar', 'a').spec.outboundTrafficPolicy, { mode: 'REGISTRY_ONLY' });
    assert.equal(find(objs, 'Sidecar', 'b').spec.outboundTrafficPolicy, undefined);
  });

  it('refuses a call to a service of another app', () => {
    const other = payments();
    const ledger = new Microservice(other.chart, 'ledger', {
      namespace: other.ns,
      image: 'l:1',
      versions: { v1: {} },
    });
    const { chart, ns } = payments();
    new MeshJob(chart, 'migrate', { namespace: ns, image: 'l:1' }).calls(ledger);
    assert.deepEqual(synthErrors(chart), [
      '[test/migrate] calls[0] (ledger): service ledger.payments.svc.cluster.local is not in this app; declare the called Microservice in the same cdk8s App',
    ]);
  });

  it('refuses unknown props and wrong types with the fix', () => {
    const { chart, ns } = payments();
    assert.throws(
      () => new MeshJob(chart, 'migrate', { namespace: ns, image: 'x:1', schedul: '0 3 * * *' } as never),
      (e: Error) => e.message === '[test/migrate] schedul: is not a known option; did you mean schedule?',
    );
    assert.throws(
      () => EnvValue.fromSecret('db', 42 as never),
      (e: Error) =>
        e.message ===
        'EnvValue.fromSecret: key: expected a string, got the number 42; pass a string, e.g. "password"',
    );
  });
});

describe('workload validation', () => {
  it('names every bad env source, volume, scheduling rule and metric with its fix', () => {
    const { chart, ns } = payments();
    new Microservice(chart, 'api', {
      namespace: ns,
      image: 'api:1',
      versions: { v1: { env: { HOST: EnvValue.fromFieldPath('spec.hostname') } } },
      env: { PASSWORD: EnvValue.fromSecret('db', 'pass word') },
      envFrom: [EnvFrom.configMap('cfg', { prefix: 'A=B' })],
      mounts: [
        {
          path: '/etc/cfg',
          volume: Volume.fromConfigMap('cfg', { items: { 'a.yaml': '../a.yaml' }, defaultMode: 0o1777 }),
        },
        { path: '/data', volume: Volume.emptyDir(), subPath: '../up' },
      ],
      scheduling: {
        nodeSelector: { 'kubernetes.io/arch': 'arm 64' },
        tolerations: [Toleration.exists('-bad')],
        nodeAffinity: { preferred: [{ weight: 0, match: [] }], required: [NodeLabelQuery.in('zone', [])] },
        topologySpread: [
          TopologySpread.acrossNodes(),
          TopologySpread.across('kubernetes.io/hostname', { maxSkew: 0 }),
        ],
      },
      autoscaling: {
        minReplicas: 1,
        maxReplicas: 3,
        memoryUtilization: 0,
        metrics: [ScalingMetric.pods('requests per second', 0)],
        behavior: { scaleDownStabilization: Duration.hours(2) },
      },
    });
    assert.deepEqual(synthErrors(chart), [
      `[test/api] versions.v1.env["HOST"].fieldPath: "spec.hostname" is not a pod field the downward API offers to environment variables; use one of metadata.name, metadata.namespace, metadata.uid, spec.nodeName, spec.serviceAccountName, status.hostIP, status.hostIPs, status.podIP, status.podIPs, or metadata.labels['<key>']`,
      '[test/api] env["PASSWORD"].key: "pass word" is not a Secret or ConfigMap key; use letters, digits, "-", "_" and ".", e.g. "password"',
      '[test/api] autoscaling.memoryUtilization: 0 is not a whole percentage of 1 or more; use e.g. 80',
      '[test/api] autoscaling.metrics[0].name: "requests per second" is not a metric name; use e.g. "http_requests_per_second"',
      '[test/api] autoscaling.metrics[0].target: 0 is not a positive quantity; use e.g. 100 or "500m"',
      "[test/api] autoscaling.behavior.scaleDownStabilization: 7200s is above the API server's maximum of 3600s for this field; use Duration.seconds(n) with n ≤ 3600",
      '[test/api] envFrom[0].prefix: "A=B" is not the start of a valid environment variable name; use printable ASCII characters other than "=", e.g. "DB_"',
      '[test/api] mounts[0].volume.defaultMode: 0o1777 is not a file mode from 0 to 0o777; use an octal mode, e.g. 0o440',
      '[test/api] mounts[0].volume.items["a.yaml"]: "../a.yaml" is not a relative path inside the mount; use a relative path without "..", e.g. "config.yaml"',
      '[test/api] mounts[1].subPath: "../up" is not a relative path inside the volume; use a relative path without ".."',
      '[test/api] scheduling.nodeSelector["kubernetes.io/arch"]: "arm 64" is not a label value; use at most 63 letters, digits, "-", "_" and "."',
      '[test/api] scheduling.tolerations[0].key: "-bad" is not a label key: it has a name part that is not letters, digits, "-", "_" and ".", starting and ending with a letter or digit; use e.g. "topology.kubernetes.io/zone"',
      '[test/api] scheduling.nodeAffinity.required[0].values: is empty, and the API server requires values for In; give at least one value',
      '[test/api] scheduling.nodeAffinity.preferred[0].weight: 0 is not a weight from 1 to 100; use a whole number from 1 to 100',
      '[test/api] scheduling.nodeAffinity.preferred[0].match: is empty, so it prefers every node; give at least one NodeLabelQuery',
      '[test/api] scheduling.topologySpread[1].maxSkew: 0 must be a whole number of 1 or more; use a whole number of 1 or more',
      '[test/api] scheduling.topologySpread[1]: spreads across "kubernetes.io/hostname" like topologySpread[0]; keep one constraint per topology key',
    ]);
  });

  it('refuses bad volume claims and a job named like a service', () => {
    const { chart, ns } = payments();
    new Microservice(chart, 'ledger', {
      namespace: ns,
      image: 'ledger:1',
      versions: { v1: {} },
      workload: Workload.statefulSet({
        volumeClaims: [
          { name: 'tmp', mountPath: '/tmp', storage: Size.gibibytes(1) },
          { name: 'Data', mountPath: '/data', storage: Size.gibibytes(0), accessModes: [] },
        ],
      }),
    });
    new Microservice(chart, 'x'.repeat(50), {
      namespace: ns,
      image: 'x:1',
      versions: { v1: {} },
      workload: Workload.statefulSet(),
    });
    new MeshJob(chart, 'ledger-job', {
      namespace: ns,
      image: 'ledger:1',
      name: 'ledger',
      concurrencyPolicy: 'Allow',
    });
    new MeshJob(chart, 'a-very-long-cron-job-name-that-runs-every-night-at-03', {
      namespace: ns,
      image: 'x:1',
      schedule: '@daily',
      backoffLimit: -1,
    });
    const job = 'a-very-long-cron-job-name-that-runs-every-night-at-03';
    assert.deepEqual(synthErrors(chart), [
      '[test/ledger] workload.volumeClaims[1].name: "Data" is not a valid RFC 1123 label; use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit',
      '[test/ledger] workload.volumeClaims[1].storage: is not a positive size; use e.g. Size.gibibytes(10)',
      '[test/ledger] workload.volumeClaims[1].accessModes: is empty, and the API server requires at least one; leave it out for ["ReadWriteOnce"]',
      '[test/ledger] workload.volumeClaims[0].mountPath: "/tmp" is already mounted by the /tmp scratch directory; mount each path once',
      '[test/ledger] workload.volumeClaims[0].name: "tmp" is the name of a scratch volume of the pod; choose another name, e.g. "data"',
      `[test/${'x'.repeat(50)}] versions.v1: the StatefulSet name "${'x'.repeat(50)}-v1" is 53 characters long, more than 52, so its pods' controller-revision-hash label would exceed 63 characters and none could be created; shorten the service name or the version name`,
      '[test/ledger-job] name: "ledger" is also the name of test/ledger in namespace "payments", whose Service, Sidecar and policies select pods labelled app=ledger; name the job differently, e.g. "ledger-job"',
      '[test/ledger-job] concurrencyPolicy: applies to CronJobs only, and the job has no schedule; remove it, or set schedule',
      `[test/${job}] name: "${job}" is 53 characters long, more than a CronJob's 52; shorten it`,
      `[test/${job}] backoffLimit: -1 must be a whole number of 0 or more; use 0 or a positive whole number`,
    ]);
  });
});

describe('workloads through the admission pass', () => {
  it('pass the API server schemas, the Istio CRDs and render exactly as cdk8s does', () => {
    const app = new App();
    const chart = new Chart(app, 'payments');
    const ns = new MeshNamespace(chart, 'payments');
    const ledger = new Microservice(chart, 'ledger', {
      namespace: ns,
      image: 'ledger:1.0',
      ports: [ServicePort.tcp(5432, { name: 'tcp-postgres' })],
      versions: { v1: {} },
      env: {
        PASSWORD: EnvValue.fromSecret('ledger-db', 'password'),
        POD: EnvValue.fromFieldPath('metadata.name'),
      },
      envFrom: [EnvFrom.configMap('ledger-config', { optional: true })],
      mounts: [
        { path: '/etc/tls', volume: Volume.fromSecret('ledger-tls', { defaultMode: 0o440 }) },
        { path: '/cache', volume: Volume.emptyDir({ sizeLimit: Size.mebibytes(64) }) },
      ],
      initContainers: [{ name: 'wait-for-db', command: ['ledger', 'wait'] }],
      scheduling: {
        tolerations: [Toleration.equal('team', 'payments', TaintEffect.NO_EXECUTE)],
        podAntiAffinity: { required: true, scope: 'version' },
      },
      autoscaling: {
        minReplicas: 2,
        maxReplicas: 4,
        cpuUtilization: 70,
        memoryUtilization: 80,
        metrics: [ScalingMetric.external('queue_depth', 30)],
        behavior: { scaleDownStabilization: Duration.minutes(5), scaleUpStabilization: Duration.seconds(30) },
      },
      workload: Workload.statefulSet({
        volumeClaims: [{ name: 'data', mountPath: '/var/lib/ledger', storage: Size.gibibytes(10) }],
      }),
    });
    const api = new Microservice(chart, 'api', { namespace: ns, image: 'api:1', versions: { v1: {} } });
    api.calls(ledger);
    new MeshJob(chart, 'migrate', { namespace: ns, image: 'ledger:1.0', serviceAccountName: 'ledger' }).calls(
      ledger,
    );
    new MeshJob(chart, 'report', {
      namespace: ns,
      image: 'report:1',
      schedule: '0 3 * * *',
      ttlAfterFinished: Duration.days(1),
    });
    const objects = renderObjects(app);
    validateObjects(objects as never);
    const kinds = new Set(objects.map((o) => `${o.kind}/${o.metadata.name}`));
    for (const k of [
      'StatefulSet/ledger-v1',
      'Service/ledger-headless',
      'Job/migrate',
      'CronJob/report',
      'HorizontalPodAutoscaler/ledger-v1',
    ]) {
      assert.ok(kinds.has(k), `renders ${k}`);
    }
    // The job runs as the ledger's identity: one ServiceAccount, declared by the ledger.
    assert.equal(
      objects.filter((o) => o.kind === 'ServiceAccount' && o.metadata.name === 'ledger').length,
      1,
    );
    for (const c of charts(app)) {
      for (const o of orderedApiObjects(c)) {
        assert.equal(
          JSON.stringify(toManifest(o)),
          JSON.stringify(o.toJson()),
          `${o.node.path} renders as cdk8s does`,
        );
      }
    }
  });
});

describe('workload details', () => {
  it('sets the nativeSidecar annotation when told, either way', () => {
    const { chart, ns } = payments();
    new Microservice(chart, 'on', {
      namespace: ns,
      image: 'a:1',
      versions: { v1: {} },
      sidecar: { nativeSidecar: true },
    });
    new Microservice(chart, 'off', {
      namespace: ns,
      image: 'a:1',
      versions: { v1: {} },
      sidecar: { nativeSidecar: false },
    });
    const objs = synth(chart);
    const annotation = (name: string) =>
      find(objs, 'Deployment', `${name}-v1`).spec.template.metadata.annotations[
        'sidecar.istio.io/nativeSidecar'
      ];
    assert.equal(annotation('on'), 'true');
    assert.equal(annotation('off'), 'false');
  });

  it('names distinct objects apart when their volume names would clash', () => {
    const { chart, ns } = payments();
    new Microservice(chart, 'api', {
      namespace: ns,
      image: 'a:1',
      versions: { v1: {} },
      mounts: [
        { path: '/a', volume: Volume.fromSecret('a.b') },
        { path: '/b', volume: Volume.fromSecret('a-b') },
        { path: '/c', volume: Volume.emptyDir() },
        { path: '/d', volume: Volume.emptyDir() },
      ],
    });
    const pod = find(synth(chart), 'Deployment', 'api-v1').spec.template.spec;
    assert.deepEqual(
      pod.volumes.map((v: { name: string }) => v.name),
      ['tmp', 'secret-a-b', 'secret-a-b-2', 'scratch', 'scratch-2'],
    );
  });

  it('names the accessor to use for the workload kind, and the declared versions', () => {
    const { chart, ns } = payments();
    const api = new Microservice(chart, 'api', { namespace: ns, image: 'a:1', versions: { v1: {} } });
    const db = new Microservice(chart, 'db', {
      namespace: ns,
      image: 'db:1',
      versions: { v1: {} },
      autoscaling: { minReplicas: 1, maxReplicas: 2 },
      workload: Workload.statefulSet(),
    });
    assert.throws(
      () => api.statefulSet('v1'),
      (e: Error) =>
        e.message ===
        'test/api: statefulSet("v1"): api runs as Deployments; use deployment("v1"), or workload: Workload.statefulSet()',
    );
    assert.throws(
      () => api.statefulSet('v9' as never),
      (e: Error) => e.message === 'test/api: statefulSet("v9"): no such version; use one of v1',
    );
    assert.throws(
      () => db.deployment('v9' as never),
      (e: Error) => e.message === 'test/db: deployment("v9"): no such version; use one of v1',
    );
    assert.throws(
      () => db.statefulSet('v2' as never),
      (e: Error) => e.message === 'test/db: statefulSet("v2"): no such version; use one of v1',
    );
    assert.equal(db.autoscaler('v1')?.name, 'db-v1');
    assert.equal(db.headlessService?.name, 'db-headless');
    assert.equal(api.headlessService, undefined);
  });

  it('gives a job the egress and admission of a CallTarget and of a service in another namespace', () => {
    const { chart, ns } = payments();
    const shop = new MeshNamespace(chart, 'shop');
    const catalog = new Microservice(chart, 'catalog', {
      namespace: shop,
      image: 'c:1',
      versions: { v1: {} },
    });
    const calls: string[] = [];
    class Provider extends Construct implements CallTarget {
      public readonly name = 'provider';
      public readonly host = 'api.provider.example';
      public _addCaller(caller: MeshCaller, options: CallOptions): void {
        calls.push(`${caller.namespace.principal(caller.serviceAccountName)} ${JSON.stringify(options)}`);
      }
      public _egressFor(): readonly string[] {
        return ['./api.provider.example'];
      }
    }
    const provider = new Provider(chart, 'provider');
    new MeshJob(chart, 'export', { namespace: ns, image: 'export:1' })
      .calls(catalog)
      .calls(provider, { methods: ['POST'] });
    const objs = synth(chart);
    assert.deepEqual(find(objs, 'Sidecar', 'export').spec.egress[0].hosts, [
      './api.provider.example',
      'shop/catalog.shop.svc.cluster.local',
      'istio-system/*',
    ]);
    assert.deepEqual(calls, ['cluster.local/ns/payments/sa/export {"methods":["POST"]}']);
    assert.deepEqual(find(objs, 'AuthorizationPolicy', 'catalog-allow-callers').spec.rules, [
      { from: [{ source: { principals: ['cluster.local/ns/payments/sa/export'] } }] },
    ]);
  });

  it('refuses typos and wrong types in the new props with the fix', () => {
    const { chart, ns } = payments();
    assert.throws(
      () =>
        new Microservice(chart, 'api', {
          namespace: ns,
          image: 'a:1',
          versions: { v1: {} },
          mounts: [{ path: '/a', volume: Volume.emptyDir(), readonly: true }],
          scheduling: { topologySpread: true },
          workload: 'StatefulSet',
          initContainers: [{ command: 'migrate' }],
        } as never),
      (e: Error) => {
        assert.deepEqual(e.message.split('\n'), [
          '[test/api] mounts[0].readonly: is not a known option; did you mean readOnly?',
          '[test/api] initContainers[0].name: is required but missing; pass a string, e.g. "migrate"',
          '[test/api] initContainers[0].command: expected an array, got the string "migrate"; pass an array, e.g. ["migrate", "--up"], or leave it out',
          '[test/api] scheduling.topologySpread: expected an array of TopologySpread or false, got the boolean true; pass e.g. [TopologySpread.acrossZones()], or false for none, or leave it out',
          '[test/api] workload: expected a Workload (e.g. Workload.statefulSet()), got the string "StatefulSet"; create it with Workload.deployment() or Workload.statefulSet({...}), or leave it out',
        ]);
        return true;
      },
    );
  });
});
