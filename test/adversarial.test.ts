/**
 * Bad inputs found by an adversarial sweep (issue 13) that got through before: each test shows a
 * whole class refused with its exact message, and the nearest valid input still accepted, so a rule
 * that refuses too much fails here too.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiObject, App, Chart, Duration, JsonPatch, Size, Testing } from 'cdk8s';
import type { IConstruct } from 'constructs';
import {
  AppRegistry,
  Cpu,
  DataPlane,
  ExternalService,
  GlobalRateLimitService,
  ImageSource,
  IstioIngress,
  EnvValue,
  explainAllCallers,
  explainRequest,
  LoadBalancer,
  LocalRateLimit,
  MeshAppDefinition,
  MeshJob,
  MeshNamespace,
  Microservice,
  type MicroserviceProps,
  RateLimitAction,
  RateLimitUnit,
  renderObjects,
  ScalingMetric,
  ServicePort,
  StringMatch,
  TaintEffect,
  NodeLabelQuery,
  Toleration,
  Volume,
  Workload,
} from '../constructs/index.js';
import { admissionProblems, find, synth, synthErrors } from './support/synth.js';

function payments() {
  const chart = Testing.chart();
  const ns = new MeshNamespace(chart, 'payments', {});
  return { chart, ns };
}

function api(extra: Partial<MicroserviceProps<'v1'>> = {}) {
  const { chart, ns } = payments();
  const svc = new Microservice(chart, 'api', {
    namespace: ns,
    image: 'registry.example.com/api:1.0.0',
    versions: { v1: {} },
    ports: [ServicePort.http(8080)],
    ...extra,
  });
  return { chart, ns, svc };
}

function job(schedule: string) {
  const { chart, ns } = payments();
  new MeshJob(chart, 'export', { namespace: ns, image: 'registry.example.com/export:1.0.0', schedule });
  return chart;
}

describe('CronJob schedules, as the API server parses them', () => {
  it('refuses values outside a field, bad ranges and steps, and anything but five fields', () => {
    const cases: [string, string][] = [
      ['60 3 * * *', 'the minute "60" is outside 0-59'],
      ['0 24 * * *', 'the hour "24" is outside 0-23'],
      ['0 3 0 * *', 'the day of the month "0" is outside 1-31'],
      ['0 3 * 13 *', 'the month "13" is outside 1-12'],
      ['0 3 * * 7', 'the day of the week "7" is outside 0-6'],
      ['0 3 * * MON-SUNDAY', 'the day of the week "MON-SUNDAY" is not a value or a range'],
      ['*/0 * * * *', 'the minute "*/0" has a step of 0'],
      ['30-10 * * * *', 'the minute "30-10" is a range that ends before it starts'],
      ['a b c d e', 'the minute "a" is not a value or a range'],
      ['* * * * * *', 'has 6 fields, not 5'],
      ['', 'has 0 fields, not 5'],
      ['@fortnightly', 'is not a cron descriptor'],
      // robfig/cron takes "@every " and hands the rest to Go's time.ParseDuration.
      ['@every  5m', 'is not a cron descriptor'],
      ['@every 5', 'is not a cron descriptor'],
      ['@every 1d', 'is not a cron descriptor'],
    ];
    for (const [schedule, problem] of cases) {
      assert.deepEqual(synthErrors(job(schedule)), [
        `[test/export] schedule: ${JSON.stringify(schedule)} is not a cron schedule: ${problem}; use five fields (minute 0-59, hour 0-23, day 1-31, month 1-12, weekday 0-6), e.g. "0 3 * * *", or a macro such as "@daily"`,
      ]);
    }
  });

  it('accepts the edges of every field, names, lists, steps, "?" and every descriptor, @every included', () => {
    for (const schedule of [
      '0 0 1 1 0',
      '59 23 31 12 6',
      '*/5 0-6 1,15 JAN-MAR MON-FRI',
      '0 3 ? * sun',
      '5/15 * * * *',
      '@daily',
      '@midnight',
      '@every 1h30m',
      '@every 90s',
      '@every 0',
      '@every 1.5h',
      '@every 500\u00b5s',
      '@every 500\u03bcs',
    ]) {
      synth(job(schedule));
    }
    // The API server's parser reads a descriptor only at the very start of the string.
    const cron = synth(job(' @daily ')).find((o) => o.kind === 'CronJob');
    assert.equal(cron?.spec.schedule, '@daily');
  });
});

describe('the API server refuses what a JSON patch breaks in a workload and its pods', () => {
  function patched(...patches: JsonPatch[]) {
    const app = Testing.app();
    const chart = new Chart(app, 'shop');
    const ns = new MeshNamespace(chart, 'shop', {});
    const svc = new Microservice(chart, 'ratings', {
      namespace: ns,
      image: 'registry.example.com/ratings:1.0.0',
      versions: { v1: {} },
    });
    ApiObject.of(svc.node.findChild('deployment-v1') as IConstruct).addJsonPatch(...patches);
    return app;
  }
  it('refuses a template label removed or changed by a patch, and an empty selector', () => {
    const mismatch =
      '[Deployment shop/ratings-v1] spec.template.metadata.labels: do not match spec.selector, and the API server refuses a workload whose selector does not select its own pods; give the pod template every label the selector asks for, or patch both together';
    assert.deepEqual(admissionProblems(patched(JsonPatch.remove('/spec/template/metadata/labels/version'))), [
      mismatch,
    ]);
    assert.deepEqual(
      admissionProblems(patched(JsonPatch.replace('/spec/selector/matchLabels/app', 'reviews'))),
      [mismatch],
    );
    assert.deepEqual(admissionProblems(patched(JsonPatch.replace('/spec/selector', { matchLabels: {} }))), [
      '[Deployment shop/ratings-v1] spec.selector: is empty, and the API server refuses an empty selector; select the pods by their app and version labels',
    ]);
  });

  it('refuses container ports, handlers, volumes, subPaths, requests and workload numbers the API server refuses', () => {
    const c = '/spec/template/spec/containers/0';
    const cases: [JsonPatch[], string][] = [
      [
        [JsonPatch.add(`${c}/ports/-`, { containerPort: 9090, name: 'http' })],
        'spec.template.spec.containers[0].ports[1].name: "http" is already the name of ports[0]; give each port of the container its own name',
      ],
      [
        [JsonPatch.add(`${c}/ports/-`, { containerPort: 9090, name: 'metrics_port' })],
        'spec.template.spec.containers[0].ports[1].name: "metrics_port" is not a port name (an IANA service name); use at most 15 lower-case letters, digits and single "-", with at least one letter, e.g. "http-api"',
      ],
      [
        [JsonPatch.add(`${c}/ports/-`, { containerPort: 65536 })],
        'spec.template.spec.containers[0].ports[1].containerPort: 65536 is not a port number; use a port from 1 to 65535',
      ],
      [
        [
          JsonPatch.add(`${c}/readinessProbe`, {
            tcpSocket: { port: 8080 },
            httpGet: { path: '/', port: 8080 },
          }),
        ],
        'spec.template.spec.containers[0].readinessProbe: sets 2 of exec, httpGet, tcpSocket and grpc, and the API server wants exactly one; keep one way to probe',
      ],
      [
        [JsonPatch.add(`${c}/lifecycle`, { preStop: { sleep: { seconds: -1 } } })],
        'spec.template.spec.containers[0].lifecycle.preStop.sleep.seconds: -1 is negative; sleep 0 seconds or more',
      ],
      [
        [
          JsonPatch.add(`${c}/resources/requests/cpu`, '2'),
          JsonPatch.add(`${c}/resources/limits/cpu`, '1500m'),
        ],
        'spec.template.spec.containers[0].resources.requests["cpu"]: 2 is above the limit 1500m, which the API server refuses; request at most the limit, or raise the limit',
      ],
      [
        [JsonPatch.add(`${c}/volumeMounts/-`, { name: 'tmp', mountPath: '/cache', subPath: '../etc' })],
        'spec.template.spec.containers[0].volumeMounts[1].subPath: "../etc" leaves the volume, which the API server refuses; write a relative path inside the volume, without ".."',
      ],
      [
        [
          JsonPatch.add('/spec/template/spec/volumes/-', {
            name: 'both',
            emptyDir: {},
            configMap: { name: 'x' },
          }),
        ],
        'spec.template.spec.volumes[1]: has 2 volume sources, and the API server wants exactly one; keep one of emptyDir, secret, configMap, persistentVolumeClaim, ...',
      ],
      [
        [JsonPatch.add('/spec/template/spec/restartPolicy', 'OnFailure')],
        'spec.template.spec.restartPolicy: "OnFailure" is not allowed for this kind\'s pods; use "Always"',
      ],
      [
        [JsonPatch.add('/spec/template/spec/dnsPolicy', 'None')],
        'spec.template.spec.dnsConfig: is missing, and dnsPolicy "None" needs it; give dnsConfig nameservers, or another dnsPolicy',
      ],
      [
        [JsonPatch.add('/spec/progressDeadlineSeconds', 30), JsonPatch.add('/spec/minReadySeconds', 30)],
        'spec.progressDeadlineSeconds: 30 is not above minReadySeconds (30), which the API server refuses; give the rollout more time than minReadySeconds',
      ],
      [
        [JsonPatch.add('/spec/revisionHistoryLimit', -1)],
        'spec.revisionHistoryLimit: -1 is negative; use 0 or more',
      ],
      [
        [JsonPatch.add('/spec/strategy', { type: 'Recreate', rollingUpdate: { maxSurge: 1 } })],
        'spec.strategy.rollingUpdate: is set with the Recreate strategy, which the API server refuses; remove rollingUpdate, or use RollingUpdate',
      ],
    ];
    for (const [patches, problem] of cases) {
      assert.deepEqual(admissionProblems(patched(...patches)), [`[Deployment shop/ratings-v1] ${problem}`]);
    }
  });

  it('accepts the nearest valid patches: a second named port, equal request and limit, a subPath inside, Recreate alone', () => {
    const c = '/spec/template/spec/containers/0';
    renderObjects(
      patched(
        JsonPatch.add(`${c}/ports/-`, { containerPort: 9090, name: 'metrics' }),
        JsonPatch.add(`${c}/resources/requests/cpu`, '1'),
        JsonPatch.add(`${c}/resources/limits/cpu`, '1000m'),
        JsonPatch.add(`${c}/volumeMounts/-`, { name: 'tmp', mountPath: '/cache', subPath: 'cache/a..b' }),
        JsonPatch.add(`${c}/lifecycle`, { preStop: { sleep: { seconds: 0 } } }),
        JsonPatch.add('/spec/strategy', { type: 'Recreate' }),
        JsonPatch.add('/spec/template/spec/dnsPolicy', 'None'),
        JsonPatch.add('/spec/template/spec/dnsConfig', { nameservers: ['10.0.0.10'] }),
        JsonPatch.add('/spec/progressDeadlineSeconds', 31),
        JsonPatch.add('/spec/minReadySeconds', 30),
      ),
    );
  });

  it('accepts matchExpressions that select the template, and extra template labels', () => {
    renderObjects(
      patched(
        JsonPatch.add('/spec/template/metadata/labels/tier', 'backend'),
        JsonPatch.add('/spec/selector/matchExpressions', [
          { key: 'tier', operator: 'In', values: ['backend', 'api'] },
          { key: 'canary', operator: 'DoesNotExist' },
        ]),
      ),
    );
    assert.notDeepEqual(
      admissionProblems(
        patched(JsonPatch.add('/spec/selector/matchExpressions', [{ key: 'tier', operator: 'Exists' }])),
      ),
      [],
    );
  });
});

describe('values Kubernetes, istiod or Envoy refuse in the newer constructs', () => {
  it('refuses ReadWriteOncePod beside another access mode, and accepts it alone', () => {
    const claim = { name: 'data', mountPath: '/data', storage: Size.gibibytes(1) };
    const { chart } = api({
      workload: Workload.statefulSet({
        volumeClaims: [{ ...claim, accessModes: ['ReadWriteOncePod', 'ReadWriteOnce'] }],
      }),
    });
    assert.deepEqual(synthErrors(chart), [
      '[test/api] workload.volumeClaims[0].accessModes: combines ReadWriteOncePod with other modes, which the API server refuses; use ["ReadWriteOncePod"] alone, or the other modes without it',
    ]);
    synth(
      api({
        workload: Workload.statefulSet({ volumeClaims: [{ ...claim, accessModes: ['ReadWriteOncePod'] }] }),
      }).chart,
    );
  });

  it('refuses consistent-hash header and cookie names that are not tokens, and accepts upper-case header names', () => {
    const { chart } = api({ trafficPolicy: { loadBalancer: LoadBalancer.consistentHashByHeader('x user') } });
    assert.deepEqual(synthErrors(chart), [
      '[test/api] trafficPolicy.loadBalancer.header: "x user" is not an HTTP header name (Envoy rejects the route configuration); use letters, digits and "-", e.g. "x-user-id"',
    ]);
    const empty = api({ trafficPolicy: { loadBalancer: LoadBalancer.consistentHashByHeader('') } });
    assert.deepEqual(synthErrors(empty.chart), [
      '[test/api] trafficPolicy.loadBalancer.header: "" is not an HTTP header name (Envoy rejects the route configuration); use letters, digits and "-", e.g. "x-user-id"',
    ]);
    const cookie = (name: string) =>
      api({ trafficPolicy: { loadBalancer: LoadBalancer.consistentHashByCookie(name, Duration.hours(1)) } })
        .chart;
    assert.deepEqual(synthErrors(cookie('')), [
      '[test/api] trafficPolicy.loadBalancer.cookie: is empty, and istiod refuses a cookie without a name; use letters, digits and "-" or "_", e.g. "session"',
    ]);
    assert.deepEqual(synthErrors(cookie('a;b')), [
      '[test/api] trafficPolicy.loadBalancer.cookie: "a;b" is not a cookie name, so browsers never send it back and requests lose their affinity; use letters, digits and "-" or "_", e.g. "session"',
    ]);
    synth(api({ trafficPolicy: { loadBalancer: LoadBalancer.consistentHashByHeader('X-User-Id') } }).chart);
    // Envoy's HTTP_HEADER_NAME takes pseudo-headers: hashing on the host is ":authority".
    synth(api({ trafficPolicy: { loadBalancer: LoadBalancer.consistentHashByHeader(':authority') } }).chart);
    synth(cookie('session_id'));
  });

  it('refuses a caller principal that is empty or no peer identity, and accepts identities and wildcards', () => {
    const { chart, svc } = api();
    svc.allowFrom({ principal: '' });
    svc.allowFrom({ principal: 'storefront' });
    assert.deepEqual(synthErrors(chart), [
      '[test/api] callers[0].principal: is empty, and istiod refuses an empty principal; use the namespace\'s principal(serviceAccount), e.g. "cluster.local/ns/shop/sa/storefront", or calls() from the caller',
      '[test/api] callers[1] (storefront).principal: "storefront" is not a peer identity, so it matches no caller; use the namespace\'s principal(serviceAccount), e.g. "cluster.local/ns/shop/sa/storefront", or calls() from the caller',
    ]);
    const ok = api();
    ok.svc.allowFrom({ principal: 'cluster.local/ns/shop/sa/storefront' });
    ok.svc.allowFrom({ principal: '*' });
    synth(ok.chart);
  });

  it('refuses an ingress gateway selector no pod can carry', () => {
    const { chart, ns, svc } = api();
    new IstioIngress(chart, 'web', {
      namespace: ns,
      hosts: ['pay.example.com'],
      selector: { istio: 'ingress gateway' },
    }).addRoute({ to: svc });
    assert.deepEqual(synthErrors(chart), [
      '[test/web] selector["istio"]: "ingress gateway" is not a label value, so no workload carries it; use at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit',
    ]);
  });

  it('refuses a rate limit service image that is no image reference', () => {
    const { chart, ns, svc } = api();
    new GlobalRateLimitService(chart, 'ratelimit', {
      namespace: ns,
      domain: 'payments',
      image: 'envoyproxy/Ratelimit latest',
      descriptors: [{ key: 'remote_address', limit: { requestsPerUnit: 10, unit: RateLimitUnit.MINUTE } }],
    }).apply(svc, { actions: [RateLimitAction.remoteAddress()] });
    assert.deepEqual(synthErrors(chart), [
      '[test/ratelimit] image: "envoyproxy/Ratelimit latest" is not a container image reference; write it as [registry/]path[:tag][@sha256:digest] with a lower-case path, e.g. "ghcr.io/acme/shop:1.2.0"',
    ]);
  });

  it('refuses a downward API label or annotation key the API server refuses, and accepts prefixed keys', () => {
    const { chart } = api({ env: { TEAM: EnvValue.fromFieldPath("metadata.labels['team name']") } });
    assert.deepEqual(synthErrors(chart), [
      '[test/api] env["TEAM"].fieldPath: "metadata.labels[\'team name\']" names the key "team name", which is not a label or annotation key: has a name part that is not letters, digits, "-", "_" and ".", starting and ending with a letter or digit; write the key as [prefix/]name, e.g. metadata.labels[\'app.kubernetes.io/name\']',
    ]);
    synth(
      api({
        env: {
          NAME: EnvValue.fromFieldPath("metadata.labels['app.kubernetes.io/name']"),
          REV: EnvValue.fromFieldPath("metadata.annotations['Example.com/Revision']"),
        },
      }).chart,
    );
  });

  it('refuses a rate limit descriptor value with a control character, which no request carries', () => {
    const { chart, ns, svc } = api();
    new GlobalRateLimitService(chart, 'ratelimit', {
      namespace: ns,
      domain: 'payments',
      descriptors: [
        { key: 'PATH', value: '/pay\n', limit: { requestsPerUnit: 10, unit: RateLimitUnit.MINUTE } },
        { key: 'PATH', value: '/refund', limit: { requestsPerUnit: 10, unit: RateLimitUnit.MINUTE } },
      ],
    }).apply(svc, { actions: [RateLimitAction.requestHeader(':path', 'PATH')] });
    assert.deepEqual(synthErrors(chart), [
      '[test/ratelimit] descriptors[0].value: "/pay\\n" contains the control character \\x0a, which no request carries, so it never matches; remove the control character',
    ]);
  });

  it('refuses two ports of different protocols on one container port, and accepts two of one protocol', () => {
    const { chart } = api({
      ports: [ServicePort.http(8080, { targetPort: 9000 }), ServicePort.grpc(8081, { targetPort: 9000 })],
    });
    assert.deepEqual(synthErrors(chart), [
      '[test/api] ports[1].targetPort: 9000 is also the target of ports[0] (http), and Istio handles one container port with one protocol, so grpc would be served as http; give each protocol its own container port',
    ]);
    synth(
      api({
        ports: [
          ServicePort.http(80, { targetPort: 8080 }),
          ServicePort.http(8080, { name: 'http-alt' }),
          ServicePort.tcp(5432),
        ],
      }).chart,
    );
  });

  it('refuses a LocalRateLimit construct where its EnvoyFilter limits nothing (ambient) or too much (the mesh root)', () => {
    const bucket = { maxTokens: 10, fillInterval: Duration.seconds(1) };
    const chart = Testing.chart();
    const ambient = new MeshNamespace(chart, 'ambient', { dataPlane: DataPlane.ambient({ waypoint: true }) });
    const root = new MeshNamespace(chart, 'root', { name: 'istio-system', defaultDeny: false });
    const props = {
      image: 'registry.example.com/api:1.0.0',
      versions: { v1: {} },
      ports: [ServicePort.http(8080)],
    };
    const a = new Microservice(chart, 'api', { namespace: ambient, ...props });
    const b = new Microservice(chart, 'hub', { namespace: root, ...props });
    new LocalRateLimit(chart, 'limit-api', { service: a, bucket });
    new LocalRateLimit(chart, 'limit-hub', { service: b, bucket });
    // Created inside the service, but not by its localRateLimit prop: checked all the same.
    new LocalRateLimit(a, 'my-limit', { service: a, bucket });
    assert.deepEqual(synthErrors(chart), [
      '[test/api/my-limit] service: namespace "ambient" of api is ambient, and Istio does not support the EnvoyFilter that local rate limiting needs on waypoint proxies, so nothing would be limited; rate-limit at the ingress gateway, or use DataPlane.sidecar() for the namespace',
      '[test/limit-api] service: namespace "ambient" of api is ambient, and Istio does not support the EnvoyFilter that local rate limiting needs on waypoint proxies, so nothing would be limited; rate-limit at the ingress gateway, or use DataPlane.sidecar() for the namespace',
      '[test/limit-hub] service: hub is in "istio-system", Istio\'s mesh root namespace, where the rate limit\'s EnvoyFilter would select every workload labelled app=hub in every namespace; run the service in a namespace of its own',
    ]);
    const ok = api();
    new LocalRateLimit(ok.chart, 'limit', { service: ok.svc, bucket });
    synth(ok.chart);
  });

  it("refuses Kubernetes' own namespaces, and takes other kube- names, which the API server accepts", () => {
    const chart = Testing.chart();
    for (const name of ['kube-system', 'kube-public', 'kube-node-lease'])
      new MeshNamespace(chart, name, { name });
    assert.deepEqual(
      synthErrors(chart),
      ['kube-system', 'kube-public', 'kube-node-lease'].map(
        (name) =>
          `[test/${name}] name: "${name}" is a namespace of Kubernetes' own, and the mesh's labels and policies would reach the cluster's components there; give the app a namespace of its own, e.g. "shop"`,
      ),
    );
    const ok = Testing.chart();
    new MeshNamespace(ok, 'logging', { name: 'kube-logging' });
    synth(ok);
  });

  it('refuses versionService for a version the service does not declare', () => {
    const { svc } = api();
    assert.throws(() => (svc as Microservice<string>).versionService('v9'), {
      message: 'test/api: versionService("v9"): no such version; use one of v1',
    });
  });

  it('accepts a toleration of every taint (an empty key with Exists), and refuses an empty key with Equal or in a node affinity', () => {
    synth(api({ scheduling: { tolerations: [Toleration.exists('', TaintEffect.NO_SCHEDULE)] } }).chart);
    const { chart } = api({
      scheduling: {
        tolerations: [Toleration.equal('', 'gpu')],
        // A node selector requirement has no such form: its key is always a label key.
        nodeAffinity: { required: [NodeLabelQuery.exists('')] },
      },
    });
    assert.deepEqual(synthErrors(chart), [
      '[test/api] scheduling.tolerations[0].key: "" is not a label key: it has an empty name part; use e.g. "topology.kubernetes.io/zone"',
      '[test/api] scheduling.nodeAffinity.required[0].key: "" is not a label key: it has an empty name part; use e.g. "topology.kubernetes.io/zone"',
    ]);
  });
});

describe('JavaScript callers and JSON: typos and wrong types get a message, not a silent default', () => {
  it('refuses unknown options of an app definition and of a Dockerfile image, with the closest name', () => {
    const build = () => undefined;
    assert.throws(
      () =>
        MeshAppDefinition.define({
          name: 'orders',
          variants: ['dev'],
          defaultVarient: 'prod',
          build,
        } as never),
      { message: 'app "orders": defaultVarient is not a known option; did you mean defaultVariant?' },
    );
    assert.throws(
      () => MeshAppDefinition.define({ name: 'orders', variants: ['dev'], colour: 'blue', build } as never),
      {
        message:
          'app "orders": colour is not a known option; the options are name, description, variantFlag, variants, defaultVariant, images, build',
      },
    );
    assert.throws(
      () => MeshAppDefinition.define({ name: 'orders', variants: ['dev'], description: 5, build } as never),
      { message: 'app "orders": description is not a string; write one line for --help, or leave it out' },
    );
    assert.throws(
      () => ImageSource.fromDockerfile({ context: 'apps/web', dockerFile: 'Dockerfile.prod' } as never),
      {
        message: 'ImageSource.fromDockerfile: dockerFile is not a known option; did you mean dockerfile?',
      },
    );
    assert.throws(() => ImageSource.fromDockerfile({ context: 'apps/web', args: 'NODE=22' } as never), {
      message:
        'ImageSource.fromDockerfile: args is not a map of build argument names to values; write e.g. { NODE_VERSION: "22" }',
    });
    MeshAppDefinition.define({ name: 'orders', variants: ['dev'], description: 'Orders', build });
    ImageSource.fromDockerfile({ context: 'apps/web', dockerfile: 'Dockerfile.prod', args: { NODE: '22' } });
  });

  it('refuses to build an app into something that is not a cdk8s App', () => {
    const orders = MeshAppDefinition.define({ name: 'orders', variants: ['dev'], build: () => undefined });
    assert.throws(() => orders.build(undefined as never), {
      message:
        'app "orders": build: expected a cdk8s App (new App()), got undefined; pass the App the charts are added to',
    });
    assert.throws(() => orders.build(Testing.chart() as never), {
      message:
        'app "orders": build: expected a cdk8s App (new App()), got a Chart; pass the App the charts are added to',
    });
    orders.build(new App());
  });

  it('refuses a registry given one app instead of a list', () => {
    const app = MeshAppDefinition.define({ name: 'orders', variants: ['dev'], build: () => undefined });
    assert.throws(() => new AppRegistry(app as never), {
      message: 'AppRegistry: apps is not a list; pass a list of apps, e.g. new AppRegistry([SHOP_APP])',
    });
    assert.deepEqual(new AppRegistry([app]).apps, [app]);
  });

  it('refuses a construct created directly in the App, outside any Chart', () => {
    assert.throws(() => new MeshNamespace(new App() as never, 'shop', {}), {
      message:
        'MeshNamespace: scope: expected a construct (a Chart, or a construct in one), got an App outside any Chart; pass the chart, e.g. new Chart(app, "shop")',
    });
  });
});

describe('authorization paths that never match', () => {
  it('refuses a path with a wildcard at both ends (a literal suffix for Istio), and accepts prefix, suffix and "*"', () => {
    const { chart, ns, svc } = api();
    const web = new Microservice(chart, 'web', {
      namespace: ns,
      image: 'registry.example.com/web:1.0.0',
      versions: { v1: {} },
      ports: [ServicePort.http(8080)],
    });
    web.calls(svc, { paths: ['*/api/*', '/api/*', '*.js', '*'] });
    assert.deepEqual(synthErrors(chart), [
      '[test/api] callers[0] (web).paths: "*/api/*" is not a path Istio\'s authorization can match; use an exact path "/a/b", a prefix "/a/*", a suffix "*.js", or whole-segment templates "/a/{*}/b", "/a/{**}"',
    ]);
  });
});

describe('path matches with characters a request carries percent-encoded never match', () => {
  it('refuses them in routes, ingress paths and authorization paths, with the encoded form as the fix', () => {
    const { chart, ns, svc } = api();
    svc.addRoute({ match: [{ uri: StringMatch.prefix('/café') }], to: svc.version('v1') });
    svc.addRoute({ to: svc.version('v1') });
    new IstioIngress(chart, 'web', { namespace: ns, hosts: ['pay.example.com'] }).addRoute({
      pathPrefix: '/pay now',
      to: svc,
    });
    svc.allowFrom({
      principal: 'cluster.local/ns/payments/sa/web',
      paths: ['/a#b', '/x%zz', '/a`b', '/a\tb'],
    });
    assert.deepEqual(synthErrors(chart), [
      '[test/api] routes[0].match[0].uri: "/café" has the character "é", which a request carries percent-encoded, so it never matches; write it as the request carries it, "/caf%C3%A9"',
      '[test/api] callers[1] (web).paths: "/a#b" has the character "#", which a request carries percent-encoded, so it never matches; write it as the request carries it, "/a%23b"',
      '[test/api] callers[1] (web).paths: "/x%zz" has a "%" that starts no escape, which no request path carries, so it never matches; write "%25" for a literal "%"',
      '[test/api] callers[1] (web).paths: "/a`b" has the character "`", which a request carries percent-encoded, so it never matches; write it as the request carries it, "/a%60b"',
      '[test/api] callers[1] (web).paths: "/a\\tb" has the character "\\t", which a request carries percent-encoded, so it never matches; write it as the request carries it, "/a%09b"',
      '[test/web] routes[0].pathPrefix: "/pay now" has the character " ", which a request carries percent-encoded, so it never matches; write it as the request carries it, "/pay%20now"',
    ]);
  });

  it('accepts escapes, queries, sub-delims, what clients send raw ([ ] | ^) and Istio path templates', () => {
    const { chart, ns, svc } = api();
    svc.addRoute({
      match: [{ uri: StringMatch.prefix("/caf%C3%A9;v=1?lang=fr&x=(1)'") }],
      to: svc.version('v1'),
    });
    svc.addRoute({ to: svc.version('v1') });
    new IstioIngress(chart, 'web', { namespace: ns, hosts: ['pay.example.com'] }).addRoute({
      pathPrefix: '/pay%20now',
      to: svc,
    });
    svc.allowFrom({
      principal: 'cluster.local/ns/payments/sa/web',
      paths: ['/orders/{*}/items', '/static/{**}', '*.js', '/items[0]', '/a|b', '/x^y'],
    });
    synth(chart);
  });
});

describe('explain: requests no client can send', () => {
  it('refuses a path with a space or control character, a header name that is no token, and CR or LF in a value', () => {
    const { chart, ns, svc } = api();
    new Microservice(chart, 'web', {
      namespace: ns,
      image: 'registry.example.com/web:1.0.0',
      versions: { v1: {} },
      ports: [ServicePort.http(8080)],
    }).calls(svc);
    assert.throws(
      () =>
        explainRequest(chart, {
          from: 'web',
          to: 'api',
          path: '/pay now',
          headers: { 'end user': 'jason', 'x-id': 'a\r\nb' },
        }),
      {
        message:
          'explainRequest: path: "/pay now" has a space or control character, which a request carries percent-encoded; write e.g. "%20" for a space; headers["end user"]: is not a header name; use letters, digits and "-", e.g. "end-user"; headers["x-id"]: "a\\r\\nb" has a CR, LF or NUL, which no request carries',
      },
    );
    explainRequest(chart, {
      from: 'web',
      to: 'api',
      path: '/pay%20now',
      headers: { ':authority': 'api', 'End-User': 'jason' },
    });
  });
});

describe('numbers Kubernetes holds as an int64 or reads in thousandths, and what the runtime resolves (issue 13, second sweep)', () => {
  const hpa = (...metrics: ScalingMetric[]) =>
    api({ autoscaling: { minReplicas: 1, maxReplicas: 3, metrics } });

  it('refuses HPA targets the controller cannot read: beyond an int64 of thousandths, or finer than 0.001', () => {
    const { chart } = hpa(
      ScalingMetric.pods('rps_a', 1e21),
      ScalingMetric.external('queue_b', '10000000000000000'),
      ScalingMetric.pods('rps_c', 1e-7),
      ScalingMetric.pods('rps_d', '1500u'),
      ScalingMetric.pods('rps_e', NaN),
      ScalingMetric.external('queue_f', '1.0000001k'),
      ScalingMetric.external('queue_g', '0.0009'),
      // Zero with an exponent (0 * 10**400 is NaN in floating point; 10n ** 99999999n would take
      // seconds): no positive quantity.
      ScalingMetric.external('queue_h', '0e5'),
      ScalingMetric.external('queue_i', '0e400'),
      ScalingMetric.external('queue_j', '0e99999999'),
    );
    assert.deepEqual(synthErrors(chart), [
      '[test/api] autoscaling.metrics[0].target: 1e+21 is above 9223372036854775, the largest target the HPA can read (it holds targets as an int64 of thousandths, which this overflows); use a smaller target, or a metric in larger units',
      '[test/api] autoscaling.metrics[1].target: "10000000000000000" is above 9223372036854775, the largest target the HPA can read (it holds targets as an int64 of thousandths, which this overflows); use a smaller target, or a metric in larger units',
      '[test/api] autoscaling.metrics[2].target: 1e-7 is finer than the thousandths the HPA reads targets in, so it would act as 0.001; round it to a multiple of 0.001 (written "1m"), or use a metric in smaller units',
      '[test/api] autoscaling.metrics[3].target: "1500u" is finer than the thousandths the HPA reads targets in, so it would act as 0.002; round it to a multiple of 0.001 (written "1m"), or use a metric in smaller units',
      '[test/api] autoscaling.metrics[4].target: NaN is not a positive quantity; use e.g. 100 or "500m"',
      '[test/api] autoscaling.metrics[5].target: "1.0000001k" is finer than the thousandths the HPA reads targets in, so it would act as 1000.001; round it to a multiple of 0.001 (written "1m"), or use a metric in smaller units',
      '[test/api] autoscaling.metrics[6].target: "0.0009" is finer than the thousandths the HPA reads targets in, so it would act as 0.001; round it to a multiple of 0.001 (written "1m"), or use a metric in smaller units',
      '[test/api] autoscaling.metrics[7].target: "0e5" is not a positive quantity; use e.g. 100 or "500m"',
      '[test/api] autoscaling.metrics[8].target: "0e400" is not a positive quantity; use e.g. 100 or "500m"',
      '[test/api] autoscaling.metrics[9].target: "0e99999999" is not a positive quantity; use e.g. 100 or "500m"',
    ]);
    const ok = hpa(
      ScalingMetric.pods('rps_a', 9e15),
      ScalingMetric.pods('rps_b', 0.001),
      ScalingMetric.pods('rps_c', 1.1),
      ScalingMetric.external('queue_d', '2P'),
      ScalingMetric.external('queue_e', '1m'),
      // Whole thousandths that floating point gets wrong (4.1 * 1e9 * 1000 is 4099999999999.9995).
      ScalingMetric.external('queue_f', '4.1G'),
      ScalingMetric.external('queue_g', '16.1M'),
      ScalingMetric.external('queue_h', '1.07G'),
      ScalingMetric.external('queue_i', '0.5Ki'),
      ScalingMetric.external('queue_j', '1.001'),
      ScalingMetric.pods('rps_k', 4.1e9),
      // 10 written with a 72-digit exponent: in range, past what is worked out exactly.
      ScalingMetric.external('queue_l', `0.${'0'.repeat(70)}1e+72`),
    );
    const target = find(synth(ok.chart), 'HorizontalPodAutoscaler', 'api-v1').spec.metrics.map(
      (m: {
        pods?: { target: { averageValue: unknown } };
        external?: { target: { averageValue: unknown } };
      }) => (m.pods ?? m.external)!.target.averageValue,
    );
    assert.deepEqual(target, [
      9e15,
      0.001,
      1.1,
      '2P',
      '1m',
      '4.1G',
      '16.1M',
      '1.07G',
      '0.5Ki',
      '1.001',
      4.1e9,
      `0.${'0'.repeat(70)}1e+72`,
    ]);
  });

  it('refuses a second target for one metric (the HPA follows only the lower), and accepts other selectors', () => {
    const { chart } = hpa(
      ScalingMetric.pods('rps', 100),
      ScalingMetric.external('queue', 5, { queue: 'orders', region: 'eu' }),
      ScalingMetric.pods('rps', 200),
      ScalingMetric.external('queue', 9, { region: 'eu', queue: 'orders' }),
    );
    assert.deepEqual(synthErrors(chart), [
      '[test/api] autoscaling.metrics[2]: the Pods metric "rps" is already metrics[0], and the HPA follows only the lower of two targets for one metric; keep one target per metric',
      '[test/api] autoscaling.metrics[3]: the External metric "queue" is already metrics[1], and the HPA follows only the lower of two targets for one metric; keep one target per metric',
    ]);
    synth(
      hpa(
        ScalingMetric.pods('queue', 100),
        ScalingMetric.external('queue', 5, { queue: 'orders' }),
        ScalingMetric.external('queue', 9, { queue: 'refunds' }),
      ).chart,
    );
  });

  it('suggests the next whole kibibyte for a size in fractions of a byte', () => {
    const { chart } = api({ resources: { memory: { limit: Size.gibibytes(1.1) } } });
    assert.deepEqual(synthErrors(chart), [
      '[test/api] resources.memory.limit: 1181116006.4 bytes is not a whole number of bytes; use a whole number of kibibytes or mebibytes, e.g. Size.kibibytes(1153434) (the next whole kibibyte)',
    ]);
    synth(api({ resources: { memory: { limit: Size.kibibytes(1153434) } } }).chart);
  });

  it('refuses CPU, memory, an emptyDir limit and a claim beyond an int64 or in fractions of a byte', () => {
    const { chart } = api({
      resources: { cpu: { request: Cpu.units(1e16), limit: Cpu.units(1e16) } },
      sidecar: { memoryLimit: Size.mebibytes(1e19) },
      mounts: [
        { path: '/cache', volume: Volume.emptyDir({ sizeLimit: Size.kibibytes(1.5 / 1024) }) },
        { path: '/spool', volume: Volume.emptyDir({ sizeLimit: Size.gibibytes(1e10) }) },
      ],
      workload: Workload.statefulSet({
        volumeClaims: [{ name: 'data', mountPath: '/data', storage: Size.tebibytes(1e10) }],
      }),
    });
    assert.deepEqual(synthErrors(chart), [
      '[test/api] resources.cpu.request: "10000000000000000" is more millicores than Kubernetes holds (2^63-1, an int64): the API server caps it or the kubelet\'s arithmetic wraps around; use a realistic amount, e.g. Cpu.units(64)',
      '[test/api] resources.cpu.limit: "10000000000000000" is more millicores than Kubernetes holds (2^63-1, an int64): the API server caps it or the kubelet\'s arithmetic wraps around; use a realistic amount, e.g. Cpu.units(64)',
      '[test/api] sidecar.memoryLimit: "10000000000000000000Mi" is more bytes than Kubernetes holds (2^63-1, an int64): the API server caps it or the kubelet\'s arithmetic wraps around; use a realistic amount, e.g. Size.gibibytes(64)',
      '[test/api] workload.volumeClaims[0].storage: "10485760000000000Mi" is more bytes than Kubernetes holds (2^63-1, an int64): the API server caps it or the kubelet\'s arithmetic wraps around; use a realistic amount, e.g. Size.gibibytes(64)',
      '[test/api] mounts[0].volume.sizeLimit: 1.5 bytes is not a whole number of bytes; use a whole number of kibibytes or mebibytes, e.g. Size.kibibytes(1) (the next whole kibibyte)',
      '[test/api] mounts[1].volume.sizeLimit: "10240000000000Mi" is more bytes than Kubernetes holds (2^63-1, an int64): the API server caps it or the kubelet\'s arithmetic wraps around; use a realistic amount, e.g. Size.gibibytes(64)',
    ]);
    synth(
      api({
        resources: { cpu: { request: Cpu.units(64), limit: Cpu.units(64) } },
        mounts: [{ path: '/cache', volume: Volume.emptyDir({ sizeLimit: Size.tebibytes(7 * 1024 * 1024) }) }],
        workload: Workload.statefulSet({
          volumeClaims: [{ name: 'data', mountPath: '/data', storage: Size.gibibytes(1.5) }],
        }),
      }).chart,
    );
  });

  it('refuses quantities beyond an int64 that a JSON patch writes into a container', () => {
    function patched(...patches: JsonPatch[]) {
      const app = Testing.app();
      const chart = new Chart(app, 'shop');
      const svc = new Microservice(chart, 'ratings', {
        namespace: new MeshNamespace(chart, 'shop', {}),
        image: 'registry.example.com/ratings:1.0.0',
        versions: { v1: {} },
      });
      svc.deployment('v1').addJsonPatch(...patches);
      return app;
    }
    const at = '[Deployment shop/ratings-v1] spec.template.spec.containers[0].resources';
    assert.deepEqual(
      admissionProblems(
        patched(
          JsonPatch.replace('/spec/template/spec/containers/0/resources/requests/cpu', '10000000000000000'),
          JsonPatch.replace('/spec/template/spec/containers/0/resources/limits/cpu', '10000000000000000'),
          JsonPatch.add('/spec/template/spec/containers/0/resources/limits/ephemeral-storage', '9Ei'),
        ),
      ),
      [
        `${at}.requests["cpu"]: 10000000000000000 is more than Kubernetes holds (2^63-1 millicores, an int64); use a realistic amount`,
        `${at}.limits["cpu"]: 10000000000000000 is more than Kubernetes holds (2^63-1 millicores, an int64); use a realistic amount`,
        `${at}.limits["ephemeral-storage"]: 9Ei is more than Kubernetes holds (2^63-1 units, an int64); use a realistic amount`,
      ],
    );
    renderObjects(
      patched(JsonPatch.add('/spec/template/spec/containers/0/resources/limits/ephemeral-storage', '7Ei')),
    );
  });

  it('refuses a grace period or a job deadline a Go time.Duration cannot hold, and accepts the largest it can', () => {
    const { chart, ns } = api({ terminationGracePeriod: Duration.seconds(9223372037) });
    new MeshJob(chart, 'export', {
      namespace: ns,
      image: 'registry.example.com/export:1.0.0',
      activeDeadline: Duration.days(1e9),
    });
    assert.deepEqual(synthErrors(chart), [
      '[test/api] terminationGracePeriod: 9223372037s is above 9223372036s, the longest wait the container runtime can hold (a Go time.Duration): beyond it the wait wraps around and the container is killed at once; use Duration.seconds(n) with n ≤ 9223372036',
      '[test/export] activeDeadline: 86400000000000s is above 9223372036s, the longest deadline the Job controller can hold (a Go time.Duration): beyond it the deadline wraps around and the Job fails as soon as it starts; use Duration.seconds(n) with n ≤ 9223372036',
    ]);
    const ok = api({ terminationGracePeriod: Duration.seconds(9223372036) });
    new MeshJob(ok.chart, 'export', {
      namespace: ok.ns,
      image: 'registry.example.com/export:1.0.0',
      activeDeadline: Duration.seconds(9223372036),
    });
    synth(ok.chart);
  });

  it('refuses mount paths with ".", ".." or "//" (the runtime mounts the cleaned path, past the uniqueness checks)', () => {
    const { chart } = api({
      mounts: [
        { path: '/x/../tmp', volume: Volume.fromConfigMap('settings') },
        { path: '/etc/./app', volume: Volume.fromSecret('db') },
        { path: '/srv//data', volume: Volume.emptyDir() },
      ],
      initContainers: [{ name: 'init', mounts: [{ path: '/a/../b', volume: Volume.fromSecret('db') }] }],
      workload: Workload.statefulSet({
        volumeClaims: [{ name: 'data', mountPath: '/var/lib/../lib', storage: Size.gibibytes(1) }],
      }),
    });
    assert.deepEqual(synthErrors(chart), [
      '[test/api] mounts[0].path: "/x/../tmp" has "." or ".." parts or a doubled "/", and the container runtime mounts it at "/tmp"; write "/tmp"',
      '[test/api] mounts[0].path: "/x/../tmp" is already mounted by the /tmp scratch directory; mount each path once',
      '[test/api] mounts[1].path: "/etc/./app" has "." or ".." parts or a doubled "/", and the container runtime mounts it at "/etc/app"; write "/etc/app"',
      '[test/api] mounts[2].path: "/srv//data" has "." or ".." parts or a doubled "/", and the container runtime mounts it at "/srv/data"; write "/srv/data"',
      '[test/api] workload.volumeClaims[0].mountPath: "/var/lib/../lib" has "." or ".." parts or a doubled "/", and the container runtime mounts it at "/var/lib"; write "/var/lib"',
      '[test/api] initContainers[0].mounts[0].path: "/a/../b" has "." or ".." parts or a doubled "/", and the container runtime mounts it at "/b"; write "/b"',
    ]);
    synth(
      api({
        mounts: [
          { path: '/etc/app/', volume: Volume.fromConfigMap('settings') },
          { path: '/.config/x', volume: Volume.fromSecret('db') },
          { path: '/srv/.../data', volume: Volume.emptyDir() },
        ],
      }).chart,
    );
  });

  it('refuses projected keys no Secret can hold, two keys at one path, and a path that nests under another', () => {
    const { chart } = api({
      mounts: [
        {
          path: '/tls',
          volume: Volume.fromSecret('tls', {
            items: { 'tls/crt': 'cert.pem', '': 'empty', '..data': 'data' },
          }),
        },
        {
          path: '/conf',
          volume: Volume.fromConfigMap('settings', { items: { a: 'app.yaml', b: './app.yaml' } }),
        },
        {
          path: '/more',
          volume: Volume.fromConfigMap('more', { items: { a: 'conf', b: 'conf/extra.yaml' } }),
        },
      ],
    });
    assert.deepEqual(synthErrors(chart), [
      '[test/api] mounts[0].volume.items["tls/crt"]: "tls/crt" is not a Secret or ConfigMap key; use letters, digits, "-", "_" and ".", e.g. "password"',
      '[test/api] mounts[0].volume.items[""]: "" is not a Secret or ConfigMap key; use letters, digits, "-", "_" and ".", e.g. "password"',
      '[test/api] mounts[0].volume.items["..data"]: "..data" is not a Secret or ConfigMap key; a key must not be "." or start with "..", e.g. "password" or ".env"',
      '[test/api] mounts[1].volume.items["b"]: "./app.yaml" is also where key "a" goes, and the kubelet keeps only one of them; give each key its own path',
      '[test/api] mounts[2].volume.items["b"]: "conf" would be both a file and the directory of "conf/extra.yaml" (key "a"), and the kubelet cannot set the volume up; put the two keys at paths that do not nest',
    ]);
    synth(
      api({
        mounts: [
          {
            path: '/tls',
            volume: Volume.fromSecret('tls', {
              items: {
                'tls.crt': 'cert.pem',
                'tls.key': 'keys/key.pem',
                ca_1: 'conf',
                ca_2: 'confx/ca.pem',
                '.env': 'env',
              },
            }),
          },
        ],
      }).chart,
    );
  });

  it('refuses an external host listed twice', () => {
    const { chart, ns } = payments();
    new ExternalService(chart, 'psp', {
      namespace: ns,
      hosts: ['api.psp.example.com', 'hooks.psp.example.com', 'api.psp.example.com'],
    });
    assert.deepEqual(synthErrors(chart), [
      '[test/psp] hosts[2]: "api.psp.example.com" is already hosts[0]; list each host once',
    ]);
  });
  it('refuses a writable path the runtime would mount elsewhere, and build argument names no ARG line can receive', () => {
    assert.deepEqual(synthErrors(api({ writablePaths: ['/var/cache/../run', '/data/'] }).chart), [
      '[test/api] writablePaths[0]: "/var/cache/../run" has "." or ".." parts or a doubled "/", and the container runtime mounts it at "/var/run"; write "/var/run"',
    ]);
    for (const name of ['NODE VERSION', 'NODE_VERSION=22', '']) {
      assert.throws(() => ImageSource.fromDockerfile({ context: 'services', args: { [name]: '22' } }), {
        message: `ImageSource.fromDockerfile: args key ${JSON.stringify(name)} is not a build argument name, so no ARG line can receive it; use letters, digits and "_", e.g. "NODE_VERSION"`,
      });
    }
    const image = ImageSource.fromDockerfile({
      context: 'services',
      args: { NODE_VERSION: '22', http_proxy: 'http://proxy:3128', 'build.mode': 'release' },
    });
    assert.equal(image.kind, 'dockerfile');
  });
  it('refuses seconds a Go time.Duration cannot hold that a JSON patch writes into a pod, a Job or a CronJob', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'shop');
    const ns = new MeshNamespace(chart, 'shop', {});
    const svc = new Microservice(chart, 'ratings', {
      namespace: ns,
      image: 'registry.example.com/ratings:1.0.0',
      versions: { v1: {} },
    });
    svc
      .deployment('v1')
      .addJsonPatch(
        JsonPatch.add('/spec/template/spec/terminationGracePeriodSeconds', 9223372037),
        JsonPatch.add('/spec/template/spec/activeDeadlineSeconds', 600),
      );
    const image = 'registry.example.com/export:1.0.0';
    new MeshJob(chart, 'once', { namespace: ns, image }).job!.addJsonPatch(
      JsonPatch.add('/spec/activeDeadlineSeconds', 1e13),
      // A pod's own deadline is an int32 (ValidatePodSpec), though the field is an int64.
      JsonPatch.add('/spec/template/spec/activeDeadlineSeconds', 2147483648),
    );
    new MeshJob(chart, 'bounded', { namespace: ns, image }).job!.addJsonPatch(
      JsonPatch.add('/spec/template/spec/activeDeadlineSeconds', 2147483647),
    );
    new MeshJob(chart, 'nightly', { namespace: ns, image, schedule: '@daily' }).cronJob!.addJsonPatch(
      JsonPatch.add('/spec/jobTemplate/spec/activeDeadlineSeconds', 1e13),
    );
    const wrapped = (n: number) =>
      `${n} is above 9223372036, the most seconds a Go time.Duration holds: Kubernetes reads it wrapped around, as a negative time; use at most 9223372036`;
    assert.deepEqual(admissionProblems(app), [
      '[Deployment shop/ratings-v1] spec.template.spec.activeDeadlineSeconds: is set, which the API server refuses for a Deployment (its pods run until replaced); remove it; a pod that must end by a deadline belongs in a Job (MeshJob activeDeadline)',
      `[Deployment shop/ratings-v1] spec.template.spec.terminationGracePeriodSeconds: ${wrapped(9223372037)}`,
      `[Job shop/once] spec.activeDeadlineSeconds: ${wrapped(1e13)}`,
      "[Job shop/once] spec.template.spec.activeDeadlineSeconds: 2147483648 is outside 1 to 2147483647, the range the API server takes for a pod's active deadline; use 1 to 2147483647 seconds, or leave it out",
      `[CronJob shop/nightly] spec.jobTemplate.spec.activeDeadlineSeconds: ${wrapped(1e13)}`,
    ]);
  });
  it('refuses a NUL character in an environment value, a command, args or a path (runc cannot start the container)', () => {
    const { chart, ns } = api({
      env: { GREETING: 'hello\u0000world', MODE: EnvValue.fromValue('a\u0000') },
      versions: { v1: { env: { TRACE: 'on\u0000' } } },
      initContainers: [{ name: 'migrate', command: ['/bin/migrate\u0000'], args: ['--up', 'x\u0000'] }],
    });
    new MeshJob(chart, 'export', {
      namespace: ns,
      image: 'registry.example.com/export:1.0.0',
      command: ['/export'],
      args: ['--to\u0000'],
    });
    const env =
      'has a NUL character in its value, which runc refuses, so the container never starts; remove the "\\0"';
    const arg = 'has a NUL character, which no process can receive as an argument; remove the "\\0"';
    assert.deepEqual(synthErrors(chart), [
      `[test/api] versions.v1.env["TRACE"]: ${env}`,
      `[test/api] env["GREETING"]: ${env}`,
      `[test/api] env["MODE"]: ${env}`,
      `[test/api] initContainers[0].command[0]: ${arg}`,
      `[test/api] initContainers[0].args[1]: ${arg}`,
      `[test/export] args[0]: ${arg}`,
    ]);
    const mounts = api({
      mounts: [
        { path: '/etc/app\u0000', volume: Volume.fromConfigMap('settings') },
        { path: '/etc/db', subPath: 'db\u0000.conf', volume: Volume.fromSecret('db') },
        { path: '/etc/tls', volume: Volume.fromSecret('tls', { items: { 'tls.crt': 'cert\u0000.pem' } }) },
      ],
    });
    assert.deepEqual(synthErrors(mounts.chart), [
      '[test/api] mounts[0].path: "/etc/app\\u0000" has a NUL character, which no path can hold, so the mount fails and the pod never starts; remove the "\\0"',
      '[test/api] mounts[1].subPath: "db\\u0000.conf" has a NUL character, which no path can hold, so the mount fails and the pod never starts; remove the "\\0"',
      '[test/api] mounts[2].volume.items["tls.crt"]: "cert\\u0000.pem" has a NUL character, which no path can hold, so the kubelet cannot write the file and the pod never starts; remove the "\\0"',
    ]);
    synth(
      api({
        env: { GREETING: 'hello\tworld\n', EMPTY: '' },
        initContainers: [{ name: 'migrate', command: ['/bin/migrate'], args: ['--up', ''] }],
      }).chart,
    );
  });
  it('refuses a container port the sidecar or ztunnel listens on in the pod, and accepts the ports next to them', () => {
    const fix =
      'serve on another container port and point targetPort at it, e.g. ServicePort.http(80, { targetPort: 8080 })';
    const { chart } = api({
      ports: [ServicePort.http(15001), ServicePort.grpc(9090, { targetPort: 15021 }), ServicePort.tcp(15090)],
    });
    assert.deepEqual(synthErrors(chart), [
      `[test/api] ports[0].port: container port 15001 is one the Istio proxy listens on in the pod, so the app cannot bind it; ${fix}`,
      `[test/api] ports[1].targetPort: container port 15021 is one the Istio proxy listens on in the pod, so the app cannot bind it; ${fix}`,
      `[test/api] ports[2].port: container port 15090 is one the Istio proxy listens on in the pod, so the app cannot bind it; ${fix}`,
    ]);
    synth(
      api({
        ports: [
          ServicePort.http(15002),
          ServicePort.tcp(15010),
          ServicePort.http(8080, { name: 'http-alt' }),
        ],
      }).chart,
    );

    const ambient = () => {
      const c = Testing.chart();
      return { chart: c, ns: new MeshNamespace(c, 'payments', { dataPlane: DataPlane.ambient() }) };
    };
    const a = ambient();
    new Microservice(a.chart, 'api', {
      namespace: a.ns,
      image: 'registry.example.com/api:1.0.0',
      versions: { v1: {} },
      ports: [ServicePort.http(8080, { targetPort: 15008 })],
    });
    assert.deepEqual(synthErrors(a.chart), [
      `[test/api] ports[0].targetPort: container port 15008 is one the ztunnel listens on in the pod, so the app cannot bind it; ${fix}`,
    ]);
    const b = ambient();
    new Microservice(b.chart, 'api', {
      namespace: b.ns,
      image: 'registry.example.com/api:1.0.0',
      versions: { v1: {} },
      ports: [ServicePort.http(15020), ServicePort.tcp(15090)],
    });
    synth(b.chart);
  });
  it('names the construct that already has an id, instead of the constructs library\'s bare "There is already a Construct"', () => {
    const { chart, ns } = api();
    assert.throws(
      () => new MeshJob(chart, 'api', { namespace: ns, image: 'registry.example.com/export:1.0.0' }),
      {
        message:
          'MeshJob: id: "api" is already the id of Microservice test/api; give each construct of a chart its own id',
      },
    );
    assert.throws(
      () => new ExternalService(chart, 'payments', { namespace: ns, hosts: ['psp.example.com'] }),
      {
        message:
          'ExternalService: id: "payments" is already the id of MeshNamespace test/payments; give each construct of a chart its own id',
      },
    );
    new MeshJob(chart, 'api-migrate', { namespace: ns, image: 'registry.example.com/export:1.0.0' });
    synth(chart);
  });

  it("refuses the namespace's \"default\" ServiceAccount as a service's or a job's own, given or by name", () => {
    const { chart, ns } = api({ serviceAccountName: 'default' });
    new MeshJob(chart, 'export', {
      namespace: ns,
      image: 'registry.example.com/export:1.0.0',
      serviceAccountName: 'default',
    });
    // A service named "default" with no serviceAccountName would take the account by its name.
    new Microservice(chart, 'default', {
      namespace: ns,
      image: 'registry.example.com/d:1.0.0',
      versions: { v1: {} },
    });
    const why =
      "the ServiceAccount Kubernetes makes in every namespace, which synth would emit as this workload's own and whose mesh identity every pod of the namespace without an account of its own would share";
    assert.deepEqual(synthErrors(chart), [
      `[test/api] serviceAccountName: "default" is ${why}; leave serviceAccountName out (the account is then "api"), or name an account of the workload's own`,
      `[test/export] serviceAccountName: "default" is ${why}; leave serviceAccountName out (the account is then "export"), or name an account of the workload's own`,
      `[test/default] serviceAccountName: is left out, so it is the workload's name "default": ${why}; set serviceAccountName to an account of its own, e.g. "default-app"`,
    ]);
    // Any other shared name is still one account for both, declared once.
    const other = api({ serviceAccountName: 'payments-api' });
    new MeshJob(other.chart, 'export', {
      namespace: other.ns,
      image: 'registry.example.com/export:1.0.0',
      serviceAccountName: 'payments-api',
    });
    assert.equal(synth(other.chart).filter((o) => o.kind === 'ServiceAccount').length, 1);
  });
});

describe('what the review of the sweep found (issue 13): each rule at its edge, with the nearest input still accepted', () => {
  it('refuses an item path that starts with "..", the key ".", a doubled "/" at the end of a mount path, and item paths that nest either way', () => {
    const { chart } = api({
      mounts: [
        {
          path: '/tls',
          volume: Volume.fromSecret('tls', {
            items: { '.': 'dot', 'tls.crt': '..crt', 'tls.key': '..keys/key.pem', 'ca.pem': '.../ca.pem' },
          }),
        },
        // The deeper path first, then its directory: the nesting is found in this order too.
        {
          path: '/more',
          volume: Volume.fromConfigMap('more', { items: { a: 'conf/extra.yaml', b: 'conf' } }),
        },
        { path: '/data//', volume: Volume.emptyDir() },
      ],
    });
    assert.deepEqual(synthErrors(chart), [
      '[test/api] mounts[0].volume.items["."]: "." is not a Secret or ConfigMap key; a key must not be "." or start with "..", e.g. "password" or ".env"',
      '[test/api] mounts[0].volume.items["tls.crt"]: "..crt" starts with "..", which the API server refuses in an item path: the kubelet keeps its own "..data" files there; start the path with another character, e.g. "config.yaml"',
      '[test/api] mounts[0].volume.items["tls.key"]: "..keys/key.pem" starts with "..", which the API server refuses in an item path: the kubelet keeps its own "..data" files there; start the path with another character, e.g. "config.yaml"',
      '[test/api] mounts[0].volume.items["ca.pem"]: ".../ca.pem" starts with "..", which the API server refuses in an item path: the kubelet keeps its own "..data" files there; start the path with another character, e.g. "config.yaml"',
      '[test/api] mounts[1].volume.items["b"]: "conf" would be both a file and the directory of "conf/extra.yaml" (key "a"), and the kubelet cannot set the volume up; put the two keys at paths that do not nest',
      '[test/api] mounts[2].path: "/data//" has "." or ".." parts or a doubled "/", and the container runtime mounts it at "/data"; write "/data"',
    ]);
    synth(
      api({
        mounts: [
          {
            path: '/tls',
            volume: Volume.fromSecret('tls', {
              items: { '.crt': '.crt', 'tls.key': 'keys/..key.pem', 'a.b': 'x..y' },
            }),
          },
          { path: '/data/', volume: Volume.emptyDir() },
        ],
      }).chart,
    );
  });

  it('refuses every port the sidecar or ztunnel listens on in the pod, and accepts each neighbour', () => {
    const why = (p: number, proxy: string) =>
      `container port ${p} is one the ${proxy} listens on in the pod, so the app cannot bind it; serve on another container port and point targetPort at it, e.g. ServicePort.http(80, { targetPort: 8080 })`;
    const tcp = (ports: readonly number[]) => ports.map((p) => ServicePort.tcp(p, { name: `tcp-${p}` }));
    const sidecar = [15000, 15001, 15004, 15006, 15008, 15009, 15020, 15021, 15053, 15090];
    assert.deepEqual(
      synthErrors(api({ ports: tcp(sidecar) }).chart),
      sidecar.map((p, i) => `[test/api] ports[${i}].port: ${why(p, 'Istio proxy')}`),
    );
    synth(
      api({
        ports: tcp([14999, 15002, 15003, 15005, 15007, 15010, 15019, 15022, 15052, 15054, 15089, 15091]),
      }).chart,
    );

    const ambient = (ports: readonly number[]) => {
      const chart = Testing.chart();
      new Microservice(chart, 'api', {
        namespace: new MeshNamespace(chart, 'payments', { dataPlane: DataPlane.ambient() }),
        image: 'registry.example.com/api:1.0.0',
        versions: { v1: {} },
        ports: tcp(ports),
      });
      return chart;
    };
    const ztunnel = [15001, 15006, 15008];
    assert.deepEqual(
      synthErrors(ambient(ztunnel)),
      ztunnel.map((p, i) => `[test/api] ports[${i}].port: ${why(p, 'ztunnel')}`),
    );
    synth(ambient([15000, 15002, 15004, 15005, 15007, 15009, 15021, 15053]));
  });

  it('accepts a Job deadline of 9223372036 seconds written by a JSON patch, and refuses 9223372037', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'shop');
    const ns = new MeshNamespace(chart, 'shop', {});
    const image = 'registry.example.com/export:1.0.0';
    new MeshJob(chart, 'longest', { namespace: ns, image }).job!.addJsonPatch(
      JsonPatch.add('/spec/activeDeadlineSeconds', 9223372036),
    );
    new MeshJob(chart, 'over', { namespace: ns, image }).job!.addJsonPatch(
      JsonPatch.add('/spec/activeDeadlineSeconds', 9223372037),
    );
    assert.deepEqual(admissionProblems(app), [
      '[Job shop/over] spec.activeDeadlineSeconds: 9223372037 is above 9223372036, the most seconds a Go time.Duration holds: Kubernetes reads it wrapped around, as a negative time; use at most 9223372036',
    ]);
  });

  it('refuses a resource amount of exactly 2^63 written by a JSON patch, and accepts the largest below it', () => {
    const patched = (memory: string) => {
      const app = Testing.app();
      const chart = new Chart(app, 'shop');
      const ns = new MeshNamespace(chart, 'shop', {});
      new Microservice(chart, 'ratings', {
        namespace: ns,
        image: 'registry.example.com/ratings:1.0.0',
        versions: { v1: {} },
      })
        .deployment('v1')
        .addJsonPatch(
          JsonPatch.add('/spec/template/spec/containers/0/resources', {
            requests: { cpu: '100m', memory: '64Mi' },
            limits: { memory },
          }),
        );
      return app;
    };
    assert.deepEqual(admissionProblems(patched('8Ei')), [
      '[Deployment shop/ratings-v1] spec.template.spec.containers[0].resources.limits["memory"]: 8Ei is more than Kubernetes holds (2^63-1 units, an int64); use a realistic amount',
    ]);
    // 2^63-1024, the largest number of bytes below 2^63 a double holds.
    renderObjects(patched('9223372036854774784'));
  });

  it('refuses a tab in a build argument name, and a host repeated right after itself', () => {
    assert.throws(
      () => ImageSource.fromDockerfile({ context: 'services', args: { 'NODE\tVERSION': '22' } }),
      {
        message:
          'ImageSource.fromDockerfile: args key "NODE\\tVERSION" is not a build argument name, so no ARG line can receive it; use letters, digits and "_", e.g. "NODE_VERSION"',
      },
    );
    const { chart, ns } = payments();
    new ExternalService(chart, 'psp', { namespace: ns, hosts: ['a.example.com', 'a.example.com'] });
    assert.deepEqual(synthErrors(chart), [
      '[test/psp] hosts[1]: "a.example.com" is already hosts[0]; list each host once',
    ]);
  });

  it('refuses a "from" given to explainAllCallers, which answers for every caller', () => {
    const { chart } = api();
    const request: { to: string } = { from: 'outside', to: 'api' } as { to: string };
    assert.throws(() => explainAllCallers(chart, request), {
      message:
        'explainAllCallers: request.from: is not taken, as explainAllCallers answers for every caller; leave from out, or use explainRequest to ask for one caller',
    });
    assert.deepEqual(
      explainAllCallers(chart, { to: 'api' }).map((a) => a.request.from),
      ['api', 'ingress', 'outside'],
    );
    assert.equal(explainRequest(chart, { from: 'outside', to: 'api' }).request.from, 'outside');
  });
});
