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
  DataPlane,
  GlobalRateLimitService,
  ImageSource,
  IstioIngress,
  EnvValue,
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
  ServicePort,
  StringMatch,
  TaintEffect,
  NodeLabelQuery,
  Toleration,
  Workload,
} from '../constructs/index.js';
import { admissionProblems, synth, synthErrors } from './support/synth.js';

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
